/**
 * The memory sink: a file set held in a Map, for installers that embed kpki and for tests.
 * Same contract as the disk sink (backups included), no disk touched.
 */
import { dirname } from 'node:path/posix';
import { directoryModes } from './changes.js';
import type { Applied, ObservedFile, Sink } from './types.js';

export interface MemoryFile {
  readonly content: string;
  readonly mode: number;
}

export interface MemorySink extends Sink {
  /** The current file set, by path. */
  readonly files: Map<string, MemoryFile>;
}

export function memorySink(initial: ReadonlyMap<string, MemoryFile> = new Map()): MemorySink {
  const files = new Map(initial);
  // Directories exist only implicitly here: they have the modes their files call for.
  const dirModes = directoryModes([...files].map(([path, f]) => ({ path, mode: f.mode })));
  return {
    name: 'memory',
    files,
    async observe(trees) {
      const found = new Map<string, ObservedFile>();
      const dirs = new Map<string, number>();
      const inTree = (p: string) => trees.some((t) => p === t || p.startsWith(`${t}/`));
      for (const [path, f] of files) {
        if (!inTree(path)) continue;
        found.set(path, { mode: f.mode, content: f.content });
        for (let d = dirname(path); d !== '.' && inTree(d); d = dirname(d)) dirs.set(d, dirModes.get(d) ?? 0o755);
      }
      const nodes = [...new Set([...files.keys()].filter((p) => p.startsWith('nodes/')).map((p) => p.split('/')[1]!))].sort();
      return { files: found, dirs, nodes };
    },
    async apply(set, options) {
      const results: Applied[] = [];
      for (const c of set.changes) {
        if ((c.op === 'create' || c.op === 'update') && c.content === undefined) throw new Error(`${c.path}: no content to write (a dry-run change set)`);
      }
      for (const [d, m] of set.dirs) dirModes.set(d, m);
      for (const c of set.changes) {
        const old = files.get(c.path);
        const backup = old && ((c.op === 'update' && c.backup) || c.op === 'remove') ? `backup/${options.backupStamp}/${c.path}` : undefined;
        if (backup && old) files.set(backup, { content: old.content, mode: 0o600 });
        const base = { path: c.path, ...(backup ? { backup } : {}) };
        if (c.op === 'create' || c.op === 'update') {
          files.set(c.path, { content: c.content!, mode: c.mode });
          results.push({ ...base, action: c.op === 'create' ? 'created' : 'updated' });
        } else if (c.op === 'chmod') {
          files.set(c.path, { content: old?.content ?? '', mode: c.mode });
          results.push({ ...base, action: 'chmod', reason: `mode ${c.from.toString(8)} → ${c.mode.toString(8)}` });
        } else {
          files.delete(c.path);
          results.push({ ...base, action: 'removed', reason: c.reason });
        }
      }
      return results;
    },
  };
}
