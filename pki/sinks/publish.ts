/**
 * Publishing a file that another program reads on its own schedule (node_exporter's textfile
 * collector): the reader sees the old file or the new one, never a half-written one. The new
 * content goes to a hidden temp file in the same directory (same filesystem, so the rename is
 * atomic) whose name does not end in `.prom`, so the collector never picks it up; it is flushed,
 * given its mode whatever the umask, renamed over the target and the directory flushed. Any
 * failure removes the temp file and leaves the target as it was.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { KpkiError } from '../errors.js';

/** Why a file could not be written, as one sentence naming the path. */
function reason(path: string, dir: string, err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EACCES':
    case 'EPERM':
      return `${path}: permission denied (cannot write in ${dir})`;
    case 'EROFS':
      return `${path}: ${dir} is on a read-only filesystem`;
    case 'ENOENT':
      return `${path}: the directory ${dir} does not exist`;
    case 'ENOTDIR':
      return `${path}: ${dir} is not a directory`;
    case 'EISDIR':
      return `${path} is a directory`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `${path}: no space left in ${dir}`;
    default:
      return `${path}: cannot write it: ${(err as Error).message}`;
  }
}

/** Replaces `path` with `content` atomically and durably; throws a KpkiError (`ERR_IO`) naming the path. */
export function publishFile(path: string, content: string, mode = 0o644): void {
  const dir = dirname(resolve(path));
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
    fs.writeFileSync(fd, content);
    fs.fchmodSync(fd, mode); // the umask may have narrowed it; the collector runs as another user
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    if (fs.statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    fs.renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new KpkiError('ERR_IO', reason(path, dir, err), { cause: err });
  }
  // The rename is durable once the directory is; failing to flush it only risks the old file after a crash.
  try {
    const d = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(d);
    } finally {
      fs.closeSync(d);
    }
  } catch {
    /* best effort */
  }
}
