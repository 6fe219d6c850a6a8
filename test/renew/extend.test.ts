/**
 * `kpki ca extend` with real tools: the extended CA keeps subject, public key and SKI; every
 * leaf it signed before still passes `openssl verify` with its purpose; the discovery hash
 * (computed here with openssl) is unchanged; the CA key and the leaves are byte-identical; node
 * copies and kubeconfig CA data carry the new certificate; an expired CA (faketime) is
 * extended and gen works again; bad input writes nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BOOKKEEPING, CLI, FIXTURES, hashTree, kpki, listFiles, sh, tempDir, writePlan } from '../support/cli.js';
import { runSync } from '../support/proc.js';
import { generate } from '../../pki/gen/generate.js';
import { loadPlan } from '../../pki/plan/load.js';

const DAY = 86_400_000;
const PLAN = join(FIXTURES, 'single-cp.yaml');
const work = tempDir('kpki-extend-');
const store = join(work, 'store');
await generate(await loadPlan(PLAN), { out: store, deps: { now: () => new Date(Date.now() - 100 * DAY) } });
test.after(() => rmSync(work, { recursive: true, force: true }));

const copy = (name: string) => {
  const to = join(work, name);
  cpSync(store, to, { recursive: true });
  return to;
};

/** Discovery hash by hand: sha256 over the DER SubjectPublicKeyInfo that openssl extracts. */
function discoveryHash(crt: string): string {
  const pub = sh('openssl', ['x509', '-in', crt, '-noout', '-pubkey']);
  const der = Buffer.from(pub.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

const ext = (crt: string, name: string) => sh('openssl', ['x509', '-in', crt, '-noout', '-ext', name]).split('\n').slice(1).join('').trim();
const subject = (crt: string) => sh('openssl', ['x509', '-in', crt, '-noout', '-subject', '-nameopt', 'RFC2253']).trim();
const notAfter = (crt: string) => new Date(sh('openssl', ['x509', '-in', crt, '-noout', '-enddate']).trim().slice('notAfter='.length));

function verifyAll(caFile: string, files: Array<[string, 'sslserver' | 'sslclient']>, faketime?: string): void {
  for (const [file, purpose] of files) {
    const args = ['verify', '-x509_strict', '-CAfile', caFile, '-purpose', purpose, file];
    const r = faketime ? runSync('faketime', [faketime, 'openssl', ...args]) : runSync('openssl', args);
    assert.is(r.status, 0, `${file}: ${r.stdout}${r.stderr}`);
  }
}

/** Client certificates inside kubeconfigs, decoded to files; with each file's CA data. */
function kubeconfigs(out: string): Array<{ file: string; crt: string; caData: string }> {
  const dir = join(work, `kc-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  return listFiles(out).filter((f) => f.startsWith('nodes/') && f.endsWith('.conf')).map((f, i) => {
    const doc = parseYaml(readFileSync(join(out, f), 'utf8')) as { clusters: Array<{ cluster: Record<string, string> }>; users: Array<{ user: Record<string, string> }> };
    const crt = join(dir, `${i}.crt`);
    writeFileSync(crt, Buffer.from(doc.users[0]!.user['client-certificate-data']!, 'base64'));
    return { file: f, crt, caData: Buffer.from(doc.clusters[0]!.cluster['certificate-authority-data']!, 'base64').toString('utf8') };
  });
}

test('ca extend ca: same subject, key and SKI, new NotAfter; old leaves verify; discovery hash unchanged; CA key and leaves untouched', () => {
  const out = copy('extend-ca');
  const before = hashTree(out);
  const ca = join(out, 'pki/ca.crt');
  const old = { subject: subject(ca), ski: ext(ca, 'subjectKeyIdentifier'), hash: discoveryHash(ca), notAfter: notAfter(ca), text: readFileSync(ca, 'utf8') };
  const r = kpki(['ca', 'extend', 'ca', '--plan', PLAN, '--out', out, '--json']);
  assert.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { extended: Array<{ publicKeyHash: string }>; restarts: Array<{ node: string; restarts: Array<{ component: string; action: string; files: string[] }> }> };
  const after = hashTree(out);

  assert.is(subject(ca), old.subject);
  assert.is(ext(ca, 'subjectKeyIdentifier'), old.ski);
  assert.is(discoveryHash(ca), old.hash, 'same public key: same discovery hash');
  assert.is(report.extended[0]!.publicKeyHash, old.hash);
  // The plan's caValidity (87600h) from now; it was ~100 days shorter.
  assert.ok(Math.abs(notAfter(ca).getTime() - (Date.now() + 3650 * DAY)) < DAY, notAfter(ca).toISOString());
  assert.ok(notAfter(ca).getTime() - old.notAfter.getTime() > 90 * DAY);

  // Every leaf the CA signed before, certificates and kubeconfig clients alike: byte-identical, and verifying.
  const leaves: Array<[string, 'sslserver' | 'sslclient']> = [
    ['nodes/cp-1/etc/kubernetes/pki/apiserver.crt', 'sslserver'],
    ['nodes/cp-1/etc/kubernetes/pki/apiserver-kubelet-client.crt', 'sslclient'],
    ['nodes/cp-1/var/lib/kubelet/pki/kubelet.crt', 'sslserver'],
    ['nodes/worker-1/var/lib/kubelet/pki/kubelet.crt', 'sslserver'],
    ['nodes/worker-2/var/lib/kubelet/pki/kubelet.crt', 'sslserver'],
  ];
  for (const [f] of leaves) assert.is(after.get(f), before.get(f), f);
  verifyAll(ca, leaves.map(([f, p]) => [join(out, f), p]));
  const kcs = kubeconfigs(out);
  assert.is(kcs.length, 10, kcs.map((k) => k.file).join(' '));
  verifyAll(ca, kcs.map((k) => [k.crt, 'sslclient']));
  for (const k of kcs) assert.is(k.caData, readFileSync(ca, 'utf8'), `${k.file} carries the extended CA`);
  // CA keys never rewritten; node copies of ca.crt are the new one; other CAs untouched.
  for (const f of ['pki/ca.key', 'nodes/cp-1/etc/kubernetes/pki/ca.key', 'pki/front-proxy-ca.crt', 'pki/etcd/ca.crt', 'pki/sa.key']) assert.is(after.get(f), before.get(f), f);
  for (const n of ['cp-1', 'worker-1', 'worker-2']) assert.is(readFileSync(join(out, `nodes/${n}/etc/kubernetes/pki/ca.crt`), 'utf8'), readFileSync(ca, 'utf8'), n);
  // The old certificate is in backup/, byte for byte.
  const stamp = readdirSync(join(out, 'backup'))[0]!;
  assert.is(readFileSync(join(out, 'backup', stamp, 'pki/ca.crt'), 'utf8'), old.text);

  const worker = report.restarts.find((n) => n.node === 'worker-1')!;
  assert.equal(worker.restarts.map((x) => `${x.action} ${x.component}: ${x.files.join(', ')}`), [
    'restart kubelet: etc/kubernetes/pki/ca.crt, etc/kubernetes/kubelet.conf',
    'restart kube-proxy: etc/kubernetes/kube-proxy.conf',
  ]);
  const cp = report.restarts.find((n) => n.node === 'cp-1')!;
  assert.ok(cp.restarts.some((x) => x.component === 'kube-apiserver' && x.files.includes('etc/kubernetes/pki/ca.crt')));

  // gen afterwards: the store matches the plan.
  const g = kpki(['gen', '--plan', PLAN, '--out', out]);
  assert.is(g.status, 0, g.stderr);
  assert.match(g.stdout, /Nothing to do/);
});

test('ca extend etcd-ca: etcd members and clients verify against it; etcd and kube-apiserver restart', () => {
  const out = copy('extend-etcd');
  const r = kpki(['ca', 'extend', 'etcd-ca', '--plan', PLAN, '--out', out, '--validity', '175200h', '--json']);
  assert.is(r.status, 0, r.stderr);
  const ca = join(out, 'pki/etcd/ca.crt');
  assert.ok(Math.abs(notAfter(ca).getTime() - (Date.now() + 7300 * DAY)) < DAY);
  verifyAll(ca, [
    [join(out, 'nodes/cp-1/etc/kubernetes/pki/etcd/server.crt'), 'sslserver'],
    [join(out, 'nodes/cp-1/etc/kubernetes/pki/etcd/peer.crt'), 'sslclient'],
    [join(out, 'nodes/cp-1/etc/kubernetes/pki/apiserver-etcd-client.crt'), 'sslclient'],
  ]);
  assert.is(readFileSync(join(out, 'nodes/cp-1/etc/kubernetes/pki/etcd/ca.crt'), 'utf8'), readFileSync(ca, 'utf8'));
  const report = JSON.parse(r.stdout) as { restarts: Array<{ node: string; restarts: Array<{ component: string; action: string; files: string[] }> }> };
  assert.equal(report.restarts.map((n) => [n.node, n.restarts.map((x) => `${x.action} ${x.component}: ${x.files.join(', ')}`)]), [
    ['cp-1', ['restart etcd: etc/kubernetes/pki/etcd/ca.crt', 'restart kube-apiserver: etc/kubernetes/pki/etcd/ca.crt']],
  ]);
});

test('an expired CA (faketime): gen points to kpki ca extend; after extending all three, gen works and its leaves verify', () => {
  const dir = tempDir();
  const out = join(dir, 'out');
  const planFile = writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: api.example.internal:6443
pki: { caValidity: 48h, certValidity: 24h, renewBefore: 1h }
nodes:
  - { name: cp-1, address: 192.0.2.11, roles: [control-plane] }
  - { name: worker-1, address: 192.0.2.21, roles: [worker] }
`, dir);
  assert.is(kpki(['gen', '--plan', planFile, '--out', out]).status, 0);
  const later = (args: string[]) => runSync('faketime', ['+3 days', process.execPath, CLI, ...args], { env: { ...process.env, NO_COLOR: '1' } });
  const refused = later(['gen', '--plan', planFile, '--out', out]);
  assert.is(refused.status, 3, refused.stderr);
  assert.match(refused.stderr, /CA ca expired on .*kpki ca extend ca --plan <your plan> --out /);
  const hash = discoveryHash(join(out, 'pki/ca.crt'));
  const r = later(['ca', 'extend', 'ca', 'front-proxy-ca', 'etcd-ca', '--plan', planFile, '--out', out]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /Discovery hash \(unchanged\): sha256:/);
  assert.is(discoveryHash(join(out, 'pki/ca.crt')), hash);
  const g = later(['gen', '--plan', planFile, '--out', out]);
  assert.is(g.status, 0, g.stderr);
  verifyAll(join(out, 'pki/ca.crt'), [
    [join(out, 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt'), 'sslserver'],
    [join(out, 'nodes/worker-1/var/lib/kubelet/pki/kubelet.crt'), 'sslserver'],
  ], '+3 days');
  verifyAll(join(out, 'pki/front-proxy-ca.crt'), [[join(out, 'nodes/cp-1/etc/kubernetes/pki/front-proxy-client.crt'), 'sslclient']], '+3 days');
  rmSync(dir, { recursive: true, force: true });
});

test('--dry-run writes nothing; a wrong CA name, a shorter validity or a store without the CA: one sentence, nothing written', () => {
  const out = copy('extend-bad');
  const before = hashTree(out);
  const dry = kpki(['ca', 'extend', 'front-proxy-ca', '--plan', PLAN, '--out', out, '--dry-run']);
  assert.is(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /Would extend CA front-proxy-ca: NotAfter \d{4}-\d\d-\d\d → \d{4}-/);
  assert.match(dry.stdout, /Nothing was written \(dry run\)/);
  const cases: Array<[string[], number, RegExp]> = [
    [['extend', 'etcd-cca'], 2, /unknown CA 'etcd-cca'; did you mean etcd-ca\?/],
    [['extnd', 'ca'], 2, /unknown ca action 'extnd'; did you mean extend\?/],
    [['extend', 'ca', '--validity', '24h'], 2, /already lasts until .*give a longer --validity/],
  ];
  for (const [args, status, message] of cases) {
    const r = kpki(['ca', ...args, '--plan', PLAN, '--out', out]);
    assert.is(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.equal([...hashTree(out)].filter(([f]) => !BOOKKEEPING.includes(f)), [...before].filter(([f]) => !BOOKKEEPING.includes(f)));
  const empty = join(work, 'empty');
  mkdirSync(empty);
  const r = kpki(['ca', 'extend', 'ca', '--plan', PLAN, '--out', empty]);
  assert.is(r.status, 3, r.stderr);
  assert.match(r.stderr, /pki\/ca\.crt: missing; there is no CA ca to extend/);
  assert.equal(listFiles(empty), []);
});

test.run();
