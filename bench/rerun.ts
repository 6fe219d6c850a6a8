/**
 * Re-run costs next to a fresh run, whole process, median of N: a fresh `kpki gen`, a no-op
 * re-run (same plan), and a re-run after adding one node, for 10 / 100 / 1,000 workers
 * (ECDSA). Each re-run must report what it should (nothing / one node's files), so a fast
 * wrong answer cannot pass. `node dist/bench/rerun.js [--runs N] [--plans w10,w1000]`.
 * Prints a Markdown table and writes it to bench/RERUN.md.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KPKI_MAIN, REPO_ROOT, WORK_DIR } from './paths.js';
import { planYaml, workersPlan } from './plans.js';
import { failureText, succeeded, timedRun } from './proc.js';
import { median } from './stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, plans: { type: 'string', default: 'w10,w100,w1000' } } });
const runs = Math.max(1, Number(values.runs));
const sizes = values.plans.split(',').map((p) => Number(p.replace(/^w/, '')));

function gen(plan: string, out: string, expect: (stdout: string) => boolean, what: string): number {
  const r = timedRun(process.execPath, [KPKI_MAIN, 'gen', '--plan', plan, '--out', out, '--json']);
  if (!succeeded(r)) throw new Error(`${what}: ${failureText(r)}`);
  if (!expect(r.stdout)) throw new Error(`${what}: unexpected report`);
  return r.wallMs;
}

interface Report { changed: boolean; items: Array<{ action: string; node?: string }> }
const parse = (s: string) => JSON.parse(s) as Report;
const nothing = (s: string) => !parse(s).changed;
const onlyNode = (node: string) => (s: string) => {
  const changed = parse(s).items.filter((i) => i.action !== 'keep');
  return changed.length === 3 && changed.every((i) => i.node === node);
};

const rows: string[] = [];
const dir = join(WORK_DIR, 'rerun');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
for (const n of sizes) {
  const plan = workersPlan(n);
  const planFile = join(dir, `w${n}.yaml`);
  writeFileSync(planFile, planYaml(plan, 'ecdsa-p256'));
  const grown = join(dir, `w${n}+1.yaml`);
  writeFileSync(grown, `${planYaml(plan, 'ecdsa-p256')}  - { name: extra-1, address: 10.9.9.9, roles: [worker] }\n`);
  const fresh: number[] = [];
  const noop: number[] = [];
  const addOne: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = join(dir, `out-${n}-${i}`);
    fresh.push(gen(planFile, out, (s) => parse(s).changed, 'fresh'));
    noop.push(gen(planFile, out, nothing, 'no-op re-run'));
    // On the same store, as an operator would (a copy would change every ctime, and with it
    // the disk sink's tree index would vouch for nothing).
    addOne.push(gen(grown, out, onlyNode('extra-1'), 'add one node'));
  }
  const s = (ms: number[]) => `${(median(ms) / 1000).toFixed(2)} s`;
  rows.push(`| 1 control plane + ${n} workers | ${s(fresh)} | ${s(noop)} (${(median(noop) / median(fresh)).toFixed(2)}× fresh) | ${s(addOne)} |`);
  process.stderr.write(`w${n}: done\n`);
}
rmSync(dir, { recursive: true, force: true });
const table = [
  `Re-runs, ECDSA P-256, whole process, median of ${runs} (${new Date().toISOString().slice(0, 10)}):`,
  '',
  '| plan | fresh gen | no-op re-run | re-run after adding one node |',
  '|---|---|---|---|',
  ...rows,
  '',
].join('\n');
writeFileSync(join(REPO_ROOT, 'bench', 'RERUN.md'), `${table}`);
process.stdout.write(table);
