/** What a run prints while it waits for another run's store lock (stderr: stdout stays the report). */
import { describeHolder, DEFAULT_LOCK_WAIT_MS, type LockHolder } from '../../pki/store/lock.js';
import { printable } from './escape.js';

export function lockWaitNotice(out: string, timeoutMs = DEFAULT_LOCK_WAIT_MS): (holder: LockHolder) => void {
  return (holder) => {
    // The holder comes from the lock file: another process wrote it, so it is shown escaped.
    process.stderr.write(`kpki: store ${printable(out)} is locked by ${printable(describeHolder(holder))}; waiting up to ${Math.round(timeoutMs / 1000)}s…\n`);
  };
}
