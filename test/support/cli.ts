/** Helpers shared by the test suites: run the built CLI, make temp dirs, hash trees, run tools. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSync, type SyncResult } from './proc.js';

/** Repository root (tests run from dist/test/...). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(ROOT, 'dist/cli/main.js');
export const FIXTURES = join(ROOT, 'fixtures');
/** kpki's own bookkeeping: the store's record and the disk sink's tree index.
 * Rewritten as kpki likes, never a credential. */
export const BOOKKEEPING: readonly string[] = ['pki/record', '.kpki-tree-index'];

/** Temp directories made by this test process: removed when it exits (KPKI_KEEP_TEMP=1 keeps them to look at). */
const made: string[] = [];
process.once('exit', () => {
  if (process.env.KPKI_KEEP_TEMP) return;
  for (const d of made) {
    try {
      rmSync(d, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // busy or already gone: the system's temp cleaning takes it
    }
  }
});

export function tempDir(prefix = 'kpki-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Runs the built CLI; throws if it is still running after `boundMs` (default: proc.ts's). */
export function kpki(args: readonly string[], opts: { cwd?: string; boundMs?: number } = {}): SyncResult {
  return runSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1' }, boundMs: opts.boundMs });
}

/** Runs a tool and returns stdout; throws with stderr on a non-zero exit, or if it outlives its bound. */
export function sh(cmd: string, args: readonly string[], input?: string): string {
  const r = runSync(cmd, args, { input });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Every file below `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** sha256 of every file below `dir`, keyed by relative path. */
export function hashTree(dir: string): Map<string, string> {
  return new Map(listFiles(dir).map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));
}

export function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

/** Writes a plan file into a temp dir and returns its path. */
export function writePlan(yaml: string, dir = tempDir()): string {
  const p = join(dir, 'cluster.yaml');
  writeFileSync(p, yaml);
  return p;
}
