/**
 * `kpki ca rotate` and `kpki sa rotate`, each phase on a store of 1 control plane + N ECDSA
 * workers, whole process, median of N runs. Goal: ≤ 2 s per phase at 1,000 workers.
 *
 * Each phase is timed twice: on tmpfs (/dev/shm; kpki's own cost: reading, deciding, signing,
 * rendering) and on the disk under bench/.work. On disk, the same minute also times the floor:
 * the files that phase changed, written by the plainest writer that still loses nothing (the
 * replaced file hard-linked under backup/, a temp file written and renamed over it, one syncfs
 * before and one after the renames), on a copy of the store as it was before the phase. On a
 * disk where creating a file costs most of a millisecond, that floor is most of the time.
 * Each store copy is flushed before the clock starts, so no run pays for the copy's writeback.
 * Each run must report the phase it was timed for, so a fast wrong answer cannot pass.
 * `node dist/bench/rotate.js [--runs N] [--workers 1000]`; writes bench/ROTATE.md.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { KPKI_MAIN, REPO_ROOT, WORK_DIR } from './paths.js';
import { planYaml, workersPlan } from './plans.js';
import { failureText, succeeded, timedRun } from './proc.js';
import { median } from './stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, workers: { type: 'string', default: '1000' } } });
const runs = Math.max(1, Number(values.runs));
const n = Number(values.workers);
const GOAL_MS = 2000;

interface Changed { readonly path: string; readonly action: string }

/** One timed call that must carry out `phase`; returns its wall time and the files it changed. */
function phase(args: string[], want: string): { ms: number; files: Changed[] } {
  const r = timedRun(process.execPath, [KPKI_MAIN, ...args, '--json']);
  if (!succeeded(r)) throw new Error(`${args.join(' ')}: ${failureText(r)}`);
  const doc = JSON.parse(r.stdout) as { rotation: { phase: string }; files: Changed[] };
  if (doc.rotation.phase !== want) throw new Error(`${args.join(' ')}: ran ${doc.rotation.phase}, not ${want}`);
  return { ms: r.wallMs, files: doc.files };
}

const flushed = (dir: string) => execFileSync('sync', ['--file-system', dir]);

function copyStore(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  flushed(to);
}

/**
 * The floor on disk: `files` (as `after` holds them) written into `before` with nothing but what
 * losing nothing needs: backups as hard links, temp file + rename, syncfs before and after.
 */
function floorMs(before: string, after: string, files: readonly Changed[]): number {
  const texts = files.map((f) => (f.action === 'removed' ? undefined : readFileSync(join(after, f.path))));
  const modes = files.map((f) => (f.action === 'removed' ? 0 : statSync(join(after, f.path)).mode & 0o777));
  const backup = join(before, 'backup', 'floor');
  const t0 = performance.now();
  files.forEach((f, i) => {
    const target = join(before, f.path);
    if (f.action !== 'created' && existsSync(target)) {
      mkdirSync(dirname(join(backup, f.path)), { recursive: true, mode: 0o700 });
      linkSync(target, join(backup, f.path));
    }
    const text = texts[i];
    if (text !== undefined) {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(`${target}.tmp`, text, { mode: modes[i], flag: 'wx' });
    }
  });
  flushed(before);
  files.forEach((f, i) => {
    const target = join(before, f.path);
    if (texts[i] === undefined) unlinkSync(target);
    else renameSync(`${target}.tmp`, target);
  });
  flushed(before);
  return performance.now() - t0;
}

const ROWS: ReadonlyArray<{ name: string; cmd: string[]; phases: readonly string[] }> = [
  { name: 'ca rotate ca', cmd: ['ca', 'rotate', 'ca'], phases: ['trust', 'issue', 'finalize'] },
  { name: 'ca rotate etcd-ca', cmd: ['ca', 'rotate', 'etcd-ca'], phases: ['trust', 'issue', 'finalize'] },
  { name: 'sa rotate', cmd: ['sa', 'rotate'], phases: ['overlap', 'finalize'] },
];

const diskDir = join(WORK_DIR, 'rotate');
const memDir = existsSync('/dev/shm') ? join('/dev/shm', `kpki-bench-rotate-${process.pid}`) : undefined;
for (const d of [diskDir, memDir]) if (d) (rmSync(d, { recursive: true, force: true }), mkdirSync(d, { recursive: true }));
const planFile = join(diskDir, `w${n}.yaml`);
writeFileSync(planFile, planYaml(workersPlan(n), 'ecdsa-p256'));
const base = join(diskDir, 'base');
const g = timedRun(process.execPath, [KPKI_MAIN, 'gen', '--plan', planFile, '--out', base]);
if (!succeeded(g)) throw new Error(`gen: ${failureText(g)}`);

interface Row { mem: number[]; disk: number[]; floor: number[]; files: number }
const results = new Map<string, Row>();
const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' ');
for (let i = 0; i < runs; i++) {
  for (const row of ROWS) {
    const out = join(diskDir, 'run');
    const pre = join(diskDir, 'pre');
    const mem = memDir && join(memDir, 'run');
    copyStore(base, out);
    if (mem) copyStore(base, mem);
    for (const p of row.phases) {
      const key = `${row.name}\t${p}`;
      const seen = results.get(key) ?? { mem: [], disk: [], floor: [], files: 0 };
      results.set(key, seen);
      if (mem) seen.mem.push(phase([...row.cmd, '--plan', planFile, '--out', mem], p).ms);
      copyStore(out, pre);
      const r = phase([...row.cmd, '--plan', planFile, '--out', out], p);
      seen.disk.push(r.ms);
      seen.files = r.files.filter((f) => f.action !== 'chmod').length;
      seen.floor.push(floorMs(pre, out, r.files.filter((f) => f.action !== 'chmod')));
    }
    for (const d of [out, pre, mem]) if (d) rmSync(d, { recursive: true, force: true });
  }
}
rmSync(diskDir, { recursive: true, force: true });
if (memDir) rmSync(memDir, { recursive: true, force: true });
const s = (ms: number[]) => (ms.length ? `${(median(ms) / 1000).toFixed(2)} s` : '–');
const table = [
  `kpki ca rotate / sa rotate --out, each phase, ECDSA P-256, 1 control plane + ${n} workers, whole process, median of ${runs} (${new Date().toISOString().slice(0, 10)}); goal ≤ ${GOAL_MS / 1000} s.`,
  '',
  'tmpfs: /dev/shm, kpki\'s own cost. disk: bench/.work on this machine\'s disk. Floor: the same files written on that disk in the same minute by the plainest writer that loses nothing (backup hard link, temp file, rename, syncfs before and after).',
  '',
  `Load average (2 cores) before ${loadBefore}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}.`,
  '',
  '| command | phase | files changed | tmpfs | disk | disk floor | disk − floor |',
  '|---|---|---|---|---|---|---|',
  ...[...results].map(([key, r]) => {
    const [name, p] = key.split('\t');
    const over = median(r.disk) - median(r.floor);
    return `| ${name} | ${p} | ${r.files} | ${s(r.mem)} | ${s(r.disk)} | ${s(r.floor)} | ${(over / 1000).toFixed(2)} s |`;
  }),
  '',
].join('\n');
writeFileSync(join(REPO_ROOT, 'bench', 'ROTATE.md'), table);
process.stdout.write(table);
