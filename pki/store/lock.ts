/**
 * One writer at a time: a lock file in the store (`<out>/.kpki.lock`) naming its holder.
 *
 * Taking the lock: the holder's record is written to a private temp file, then hard-linked to
 * the lock name. link(2) fails with EEXIST when the name exists, so exactly one process wins, and
 * the lock never exists half-written. (Where the filesystem has no hard links, an O_EXCL create
 * is used instead; a reader then gives a young unreadable lock a moment to be filled in.)
 *
 * A lock whose holder is gone is stale: its PID does not exist, is a zombie, or now belongs to
 * another process (the start time in /proc/<pid>/stat differs from the one recorded), or the
 * machine rebooted since (boot id). Taking over is guarded by a claim file created with O_EXCL
 * and named after the stale lock's content, so of several processes that found the same stale
 * lock only one removes it (renamed aside, then deleted, after re-reading it to make sure it is
 * still that lock); then all of them race for the free name as usual. A lock made on another host
 * (a shared filesystem) cannot be checked from here and is treated as held.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { KpkiError } from '../errors.js';
import { isRunning } from '../process.js';
import { ROOT_DIR_MODE } from '../sinks/disk.js';
import { errnoOf, fsError, makeDirs, readRegular, readRegularText, StepError } from '../sinks/fs-safe.js';

export const LOCK_FILE = '.kpki.lock';

/** What the lock file records about the process holding it. */
export interface LockHolder {
  readonly pid: number;
  /** ISO 8601: when the holder took the lock. */
  readonly startedAt: string;
  readonly host: string;
  /** e.g. `kpki gen`. */
  readonly command: string;
  /** The holder's start time in clock ticks since boot (/proc/<pid>/stat field 22), to detect a reused PID. */
  readonly procStart?: string;
  /** /proc/sys/kernel/random/boot_id when the lock was taken: a lock from before a reboot is stale. */
  readonly bootId?: string;
  /** Random: tells this holding apart from any other, even by the same PID. */
  readonly nonce: string;
}

export interface LockOptions {
  /** How long to wait for a live holder before giving up with ERR_LOCKED; default 60 s. */
  readonly waitMs?: number;
  /** Called once, when the lock is found held by a live process and waiting starts. */
  readonly onWait?: (holder: LockHolder) => void;
  /** Called for each stale lock removed before this one was taken (the caller warns). */
  readonly onTakeover?: (stale: LockHolder | undefined, why: string) => void;
  /** Recorded in the lock for the message others see; default `kpki`. */
  readonly command?: string;
}

export const DEFAULT_LOCK_WAIT_MS = 60_000;
/** An unreadable lock younger than this may be one being written without hard links. */
const UNREADABLE_GRACE_MS = 2_000;
/** A claim older than this was left by a process killed mid-takeover (which takes microseconds). */
const CLAIM_ABANDONED_MS = 10_000;

