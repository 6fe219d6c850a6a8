/**
 * `--out` checked before anything is read or written, so an unusable output directory fails
 * with one plain sentence (exit 2) instead of an errno from deep inside a write, and nothing is
 * left behind. Only looks: creates nothing.
 */
import * as fs from 'node:fs';
import { dirname, resolve } from 'node:path';
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
