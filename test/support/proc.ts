/**
 * The only way tests start processes: every child has a bound. A child still running at its
 * bound is SIGKILLed and the test fails naming the command and the bound, so a regression that
 * makes a child hang (a lock loop that never gives up, a server that never answers) fails in
 * seconds instead of holding `npm test` until CI's time limit. test/support/bounded-children
 * keeps every other test file from importing node:child_process.
 */
import {
  spawn, spawnSync, type ChildProcess, type SpawnOptions, type SpawnSyncOptions, type SpawnSyncReturns,
} from 'node:child_process';

/** Finite, and generous enough for a loaded 2-core CI runner: a bound is a hang detector, not a timing test. */
export const DEFAULT_BOUND_MS = 120_000;
/** For servers (etcd) that the test stops itself: longer than any suite keeps one running. */
export const SERVER_BOUND_MS = 600_000;

/** Thrown (or rejected with) when a child was killed because it outlived its bound. */
export class BoundExceeded extends Error {
  override readonly name = 'BoundExceeded';
  constructor(
    readonly command: string,
    readonly boundMs: number,
    /** Whatever the child had written before it was killed (only from runSync and run). */
    readonly stdout = '',
    readonly stderr = '',
  ) {
    const tail = stderr.trim().slice(-800);
    super(`\`${command}\` killed after ${boundMs / 1000} s: still running at its bound (a hang?)${tail ? `\nits stderr so far:\n${tail}` : ''}`);
  }
}

/** The command line for messages; the node binary's path is just noise. */
function describe(cmd: string, args: readonly string[]): string {
  const words = [cmd === process.execPath ? 'node' : cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a)));
  const line = words.join(' ');
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}

export interface SyncOptions extends Omit<SpawnSyncOptions, 'timeout' | 'killSignal' | 'encoding'> {
  /** Milliseconds before the child is SIGKILLed and the call throws; DEFAULT_BOUND_MS if not given. */
  readonly boundMs?: number;
}

/** What runSync returns: spawnSync's own result, so call sites read status, stdout, stderr as before. */
export type SyncResult = SpawnSyncReturns<string>;

/** spawnSync with a bound and utf8 output; throws BoundExceeded if the bound killed the child. */
export function runSync(cmd: string, args: readonly string[], opts: SyncOptions = {}): SyncResult {
  const { boundMs = DEFAULT_BOUND_MS, ...rest } = opts;
  const r = spawnSync(cmd, args, { ...rest, encoding: 'utf8', timeout: boundMs, killSignal: 'SIGKILL' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT') {
    throw new BoundExceeded(describe(cmd, args), boundMs, r.stdout ?? '', r.stderr ?? '');
  }
  return r;
}

export interface Exit {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
}

export type BoundedChild = ChildProcess & {
  /**
   * Settles when the child exits: resolves however it ended (a kill by the test included), rejects
   * with BoundExceeded if its bound killed it, or with the error if it could not be started.
   */
  readonly exited: Promise<Exit>;
};

export interface StartOptions extends Omit<SpawnOptions, 'timeout' | 'killSignal'> {
  /** Milliseconds before the child is SIGKILLed; DEFAULT_BOUND_MS if not given. */
  readonly boundMs?: number;
}

/**
 * spawn with a kill timer, for children that run alongside the test (servers, concurrent runs).
 * The timer is cleared when the child exits, so a server the test kills on purpose ends normally,
 * and unref()'d, so it never keeps the test process alive by itself.
 */
export function start(cmd: string, args: readonly string[], opts: StartOptions = {}): BoundedChild {
  const { boundMs = DEFAULT_BOUND_MS, ...rest } = opts;
  const child = spawn(cmd, args, rest);
  let killedByBound = false;
  const timer = setTimeout(() => {
    killedByBound = true;
    child.kill('SIGKILL');
  }, boundMs).unref();
  const exited = new Promise<Exit>((resolve, reject) => {
    child.on('error', (err) => {
      // Only a failed start rejects; any other error (a failed kill) is followed by 'exit'.
      if (child.pid !== undefined) return;
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (status, signal) => {
      clearTimeout(timer);
      if (killedByBound) reject(new BoundExceeded(describe(cmd, args), boundMs));
      else resolve({ status, signal });
    });
  });
  // A child nobody awaits must not end the run with an unhandled rejection; awaiting it still throws.
  exited.catch(() => {});
  return Object.assign(child, { exited });
}

export interface RunOptions extends Omit<StartOptions, 'stdio'> {
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  readonly input?: string | Buffer;
}

export interface RunResult extends Exit {
  readonly stdout: string;
  readonly stderr: string;
  /** stdout as bytes, for binary output. */
  readonly stdoutBytes: Buffer;
}

/**
 * Runs a child to completion without blocking the event loop (for tests whose own servers must
 * keep answering, or that run children concurrently). Rejects with BoundExceeded, carrying the
 * output so far, if the bound killed it.
 */
export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const { input, ...rest } = opts;
  const child = start(cmd, args, { ...rest, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => chunks.push(d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // All output is read once the pipes close (after 'exit').
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  if (input !== undefined) {
    child.stdin!.on('error', () => {}); // a child that exits without reading: its exit status tells
    child.stdin!.end(input);
  }
  try {
    const exit = await child.exited;
    await closed;
    const stdoutBytes = Buffer.concat(chunks);
    return { ...exit, stdout: stdoutBytes.toString('utf8'), stderr, stdoutBytes };
  } catch (err) {
    // Not waiting for 'close' here: a killed child's own children may still hold the pipes.
    if (err instanceof BoundExceeded) throw new BoundExceeded(err.command, err.boundMs, Buffer.concat(chunks).toString('utf8'), stderr);
    throw err;
  }
}
