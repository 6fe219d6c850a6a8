/**
 * `kpki install --stage` cost, whole process, median of N: 3 control planes + 1,000 workers
 * (+ 2 load balancers with a VIP), ECDSA, from a store gen wrote once (untimed). A fresh stage
 * (empty directory) and a no-op re-run; each must report what it should (every host staged /
 * nothing changed), so a fast wrong answer cannot pass. Goal: ≤ 2 s for the fresh stage.
 * Next to each fresh stage, the file system's floor in the same minute: the same directories
 * and files created with plain mkdir + write + rename, nothing else.
 * `node dist/bench/install.js [--runs N] [--workers 1000] [--work DIR]` (--work /dev/shm/x: on
 * tmpfs, without the disk); writes bench/INSTALL.md (with --work, the row is printed only).
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KPKI_MAIN, REPO_ROOT, WORK_DIR } from './paths.js';
import { failureText, succeeded, timedRun } from './proc.js';
import { median } from './stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, workers: { type: 'string', default: '1000' }, work: { type: 'string' } } });
const runs = Math.max(1, Number(values.runs));
const workers = Math.max(1, Number(values.workers));
const GOAL_MS = 2000;

const dir = values.work ?? join(WORK_DIR, 'install');
if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const planFile = join(dir, 'cluster.yaml');
const addr = (i: number) => `10.${20 + Math.floor(i / 250)}.${i % 250}.10`;
writeFileSync(planFile, `apiVersion: kpki/v1alpha1
kind: Cluster
kubernetesVersion: v1.31.2
controlPlaneEndpoint: 10.0.0.100:6443
networking: { podSubnet: 10.244.0.0/16 }
loadBalancer: { vip: 10.0.0.100, interface: eth0 }
pki: { keyAlgorithm: ecdsa-p256 }
nodes:
${[1, 2, 3].map((i) => `  - { name: cp-${i}, address: 10.0.0.${i}, roles: [control-plane] }`).join('\n')}
  - { name: lb-1, address: 10.0.0.21, roles: [load-balancer] }
  - { name: lb-2, address: 10.0.0.22, roles: [load-balancer] }
${Array.from({ length: workers }, (_, i) => `  - { name: worker-${i + 1}, address: ${addr(i)}, roles: [worker] }`).join('\n')}
`);
const out = join(dir, 'out');
const g = timedRun(process.execPath, [KPKI_MAIN, 'gen', '--plan', planFile, '--out', out]);
if (!succeeded(g)) throw new Error(`gen: ${failureText(g)}`);

interface Report { changed: boolean; hosts: unknown[]; counts: { created: number } }
function stage(target: string, expect: (r: Report) => boolean, what: string): number {
  const r = timedRun(process.execPath, [KPKI_MAIN, 'install', '--plan', planFile, '--out', out, '--stage', target, '--json']);
  if (!succeeded(r)) throw new Error(`${what}: ${failureText(r)}`);
  if (!expect(JSON.parse(r.stdout) as Report)) throw new Error(`${what}: unexpected report`);
  return r.wallMs;
}

/** The stage's directories and files (relative), in creation order. */
function shape(root: string): { dirs: string[]; files: string[] } {
  const dirs: string[] = [];
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        dirs.push(p);
        walk(p);
      } else files.push(p);
    }
  };
  walk('');
  return { dirs, files };
}

/** Plain mkdir + write + rename of the same shape: what the file system alone costs. */
function floorMs(target: string, s: { dirs: string[]; files: string[] }): number {
  const body = 'x'.repeat(1200);
  const t0 = performance.now();
  mkdirSync(target);
  for (const d of s.dirs) mkdirSync(join(target, d));
  for (const f of s.files) {
    writeFileSync(join(target, `${f}.tmp`), body, { mode: 0o600 });
    renameSync(join(target, `${f}.tmp`), join(target, f));
  }
  return performance.now() - t0;
}

const hosts = 5 + workers;
const fresh: number[] = [];
const noop: number[] = [];
const floor: number[] = [];
let files = 0;
for (let i = 0; i < runs; i++) {
  const target = join(dir, `staged-${i}`);
  fresh.push(stage(target, (r) => r.changed && r.hosts.length === hosts && (files = r.counts.created) > hosts * 10, 'fresh stage'));
  noop.push(stage(target, (r) => !r.changed, 'no-op re-run'));
  const s = shape(target);
  rmSync(target, { recursive: true, force: true });
  floor.push(floorMs(join(dir, `floor-${i}`), s));
  rmSync(join(dir, `floor-${i}`), { recursive: true, force: true });
}
if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
const s = (ms: number[]) => `${(median(ms) / 1000).toFixed(2)} s`;
const row = `| 3 control planes + ${workers} workers + 2 load balancers | ${values.work ?? 'bench/.work'} | ${hosts} | ${files} | ${s(fresh)} | ${s(floor)} | ${s(noop)} | ${median(fresh) <= GOAL_MS ? 'met' : 'missed'} |`;
const table = [
  `kpki install --stage, whole process, median of ${runs} (${new Date().toISOString().slice(0, 10)}); goal ≤ ${GOAL_MS / 1000} s. The floor: the same directories and files made with plain mkdir, write and rename, in the same minute.`,
  '',
  '| plan | stage on | hosts | files staged | fresh stage | file-system floor | no-op re-run | goal |',
  '|---|---|---|---|---|---|---|---|',
  row,
  '',
].join('\n');
if (values.work === undefined) writeFileSync(join(REPO_ROOT, 'bench', 'INSTALL.md'), table);
process.stdout.write(table);