/** Releases the lock; safe to call more than once. */
export type ReleaseLock = () => void;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** /proc files: always regular. */
function readText(path: string): string | undefined {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function procStat(pid: number | 'self'): string[] | undefined {
  const text = readText(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

const bootId = () => readText('/proc/sys/kernel/random/boot_id')?.trim();

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (!Number.isSafeInteger(v.pid) || typeof v.startedAt !== 'string' || typeof v.host !== 'string' || typeof v.nonce !== 'string') return undefined;
    return {
      pid: v.pid!, startedAt: v.startedAt, host: v.host, nonce: v.nonce, command: typeof v.command === 'string' ? v.command : 'kpki',
      ...(typeof v.procStart === 'string' ? { procStart: v.procStart } : {}),
      ...(typeof v.bootId === 'string' ? { bootId: v.bootId } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Why `holder` no longer holds the lock, or undefined when it may still be running. */
export function staleReason(holder: LockHolder): string | undefined {
  if (holder.host !== hostname()) return undefined; // cannot look at another machine's processes
  const boot = bootId();
  if (holder.bootId && boot && holder.bootId !== boot) return 'the machine has restarted since';
  // A process of another user counts as running; its start time is still compared below.
  if (!isRunning(holder.pid)) return `PID ${holder.pid} is not running`;
  const stat = procStat(holder.pid);
  if (stat === undefined) return undefined;
  // Field 3 (state) is the first after the name; field 22 (starttime) the 20th.
  if (stat[0] === 'Z') return `PID ${holder.pid} has exited`;
  if (holder.procStart !== undefined && stat[19] !== holder.procStart) return `PID ${holder.pid} is now another process`;
  return undefined;
}

/** `PID N since T (command)`, plus the host when it is not this one. */
export function describeHolder(h: LockHolder): string {
  const where = h.host === hostname() ? '' : ` on ${h.host}`;
  return `PID ${h.pid}${where} since ${h.startedAt} (${h.command})`;
}

type Observed =
  | { readonly state: 'free' }
  | { readonly state: 'held'; readonly holder: LockHolder }
  | { readonly state: 'stale'; readonly holder?: LockHolder; readonly why: string; readonly identity: string }
  /** Unreadable but young: possibly being written right now. */
  | { readonly state: 'settling' };

/**
 * The lock's text and mtime, undefined when there is none. Never opened unless it is a regular
 * file (a FIFO in its place would block open(2) for good): anything else reads as what it is,
 * an unreadable lock.
 */
function readLock(lockPath: string): { text: string; mtimeMs: number } | undefined {
  try {
    const found = readRegular(lockPath);
    if (found.kind === 'missing') return undefined;
    if (found.kind === 'file') return { text: found.content.toString('utf8'), mtimeMs: found.stats.mtimeMs };
    return { text: `${found.what}\n`, mtimeMs: fs.lstatSync(lockPath).mtimeMs };
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw fsError('read the store lock', lockPath, err);
  }
}

function observe(lockPath: string): Observed {
  const found = readLock(lockPath);
  if (found === undefined) return { state: 'free' };
  const { text, mtimeMs } = found;
  const identity = createHash('sha256').update(text).digest('hex').slice(0, 24);
  const holder = parseHolder(text);
  if (holder === undefined) {
    if (Date.now() - mtimeMs < UNREADABLE_GRACE_MS) return { state: 'settling' };
    return { state: 'stale', why: 'the lock file is unreadable', identity };
  }
  const why = staleReason(holder);
  return why === undefined ? { state: 'held', holder } : { state: 'stale', holder, why, identity };
}

/** The live holder of the store's lock, if any (for read-only commands, which do not wait). */
export function storeLockHolder(out: string): LockHolder | undefined {
  const o = observe(join(out, LOCK_FILE));
  return o.state === 'held' ? o.holder : undefined;
}

/** Creates the lock with `record`; false when it exists. */
function tryCreate(lockPath: string, record: string): boolean {
  const tmp = `${lockPath}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, record, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    fs.rmSync(tmp, { force: true }); // created but not filled (a full disk): not left behind
    throw new StepError('write the store lock', lockPath, err);
  }
  try {
    fs.linkSync(tmp, lockPath);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw new StepError('write the store lock', lockPath, err);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  // No hard links here: O_EXCL create, then fill in (readers allow for the gap).
  try {
    fs.writeFileSync(lockPath, record, { mode: 0o600, flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new StepError('write the store lock', lockPath, err);
  }
}

/**
 * Removes the stale lock with content identity `identity`, if this process wins the claim on it.
 * Returns whether it removed it; either way the caller tries to take the free name next.
 */
function takeOver(lockPath: string, identity: string): boolean {
  const claim = `${lockPath}.takeover-${identity}`;
  try {
    fs.writeFileSync(claim, String(process.pid), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      fs.rmSync(claim, { force: true });
      throw new StepError('write the store lock', lockPath, err);
    }
    try {
      if (Date.now() - fs.statSync(claim).mtimeMs > CLAIM_ABANDONED_MS) fs.rmSync(claim, { force: true });
    } catch {
      // gone already: its owner finished
    }
    return false;
  }
  try {
    // Still the same stale lock? Only its dead holder or a claim on its identity removes it,
    // and no one else can hold this claim, so it cannot change between this read and the rename.
    const now = readLock(lockPath)?.text;
    if (now === undefined || createHash('sha256').update(now).digest('hex').slice(0, 24) !== identity) return false;
    const aside = `${lockPath}.stale-${identity}`;
    fs.renameSync(lockPath, aside);
    fs.rmSync(aside, { force: true });
    return true;
  } finally {
    fs.rmSync(claim, { force: true });
  }
}

function lockedError(out: string, holder: LockHolder, waitedMs: number): KpkiError {
  const waited = waitedMs > 0 ? `; gave up after waiting ${Math.round(waitedMs / 1000)}s` : '';
  return new KpkiError(
    'ERR_LOCKED',
    `store ${out} is locked by ${describeHolder(holder)}${waited}. Let that run finish (or raise --lock-timeout); ` +
      `if no such process is running any more, delete ${join(out, LOCK_FILE)}.`,
  );
}

/**
 * Takes the store's lock, creating `out` if needed, waiting up to `waitMs` for a live holder and
 * taking over a stale one. The lock is also released if the process is interrupted (SIGINT,
 * SIGTERM) or exits while holding it.
 */
export async function acquireStoreLock(out: string, options: LockOptions = {}): Promise<ReleaseLock> {
  const waitMs = options.waitMs ?? DEFAULT_LOCK_WAIT_MS;
  const lockPath = join(out, LOCK_FILE);
  const stat = procStat('self');
  const boot = bootId();
  const mine: LockHolder = {
    pid: process.pid, startedAt: new Date().toISOString(), host: hostname(), command: options.command ?? 'kpki',
    ...(stat?.[19] !== undefined ? { procStart: stat[19] } : {}),
    ...(boot ? { bootId: boot } : {}),
    nonce: randomBytes(12).toString('hex'),
  };
  const record = `${JSON.stringify(mine)}\n`;
  try {
    await takeLock(out, lockPath, record, waitMs, options);
  } catch (err) {
    // A full disk, a denied write: one sentence naming the path, and nothing left behind.
    throw err instanceof StepError ? fsError(err.action, err.path, err.cause) : fsError('take the store lock', lockPath, err);
  }
  removeLeftovers(out);
  return holdUntilReleased(lockPath, mine.nonce);
}

async function takeLock(out: string, lockPath: string, record: string, waitMs: number, options: LockOptions): Promise<void> {
  makeDirs(out, ROOT_DIR_MODE);
  const started = Date.now();
  let delay = 25;
  let waiting = false;
  for (;;) {
    if (tryCreate(lockPath, record)) break;
    const o = observe(lockPath);
    if (o.state === 'free') continue; // released between our attempt and the look
    if (o.state === 'stale' && takeOver(lockPath, o.identity)) {
      options.onTakeover?.(o.holder, o.why);
      continue;
    }
    if (o.state === 'held') {
      if (Date.now() - started >= waitMs) throw lockedError(out, o.holder, waitMs);
      if (!waiting) options.onWait?.(o.holder);
      waiting = true;
    }
    // Held, being written, or being taken over by another process. Jittered backoff: many
    // waiters do not wake in step; the cap keeps the hand-over prompt.
    const left = waitMs - (Date.now() - started);
    await sleep(Math.max(1, Math.min(delay * (0.75 + Math.random() / 2), o.state === 'held' ? left : delay)));
    delay = Math.min(delay * 1.5, 500);
  }
}

/**
 * With the lock held: removes what killed processes left of their attempts (a temp record of a
 * PID that is gone, a stale lock renamed aside and not yet deleted). A live waiter's temp
 * record is its own, and stays.
 */
function removeLeftovers(out: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(out);
  } catch {
    return;
  }
  for (const name of names) {
    const temp = /^\.kpki\.lock\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name);
    const dead = temp && staleReason({ pid: Number(temp[1]), host: hostname(), startedAt: '', command: '', nonce: '' }) !== undefined;
    if (dead || /^\.kpki\.lock\.stale-[0-9a-f]{24}$/.test(name)) fs.rmSync(join(out, name), { force: true });
  }
}

function holdUntilReleased(lockPath: string, nonce: string): ReleaseLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('exit', release);
    // Remove it only if it is still ours (it always should be: a live holder is never taken over).
    if (parseHolder(readRegularText(lockPath) ?? '')?.nonce === nonce) fs.rmSync(lockPath, { force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    release();
    // Our handler is gone now: the same signal ends the process as it would have without us.
    process.kill(process.pid, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', release);
  return release;
}
