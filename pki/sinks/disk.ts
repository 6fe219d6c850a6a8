/**
 * The disk sink: a directory holding the store (`pki/`) and the node trees (`nodes/<name>/`).
 * Every write is atomic and durable (temp file, flushed, renamed, flushed again), private
 * files are created 0600 inside 0700 directories whatever the umask, and every replaced or
 * removed file is first copied to `backup/<stamp>/`. All backups and temp files are written
 * before the first rename, so a failure replaces nothing.
 *
 * The syscalls are synchronous and sequential on purpose: this phase runs after every key is
 * signed, and on ext4 concurrent creates in many new directories contend in the kernel
 * (measured: 5,000 files in 8,000 directories took 0.45 s sequentially, 2 s from 4 threads).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KpkiError } from '../errors.js';
import { isKpkiTemp } from './changes.js';
import { indexEntry, settledBefore, Walker, type Seen } from './disk-walk.js';
import { errnoOf, fsError, makeDirs, readRegular, removeEmptyDirs, step, StepError } from './fs-safe.js';
import { parseTreeIndex, sameContentStamp, serialiseTreeIndex, stampOf, TREE_INDEX_FILE, type IndexEntry, type Stamp, type TreeIndex } from './tree-index.js';
import type { Applied, ApplyOptions, ChangeSet, Observation, Sink } from './types.js';

const errno = errnoOf;

/** The store's root when kpki creates it: private, whatever the umask (parents 0755). */
export const ROOT_DIR_MODE = 0o700;

/**
 * Creates `file` (O_EXCL) with `content` and `mode`, and returns its stamp as written: fstat
 * on the descriptor, so it describes these bytes and nothing written later by anyone else. A
 * file that could not be written whole is removed again.
 */
function writeNew(file: string, content: string | Buffer, mode: number, shownAs = file): fs.Stats {
  const fd = step('write', shownAs, () => fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode));
  let st: fs.Stats;
  try {
    st = step('write', shownAs, () => {
      fs.writeFileSync(fd, content);
      fs.fchmodSync(fd, mode); // the umask may have narrowed (or a parent ACL widened) it
      return fs.fstatSync(fd);
    });
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw err;
  }
  // close(2) can be where a delayed write error (NFS, a full disk) shows.
  try {
    fs.closeSync(fd);
  } catch (err) {
    fs.rmSync(file, { force: true });
    throw new StepError('write', shownAs, err);
  }
  return st;
}

/**
 * Keeps the file at `abs` as `backup` before it is replaced: a hard link to the very inode
 * (the bytes that were there, not a copy of them, and no read or write of the content), or a
 * copy (0600) where the file system has no hard links or the backup is on another mount. A
 * file that is not regular (a FIFO, a link) is not read: `aside`, it is moved there later.
 * `mkdir` makes the backup's directory, only once there is something to keep.
 */
function keepPrevious(abs: string, backup: string, mkdir: () => void): 'missing' | 'aside' | 'kept' {
  let st: fs.Stats;
  try {
    st = step('read', abs, () => fs.lstatSync(abs));
  } catch (err) {
    if (err instanceof StepError && errno(err.cause) === 'ENOENT') return 'missing';
    throw err;
  }
  mkdir();
  if (!st.isFile()) return 'aside';
  try {
    fs.linkSync(abs, backup);
    return 'kept';
  } catch (err) {
    if (errno(err) === 'ENOENT') return 'missing';
    if (!['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP'].includes(errno(err) ?? '')) throw new StepError('back up', abs, err);
  }
  const found = step('read', abs, () => readRegular(abs));
  if (found.kind === 'missing') return 'missing';
  if (found.kind === 'special') return 'aside';
  writeNew(backup, found.content, 0o600);
  return 'kept';
}

/** chmod of a regular file through a descriptor opened without following a link or blocking. */
function chmodRegular(file: string, mode: number): void {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    if (fs.fstatSync(fd).isFile()) fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
}

/** Up to this many paths, an fsync each is cheaper than a whole-filesystem sync. */
const FSYNC_EACH_LIMIT = 32;

