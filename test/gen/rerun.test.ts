/**
 * Re-runs: same plan → byte-identical tree and "nothing to do"; a changed plan reissues only
 * what the change touches (checked by file hashes), keeps CAs and untouched keys, and backs
 * up what it replaces; --dry-run writes nothing. Expectations are spelled out here, not
 * read from the catalog.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOOKKEEPING, hashTree, kpki, sh, tempDir, writePlan } from '../support/cli.js';
import { generate } from '../../pki/gen/generate.js';
import { parsePlan } from '../../pki/plan/parse.js';

const base = (extra: { certSANs?: string[]; workers?: number } = {}) => `apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: api.example.internal:6443
apiServer:
  certSANs: [${(extra.certSANs ?? ['192.0.2.100']).join(', ')}]
nodes:
  - { name: cp-1, address: 192.0.2.11, roles: [control-plane] }
  - { name: cp-2, address: 192.0.2.12, roles: [control-plane] }
${Array.from({ length: extra.workers ?? 1 }, (_, i) => `  - { name: worker-${i + 1}, address: 192.0.2.${21 + i}, roles: [worker] }`).join('\n')}
`;

const dir = tempDir();
const out = join(dir, 'out');
// Setup at top level, not in test.before: uvu drops errors thrown in hooks.
const setup = kpki(['gen', '--plan', writePlan(base(), dir), '--out', out]);
if (setup.status !== 0) throw new Error(`initial gen failed: ${setup.stderr}`);
const first = hashTree(out);

/** A scratch copy of the first run's output, so each test starts from the same tree. */
function copyOfFirstRun(): { work: string; copy: string } {
  const work = tempDir();
  const copy = join(work, 'out');
  cpSync(out, copy, { recursive: true });
  return { work, copy };
}
const cleanup = (work: string) => rmSync(work, { recursive: true, force: true });

/** Changed credential files; backups and the store's record of verified pairs are bookkeeping. */
function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])]
    .filter((f) => before.get(f) !== after.get(f) && !f.startsWith('backup/') && !BOOKKEEPING.includes(f))
    .sort();
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('same plan: byte-identical output and "nothing to do"', () => {
  const r = kpki(['gen', '--plan', join(dir, 'cluster.yaml'), '--out', out]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /Nothing to do/);
  assert.equal([...hashTree(out)], [...first]);
});

test('--json on a re-run reports changed=false and every item kept', () => {
  const r = kpki(['gen', '--plan', join(dir, 'cluster.yaml'), '--out', out, '--json']);
  assert.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { changed: boolean; items: Array<{ action: string }>; caCertHash: string };
  assert.is(report.changed, false);
  assert.ok(report.items.length > 20);
  assert.ok(report.items.every((i) => i.action === 'keep'));
  assert.match(report.caCertHash, /^sha256:[0-9a-f]{64}$/);
});

test('a new certSAN: --dry-run names only the apiserver certs and writes nothing', () => {
  const plan = writePlan(base({ certSANs: ['192.0.2.100', 'api2.example.internal'] }), tempDir());
  const r = kpki(['gen', '--plan', plan, '--out', out, '--dry-run']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /apiserver@cp-1: DNS SANs changed: \+api2\.example\.internal/);
  assert.match(r.stdout, /apiserver@cp-2: DNS SANs changed: \+api2\.example\.internal/);
  assert.not.match(r.stdout, /kubelet|etcd-|admin\.conf/);
  assert.equal([...hashTree(out)], [...first]);
});

