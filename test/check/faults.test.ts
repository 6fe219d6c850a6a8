/**
 * `kpki check` on a fresh `kpki gen` tree, then on copies with one fault planted by openssl
 * each: every fault reported with the right code, severity, file and exit code.
 * Expected codes, severities and files are written here by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, copyFileSync, cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpki, tempDir } from '../support/cli.js';
import { findingsOf, kubeconfig, opensslCa, opensslLeaf, read, run, runCheck } from './tools.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');
const base = join(tempDir('kpki-check-base-'), 'out');
const W1 = 'nodes/worker-1';
const CP = 'nodes/cp-1';
const KUBELET = `${W1}/var/lib/kubelet/pki/kubelet`;
const PKI = `${CP}/etc/kubernetes/pki`;

test.before(() => {
  const r = kpki(['gen', '--plan', PLAN, '--out', base]);
  assert.is(r.status, 0, r.stderr);
});

/** A copy of the fresh tree to plant one fault in. */
function copy(): string {
  const dir = join(tempDir('kpki-check-fault-'), 'out');
  cpSync(base, dir, { recursive: true });
  return dir;
}

const store = (out: string, ca: 'ca' | 'front-proxy-ca' | 'etcd/ca') => ({ crt: join(out, `pki/${ca}.crt`), key: join(out, `pki/${ca}.key`) });
const KUBELET_SUBJ = '/O=system:nodes/CN=system:node:worker-1';
const KUBELET_SAN = 'DNS:worker-1,IP:192.0.2.21';

/** Replaces worker-1's kubelet serving certificate with an openssl-made one. */
function plantKubelet(out: string, spec: Partial<Parameters<typeof opensslLeaf>[0]>): string {
  opensslLeaf({ subj: KUBELET_SUBJ, ca: store(out, 'ca'), eku: 'serverAuth', san: KUBELET_SAN, ...spec }, join(out, `${KUBELET}.crt`), join(out, `${KUBELET}.key`));
  chmodSync(join(out, `${KUBELET}.key`), 0o600);
  return `${KUBELET}.crt`;
}

function expectOne(args: string[], code: string, severity: string, file: string, exit: number) {
  const { status, report } = runCheck(args);
  const hits = findingsOf(report, code, file);
  assert.ok(hits.length >= 1, `expected ${code} on ${file}; got ${JSON.stringify(report.findings, null, 1)}`);
  assert.is(hits[0]!.severity, severity);
  assert.is(status, exit, JSON.stringify(report.findings, null, 1));
  assert.is(report.exitCode, exit);
  return report;
}

test('a fresh gen tree: exit 0, no findings, every credential listed (with and without the plan)', () => {
  for (const args of [['--out', base], ['--out', base, '--plan', PLAN]]) {
    const { status, report } = runCheck(args);
    assert.is(status, 0, JSON.stringify(report.findings));
    assert.equal(report.findings, []);
    assert.is(report.status, 'OK');
    // cp-1: 8 certificates + 6 kubeconfigs; each worker: kubelet serving + 2 kubeconfigs.
    assert.is(report.certificates.length, 14 + 3 + 3);
    const cp = report.certificates.filter((c) => c.node === 'cp-1').map((c) => c.role).sort();
    assert.equal(cp, ['admin.conf', 'apiserver', 'apiserver-etcd-client', 'apiserver-kubelet-client', 'controller-manager.conf', 'etcd-healthcheck-client',
      'etcd-peer', 'etcd-server', 'front-proxy-client', 'kube-proxy.conf', 'kubelet-serving', 'kubelet.conf', 'scheduler.conf', 'super-admin.conf']);
    assert.equal(report.authorities.map((a) => a.role).sort(), ['ca', 'etcd-ca', 'front-proxy-ca']);
  }
  // The table (kubeadm's shape) and the monitoring exit code.
  const r = kpki(['check', '--out', base]);
  assert.is(r.status, 0);
  assert.match(r.stdout, /^CERTIFICATE\s+EXPIRES\s+RESIDUAL TIME\s+CERTIFICATE AUTHORITY\s+NODE$/m);
  assert.match(r.stdout, /^apiserver\s+[A-Z][a-z]{2} \d\d, \d{4} \d\d:\d\d UTC\s+36[45]d\s+ca\s+cp-1$/m);
  assert.match(r.stdout, /^CERTIFICATE AUTHORITY\s+EXPIRES\s+RESIDUAL TIME$/m);
  assert.match(r.stdout, /^OK: 20 certificates, 3 CAs; 0 critical, 0 warning, 0 info$/m);
});

