/**
 * Reading trees from disk for the disk sink: every file with its mode and content, every
 * directory with its mode, errors as data. With the tree index of the last write
 * (tree-index.ts), a directory or file whose stamp is unchanged costs one lstat: its names
 * come from the index and its content is read only if asked for. A thousand-node store is
 * 8,000 directories and 5,000 files, and on a VM each syscall counts: a readdir is five of
 * them, reading a file four.
 */
import * as fs from 'node:fs';
import { isKpkiTemp } from './changes.js';
import { textDigest } from './digest.js';
import { readRegular } from './fs-safe.js';
import { stampOf, type IndexEntry, type Stamp, type TreeIndex } from './tree-index.js';
import type { ObservedFile } from './types.js';

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

// Opening never follows a link (ELOOP instead) and never blocks on a FIFO; fstat on the open
// descriptor gives the mode, so a file costs open + fstat + read + close and no lstat.
const OPEN_FOR_READ = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

export function modeOf(abs: string): number {
  try {
    return fs.lstatSync(abs).mode & 0o777;
  } catch {
    return 0;
  }
}

/** A file read later than its walk: by then it may be a FIFO or a link, which is never opened. */
function readWhole(abs: string): { content?: string; error?: string } {
  try {
    const r = readRegular(abs);
    return r.kind === 'file' ? { content: r.content.toString('utf8') } : { error: r.kind === 'missing' ? 'ENOENT' : r.what };
  } catch (err) {
    return { error: errno(err) ?? String(err) };
  }
}

/**
 * Larger files are read when their content is first asked for: the store's record
 * (pki/record, megabytes for a large cluster) only by the commands that use it.
 */
const READ_ON_DEMAND_ABOVE = 512 * 1024;

class ReadOnDemand implements ObservedFile {
  #read?: { content?: string; error?: string };
  constructor(private readonly abs: string, readonly mode: number, readonly uid: number) {}

  get content(): string | undefined {
    return (this.#read ??= readWhole(this.abs)).content;
  }

  get error(): string | undefined {
    return (this.#read ??= readWhole(this.abs)).error;
  }
}

/**
 * A file the index vouches for: its digest is known, its text read on first use (once per
 * digest: a thousand copies of ca.crt are one read) and checked against the digest. A file
 * changed since its lstat reads as an error, never as other bytes under the old digest.
 */
class IndexedFile implements ObservedFile {
  #read?: { content?: string; error?: string };
  constructor(private readonly abs: string, readonly mode: number, readonly uid: number, readonly digest: string, private readonly texts: Map<string, string>) {}

  #get(): { content?: string; error?: string } {
    if (!this.#read) {
      const known = this.texts.get(this.digest);
      if (known !== undefined) this.#read = { content: known };
      else {
        const r = readWhole(this.abs);
        if (r.content !== undefined && textDigest(r.content) !== this.digest) this.#read = { error: 'changed while kpki was reading it' };
        else {
          if (r.content !== undefined) this.texts.set(this.digest, r.content);
          this.#read = r;
        }
      }
    }
    return this.#read;
  }

  get content(): string | undefined {
    return this.#get().content;
  }

  get error(): string | undefined {
    return this.#get().error;
  }
}

/** One buffer reused for every file read: thousands of small files allocate nothing but their text. */
let scratch = Buffer.allocUnsafe(1 << 16);

/**
 * An index entry in the making: a file's digest is taken from the observation only when the
 * index is written. `fresh`: the stamp was taken by this walk (a read or a readdir), not
 * vouched for by the index, so it is trusted only if the path did not change in the run's
 * own clock tick (see `indexEntry`).
 */
export type Seen =
  | IndexEntry
  | { readonly kind: 'file'; readonly stamp?: Stamp; readonly file: ObservedFile; readonly fresh?: boolean }
  | { readonly kind: 'dir'; readonly stamp?: Stamp; readonly fresh: true };

/**
 * Whether a stamp taken while the file system's clock read at least `since` can stand for
 * what was read: the path last changed in an earlier tick, so any later change gives it
 * another mtime or ctime. Otherwise (git's "racy" case) a change in the same tick, after the
 * read, could leave the stamp as it was.
 */
export const settledBefore = (stamp: Stamp, since: number): boolean => Math.max(stamp.mtimeMs, stamp.ctimeMs) < since;

/**
 * The entry a seen path records, hashing a file read in full only now. `since` is a lower
 * bound of the file system's clock when the walk started: a fresh stamp not settled before
 * it is dropped (the path is read again next time).
 */
export function indexEntry(s: Seen, since: number): IndexEntry {
  if (s.kind === 'other' || !('fresh' in s || 'file' in s)) return s;
  const stamp = s.stamp !== undefined && (!('fresh' in s && s.fresh) || settledBefore(s.stamp, since)) ? s.stamp : undefined;
  if (s.kind === 'dir') return stamp ? { kind: 'dir', stamp } : { kind: 'dir' };
  const f = s.file;
  const digest = f.digest ?? (f.content !== undefined && f.error === undefined ? textDigest(f.content) : undefined);
  return digest === undefined || stamp === undefined ? { kind: 'other' } : { kind: 'file', stamp, digest };
}

export interface Walked {
  readonly files: Map<string, ObservedFile>;
  readonly dirs: Map<string, number>;
  /** What the next index holds for the walked paths. */
  readonly seen: Map<string, Seen>;
  /** Whether some path differed from the index (or there was none): the index is worth writing again. */
  stale: boolean;
  /** kpki's own temp files (`<name>.kpki-<hex>.tmp`) left by a run that was killed: removed by the next write. */
  readonly temps: string[];
}

export class Walker implements Walked {
  readonly files = new Map<string, ObservedFile>();
  readonly dirs = new Map<string, number>();
  readonly seen = new Map<string, Seen>();
  readonly temps: string[] = [];
  stale = false;
  /** Texts read through the index, by digest. */
  readonly #texts = new Map<string, string>();

