/**
 * `--out` checked before anything is read or written, so an unusable output directory fails
 * with one plain sentence (exit 2) instead of an errno from deep inside a write, and nothing is
 * left behind; and a store another user could change is refused (exit 3), as OpenSSH refuses
 * a group-writable `~/.ssh`. Only looks: creates nothing.
 */
import * as fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KpkiError } from '../errors.js';

const invalid = (message: string) => new KpkiError('ERR_OUT_INVALID', message);

function statOrMissing(path: string): fs.Stats | undefined {
  try {
    return fs.statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // ENOTDIR: an ancestor is a file; the walk up finds and names it.
    if (code === 'ENOTDIR') return undefined;
    if (code === 'EACCES') throw invalid(`${path}: permission denied (cannot look inside ${dirname(path)})`);
    throw new KpkiError('ERR_IO', `cannot inspect ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Checks that `out` is, or can become, the output directory: not empty, not a file and not
 * below one; with `write`, also that the directory (or its nearest existing ancestor, where it
 * would be created) is writable, i.e. not on a read-only filesystem and not denied.
 */
export function checkOutDir(out: string, options: { write: boolean }): void {
  if (out.trim() === '') throw invalid('--out must name a directory (it is empty)');
  // The nearest existing path at or above `out`: `out` itself, or where it would be created.
  let existing = resolve(out);
  let stats = statOrMissing(existing);
  while (stats === undefined) {
    const parent = dirname(existing);
    if (parent === existing) return; // nothing exists, not even "/": let the write report it
    existing = parent;
    stats = statOrMissing(existing);
  }
  if (!stats.isDirectory()) {
    const what = stats.isFile() ? 'a file' : 'not a directory';
    throw invalid(existing === resolve(out) ? `${out} is not a directory (it is ${what})` : `${out} is not a directory (${existing} is ${what})`);
  }
  if (!options.write) return;
  writable(out, existing);
  refuseUnsafeStore(out);
}

function writable(out: string, existing: string): void {
  try {
    fs.accessSync(existing, fs.constants.W_OK | fs.constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') throw invalid(`${out} is on a read-only filesystem (${existing})`);
    if (code === 'EACCES' || code === 'EPERM') {
      throw invalid(`${out}: permission denied (cannot write in ${existing})`);
    }
    throw new KpkiError('ERR_IO', `cannot write in ${existing}: ${(err as Error).message}`, { cause: err });
  }
}

/** What another user could do with `st` (a directory): why it is unsafe, or undefined. */
function unsafeBecause(st: fs.Stats, uid: number, opts: { ownerOnly: boolean; stickyOk: boolean }): string | undefined {
  const ownerOk = st.uid === uid || (!opts.ownerOnly && st.uid === 0);
  if (!ownerOk) return `is owned by uid ${st.uid}, not by this user (uid ${uid})`;
  const sticky = (st.mode & 0o1000) !== 0; // others may add names, not rename or remove this user's
  if ((st.mode & 0o022) !== 0 && !(opts.stickyOk && sticky)) {
    const who = [(st.mode & 0o020) !== 0 ? 'its group' : '', (st.mode & 0o002) !== 0 ? 'others' : ''].filter(Boolean).join(' and ');
    return `is writable by ${who} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  }
  return undefined;
}

/** One way another user could change the store: the path (as given, or absolute above it), and what is wrong. */
export interface StoreProblem {
  readonly path: string;
  /** Relative to the store (`.`, `pki`, `pki/etcd`), or absolute for a directory above it. */
  readonly file: string;
  /** Continues `path`: what is wrong and the fix, e.g. `is writable by others (mode 0777); …: chmod go-w …`. */
  readonly problem: string;
}

/**
 * What another user could change about the store at `out` (rename `pki/` away and put a CA of
 * their own there; read the backups): the output directory and its `pki/` (with every
 * directory in it), `nodes/` and `backup/` must be directories owned by this user and
 * writable by no one else, and every directory above must be owned by this user or root and
 * not writable by others (unless sticky, as /tmp). Empty when all is well, or without POSIX
 * owners (Windows). `byOwner`: judged for the user owning the store rather than this process
 * (an audit by a monitoring user of root's store).
 */
export function storeProblems(out: string, options: { byOwner?: boolean } = {}): StoreProblem[] {
  let uid = process.getuid?.();
  if (uid === undefined) return [];
  let existing = resolve(out);
  while (!fs.existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const outExists = existing === resolve(out);
  if (options.byOwner && outExists) uid = fs.statSync(existing).uid;
  const problems: StoreProblem[] = [];
  const fix = (path: string, file: string, why: string) =>
    problems.push({
      path, file,
      problem: why.startsWith('is owned')
        ? `${why}; kpki gen refuses a store another user can change: chown -R ${uid} ${path}, or use another --out`
        : `${why}; kpki gen refuses a store another user can change: chmod go-w ${path}`,
    });
  let real: string;
  try {
    real = fs.realpathSync(existing);
  } catch (err) {
    throw new KpkiError('ERR_IO', `cannot inspect ${existing}: ${(err as Error).message}`, { cause: err });
  }
  // The directories above, as named and as resolved (a link to the store is followed): whoever
  // can write in either can swap the store for one of their own.
  const above = new Set<string>();
  for (const start of [existing, real]) {
    for (let d = outExists ? dirname(start) : start; ; d = dirname(d)) {
      above.add(d);
      if (dirname(d) === d) break;
    }
  }
  for (const d of [...above].sort()) {
    const why = unsafeBecause(fs.statSync(d), uid, { ownerOnly: false, stickyOk: true });
    if (why) problems.push({ path: d, file: d, problem: `${why}, so another user could put a store of their own in place of ${out}: use an --out whose parent directories only you or root can change` });
  }
  if (!outExists) return problems;
  const why = unsafeBecause(fs.statSync(real), uid, { ownerOnly: true, stickyOk: false });
  if (why) fix(out, '.', why);
  const inside = (rel: string, deep: boolean) => {
    const path = join(out, rel);
    const st = fs.lstatSync(path, { throwIfNoEntry: false });
    if (st === undefined) return;
    if (!st.isDirectory()) {
      problems.push({ path, file: rel, problem: `is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}; kpki writes only into directories it made: move it away` });
      return;
    }
    const bad = unsafeBecause(st, uid, { ownerOnly: true, stickyOk: false });
    if (bad) fix(path, rel, bad);
    if (!deep) return;
    let names: fs.Dirent[] = [];
    try {
      names = fs.readdirSync(path, { withFileTypes: true });
    } catch {
      return; // unreadable: the walk reports it
    }
    for (const e of names) if (e.isDirectory() || e.isSymbolicLink()) inside(`${rel}/${e.name}`, true);
  };
  // The CA keys live in pki/ (and pki/etcd/): every directory there.
  inside('pki', true);
  inside('nodes', false);
  inside('backup', false);
  return problems;
}

/** Refuses (ERR_STORE_CONFLICT, exit 3) a store another user could change: one line per problem. */
export function refuseUnsafeStore(out: string): void {
  const problems = storeProblems(out);
  if (problems.length) throw new KpkiError('ERR_STORE_CONFLICT', problems.map((p) => `${p.path} ${p.problem}`).join('\n'));
}