test('expired, expiring (warning and critical), not yet valid', () => {
  const day = 86_400_000;
  const iso = (ms: number) => new Date(Date.now() + ms).toISOString().slice(0, 19).replace('T', ' ');
  let out = copy();
  expectOne(['--out', out], 'expired', 'critical', plantKubelet(out, { at: iso(-40 * day), days: 30 }), 2);
  out = copy();
  expectOne(['--out', out], 'expiring', 'warning', plantKubelet(out, { days: 20 }), 1);
  out = copy();
  expectOne(['--out', out], 'expiring-critical', 'critical', plantKubelet(out, { days: 3 }), 2);
  out = copy();
  expectOne(['--out', out], 'not-yet-valid', 'critical', plantKubelet(out, { at: iso(30 * day) }), 2);
  // --warn and --crit move the windows.
  out = copy();
  const f = plantKubelet(out, { days: 20 });
  expectOne(['--out', out, '--warn', '40d', '--crit', '25d'], 'expiring-critical', 'critical', f, 2);
  const { status } = runCheck(['--out', out, '--warn', '15d', '--crit', '2d']);
  assert.is(status, 0);
  // Arguments that make no sense, and a root that cannot be read: UNKNOWN (3), as monitoring plugins do.
  for (const args of [['--out', out, '--warn', '10d', '--crit', '25d'], ['--out', out, '--warn', 'soon'], [join(out, 'no-such-dir')], ['--bogus']]) {
    const r = kpki(['check', ...args]);
    assert.is(r.status, 3, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  }
});

test('a leaf outliving its CA', () => {
  const out = copy();
  expectOne(['--out', out], 'leaf-outlives-ca', 'warning', plantKubelet(out, { days: 5000 }), 1);
});

test('chain: etcd client from the Kubernetes CA, front-proxy client from the cluster CA', () => {
  let out = copy();
  opensslLeaf({ subj: '/CN=kube-apiserver-etcd-client', ca: store(out, 'ca') }, join(out, PKI, 'apiserver-etcd-client.crt'), join(out, PKI, 'apiserver-etcd-client.key'));
  chmodSync(join(out, PKI, 'apiserver-etcd-client.key'), 0o600);
  expectOne(['--out', out], 'wrong-signer', 'critical', `${PKI}/apiserver-etcd-client.crt`, 2);
  out = copy();
  opensslLeaf({ subj: '/CN=front-proxy-client', ca: store(out, 'ca') }, join(out, PKI, 'front-proxy-client.crt'), join(out, PKI, 'front-proxy-client.key'));
  chmodSync(join(out, PKI, 'front-proxy-client.key'), 0o600);
  const r = expectOne(['--out', out], 'wrong-signer', 'critical', `${PKI}/front-proxy-client.crt`, 2);
  assert.match(findingsOf(r, 'wrong-signer')[0]!.message, /front-proxy-ca/);
});

test('a missing CA: chain not checked (info) on the node tree alone, --ca checks it; a CA without CA:TRUE / keyCertSign', () => {
  let out = copy();
  rmSync(join(out, PKI, 'front-proxy-ca.crt'));
  const node = join(out, CP);
  const client = `${node}/etc/kubernetes/pki/front-proxy-client.crt`;
  let seen = expectOne([node], 'ca-missing', 'info', client, 0);
  assert.match(findingsOf(seen, 'ca-missing', client)[0]!.message, /^chain not checked \(issuer "CN=front-proxy-ca" not found among the files read; pass --ca FILE\)$/);
  // The store's CA given as a trust anchor: the chain is checked and right.
  seen = runCheck([node, '--ca', join(out, 'pki/front-proxy-ca.crt')]).report;
  assert.equal(seen.findings, []);
  assert.is(seen.status, 'OK');
  // Another cluster's CA of the same name given: the signature does not verify.
  const other = join(tempDir(), 'other');
  assert.is(kpki(['gen', '--plan', PLAN, '--out', other]).status, 0);
  expectOne([node, '--ca', join(other, 'pki/front-proxy-ca.crt')], 'wrong-signer', 'critical', client, 2);
  // A --ca that cannot be read, or holds no certificate: UNKNOWN.
  assert.is(kpki(['check', node, '--ca', join(other, 'nope.crt')]).status, 3);
  assert.is(kpki(['check', node, '--ca', join(other, 'pki/front-proxy-ca.key')]).status, 3);
  out = tempDir('kpki-check-notca-');
  opensslCa('not-a-ca', join(out, 'ca.crt'), join(out, 'ca.key'), { ext: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature' });
  opensslLeaf({ subj: '/CN=client', ca: { crt: join(out, 'ca.crt'), key: join(out, 'ca.key') } }, join(out, 'client.crt'), join(out, 'client.key'));
  chmodSync(join(out, 'client.key'), 0o600);
  chmodSync(join(out, 'ca.key'), 0o600);
  const r = expectOne([out], 'not-a-ca', 'critical', join(out, 'ca.crt'), 2);
  assert.match(findingsOf(r, 'not-a-ca')[0]!.message, /CA:FALSE/);
  assert.match(findingsOf(r, 'not-a-ca')[0]!.message, /keyCertSign/);
});

test('keys: a key that does not match, sa.key / sa.pub mismatch, a key readable by others, ca.key on a worker', () => {
  let out = copy();
  run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(out, PKI, 'apiserver.key')]);
  chmodSync(join(out, PKI, 'apiserver.key'), 0o600);
  expectOne(['--out', out], 'key-mismatch', 'critical', `${PKI}/apiserver.key`, 2);
  out = copy();
  const other = join(tempDir(), 'other.key');
  run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', other]);
  writeFileSync(join(out, 'pki/sa.pub'), run('openssl', ['pkey', '-in', other, '-pubout']));
  expectOne(['--out', out], 'sa-mismatch', 'critical', 'pki/sa.pub', 2);
  out = copy();
  chmodSync(join(out, PKI, 'apiserver.key'), 0o644);
  expectOne(['--out', out], 'key-permissions', 'warning', `${PKI}/apiserver.key`, 1);
  out = copy();
  copyFileSync(join(out, 'pki/ca.key'), join(out, W1, 'etc/kubernetes/pki/ca.key'));
  chmodSync(join(out, W1, 'etc/kubernetes/pki/ca.key'), 0o600);
  expectOne(['--out', out], 'ca-key-on-node', 'warning', `${W1}/etc/kubernetes/pki/ca.key`, 1);
  // ... while front-proxy-ca.key on a control plane is kubeadm's normal layout: information.
  out = copy();
  copyFileSync(join(out, 'pki/front-proxy-ca.key'), join(out, PKI, 'front-proxy-ca.key'));
  chmodSync(join(out, PKI, 'front-proxy-ca.key'), 0o600);
  expectOne(['--out', out], 'ca-key-on-control-plane', 'info', `${PKI}/front-proxy-ca.key`, 0);
});

test('identities: system:system:kube-scheduler, admin without its group, a kubelet cert for another node', () => {
  const conf = (out: string, file: string, subj: string, user: string, server = 'https://192.0.2.10:6443') => {
    const dir = tempDir();
    opensslLeaf({ subj, ca: store(out, 'ca') }, join(dir, 'c.crt'), join(dir, 'c.key'));
    writeFileSync(join(out, file), kubeconfig({ server, caPem: read(join(out, 'pki/ca.crt')), certPem: read(join(dir, 'c.crt')), keyPem: read(join(dir, 'c.key')), user }), { mode: 0o600 });
    return file;
  };
  let out = copy();
  let r = expectOne(['--out', out], 'identity-mismatch', 'critical', conf(out, `${CP}/etc/kubernetes/scheduler.conf`, '/CN=system:system:kube-scheduler', 'system:kube-scheduler'), 2);
  assert.match(findingsOf(r, 'identity-mismatch')[0]!.message, /system:system:kube-scheduler/);
  out = copy();
  expectOne(['--out', out], 'identity-mismatch', 'critical', conf(out, `${CP}/etc/kubernetes/admin.conf`, '/CN=kubernetes-admin', 'kubernetes-admin'), 2);
  // worker-1's kubelet authenticating as worker-2: the Node authorizer scopes it to worker-2's objects.
  out = copy();
  const kubeletConf = conf(out, `${W1}/etc/kubernetes/kubelet.conf`, '/O=system:nodes/CN=system:node:worker-2', 'system:node:worker-2');
  r = expectOne(['--out', out], 'identity-mismatch', 'critical', kubeletConf, 2);
  assert.match(findingsOf(r, 'identity-mismatch')[0]!.message, /system:node:worker-1/);
  // The same with the plan: the planner finds it (gen reissues it), the reader makes it critical.
  expectOne(['--out', out, '--plan', PLAN], 'identity-mismatch', 'critical', kubeletConf, 2);
  // A serving certificate's subject is not what its clients check: with worker-1's SANs, information.
  out = copy();
  r = expectOne(['--out', out], 'identity-differs', 'info', plantKubelet(out, { subj: '/O=system:nodes/CN=system:node:worker-2' }), 0);
  assert.match(findingsOf(r, 'identity-differs')[0]!.message, /SANs, not its subject/);
  expectOne(['--out', out, '--plan', PLAN], 'identity-differs', 'info', `${KUBELET}.crt`, 0);
  // kubeconfig CA data not current; server URL not the plan's.
  out = copy();
  const f = `${W1}/etc/kubernetes/kubelet.conf`;
  const text = read(join(out, f));
  const otherCa = tempDir();
  opensslCa('kubernetes', join(otherCa, 'ca.crt'), join(otherCa, 'ca.key'));
  writeFileSync(join(out, f), text.replace(/certificate-authority-data: \S+/, `certificate-authority-data: ${Buffer.from(read(join(otherCa, 'ca.crt'))).toString('base64')}`));
  expectOne(['--out', out], 'kubeconfig-ca', 'critical', f, 2);
  expectOne(['--out', out, '--plan', PLAN], 'kubeconfig-ca', 'critical', f, 2);
  out = copy();
  writeFileSync(join(out, f), read(join(out, f)).replace('server: https://192.0.2.10:6443', 'server: https://192.0.2.99:6443'));
  expectOne(['--out', out, '--plan', PLAN], 'kubeconfig-server', 'warning', f, 1);
});

test('SANs against the plan (missing: critical, clients refuse it now; extra: info) and usages', () => {
  let out = copy();
  const apiserver = (san: string) => {
    opensslLeaf({ subj: '/CN=kube-apiserver', ca: store(out, 'ca'), eku: 'serverAuth', san }, join(out, PKI, 'apiserver.crt'), join(out, PKI, 'apiserver.key'));
    chmodSync(join(out, PKI, 'apiserver.key'), 0o600);
    return `${PKI}/apiserver.crt`;
  };
  const names = 'DNS:cp-1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local';
  // Without the node address (the endpoint of this single-control-plane plan).
  let r = expectOne(['--out', out, '--plan', PLAN], 'san-missing', 'critical', apiserver(`${names},IP:10.96.0.1`), 2);
  assert.match(findingsOf(r, 'san-missing')[0]!.message, /192\.0\.2\.10/);
  // Without the `kubernetes` Service IP in-cluster clients use.
  out = copy();
  r = expectOne(['--out', out, '--plan', PLAN], 'san-missing', 'critical', apiserver(`${names},IP:192.0.2.10`), 2);
  assert.match(findingsOf(r, 'san-missing')[0]!.message, /^SANs missing: 10\.96\.0\.1$/);
  // The same tree read as a directory, with the plan for its SANs.
  r = expectOne([join(out, CP), '--plan', PLAN], 'san-missing', 'critical', join(out, CP, 'etc/kubernetes/pki/apiserver.crt'), 2);
  assert.match(findingsOf(r, 'san-missing')[0]!.message, /^SANs missing: 10\.96\.0\.1$/);
  out = copy();
  r = expectOne(['--out', out, '--plan', PLAN], 'san-extra', 'info', apiserver(`${names},DNS:old-name.example,IP:10.96.0.1,IP:192.0.2.10`), 0);
  assert.match(findingsOf(r, 'san-extra')[0]!.message, /old-name\.example/);
  out = copy();
  expectOne(['--out', out], 'usage-mismatch', 'critical', plantKubelet(out, { eku: 'clientAuth' }), 2);
});

test('weak crypto: RSA-1024, SHA-1; duplicate serials from one CA', () => {
  let out = copy();
  expectOne(['--out', out], 'weak-key', 'warning', plantKubelet(out, { key: ['-newkey', 'rsa:1024'] }), 1);
  out = copy();
  expectOne(['--out', out], 'sha1-signature', 'critical', plantKubelet(out, { digest: 'sha1' }), 2);
  out = copy();
  const a = plantKubelet(out, { serial: '4242' });
  const w2 = 'nodes/worker-2/var/lib/kubelet/pki/kubelet';
  opensslLeaf({ subj: '/O=system:nodes/CN=system:node:worker-2', ca: store(out, 'ca'), eku: 'serverAuth', san: 'DNS:worker-2,IP:192.0.2.22', serial: '4242' }, join(out, `${w2}.crt`), join(out, `${w2}.key`));
  chmodSync(join(out, `${w2}.key`), 0o600);
  const r = runCheck(['--out', out]).report;
  const dup = findingsOf(r, 'duplicate-serial');
  assert.is(dup.length, 1);
  assert.ok([a, `${w2}.crt`].includes(dup[0]!.file));
  assert.is(dup[0]!.severity, 'warning');
});

test('broken files: truncated, garbage, DER, wrong key type, empty: each a finding naming the file; the rest is still checked', () => {
  const out = copy();
  const p = (f: string) => join(out, f);
  const apiserver = read(p(`${PKI}/apiserver.crt`));
  writeFileSync(p(`${PKI}/apiserver.crt`), apiserver.slice(0, 300));
  writeFileSync(p(`${PKI}/front-proxy-client.crt`), 'this is not a certificate\n');
  run('openssl', ['x509', '-in', p(`${PKI}/apiserver-kubelet-client.crt`), '-outform', 'der', '-out', p(`${PKI}/apiserver-kubelet-client.crt`)]);
  run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p(`${PKI}/apiserver-etcd-client.key`)]);
  writeFileSync(p(`${PKI}/etcd/server.crt`), '');
  const { status, report } = runCheck(['--out', out]);
  assert.is(status, 2);
  const named = (code: string, file: string, re: RegExp) => {
    const f = findingsOf(report, code, file);
    assert.ok(f.length === 1, `${code} on ${file}: ${JSON.stringify(report.findings, null, 1)}`);
    assert.match(f[0]!.message, re);
  };
  named('unreadable', `${PKI}/apiserver.crt`, /END|truncated|without/i);
  named('unreadable', `${PKI}/front-proxy-client.crt`, /no PEM block/);
  named('unreadable', `${PKI}/apiserver-kubelet-client.crt`, /DER|binary/);
  named('key-mismatch', `${PKI}/apiserver-etcd-client.key`, /rsa private key for a ec certificate/);
  named('unreadable', `${PKI}/etcd/server.crt`, /empty/);
  // Everything else is still listed.
  assert.is(report.certificates.length, 20 - 4);
});

test.run();
