/**
 * `kpki check` cost, whole process, median of N, next to `kpki gen` (fresh) on the same plans:
 * 1 control plane + 10 / 100 / 1,000 workers, ECDSA. Each check must be OK with every
 * credential listed, so a fast wrong answer cannot pass. Modes: `--out` (store and node trees),
 * `--out --plan` (the planner's verdict too), and `--out --prometheus` (the cron output).
 * `node dist/bench/check.js [--runs N] [--plans w10,w1000]`; writes bench/CHECK.md.
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

/** Credentials of a 1-control-plane plan: 14 on the control plane, 3 per worker. */
const expectedCerts = (workers: number) => 14 + 3 * workers;

function timed(args: string[], what: string, expect: (stdout: string) => boolean): number {
  const r = timedRun(process.execPath, [KPKI_MAIN, ...args]);
  if (!succeeded(r)) throw new Error(`${what}: ${failureText(r)}`);
  if (!expect(r.stdout)) throw new Error(`${what}: unexpected output`);
  return r.wallMs;
}

const rows: string[] = [];
const dir = join(WORK_DIR, 'check');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
for (const n of sizes) {
  const planFile = join(dir, `w${n}.yaml`);
  writeFileSync(planFile, planYaml(workersPlan(n), 'ecdsa-p256'));
  const out = join(dir, `out-${n}`);
  const gen: number[] = [];
  for (let i = 0; i < runs; i++) {
    rmSync(out, { recursive: true, force: true });
    gen.push(timed(['gen', '--plan', planFile, '--out', out, '--json'], 'gen', () => true));
  }
  const ok = (s: string) => {
    const r = JSON.parse(s) as { status: string; certificates: unknown[] };
    return r.status === 'OK' && r.certificates.length === expectedCerts(n);
  };
  const modes: Array<[string, string[], (s: string) => boolean]> = [
    ['check --out', ['check', '--out', out, '--json'], ok],
    ['check --out --plan', ['check', '--out', out, '--plan', planFile, '--json'], ok],
    ['check --out --prometheus', ['check', '--out', out, '--prometheus'], (s) => s.includes('kpki_check_status 0')],
  ];
  const times = modes.map(([what, args, expect]) => Array.from({ length: runs }, () => timed(args, what, expect)));
  const s = (ms: number[]) => `${(median(ms) / 1000).toFixed(2)} s`;
  rows.push(`| 1 control plane + ${n} workers | ${expectedCerts(n)} | ${s(gen)} | ${times.map(s).join(' | ')} |`);
  process.stderr.write(`w${n}: done\n`);
  rmSync(out, { recursive: true, force: true });
}
rmSync(dir, { recursive: true, force: true });
const table = [
  `kpki check, ECDSA P-256, whole process, median of ${runs} (${new Date().toISOString().slice(0, 10)}):`,
  '',
  '| plan | leaves | gen (fresh) | check --out | check --out --plan | check --out --prometheus |',
  '|---|---|---|---|---|---|',
  ...rows,
  '',
].join('\n');
writeFileSync(join(REPO_ROOT, 'bench', 'CHECK.md'), table);
process.stdout.write(table);
