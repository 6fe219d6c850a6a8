/** What a run prints while it waits for another run's store lock (stderr: stdout stays the report). */
import { describeHolder, DEFAULT_LOCK_WAIT_MS, type LockHolder } from '../../pki/store/lock.js';

export function lockWaitNotice(out: string, timeoutMs = DEFAULT_LOCK_WAIT_MS): (holder: LockHolder) => void {
  return (holder) => {
    process.stderr.write(`kpki: store ${out} is locked by ${describeHolder(holder)}; waiting up to ${Math.round(timeoutMs / 1000)}s…\n`);
  };
}
