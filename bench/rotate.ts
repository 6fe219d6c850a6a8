/**
 * `kpki ca rotate` and `kpki sa rotate`, each phase on a store of 1 control plane + N ECDSA
 * workers, whole process, median of N runs (each run from a copy of the same store). Each run
 * must report the phase it was timed for, so a fast wrong answer cannot pass. Goal: ≤ 2 s per
 * phase at 1,000 workers. `node dist/bench/rotate.js [--runs N] [--workers 1000]`; writes bench/ROTATE.md.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KPKI_MAIN, REPO_ROOT, WORK_DIR } from './paths.js';
import { planYaml, workersPlan } from './plans.js';
import { failureText, succeeded, timedRun } from './proc.js';
import { median } from './stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, workers: { type: 'string', default: '1000' } } });
const runs = Math.max(1, Number(values.runs));
const n = Number(values.workers);

/** One timed call that must carry out `phase`; returns its wall time and how many files it changed. */
function phase(args: string[], want: string): { ms: number; files: number } {
  const r = timedRun(process.execPath, [KPKI_MAIN, ...args, '--json']);
  if (!succeeded(r)) throw new Error(`${args.join(' ')}: ${failureText(r)}`);
  const doc = JSON.parse(r.stdout) as { rotation: { phase: string }; files: unknown[] };
  if (doc.rotation.phase !== want) throw new Error(`${args.join(' ')}: ran ${doc.rotation.phase}, not ${want}`);
  return { ms: r.wallMs, files: doc.files.length };
}

const dir = join(WORK_DIR, 'rotate');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const planFile = join(dir, `w${n}.yaml`);
writeFileSync(planFile, planYaml(workersPlan(n), 'ecdsa-p256'));
const base = join(dir, 'base');
const g = timedRun(process.execPath, [KPKI_MAIN, 'gen', '--plan', planFile, '--out', base]);
if (!succeeded(g)) throw new Error(`gen: ${failureText(g)}`);

const ROWS: ReadonlyArray<{ name: string; cmd: string[]; phases: readonly string[] }> = [
  { name: 'ca rotate ca', cmd: ['ca', 'rotate', 'ca'], phases: ['trust', 'issue', 'finalize'] },
  { name: 'ca rotate etcd-ca', cmd: ['ca', 'rotate', 'etcd-ca'], phases: ['trust', 'issue', 'finalize'] },
  { name: 'sa rotate', cmd: ['sa', 'rotate'], phases: ['overlap', 'finalize'] },
];
const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' ');
const results = new Map<string, { ms: number[]; files: number }>();
for (let i = 0; i < runs; i++) {
  for (const row of ROWS) {
    const out = join(dir, `run-${i}`);
    rmSync(out, { recursive: true, force: true });
    cpSync(base, out, { recursive: true });
    for (const p of row.phases) {
      const r = phase([...row.cmd, '--plan', planFile, '--out', out], p);
      const key = `${row.name}\t${p}`;
      const seen = results.get(key) ?? { ms: [], files: r.files };
      seen.ms.push(r.ms);
      results.set(key, seen);
    }
    rmSync(out, { recursive: true, force: true });
  }
}
rmSync(dir, { recursive: true, force: true });
const table = [
  `kpki ca rotate / sa rotate --out, each phase, ECDSA P-256, 1 control plane + ${n} workers, whole process, median of ${runs} (${new Date().toISOString().slice(0, 10)}); goal ≤ 2 s:`,
  '',
  `Load average (2 cores) before ${loadBefore}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}: on a shared machine the wall times carry the other load.`,
  '',
  '| command | phase | time | files changed |',
  '|---|---|---|---|',
  ...[...results].map(([key, r]) => {
    const [name, p] = key.split('\t');
    return `| ${name} | ${p} | ${(median(r.ms) / 1000).toFixed(2)} s | ${r.files} |`;
  }),
  '',
].join('\n');
writeFileSync(join(REPO_ROOT, 'bench', 'ROTATE.md'), table);
process.stdout.write(table);
