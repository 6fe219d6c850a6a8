/**
 * File-system steps every writer of the store shares: errors as one sentence naming the path
 * and the errno, directories created with an explicit mode whatever the umask, and reads that
 * never open anything but a regular file (a FIFO would block open(2) for good, and a blocked
 * synchronous call keeps even SIGTERM from being handled).
 */
import * as fs from 'node:fs';
import { dirname, resolve } from 'node:path';
import { KpkiError } from '../errors.js';

export const errnoOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** Errnos that mean the output cannot be written at all (exit 2, as for a read-only one). */
const UNUSABLE = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM']);

/** `no space left on device (ENOSPC)`: Node's description of the errno without its syscall tail. */
export function describeErrno(err: unknown): string {
  const code = errnoOf(err);
  const message = (err as Error | undefined)?.message ?? String(err);
  const m = /^[A-Z][A-Z0-9_]*: ([^,]+)/.exec(message);
  return code ? `${m ? m[1] : message} (${code})` : message;
}

/**
 * `cannot <action> <path>: <errno description>[; <tail>]`, one sentence. ERR_OUT_INVALID (exit 2)
 * when the output cannot be written (full, read-only, denied), ERR_IO (exit 1) otherwise.
 */
export function fsError(action: string, path: string, err: unknown, tail = ''): KpkiError {
  if (err instanceof KpkiError) return err;
  const code = UNUSABLE.has(errnoOf(err) ?? '') ? 'ERR_OUT_INVALID' : 'ERR_IO';
  return new KpkiError(code, `cannot ${action} ${path}: ${describeErrno(err)}${tail ? `; ${tail}` : ''}`, { cause: err });
}

/** An error that remembers which path and step failed, for the sentence the caller makes of it. */
export class StepError extends Error {
  constructor(readonly action: string, readonly path: string, override readonly cause: unknown) {
    super(`cannot ${action} ${path}`);
  }
}

/** Runs one file-system step, tagging a failure with the path and the step. */
export function step<T>(action: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof StepError ? err : new StepError(action, path, err);
  }
}

/**
 * Creates `dir` with `mode` and any missing parent with `parentMode`, each chmod'ed after
 * mkdir (the umask narrows a mode, and a umask of 000 must not widen it either). Returns the
 * directories it created, parents first. An existing directory is left as it is.
 */
export function makeDirs(dir: string, mode: number, parentMode = 0o755): string[] {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (fs.existsSync(d) || dirname(d) === d) break;
    missing.unshift(d);
  }
  const created: string[] = [];
  for (const d of missing) {
    const m = d === resolve(dir) ? mode : parentMode;
    try {
      fs.mkdirSync(d, { mode: m });
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') continue; // made meanwhile by someone else: not ours to chmod
      throw new StepError('create the directory', d, err);
    }
    created.push(d);
    step('set the mode of', d, () => fs.chmodSync(d, m));
  }
  return created;
}

/** Removes the directories `created` that are empty, deepest first; errors ignored (best effort). */
export function removeEmptyDirs(created: readonly string[]): void {
  for (const d of [...created].sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(d);
    } catch {
      // not empty (someone else's file), or gone
    }
  }
}

const OPEN_REGULAR = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/** What `readRegular` found at a path. */
export type RegularRead =
  | { readonly kind: 'file'; readonly content: Buffer; readonly stats: fs.Stats }
  /** A FIFO, socket, device, directory or symbolic link: never opened for reading, let alone read. */
  | { readonly kind: 'special'; readonly what: string }
  | { readonly kind: 'missing' };

/**
 * Reads `path` if it is a regular file: opened without following a link and without blocking
 * (O_NOFOLLOW | O_NONBLOCK), checked with fstat on the open descriptor, then read. Anything
 * else is reported as `special`. Other errors throw.
 */
export function readRegular(path: string): RegularRead {
  let fd: number;
  try {
    fd = fs.openSync(path, OPEN_REGULAR);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return { kind: 'missing' };
    if (errnoOf(err) === 'ELOOP') return { kind: 'special', what: 'a symbolic link' };
    // A device or socket may refuse open (ENXIO, EOPNOTSUPP): special, not an I/O failure.
    if (errnoOf(err) === 'ENXIO' || errnoOf(err) === 'EOPNOTSUPP') return { kind: 'special', what: 'not a regular file' };
    throw err;
  }
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile()) return { kind: 'special', what: stats.isDirectory() ? 'a directory' : 'not a regular file' };
    return { kind: 'file', content: fs.readFileSync(fd), stats };
  } finally {
    fs.closeSync(fd);
  }
}

/** A regular file's text, or undefined for anything else or any error (for small files kpki owns: locks, records). */
export function readRegularText(path: string): string | undefined {
  try {
    const r = readRegular(path);
    return r.kind === 'file' ? r.content.toString('utf8') : undefined;
  } catch {
    return undefined;
  }
}