test('a new certSAN reissues only apiserver.crt/.key on each control plane, with backups', () => {
  const { work, copy } = copyOfFirstRun();
  const plan = writePlan(base({ certSANs: ['192.0.2.100', 'api2.example.internal'] }), work);
  const r = kpki(['gen', '--plan', plan, '--out', copy]);
  assert.is(r.status, 0, r.stderr);
  const after = hashTree(copy);
  assert.equal(changedFiles(first, after), [
    'nodes/cp-1/etc/kubernetes/pki/apiserver.crt',
    'nodes/cp-1/etc/kubernetes/pki/apiserver.key',
    'nodes/cp-2/etc/kubernetes/pki/apiserver.crt',
    'nodes/cp-2/etc/kubernetes/pki/apiserver.key',
  ]);
  const sans = sh('openssl', ['x509', '-noout', '-ext', 'subjectAltName', '-in', join(copy, 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt')]);
  assert.match(sans, /DNS:api2\.example\.internal/);
  const backups = [...after.keys()].filter((f) => f.startsWith('backup/'));
  assert.is(backups.length, 4, backups.join(','));
  const oldCrt = backups.find((f) => f.endsWith('nodes/cp-1/etc/kubernetes/pki/apiserver.crt'))!;
  assert.is(after.get(oldCrt), first.get('nodes/cp-1/etc/kubernetes/pki/apiserver.crt'), 'backup holds the previous cert');
  // Running the new plan again settles.
  const again = kpki(['gen', '--plan', plan, '--out', copy]);
  assert.match(again.stdout, /Nothing to do/);
  cleanup(work);
});

test('adding a node issues only that node\'s files; every CA and existing file is untouched', () => {
  const { work, copy } = copyOfFirstRun();
  const r = kpki(['gen', '--plan', writePlan(base({ workers: 2 }), work), '--out', copy]);
  assert.is(r.status, 0, r.stderr);
  const after = hashTree(copy);
  const changed = changedFiles(first, after);
  assert.equal(changed, [
    'nodes/worker-2/etc/kubernetes/kube-proxy.conf',
    'nodes/worker-2/etc/kubernetes/kubelet.conf',
    'nodes/worker-2/etc/kubernetes/pki/ca.crt',
    'nodes/worker-2/var/lib/kubelet/pki/kubelet.crt',
    'nodes/worker-2/var/lib/kubelet/pki/kubelet.key',
  ]);
  assert.ok(![...after.keys()].some((f) => f.startsWith('backup/')), 'nothing replaced, nothing backed up');
  // Dropping the node again leaves its files alone, with a warning.
  const back = kpki(['gen', '--plan', join(dir, 'cluster.yaml'), '--out', copy]);
  assert.match(back.stderr, /warning: nodes\/worker-2 is not in the plan any more/);
  assert.match(back.stdout, /Nothing to do/);
  const credentials = (tree: Map<string, string>) => [...tree].filter(([f]) => !BOOKKEEPING.includes(f));
  assert.equal(credentials(hashTree(copy)), credentials(after));
  cleanup(work);
});

test('a leaf close to expiry is reissued, with the old one backed up (clock injected)', async () => {
  const work = tempDir();
  const copy = join(work, 'out');
  const plan = parsePlan(base(), join(work, 'cluster.yaml'));
  const t0 = new Date('2030-01-01T00:00:00Z');
  const at = (hours: number) => ({ now: () => new Date(t0.getTime() + hours * 3_600_000) });
  await generate(plan, { out: copy, deps: at(0) });
  const before = hashTree(copy);
  // 8760h validity, 720h renewBefore (the default): still fine with 760h left...
  assert.is((await generate(plan, { out: copy, deps: at(8000) })).changed, false);
  // ...due with 660h left: every leaf is reissued, CAs and the SA key are kept.
  const due = await generate(plan, { out: copy, deps: at(8100) });
  const leaves = due.items.filter((i) => i.kind === 'cert' || i.kind === 'kubeconfig');
  assert.ok(leaves.length > 10);
  for (const i of leaves) assert.equal([i.action, i.reasons], ['issue', ['expires in 27d']], i.ref);
  assert.ok(due.items.filter((i) => i.kind === 'ca' || i.kind === 'keypair').every((i) => i.action === 'keep'));
  const after = hashTree(copy);
  assert.is(after.get('pki/ca.key'), before.get('pki/ca.key'));
  assert.is(after.get('pki/sa.key'), before.get('pki/sa.key'));
  const backup = [...after.keys()].find((f) => f.startsWith('backup/') && f.endsWith('nodes/cp-1/etc/kubernetes/admin.conf'));
  assert.ok(backup, 'the replaced admin.conf is backed up');
  assert.is(after.get(backup!), before.get('nodes/cp-1/etc/kubernetes/admin.conf'));
  const notAfter = sh('openssl', ['x509', '-noout', '-enddate', '-in', join(copy, 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt')]);
  assert.match(notAfter, /notAfter=Dec +4 12:00:00 2031 GMT/); // t0 + 8100h + 8760h
  cleanup(work);
});

test('a deleted key is reissued; a tampered (foreign) cert is reissued; CAs stay', () => {
  const { work, copy } = copyOfFirstRun();
  rmSync(join(copy, 'nodes/worker-1/var/lib/kubelet/pki/kubelet.key'));
  // A cert signed by another CA in place of cp-2's front-proxy-client.
  const other = join(work, 'other');
  assert.is(kpki(['gen', '--plan', join(dir, 'cluster.yaml'), '--out', other]).status, 0);
  for (const ext of ['crt', 'key']) {
    cpSync(join(other, `nodes/cp-2/etc/kubernetes/pki/front-proxy-client.${ext}`), join(copy, `nodes/cp-2/etc/kubernetes/pki/front-proxy-client.${ext}`));
  }
  const r = kpki(['gen', '--plan', join(dir, 'cluster.yaml'), '--out', copy, '--json']);
  assert.is(r.status, 0, r.stderr);
  const items = (JSON.parse(r.stdout) as { items: Array<{ ref: string; action: string; reasons: string[] }> }).items;
  const changed = items.filter((i) => i.action !== 'keep');
  assert.equal(changed.map((i) => i.ref).sort(), ['front-proxy-client@cp-2', 'kubelet-serving@worker-1']);
  assert.match(changed.find((i) => i.ref === 'front-proxy-client@cp-2')!.reasons.join(), /not signed by the current front-proxy-ca/);
  const ca = join(copy, 'pki/front-proxy-ca.crt');
  sh('openssl', ['verify', '-CAfile', ca, join(copy, 'nodes/cp-2/etc/kubernetes/pki/front-proxy-client.crt')]);
  assert.is(hashTree(copy).get('pki/ca.key'), first.get('pki/ca.key'));
  cleanup(work);
});

test('an existing CA key is never overwritten; half a CA is refused with exit 3', () => {
  const { work, copy } = copyOfFirstRun();
  rmSync(join(copy, 'pki/front-proxy-ca.crt'));
  const before = hashTree(copy);
  const r = kpki(['gen', '--plan', join(dir, 'cluster.yaml'), '--out', copy]);
  assert.is(r.status, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /front-proxy-ca\.key exists but .*front-proxy-ca\.crt does not/);
  assert.equal([...hashTree(copy)], [...before], 'nothing written');
  cleanup(work);
});

test('a broken leaf PEM is reissued, naming the file; the broken file is backed up', () => {
  const { work, copy } = copyOfFirstRun();
  const rel = 'nodes/cp-1/etc/kubernetes/pki/apiserver-kubelet-client.crt';
  const broken = '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n';
  writeFileSync(join(copy, rel), broken);
  const r = kpki(['gen', '--plan', join(dir, 'cluster.yaml'), '--out', copy]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /apiserver-kubelet-client@cp-1: .*apiserver-kubelet-client\.crt/);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  sh('openssl', ['verify', '-CAfile', join(copy, 'pki/ca.crt'), join(copy, rel)]);
  const after = hashTree(copy);
  assert.equal(changedFiles(first, after), [rel, rel.replace('.crt', '.key')]);
  const backup = [...after.keys()].find((f) => f.startsWith('backup/') && f.endsWith(rel))!;
  assert.is(readFileSync(join(copy, backup), 'utf8'), broken);
  cleanup(work);
});

test('a broken CA certificate stops the run with exit 2 naming the file, and writes nothing', () => {
  const { work, copy } = copyOfFirstRun();
  const ca = join(copy, 'pki/etcd/ca.crt');
  const pem = readFileSync(ca, 'utf8').split('\n');
  pem[3] = pem[3]!.replace(/[A-Za-z]/, (c) => (c === 'A' ? 'B' : 'A')); // one base64 character inside intact armor
  writeFileSync(ca, pem.join('\n'));
  const before = hashTree(copy);
  const r = kpki(['gen', '--plan', join(dir, 'cluster.yaml'), '--out', copy]);
  assert.is(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /pki\/etcd\/ca\.crt/);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal([...hashTree(copy)], [...before]);
  cleanup(work);
});

test('a new controlPlaneEndpoint: apiserver certs reissued, endpoint kubeconfigs rewritten around their kept certs', () => {
  const { work, copy } = copyOfFirstRun();
  const plan = writePlan(base().replace('api.example.internal:6443', 'api-new.example.internal:8443'), work);
  const r = kpki(['gen', '--plan', plan, '--out', copy, '--json']);
  assert.is(r.status, 0, r.stderr);
  const items = (JSON.parse(r.stdout) as { items: Array<{ ref: string; action: string; reasons: string[] }> }).items;
  const byAction = (a: string) => items.filter((i) => i.action === a).map((i) => i.ref).sort();
  assert.equal(byAction('issue'), ['apiserver@cp-1', 'apiserver@cp-2']);
  assert.equal(byAction('rewrite'), [
    'admin.conf@cp-1', 'admin.conf@cp-2', 'kube-proxy.conf@cp-1', 'kube-proxy.conf@cp-2', 'kube-proxy.conf@worker-1',
    'kubelet.conf@cp-1', 'kubelet.conf@cp-2', 'kubelet.conf@worker-1', 'super-admin.conf@cp-1',
  ]);
  assert.ok(items.find((i) => i.ref === 'kubelet.conf@worker-1')!.reasons.includes(
    'server https://api.example.internal:6443 → https://api-new.example.internal:8443'));
  // controller-manager.conf and scheduler.conf talk to the local apiserver: untouched.
  const after = hashTree(copy);
  for (const f of ['controller-manager.conf', 'scheduler.conf']) {
    assert.is(after.get(`nodes/cp-1/etc/kubernetes/${f}`), first.get(`nodes/cp-1/etc/kubernetes/${f}`), f);
  }
  // A rewritten kubeconfig keeps its client certificate and key, byte for byte.
  const creds = (text: string) => text.split('\n').filter((l) => /client-(certificate|key)-data/.test(l));
  const conf = 'nodes/worker-1/etc/kubernetes/kubelet.conf';
  const before = readFileSync(join(out, conf), 'utf8');
  const now = readFileSync(join(copy, conf), 'utf8');
  assert.equal(creds(now), creds(before));
  assert.match(now, /server: https:\/\/api-new\.example\.internal:8443/);
  const sans = sh('openssl', ['x509', '-noout', '-ext', 'subjectAltName', '-in', join(copy, 'nodes/cp-2/etc/kubernetes/pki/apiserver.crt')]);
  assert.match(sans, /DNS:api-new\.example\.internal/);
  assert.not.match(sans, /DNS:api\.example\.internal/);
  cleanup(work);
});

test('an existing CA made by openssl is adopted as it is and signs the leaves', () => {
  const work = tempDir();
  const copy = join(work, 'out');
  mkdirSync(join(copy, 'pki'), { recursive: true, mode: 0o700 });
  const crt = join(copy, 'pki/ca.crt');
  const key = join(copy, 'pki/ca.key');
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '3650',
    '-subj', '/O=Example Corp/CN=example-root', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,digitalSignature']);
  const caBefore = readFileSync(crt, 'utf8');
  const keyBefore = readFileSync(key, 'utf8');
  const r = kpki(['gen', '--plan', join(dir, 'cluster.yaml'), '--out', copy]);
  assert.is(r.status, 0, r.stderr);
  assert.is(readFileSync(crt, 'utf8'), caBefore);
  assert.is(readFileSync(key, 'utf8'), keyBefore);
  assert.match(r.stderr, /not applied: CA ca is kept: it keeps its rsa-2048 key \(plan: ecdsa-p256\)/);
  const leaf = join(copy, 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt');
  sh('openssl', ['verify', '-x509_strict', '-CAfile', crt, '-purpose', 'sslserver', leaf]);
  assert.match(sh('openssl', ['x509', '-noout', '-issuer', '-in', leaf]), /O ?= ?Example Corp, CN ?= ?example-root/);
  assert.is(readFileSync(join(copy, 'nodes/worker-1/etc/kubernetes/pki/ca.crt'), 'utf8'), caBefore, 'nodes get the adopted CA');
  cleanup(work);
});

test.run();