  /** The root with one trailing slash: paths are joined by concatenation (no normalising 13,000 times). */
  readonly #prefix: string;

  constructor(root: string, private readonly index: TreeIndex | undefined) {
    this.#prefix = root.endsWith('/') ? root : `${root}/`;
    if (!index) this.stale = true;
  }

  #abs(rel: string): string {
    return this.#prefix + rel;
  }

  /** Walks `rel` below the root, whatever it is. Never throws for one file. */
  walk(rel: string): void {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(this.#abs(rel));
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') {
        if (this.index?.kind(rel)) this.stale = true;
        return;
      }
      this.files.set(rel, { mode: 0, error: errno(err) ?? String(err) });
      this.#other(rel);
      return;
    }
    const mode = st.mode & 0o777;
    if (st.isDirectory()) this.#dir(rel, mode, st);
    else if (st.isFile()) {
      if (isKpkiTemp(rel)) this.temps.push(rel);
      this.#file(rel, st);
    } else {
      this.files.set(rel, { mode, error: st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file' });
      this.#other(rel);
    }
  }

  #other(rel: string): void {
    this.seen.set(rel, { kind: 'other' });
    if (this.index?.kind(rel) !== 'o') this.stale = true;
  }

  /** A directory: its names from the index when its stamp is unchanged, else from readdir. */
  #dir(rel: string, mode: number, st: fs.Stats): void {
    this.dirs.set(rel, mode);
    const stamp = stampOf(st);
    const names = this.index?.names(rel, stamp);
    if (names) {
      this.seen.set(rel, { kind: 'dir', stamp });
      for (const name of names) this.walk(`${rel}/${name}`);
      return;
    }
    this.stale = true;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(this.#abs(rel), { withFileTypes: true });
    } catch (err) {
      this.files.set(rel, { mode, error: `directory not readable (${errno(err)})` });
      this.seen.set(rel, { kind: 'dir', fresh: true });
      return;
    }
    this.seen.set(rel, { kind: 'dir', stamp, fresh: true });
    for (const e of entries) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory()) this.walk(path);
      else if (e.isFile()) {
        // Its parent changed, not necessarily the file: an lstat may still spare the read.
        if (this.index?.kind(path) === 'f') this.walk(path);
        else {
          if (isKpkiTemp(path)) this.temps.push(path);
          this.#read(path);
        }
      } else {
        // kpki writes regular files only; a link or device in its output is reported, never followed.
        this.files.set(path, { mode: modeOf(this.#abs(path)), error: e.isSymbolicLink() ? 'a symbolic link' : 'not a regular file' });
        this.#other(path);
      }
    }
  }

  /** A regular file seen by lstat: vouched for by the index, or read. */
  #file(rel: string, st: fs.Stats): void {
    const stamp = stampOf(st);
    const digest = this.index?.digest(rel, stamp);
    if (digest !== undefined) {
      const file = new IndexedFile(this.#abs(rel), st.mode & 0o777, st.uid, digest, this.#texts);
      this.files.set(rel, file);
      this.seen.set(rel, { kind: 'file', stamp, file });
      return;
    }
    this.#read(rel);
  }

  /** Reads a file: open + fstat + read + close. */
  #read(rel: string): void {
    this.stale = true;
    const abs = this.#abs(rel);
    let fd: number;
    try {
      fd = fs.openSync(abs, OPEN_FOR_READ);
    } catch (err) {
      // Rare paths (a link, no permission, gone since the listing): lstat for the mode.
      const mode = modeOf(abs);
      this.files.set(rel, errno(err) === 'ELOOP' ? { mode, error: 'a symbolic link' } : { mode, error: errno(err) ?? String(err) });
      this.seen.set(rel, { kind: 'other' });
      return;
    }
    let file: ObservedFile;
    let stamp: Stamp | undefined;
    try {
      const st = fs.fstatSync(fd);
      const mode = st.mode & 0o777;
      stamp = stampOf(st);
      if (!st.isFile()) file = { mode, error: 'not a regular file' };
      else if (st.size > READ_ON_DEMAND_ABOVE) file = new ReadOnDemand(abs, mode, st.uid);
      // A size of 0 may be a file that is still being written (or a pseudo-file): read to EOF.
      else if (st.size === 0) file = { mode, uid: st.uid, content: fs.readFileSync(fd, 'utf8') };
      else {
        if (st.size >= scratch.length) scratch = Buffer.allocUnsafe(st.size + 1);
        // One read gives the whole file when its size is what fstat said; read on only if it grew.
        let n = fs.readSync(fd, scratch, 0, scratch.length, 0);
        if (n > st.size) for (let got = -1; got !== 0 && n < scratch.length; n += got) got = fs.readSync(fd, scratch, n, scratch.length - n, n);
        // Grown past the buffer since fstat: read it whole instead.
        file = n === scratch.length ? { mode, uid: st.uid, content: fs.readFileSync(abs, 'utf8') } : { mode, uid: st.uid, content: scratch.toString('utf8', 0, n) };
      }
    } catch (err) {
      file = { mode: 0, error: errno(err) ?? String(err) };
    } finally {
      fs.closeSync(fd);
    }
    this.files.set(rel, file);
    this.seen.set(rel, file.error !== undefined || !stamp ? { kind: 'other' } : { kind: 'file', stamp, file, fresh: true });
  }
}
