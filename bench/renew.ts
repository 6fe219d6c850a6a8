/**
 * Renewal, whole process, each run alternating with what it is held to:
 *  - `kpki renew all --out` on 1 control plane + N ECDSA workers, new keys and --reuse-keys;
 *  - `kpki renew all --out` on the HA plan with RSA-2048, beside the key-generation floor (a
 *    fresh node process generating as many keys, all in flight: no tool that makes new keys
 *    can beat it);
 *  - `kpki renew all --root` on one kubeadm control plane (RSA-2048, kubeadm's default), beside
 *    the floor for its leaves, and with --reuse-keys.
 * Each run must report every leaf renewed, so a fast wrong answer cannot pass.
 * `node dist/bench/renew.js [--runs N] [--workers 1000]`; prints a Markdown table and writes it
 * to bench/RENEW.md.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FLOOR_JS, KPKI_MAIN, REPO_ROOT, WORK_DIR } from './paths.js';
import { haPlan, planYaml, workersPlan } from './plans.js';
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

/** The floor: a fresh node process generating `keys` RSA-2048 keys at once. */
function floor(keys: number): number {
  const r = timedRun(process.execPath, [FLOOR_JS, '--alg', 'rsa-2048', '--keys', String(keys), '--reps', '1']);
  if (!succeeded(r)) throw new Error(`floor: ${failureText(r)}`);
  return r.wallMs;
}

const dir = join(WORK_DIR, 'renew');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

/** A store made by gen from `yaml`, and how many leaves `renew all` must report. */
function store(name: string, yaml: string): { plan: string; out: string; leaves: number } {
  const plan = join(dir, `${name}.yaml`);
  writeFileSync(plan, yaml);
  const out = join(dir, name);
  kpki(['gen', '--plan', plan, '--out', out], `gen ${name}`);
  const doc = JSON.parse(timedRun(process.execPath, [KPKI_MAIN, 'gen', '--plan', plan, '--out', out, '--json']).stdout) as { items: Array<{ node?: string }> };
  return { plan, out, leaves: doc.items.filter((i) => i.node !== undefined).length };
}
const renewedAll = (count: number) => (s: string) => (JSON.parse(s) as { renewed: number }).renewed === count;

// 1. ECDSA, 1 control plane + n workers.
const big = store(`w${n}`, planYaml(workersPlan(n), 'ecdsa-p256'));
const fresh: number[] = [];
const reuse: number[] = [];
for (let i = 0; i < runs; i++) {
  fresh.push(kpki(['renew', 'all', '--plan', big.plan, '--out', big.out, '--json'], 'renew all', renewedAll(big.leaves)));
  reuse.push(kpki(['renew', 'all', '--reuse-keys', '--plan', big.plan, '--out', big.out, '--json'], 'renew all --reuse-keys', renewedAll(big.leaves)));
}
rmSync(big.out, { recursive: true, force: true });

// 2. RSA-2048, the HA plan, against the floor for as many keys.
const ha = store('ha-rsa', planYaml(haPlan(), 'rsa-2048'));
const rsa: number[] = [];
const rsaFloor: number[] = [];
for (let i = 0; i < runs; i++) {
  rsa.push(kpki(['renew', 'all', '--plan', ha.plan, '--out', ha.out, '--json'], 'renew all (rsa)', renewedAll(ha.leaves)));
  rsaFloor.push(floor(ha.leaves));
}

// 3. One kubeadm control plane in place (its node tree from gen is kubeadm's layout).
const kubeadm = store('kubeadm', [
  'apiVersion: kpki/v1alpha1', 'kind: Cluster', 'deploy: kubeadm', 'kubernetesVersion: "1.30"', 'pki: { keyAlgorithm: rsa-2048 }',
  'nodes:', '  - { name: cp-1, address: 10.0.0.1, roles: [control-plane] }', '',
].join('\n'));
const host = join(dir, 'host');
cpSync(join(kubeadm.out, 'nodes', 'cp-1'), host, { recursive: true, verbatimSymlinks: true });
const etc = join(host, 'etc', 'kubernetes');
// kubeadm keeps every CA key on its control planes (kpki's node trees only ca.key).
for (const key of ['front-proxy-ca.key', 'etcd/ca.key']) cpSync(join(kubeadm.out, 'pki', key), join(etc, 'pki', key));
const rootLeaves = (s: string) => (JSON.parse(s) as { renewed: number }).renewed;
let rootCount = 0;
const root: number[] = [];
const rootReuse: number[] = [];
const rootFloor: number[] = [];
for (let i = 0; i < runs; i++) {
  root.push(kpki(['renew', 'all', '--root', etc, '--json'], 'renew --root', (s) => (rootCount = rootLeaves(s)) > 0));
  rootReuse.push(kpki(['renew', 'all', '--reuse-keys', '--root', etc, '--json'], 'renew --root --reuse-keys', (s) => rootLeaves(s) === rootCount));
  rootFloor.push(floor(rootCount));
}
rmSync(dir, { recursive: true, force: true });

const s = (ms: number[]) => `${(median(ms) / 1000).toFixed(2)} s`;
const ratio = (a: number[], b: number[]) => `${(median(a) / median(b)).toFixed(2)}×`;
const table = [
  `Renewal, whole process, median of ${runs} alternating runs (${new Date().toISOString().slice(0, 10)}):`,
  '',
  '| run | kpki | --reuse-keys | key-generation floor (fresh process) | kpki / floor | leaves |',
  '|---|---|---|---|---|---|',
  `| renew all --out, 1 control plane + ${n} workers, ECDSA P-256 | ${s(fresh)} | ${s(reuse)} | | | ${big.leaves} |`,
  `| renew all --out, HA plan, RSA-2048 | ${s(rsa)} | | ${s(rsaFloor)} | ${ratio(rsa, rsaFloor)} | ${ha.leaves} |`,
  `| renew all --root, one kubeadm control plane, RSA-2048 | ${s(root)} | ${s(rootReuse)} | ${s(rootFloor)} | ${ratio(root, rootFloor)} | ${rootCount} |`,
  '',
].join('\n');
writeFileSync(join(REPO_ROOT, 'bench', 'RENEW.md'), table);
process.stdout.write(table);
