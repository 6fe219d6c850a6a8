/**
 * `kpki renew all --out` on a store of 1 control plane + N ECDSA workers, whole process,
 * median of N runs, with new keys and with --reuse-keys. Each run must report every leaf
 * renewed, so a fast wrong answer cannot pass. `node dist/bench/renew.js [--runs N] [--workers 1000]`.
 * Prints a Markdown table and writes it to bench/RENEW.md.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KPKI_MAIN, REPO_ROOT, WORK_DIR } from './paths.js';
import { planYaml, workersPlan } from './plans.js';
import { failureText, succeeded, timedRun } from './proc.js';
import { median } from './stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, workers: { type: 'string', default: '1000' } } });
const runs = Math.max(1, Number(values.runs));
const n = Number(values.workers);

function kpki(args: string[], what: string, expect?: (stdout: string) => boolean): number {
  const r = timedRun(process.execPath, [KPKI_MAIN, ...args]);
  if (!succeeded(r)) throw new Error(`${what}: ${failureText(r)}`);
  if (expect && !expect(r.stdout)) throw new Error(`${what}: unexpected report`);
  return r.wallMs;
}

const dir = join(WORK_DIR, 'renew');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const planFile = join(dir, `w${n}.yaml`);
writeFileSync(planFile, planYaml(workersPlan(n), 'ecdsa-p256'));
const out = join(dir, 'out');
kpki(['gen', '--plan', planFile, '--out', out], 'gen');
// Every leaf of every node: the count of items gen reports for nodes.
const leaves = (s: string) => (JSON.parse(s) as { items: Array<{ node?: string }> }).items.filter((i) => i.node !== undefined).length;
const all = leaves(timedRun(process.execPath, [KPKI_MAIN, 'gen', '--plan', planFile, '--out', out, '--json']).stdout);
const everything = (s: string) => (JSON.parse(s) as { renewed: number }).renewed === all;

const fresh: number[] = [];
const reuse: number[] = [];
for (let i = 0; i < runs; i++) {
  fresh.push(kpki(['renew', 'all', '--plan', planFile, '--out', out, '--json'], 'renew all', everything));
  reuse.push(kpki(['renew', 'all', '--reuse-keys', '--plan', planFile, '--out', out, '--json'], 'renew all --reuse-keys', everything));
}
rmSync(dir, { recursive: true, force: true });
const s = (ms: number[]) => `${(median(ms) / 1000).toFixed(2)} s`;
const table = [
  `kpki renew all --out, ECDSA P-256, whole process, median of ${runs} (${new Date().toISOString().slice(0, 10)}):`,
  '',
  '| store | new keys | --reuse-keys | leaves |',
  '|---|---|---|---|',
  `| 1 control plane + ${n} workers | ${s(fresh)} | ${s(reuse)} | ${all} |`,
  '',
].join('\n');
writeFileSync(join(REPO_ROOT, 'bench', 'RENEW.md'), table);
process.stdout.write(table);