async function fsyncPath(p: string): Promise<void> {
  const fh = await fs.promises.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Makes everything written so far under `root` durable. For a handful of files (a node added,
 * a certificate renewed) each file and the directories above it up to `root` are fsynced. For
 * more, one syncfs(2) (`sync --file-system`) is one journal commit where an fsync per file is
 * one each: seconds for a thousand-node cluster; without the command (not Linux coreutils),
 * fsync each path anyway. Asynchronous, so a Ctrl-C during the flush reaches the store lock's
 * signal handler.
 */
async function flush(root: string, paths: readonly string[]): Promise<void> {
  const each = async () => {
    const top = resolve(root);
    const dirs = new Set<string>();
    for (const p of paths) {
      await fsyncPath(p);
      for (let d = dirname(resolve(p)); d.startsWith(top) && !dirs.has(d); d = dirname(d)) dirs.add(d);
    }
    for (const d of dirs) await fsyncPath(d);
  };
  if (paths.length <= FSYNC_EACH_LIMIT) return each();
  try {
    await promisify(execFile)('sync', ['--file-system', root]);
  } catch {
    await each();
  }
}

/**
 * Creates missing directories with their mode, parents first, and restores drifted ones.
 * Returns the directories it created. A wanted directory that is a link or a file is refused:
 * kpki writes through no link.
 */
function ensureDirectories(root: string, modes: ReadonlyMap<string, number>): string[] {
  const created: string[] = [];
  for (const [dir, mode] of [...modes].sort(([a], [b]) => a.length - b.length)) {
    const abs = join(root, dir);
    try {
      fs.mkdirSync(abs, { mode });
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw new StepError('create the directory', abs, err);
      const st = step('inspect', abs, () => fs.lstatSync(abs));
      if (!st.isDirectory()) {
        throw new StepError('create the directory', abs, Object.assign(new Error(`EEXIST: ${st.isSymbolicLink() ? 'a symbolic link' : 'a file'} is in the way`), { code: 'EEXIST' }));
      }
      if ((st.mode & 0o777) !== mode) step('set the mode of', abs, () => fs.chmodSync(abs, mode));
      continue;
    }
    created.push(abs);
    step('set the mode of', abs, () => fs.chmodSync(abs, mode)); // whatever the umask
  }
  return created;
}

function listNodes(root: string): string[] {
  try {
    return fs.readdirSync(join(root, 'nodes'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw fsError('list', join(root, 'nodes'), err);
    return [];
  }
}

/**
 * The tree index as kpki's user wrote it: a regular file, not a link, owned by this user
 * and writable by no one else. Anything else is ignored (everything is read).
 */
function readTreeIndex(root: string): TreeIndex | undefined {
  let fd: number;
  try {
    fd = fs.openSync(join(root, TREE_INDEX_FILE), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (st.mode & 0o022) !== 0 || (uid !== undefined && st.uid !== uid)) return undefined;
    return parseTreeIndex(fs.readFileSync(fd, 'utf8'));
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

const INDEX_TEMP = /^\.kpki-tree-index\.[0-9a-f]{12}\.tmp$/;

/**
 * The next tree index, written to a temp file created early: its timestamps are readings of
 * the file system's own clock (which is coarser than Date.now() and may be another host's),
 * taken at the moments the stamps' trust depends on. A cache: any failure here only means
 * the next walk reads more.
 */
class IndexWriter {
  readonly #file: string;
  readonly #tmp: string;
  #fd: number | undefined;
  /** The file system's clock when the temp file was created (ms). */
  readonly createdMs: number;
  /** A lower bound of the file system's clock when the walk started (ms). */
  readonly walkStartedMs: number;

  private constructor(file: string, tmp: string, fd: number, observedAt: number) {
    this.#file = file;
    this.#tmp = tmp;
    this.#fd = fd;
    const st = fs.fstatSync(fd, { bigint: true });
    const elapsed = performance.now() - observedAt; // measured after the fstat: an overestimate, as it must be
    this.createdMs = Number(st.mtimeNs) / 1e6;
    // Timestamps are truncated to the file system's granularity: whole seconds (or two, FAT)
    // where the nanoseconds are 0, a kernel tick (≤ 10 ms) elsewhere; margins above both.
    const granularityMs = st.mtimeNs % 1_000_000_000n === 0n ? 2_000 : 50;
    this.walkStartedMs = this.createdMs - elapsed - granularityMs;
  }

  static open(root: string, observedAt: number): IndexWriter | undefined {
    const file = join(root, TREE_INDEX_FILE);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    let fd: number;
    try {
      fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    } catch {
      return undefined;
    }
    try {
      return new IndexWriter(file, tmp, fd, observedAt);
    } catch {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      return undefined;
    }
  }

  /** Reads the file system's clock again (a write to the temp file updates its mtime). */
  clockMs(): number | undefined {
    if (this.#fd === undefined) return undefined;
    try {
      fs.writeSync(this.#fd, 'kpki', 0);
      return fs.fstatSync(this.#fd).mtimeMs;
    } catch {
      this.abort();
      return undefined;
    }
  }

  /** Writes the index and renames it into place (atomically; 0600). */
  commit(entries: ReadonlyMap<string, IndexEntry>, writtenAtMs: number): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    try {
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, serialiseTreeIndex(entries, writtenAtMs), 0);
      fs.closeSync(fd);
      fs.renameSync(this.#tmp, this.#file);
    } catch {
      try {
        fs.closeSync(fd);
      } catch {
        // closed already
      }
      fs.rmSync(this.#tmp, { force: true });
    }
  }

  abort(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
    fs.rmSync(this.#tmp, { force: true });
  }
}

/** What the last observation walked, for the next index. */
interface LastWalk {
  readonly walked: Walker;
  readonly trees: readonly string[];
  /** performance.now() before the walk's first lstat. */
  readonly observedAt: number;
}

/** What an apply knows about the stamps it is about to record. */
interface StampContext {
  /** A lower bound of the file system's clock when the walk started: fresh stamps must be older. */
  readonly walkStartedMs: number;
  /** The file system's clock after every temp file was written and before the first rename. */
  readonly beforeRenamesMs: number;
  /** The file system's clock after the last rename: directories stamped now must be older. */
  readonly afterRenamesMs: number;
  /** Each written file's stamp taken from its temp file's descriptor, by path. */
  readonly written: ReadonlyMap<string, Stamp>;
  /** Temp files of an earlier run, removed by this one. */
  readonly removed: readonly string[];
}

const parentOf = (p: string) => {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : p.slice(0, i);
};

/**
 * The index after applying `set` over what the last walk saw: written files and restored
 * modes stamped again, removed paths dropped, every directory whose entries or mode changed
 * stamped again. Nothing is paired with a digest unless it provably holds that content:
 *  - a written file: its stamp from the temp file's descriptor (before the rename) must still
 *    be its inode, size and mtime now, and that mtime must be older than the clock before the
 *    renames, so a write after kpki's (an overwrite after the rename included) shows;
 *  - a re-moded file: likewise against the stamp its content was known by;
 *  - a directory: its names are read again (after its stamp is taken) and must be the ones
 *    kpki expects, with a stamp older than the clock after the renames.
 * It describes the trees walked, and nothing else.
 */
function nextIndex(root: string, last: LastWalk, set: ChangeSet, ctx: StampContext): Map<string, IndexEntry> {
  // A set and the path's own prefixes: a stage observes a thousand trees (one per host).
  const trees = new Set(last.trees);
  const inTrees = (p: string) => {
    if (trees.has(p)) return true;
    for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) if (trees.has(p.slice(0, i))) return true;
    return false;
  };
  const next = new Map<string, Seen>(last.walked.seen);
  const stat = (p: string) => fs.lstatSync(join(root, p), { throwIfNoEntry: false });
  const touchedDirs = new Set<string>();
  for (const p of ctx.removed) {
    next.delete(p);
    touchedDirs.add(parentOf(p));
  }
  for (const c of set.changes) {
    touchedDirs.add(parentOf(c.path));
    const st = c.op === 'remove' ? undefined : stat(c.path);
    if (c.op === 'remove' || !st || !st.isFile()) {
      next.delete(c.path);
      continue;
    }
    const now = stampOf(st);
    if (c.op === 'chmod') {
      const before = next.get(c.path);
      const known = before?.kind === 'file' && 'file' in before && before.stamp !== undefined && (!before.fresh || settledBefore(before.stamp, ctx.walkStartedMs));
      next.set(c.path, known && sameContentStamp(before.stamp!, now) ? { kind: 'file', stamp: now, file: before.file } : { kind: 'other' });
    } else {
      const then = ctx.written.get(c.path);
      const ours = then !== undefined && settledBefore(then, ctx.beforeRenamesMs) && sameContentStamp(then, now);
      next.set(c.path, ours ? { kind: 'file', stamp: now, file: { mode: c.mode, ...(c.content !== undefined ? { content: c.content } : {}) } } : { kind: 'other' });
    }
  }
  for (const d of [...set.dirs.keys(), ...set.emptyDirs]) touchedDirs.add(d).add(parentOf(d));
  const dirs: Array<[string, fs.Stats]> = [];
  for (const d of touchedDirs) {
    if (!inTrees(d)) continue;
    const st = stat(d);
    if (st?.isDirectory()) {
      dirs.push([d, st]);
      next.set(d, { kind: 'dir' });
    } else next.delete(d);
  }
  // The names kpki expects in each touched directory: what the walk saw, with this run's changes.
  const expected = new Map<string, Set<string>>(dirs.map(([d]) => [d, new Set<string>()]));
  for (const p of next.keys()) {
    const parent = parentOf(p);
    expected.get(parent)?.add(p.slice(parent.length + 1));
  }
  for (const [d, st] of dirs) {
    const stamp = stampOf(st);
    if (!settledBefore(stamp, ctx.afterRenamesMs)) continue;
    let names: string[];
    try {
      names = fs.readdirSync(join(root, d));
    } catch {
      continue;
    }
    const want = expected.get(d) ?? new Set<string>();
    if (names.length === want.size && names.every((n) => want.has(n))) next.set(d, { kind: 'dir', stamp });
  }
  const out = new Map<string, IndexEntry>();
  for (const [p, s] of next) out.set(p, indexEntry(s, ctx.walkStartedMs));
  return out;
}

/**
 * Removes the temp files a killed run left (found by the walk, and the index's in the root):
 * with the lock held they are nobody's. Returns the paths removed below the trees.
 */
function removeLeftovers(root: string, last: LastWalk | undefined): string[] {
  const removed: string[] = [];
  for (const p of last?.walked.temps ?? []) {
    try {
      fs.unlinkSync(join(root, p));
      removed.push(p);
    } catch {
      // gone already, or no longer a file
    }
  }
  try {
    for (const name of fs.readdirSync(root)) if (INDEX_TEMP.test(name)) fs.rmSync(join(root, name), { force: true });
  } catch {
    // no root yet
  }
  return removed;
}

/**
 * Temp files an interrupted kpki run left directly in these directories of `root` (not below
 * them): removed, and returned root-relative. For writers that apply without walking the tree
 * (a host's /etc/kubernetes renewed in place); gen's walk finds its leftovers as it reads.
 */
export function removeTempsIn(root: string, dirs: readonly string[]): string[] {
  const removed: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(join(root, dir));
    } catch {
      continue; // not there: nothing was written in it
    }
    for (const name of names) {
      const rel = dir === '.' ? name : `${dir}/${name}`;
      if (!isKpkiTemp(rel)) continue;
      try {
        if (!fs.lstatSync(join(root, rel)).isFile()) continue;
        fs.unlinkSync(join(root, rel));
        removed.push(rel);
      } catch {
        // gone already
      }
    }
  }
  return removed;
}

/** The sentence for a failed step, and what the failure left as it was. */
function failure(root: string, err: unknown, tail: string): KpkiError {
  if (err instanceof StepError) return fsError(err.action, err.path, err.cause, tail);
  return fsError('write in', root, err, tail);
}

async function flushStep(root: string, paths: readonly string[]): Promise<void> {
  try {
    await flush(root, paths);
  } catch (err) {
    throw new StepError('flush', errnoOf(err) && (err as NodeJS.ErrnoException).path ? String((err as NodeJS.ErrnoException).path) : root, err);
  }
}

export function diskSink(root: string): Sink {
  let last: LastWalk | undefined;
  return {
    name: root,
    async observe(trees) {
      const observedAt = performance.now();
      const index = readTreeIndex(root);
      const walked = new Walker(root, index);
      for (const t of trees) walked.walk(t);
      last = { walked, trees, observedAt };
      let nodes: string[];
      if (walked.dirs.has('nodes')) {
        const err = walked.files.get('nodes')?.error;
        if (err !== undefined) throw new KpkiError('ERR_IO', `cannot list ${join(root, 'nodes')}: ${err}`);
        nodes = [...walked.dirs.keys()].filter((d) => d.startsWith('nodes/') && d.indexOf('/', 6) === -1).map((d) => d.slice(6)).sort();
      } else nodes = listNodes(root);
      return { files: walked.files, dirs: walked.dirs, nodes } satisfies Observation;
    },
    async apply(set: ChangeSet, options: ApplyOptions) {
      const results: Applied[] = [];
      const removed = removeLeftovers(root, last);
      for (const path of removed) results.push({ path, action: 'removed', reason: 'a temp file left by an interrupted kpki run' });
      const writes = set.changes.filter((c) => c.op === 'create' || c.op === 'update');
      const saved = set.changes.filter((c) => (c.op === 'update' && c.backup) || c.op === 'remove');
      if (!set.changes.length && !set.dirDrift.size) {
        if (last && (last.walked.stale || removed.length)) {
          const index = IndexWriter.open(root, last.observedAt);
          const now = index?.clockMs();
          if (index && now !== undefined) {
            const ctx = { walkStartedMs: index.walkStartedMs, beforeRenamesMs: now, afterRenamesMs: now, written: new Map(), removed };
            index.commit(nextIndex(root, last, set, ctx), now);
          }
        }
        return results;
      }
      const backupDir = join(root, 'backup', options.backupStamp);
      const created: string[] = [];
      const backups = new Map<string, string>();
      /** Files that are not regular (a FIFO, a link): moved into the backup, never read. */
      const aside = new Map<string, string>();
      const backupFiles: string[] = [];
      const temps: Array<{ path: string; tmp: string; abs: string }> = [];
      const written = new Map<string, Stamp>();
      let index: IndexWriter | undefined;
      const dropBackups = (keep: ReadonlySet<string>) => {
        for (const [path, backup] of backups) if (!keep.has(path) && !aside.has(path)) fs.rmSync(join(root, backup), { force: true });
      };
      try {
        created.push(...makeDirs(root, ROOT_DIR_MODE));
        created.push(...ensureDirectories(root, set.dirs));
        const backupDirs = new Set<string>(); // made (or found) already: one makeDirs per directory
        for (const c of saved) {
          const abs = join(root, c.path);
          const backup = join('backup', options.backupStamp, c.path);
          const mkdir = () => {
            const d = dirname(join(root, backup));
            if (!backupDirs.has(d)) created.push(...makeDirs(d, 0o700, 0o700));
            backupDirs.add(d);
          };
          const kept = keepPrevious(abs, join(root, backup), mkdir);
          if (kept === 'missing') continue; // gone since the walk: nothing to keep
          if (kept === 'aside') aside.set(c.path, join(root, backup));
          else backupFiles.push(join(root, backup));
          backups.set(c.path, backup);
        }
        // Every temp file first, flushed; then the renames, flushed: a crash leaves the old file
        // or the new one in each place, never a torn one.
        // Six random bytes per temp name, drawn at once (one call per file costs 14 µs each).
        const names = randomBytes(6 * writes.length).toString('hex');
        for (const [i, c] of writes.entries()) {
          if (c.content === undefined) throw new Error(`${c.path}: no content to write (a dry-run change set)`);
          const abs = join(root, c.path);
          const tmp = `${abs}.kpki-${names.slice(12 * i, 12 * i + 12)}.tmp`;
          written.set(c.path, stampOf(writeNew(tmp, c.content, c.mode, abs)));
          temps.push({ path: c.path, tmp, abs });
          if (temps.length % 256 === 0) options.onProgress?.(temps.length, writes.length);
        }
        if (options.durable !== false) await flushStep(root, [...backupFiles, ...temps.map((t) => t.tmp)]);
        if (last) index = IndexWriter.open(root, last.observedAt);
      } catch (err) {
        for (const t of temps) fs.rmSync(t.tmp, { force: true });
        dropBackups(new Set());
        removeEmptyDirs(created);
        index?.abort();
        throw failure(root, err, 'nothing was replaced');
      }
      const done = new Set<string>();
      const movedAside = new Set<string>();
      try {
        for (const t of temps) {
          const moved = aside.get(t.path);
          if (moved) {
            step('move aside', t.abs, () => fs.renameSync(t.abs, moved));
            movedAside.add(t.path);
          }
          step('replace', t.abs, () => fs.renameSync(t.tmp, t.abs));
          done.add(t.path);
        }
        for (const c of set.changes) {
          const abs = join(root, c.path);
          if (c.op === 'chmod') step('set the mode of', abs, () => chmodRegular(abs, c.mode));
          else if (c.op === 'remove') {
            const moved = aside.get(c.path);
            step('remove', abs, () => (moved ? fs.renameSync(abs, moved) : fs.rmSync(abs, { force: true })));
          }
          done.add(c.path);
        }
        for (const d of set.emptyDirs) {
          try {
            fs.rmdirSync(join(root, d));
          } catch (err) {
            if (errno(err) !== 'ENOTEMPTY' && errno(err) !== 'ENOENT') throw new StepError('remove the directory', join(root, d), err);
          }
        }
        options.afterRenames?.();
        if (options.durable !== false) await flushStep(root, [...new Set(temps.map((t) => dirname(t.abs)))]);
      } catch (err) {
        for (const t of temps) if (!done.has(t.path)) fs.rmSync(t.tmp, { force: true });
        for (const p of movedAside) {
          if (done.has(p)) continue;
          try {
            fs.renameSync(aside.get(p)!, join(root, p)); // back where it was: this run did not replace it
          } catch {
            // it stays in the backup, which the message names
          }
        }
        dropBackups(done);
        removeEmptyDirs(created);
        index?.abort();
        const kept = [...backups.keys()].some((p) => done.has(p)) ? `; previous versions of what was replaced are in ${backupDir}` : '';
        throw failure(root, err, `${done.size} of ${set.changes.length} changes were made${kept}`);
      }
      const afterRenamesMs = index?.clockMs();
      if (last && index && afterRenamesMs !== undefined) {
        const ctx = { walkStartedMs: index.walkStartedMs, beforeRenamesMs: index.createdMs, afterRenamesMs, written, removed };
        index.commit(nextIndex(root, last, set, ctx), afterRenamesMs);
      } else index?.abort();
      options.onProgress?.(writes.length, writes.length);
      for (const c of set.changes) {
        const backup = backups.get(c.path);
        const base = { path: c.path, ...(backup ? { backup } : {}) };
        if (c.op === 'create') results.push({ ...base, action: 'created' });
        else if (c.op === 'update') results.push({ ...base, action: 'updated' });
        else if (c.op === 'chmod') results.push({ ...base, action: 'chmod', reason: `mode ${c.from.toString(8)} → ${c.mode.toString(8)}` });
        else results.push({ ...base, action: 'removed', reason: c.reason });
      }
      return results;
    },
  };
}
