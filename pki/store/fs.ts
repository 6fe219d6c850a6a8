/**
 * The disk edge: reads what exists and writes what changed. Every write is atomic (temp file,
 * fsync, rename, directory fsync), private files are created 0600 inside 0700 directories,
 * protected files (the store's CA and SA keys) are never replaced, and every replaced file
 * is first copied to `backup/<stamp>/`. All checks run before the first byte is written.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { KpkiError } from '../errors.js';

export interface WriteEntry {
  readonly path: string;
  readonly mode: number;
  readonly content: string;
  readonly protected: boolean;
}

export type WriteAction = 'created' | 'updated' | 'unchanged';

export interface WriteResult {
  readonly path: string;
  readonly action: WriteAction;
  /** Where the previous content was saved, for `updated` files. */
  readonly backup?: string;
}

/** Contents of the files that exist among `paths` (relative to `root`). */
export async function readExisting(root: string, paths: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  await mapLimit(paths, 64, async (p) => {
    try {
      found.set(p, await fs.readFile(join(root, p), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new KpkiError('ERR_IO', `cannot read ${join(root, p)}: ${(err as Error).message}`, { cause: err });
      }
    }
  });
  return found;
}

/** Names of the subdirectories of `dir`; none when it does not exist. */
export async function listDirs(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** What `write` would do, without doing it. */
export async function planWrites(root: string, entries: readonly WriteEntry[]): Promise<WriteResult[]> {
  const current = await readExisting(root, entries.map((e) => e.path));
  return entries.map((e) => {
    const now = current.get(e.path);
    if (now === undefined) return { path: e.path, action: 'created' };
    if (now === e.content) return { path: e.path, action: 'unchanged' };
    if (e.protected) {
      throw new KpkiError('ERR_STORE_CONFLICT', `${join(root, e.path)} exists with other content; kpki never overwrites it`);
    }
    return { path: e.path, action: 'updated' };
  });
}

/** Directory modes: 0700 for any directory that holds a private file directly, else 0755. */
function directoryModes(entries: readonly WriteEntry[]): Map<string, number> {
  const modes = new Map<string, number>();
  for (const e of entries) {
    const secret = (e.mode & 0o077) === 0;
    for (let d = dirname(e.path), first = true; d !== '.' && d !== '/'; d = dirname(d), first = false) {
      const want = first && secret ? 0o700 : 0o755;
      modes.set(d, Math.min(modes.get(d) ?? 0o755, want));
    }
  }
  return modes;
}

async function writeTemp(file: string, content: string, mode: number): Promise<string> {
  const tmp = `${file}.kpki-${randomBytes(6).toString('hex')}.tmp`;
  const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await fh.writeFile(content);
    await fh.chmod(mode); // the umask may have narrowed or widened the create mode
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeFiles(
  root: string,
  entries: readonly WriteEntry[],
  options: { backupStamp: string },
): Promise<WriteResult[]> {
  const planned = await planWrites(root, entries);
  const changed = entries.filter((_, i) => planned[i]!.action !== 'unchanged');
  if (!changed.length) return planned;

  for (const [dir, mode] of [...directoryModes(entries)].sort(([a], [b]) => a.length - b.length)) {
    const abs = join(root, dir);
    await fs.mkdir(abs, { recursive: true, mode });
    await fs.chmod(abs, mode);
  }

  const results = new Map(planned.map((r) => [r.path, r]));
  const backups = changed.filter((e) => results.get(e.path)!.action === 'updated');
  const backupRoot = join('backup', options.backupStamp);
  await mapLimit(backups, 32, async (e) => {
    const target = join(backupRoot, e.path);
    await fs.mkdir(join(root, dirname(target)), { recursive: true, mode: 0o700 });
    const tmp = await writeTemp(join(root, target), await fs.readFile(join(root, e.path), 'utf8'), 0o600);
    await fs.rename(tmp, join(root, target));
    results.set(e.path, { path: e.path, action: 'updated', backup: target });
  });

  // Write every temp file (fsynced) first, then rename them all: a crash leaves either
  // the old file or the new one in each place, never a torn one.
  const temps: Array<[string, string]> = [];
  try {
    await mapLimit(changed, 64, async (e) => {
      const abs = join(root, e.path);
      temps.push([await writeTemp(abs, e.content, e.mode), abs]);
    });
  } catch (err) {
    await Promise.all(temps.map(([tmp]) => fs.rm(tmp, { force: true })));
    throw new KpkiError('ERR_IO', `writing ${root} failed; nothing was replaced: ${(err as Error).message}`, { cause: err });
  }
  await mapLimit(temps, 64, ([tmp, abs]) => fs.rename(tmp, abs));
  await mapLimit([...new Set(temps.map(([, abs]) => dirname(abs)))], 32, syncDir);
  return planned.map((r) => results.get(r.path)!);
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
