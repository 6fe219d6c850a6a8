/**
 * The file planner: wanted files × what a sink observed → the change set (create, update,
 * chmod, remove). Pure, like a changeset planner: the sink applies it and reports what it
 * touched. Trees named as `exact` must end up holding the wanted files and nothing else.
 */
import { dirname } from 'node:path/posix';
import { KpkiError } from '../errors.js';
import { fileDigest, textDigest } from './digest.js';
import type { Change, ChangeSet, Observation, ObservedFile, WantedFile } from './types.js';

export const SECRET_DIR_MODE = 0o700;
export const PUBLIC_DIR_MODE = 0o755;

const isSecret = (mode: number) => (mode & 0o077) === 0;

/**
 * kpki's temp files: `<final name>.kpki-<12 hex>.tmp`, written before a rename into place. One
 * found by a walk was left by a run that was killed; the sink removes it (never backs it up:
 * it may be a private key that never went into use), and the planner leaves it alone.
 */
export const isKpkiTemp = (path: string): boolean => /\.kpki-[0-9a-f]{12}\.tmp$/.test(path);
const under = (path: string, tree: string) => path.startsWith(`${tree}/`);

/** Directory modes: 0700 for any directory that holds a private file directly, else 0755. */
export function directoryModes(files: readonly { path: string; mode: number }[]): Map<string, number> {
  const modes = new Map<string, number>();
  for (const f of files) {
    for (let d = dirname(f.path), first = true; d !== '.' && d !== '/'; d = dirname(d), first = false) {
      const want = first && isSecret(f.mode) ? SECRET_DIR_MODE : PUBLIC_DIR_MODE;
      modes.set(d, Math.min(modes.get(d) ?? PUBLIC_DIR_MODE, want));
    }
  }
  return modes;
}

export interface PlanChangesOptions {
  /** Trees whose files not in `wanted` are removed (node trees, pruned node trees). */
  readonly exact: readonly string[];
  /** Why a file in an exact tree is not wanted, for the report. */
  readonly whyRemoved: (path: string) => string;
  /** For conflict messages. */
  readonly root: string;
}

/**
 * Whether a found file already holds the wanted content. A file the sink vouches for by
 * digest is compared by digest, so it is not read; otherwise the texts are compared.
 */
function sameContent(found: ObservedFile, w: WantedFile): boolean {
  if (found.digest !== undefined) return found.digest === (w.digest ?? (w.content === undefined ? undefined : textDigest(w.content)));
  return found.content !== undefined && w.content !== undefined && found.content === w.content;
}

export function planChanges(wanted: readonly WantedFile[], observed: Observation, options: PlanChangesOptions): ChangeSet {
  const changes: Change[] = [];
  const wantedPaths = new Set<string>();
  for (const w of wanted) {
    wantedPaths.add(w.path);
    const found = observed.files.get(w.path);
    if (!found) {
      changes.push({ op: 'create', path: w.path, mode: w.mode, content: w.content });
    } else if (!sameContent(found, w)) {
      if (w.protected && fileDigest(found) !== undefined && w.content !== undefined) {
        throw new KpkiError('ERR_STORE_CONFLICT', `${options.root}/${w.path} exists with other content; kpki never overwrites it`);
      }
      changes.push({ op: 'update', path: w.path, mode: w.mode, content: w.content, backup: !w.bookkeeping });
    } else if (found.mode !== w.mode) {
      changes.push({ op: 'chmod', path: w.path, mode: w.mode, from: found.mode });
    }
  }
  const exact = options.exact;
  const inExact = (p: string) => exact.some((t) => p === t || under(p, t));
  for (const path of [...observed.files.keys()].sort()) {
    if (!wantedPaths.has(path) && inExact(path) && !isKpkiTemp(path)) changes.push({ op: 'remove', path, reason: options.whyRemoved(path) });
  }
  // Only directories to create or to restore: the observation already vouches for the rest,
  // and a thousand-node tree has 8,000 of them.
  const wantedDirs = directoryModes(wanted);
  const dirs = new Map<string, number>();
  const dirDrift = new Map<string, number>();
  for (const [dir, mode] of wantedDirs) {
    const found = observed.dirs.get(dir);
    if (found === mode) continue;
    dirs.set(dir, mode);
    if (found !== undefined) dirDrift.set(dir, found);
  }
  const emptyDirs = [...observed.dirs.keys()]
    .filter((d) => !wantedDirs.has(d) && inExact(d))
    .sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1));
  return { changes, dirs, dirDrift, emptyDirs };
}
