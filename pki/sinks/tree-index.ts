/**
 * The disk sink's index of the trees it last wrote: each directory's stamp (inode, size,
 * mtime, ctime) and names, and each regular file's stamp with the SHA-256 of its content.
 * The next walk lstats every path and trusts an entry whose stamp is unchanged: a
 * directory's names come from the index instead of a readdir, a file's digest instead of
 * reading it (its content is read only if something asks). Any write, rename, link or chmod
 * changes the ctime, which no program can set, so a changed file or directory is read
 * again. This is git's index rule, and like git a stamp is only trusted when the path last
 * changed in an earlier clock tick than the moment the stamp was taken ("racy" otherwise:
 * a change in the same tick could leave it as it was). A file kpki wrote is stamped from its
 * temp file's descriptor before the rename and recorded only if the path still has that
 * inode, size and mtime afterwards, so nothing written in between can take kpki's digest.
 *
 * It is a cache: a missing, damaged or foreign index only means everything is read. It lives
 * in the sink's root (beside the lock), outside the trees it describes. One line per path,
 * parsed only when that path is looked up.
 */
export const TREE_INDEX_FILE = '.kpki-tree-index';

const HEADER = 'kpki-tree-index 2';

/** A path's stamp: `key` is compared as a whole; the times decide whether it is racy. */
export interface Stamp {
  readonly key: string;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

export function stampOf(st: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): Stamp {
  return { key: `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

/**
 * Whether `now` (a later stamp of the same path) can only show the same content as `then`:
 * the same inode, size and mtime. Valid when `then` was settled (its mtime older than the
 * clock when it was taken): any write since gives a later mtime. A chmod or a rename changes
 * only the ctime, which is why the ctime is not compared here.
 */
export const sameContentStamp = (then: Stamp, now: Stamp): boolean =>
  then.ino === now.ino && then.size === now.size && then.mtimeMs === now.mtimeMs;

/** What the next index records for a path. */
export type IndexEntry =
  | { readonly kind: 'dir'; readonly stamp?: Stamp }
  | { readonly kind: 'file'; readonly stamp?: Stamp; readonly digest?: string }
  | { readonly kind: 'other' };

export interface TreeIndex {
  /** How the path was indexed: `d`irectory, `f`ile or `o`ther. */
  kind(path: string): 'd' | 'f' | 'o' | undefined;
  /** A directory's names, if its stamp is still `stamp`. */
  names(path: string, stamp: Stamp): string[] | undefined;
  /** A file's digest, if its stamp is still `stamp`. */
  digest(path: string, stamp: Stamp): string | undefined;
}

const DIGEST = /^[A-Za-z0-9_-]{43}$/;

/** The index in `text`, or undefined when there is none or another version's. */
export function parseTreeIndex(text: string | undefined): TreeIndex | undefined {
  if (text === undefined || !text.startsWith(`${HEADER}\n`)) return undefined;
  const lines = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.charCodeAt(1) !== 9) continue; // the header, the last empty line
    const end = line.indexOf('\t', 2);
    lines.set(end < 0 ? line.slice(2) : line.slice(2, end), line);
  }
  // What follows the path in a `kind` line, if its stamp field is `stamp`.
  const after = (path: string, kind: string, stamp: Stamp): string | undefined => {
    const line = lines.get(path);
    if (line === undefined || line.charCodeAt(0) !== kind.charCodeAt(0)) return undefined;
    const at = path.length + 3;
    if (!line.startsWith(stamp.key, at) || line.charCodeAt(at + stamp.key.length) !== 9) return undefined;
    return line.slice(at + stamp.key.length + 1);
  };
  return {
    kind(path) {
      const c = lines.get(path)?.[0];
      return c === 'd' || c === 'f' || c === 'o' ? c : undefined;
    },
    names(path, stamp) {
      const rest = after(path, 'd', stamp);
      return rest === undefined ? undefined : rest === '' ? [] : rest.split('/');
    },
    digest(path, stamp) {
      const rest = after(path, 'f', stamp);
      return rest !== undefined && DIGEST.test(rest) ? rest : undefined;
    },
  };
}

const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/')));
const UNSAFE = /[\t\n\r/]/;

/**
 * The index's text for `entries` (every path of the trees walked). `writtenAtMs` is the index
 * file's own mtime: entries whose ctime is not older are written without their stamp (racy),
 * as are directories holding a name a line cannot.
 */
export function serialiseTreeIndex(entries: ReadonlyMap<string, IndexEntry>, writtenAtMs: number): string {
  const names = new Map<string, string[]>();
  const unsafe = new Set<string>();
  for (const path of entries.keys()) {
    const parent = parentOf(path);
    const name = path.slice(parent.length + 1);
    if (UNSAFE.test(name) || /[\t\n\r]/.test(parent)) unsafe.add(parent);
    const list = names.get(parent);
    if (list) list.push(name);
    else names.set(parent, [name]);
  }
  const out = [HEADER];
  for (const [path, e] of entries) {
    if (/[\t\n\r]/.test(path)) continue;
    const stamp = e.kind !== 'other' && e.stamp !== undefined && e.stamp.ctimeMs < writtenAtMs ? e.stamp.key : '-';
    if (e.kind === 'dir') {
      if (unsafe.has(path)) out.push(`d\t${path}\t-\t`);
      else out.push(`d\t${path}\t${stamp}\t${(names.get(path) ?? []).join('/')}`);
    }
    else if (e.kind === 'file') out.push(`f\t${path}\t${e.digest === undefined ? '-' : stamp}\t${e.digest ?? '-'}`);
    else out.push(`o\t${path}`);
  }
  return `${out.join('\n')}\n`;
}
