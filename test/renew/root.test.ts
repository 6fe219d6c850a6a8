/**
 * `kpki renew --root` on trees in kubeadm's exact shape, built here with openssl (signed under
 * faketime 400 days ago, so every leaf has expired; the CAs have ten years): a 1.20 control
 * plane (admin in system:masters, no super-admin.conf, v1.20.2 manifests) and a 1.29 one
 * (super-admin.conf present). kubelet.conf points at kubelet-client-current.pem, a symbolic link
 * to the kubelet's dated pem, and the kubelet serving certificate is self-signed, as kubeadm
 * leaves them. Checked with openssl: every leaf verifies with its purpose, identities kept,
 * CA files and sa.* byte-identical, the link moved to a new dated file.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { hashTree, kpki, sh, tempDir } from '../support/cli.js';

const DAY = 86_400_000;
const work = tempDir('kpki-renew-root-');
test.after(() => rmSync(work, { recursive: true, force: true }));

const PAST = new Date(Date.now() - 400 * DAY);
const FAKE = `${PAST.toISOString().slice(0, 19).replace('T', ' ')}`;
const CNF = join(work, 'req.cnf');
writeFileSync(CNF, '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n');

/** One certificate and its EC key, made by openssl under faketime: a CA (self-signed) or a leaf signed by `ca`. */
function cert(stem: string, subj: string, o: { ca?: string; exts: string[]; days: number }): void {
  const args = ['req', '-config', CNF, '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${stem}.key`, '-out', `${stem}.crt`, '-subj', subj, '-days', String(o.days),
    ...(o.ca ? ['-CA', `${o.ca}.crt`, '-CAkey', `${o.ca}.key`] : []), ...o.exts.flatMap((e) => ['-addext', e])];
  sh('faketime', [FAKE, 'openssl', ...args]);
}
const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature', 'subjectKeyIdentifier=hash'];
const leafExt = (eku: string, san?: string) => ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', `extendedKeyUsage=${eku}`, ...(san ? [`subjectAltName=${san}`] : [])];

const b64 = (file: string) => readFileSync(file).toString('base64');
/** A kubeconfig as kubeadm writes it: embedded, or (kubelet.conf) naming the kubelet's rotated pem. */
function kubeconfig(path: string, pki: string, user: string, server: string, client: { stem: string } | { file: string }): void {
  const creds = 'stem' in client
    ? `    client-certificate-data: ${b64(`${client.stem}.crt`)}\n    client-key-data: ${b64(`${client.stem}.key`)}\n`
    : `    client-certificate: ${client.file}\n    client-key: ${client.file}\n`;
  writeFileSync(path, `apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ${b64(join(pki, 'ca.crt'))}\n    server: ${server}\n  name: kubernetes\n` +
    `contexts:\n- context:\n    cluster: kubernetes\n    user: ${user}\n  name: ${user}@kubernetes\ncurrent-context: ${user}@kubernetes\nkind: Config\npreferences: {}\nusers:\n- name: ${user}\n  user:\n${creds}`, { mode: 0o600 });
}

const OLD_PEM = 'kubelet-client-2025-11-02-10-00-00.pem';

/** A kubeadm control plane `cp-1` at 127.0.0.1 in `<host>/etc/kubernetes` and `<host>/var/lib/kubelet/pki`. */
function kubeadmTree(name: string, minor: 20 | 29, caDays = 3650): string {
  const host = join(work, name);
  const etc = join(host, 'etc/kubernetes');
  const pki = join(etc, 'pki');
  const kub = join(host, 'var/lib/kubelet/pki');
  const tmp = join(host, 'tmp');
  for (const d of [join(pki, 'etcd'), join(etc, 'manifests'), kub, tmp]) mkdirSync(d, { recursive: true });
  const admins = minor >= 29 ? 'kubeadm:cluster-admins' : 'system:masters';
  const P = (s: string) => join(pki, s);
  cert(P('ca'), '/CN=kubernetes', { exts: CA_EXT, days: caDays });
  cert(P('front-proxy-ca'), '/CN=front-proxy-ca', { exts: CA_EXT, days: 3650 });
  cert(P('etcd/ca'), '/CN=etcd-ca', { exts: CA_EXT, days: 3650 });
  sh('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', P('sa.key')]);
  sh('openssl', ['pkey', '-in', P('sa.key'), '-pubout', '-out', P('sa.pub')]);
  cert(P('apiserver'), '/CN=kube-apiserver', { ca: P('ca'), days: 365, exts: leafExt('serverAuth', 'DNS:cp-1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:api.example.test,IP:10.96.0.1,IP:127.0.0.1') });
  cert(P('apiserver-kubelet-client'), `/O=${admins}/CN=kube-apiserver-kubelet-client`, { ca: P('ca'), days: 365, exts: leafExt('clientAuth') });
  cert(P('apiserver-etcd-client'), '/CN=kube-apiserver-etcd-client', { ca: P('etcd/ca'), days: 365, exts: leafExt('clientAuth') });
  cert(P('front-proxy-client'), '/CN=front-proxy-client', { ca: P('front-proxy-ca'), days: 365, exts: leafExt('clientAuth') });
  for (const s of ['server', 'peer']) cert(P(`etcd/${s}`), '/CN=cp-1', { ca: P('etcd/ca'), days: 365, exts: leafExt('serverAuth,clientAuth', 'DNS:cp-1,DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1') });
  cert(P('etcd/healthcheck-client'), '/CN=kube-etcd-healthcheck-client', { ca: P('etcd/ca'), days: 365, exts: leafExt('clientAuth') });
  const server = 'https://127.0.0.1:6443';
  const conf = (file: string, user: string, subj: string) => {
    cert(join(tmp, file), subj, { ca: P('ca'), days: 365, exts: leafExt('clientAuth') });
    kubeconfig(join(etc, file), pki, user, server, { stem: join(tmp, file) });
  };
  conf('admin.conf', 'kubernetes-admin', `/O=${admins}/CN=kubernetes-admin`);
  if (minor >= 29) conf('super-admin.conf', 'kubernetes-super-admin', '/O=system:masters/CN=kubernetes-super-admin');
  conf('controller-manager.conf', 'system:kube-controller-manager', '/CN=system:kube-controller-manager');
  conf('scheduler.conf', 'system:kube-scheduler', '/CN=system:kube-scheduler');
  // kubelet: its client pair rotated into one dated pem, linked from kubelet-client-current.pem (absolute, as the kubelet links)
  cert(join(tmp, 'kubelet'), '/O=system:nodes/CN=system:node:cp-1', { ca: P('ca'), days: 365, exts: leafExt('clientAuth') });
  writeFileSync(join(kub, OLD_PEM), readFileSync(join(tmp, 'kubelet.crt'), 'utf8') + readFileSync(join(tmp, 'kubelet.key'), 'utf8'), { mode: 0o600 });
  symlinkSync(join(kub, OLD_PEM), join(kub, 'kubelet-client-current.pem'));
  kubeconfig(join(etc, 'kubelet.conf'), pki, 'default-auth', server, { file: '/var/lib/kubelet/pki/kubelet-client-current.pem' });
  // the kubelet's self-signed serving pair
  cert(join(kub, 'kubelet'), '/CN=cp-1@1700000000', { days: 365, exts: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth', 'subjectAltName=DNS:cp-1'] });
  const tag = minor >= 29 ? 'v1.29.0' : 'v1.20.2';
  for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
    writeFileSync(join(etc, 'manifests', `${c}.yaml`), `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${c}\n  namespace: kube-system\nspec:\n  containers:\n  - name: ${c}\n    image: k8s.gcr.io/${c}:${tag}\n`);
  }
  rmSync(tmp, { recursive: true });
  return host;
}

const tree20 = kubeadmTree('v120', 20);
const tree29 = kubeadmTree('v129', 29);

function copy(from: string, name: string): string {
  const to = join(work, name);
  cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  // the link is absolute: point it at the copy
  const link = join(to, 'var/lib/kubelet/pki/kubelet-client-current.pem');
  rmSync(link);
  symlinkSync(join(to, 'var/lib/kubelet/pki', OLD_PEM), link);
  return to;
}

/** openssl's verdict, or its error text, without throwing. */
function verify(caFile: string, purpose: 'sslserver' | 'sslclient', crt: string): string {
  try {
    return sh('openssl', ['verify', '-x509_strict', '-CAfile', caFile, '-purpose', purpose, crt]).trim();
  } catch (e) {
    return (e as Error).message;
  }
}

function subjectOf(crt: string): { cn?: string; o: string[]; san: string } {
  const t = sh('openssl', ['x509', '-in', crt, '-noout', '-subject', '-nameopt', 'RFC2253', '-ext', 'subjectAltName']);
  const rdns = /^subject=(.*)$/m.exec(t)![1]!.split(',').map((r) => r.split('='));
  return { cn: rdns.find(([k]) => k === 'CN')?.[1], o: rdns.filter(([k]) => k === 'O').map(([, v]) => v!), san: /Subject Alternative Name:\s*\n\s*(.*)/.exec(t)?.[1]?.trim() ?? '' };
}

const valid = (crt: string) => {
  try {
    sh('openssl', ['x509', '-in', crt, '-noout', '-checkend', String(300 * 86_400)]);
    return true;
  } catch {
    return false;
  }
};

/** A kubeconfig's embedded client certificate, written out for openssl. */
function clientOf(conf: string): string {
  const doc = parseYaml(readFileSync(conf, 'utf8')) as { users: Array<{ user: Record<string, string> }> };
  const out = join(work, `client-${Math.random().toString(36).slice(2)}.crt`);
  writeFileSync(out, Buffer.from(doc.users[0]!.user['client-certificate-data']!, 'base64'));
  return out;
}

const LEAVES: ReadonlyArray<[string, string, 'sslserver' | 'sslclient']> = [
  ['pki/apiserver.crt', 'pki/ca.crt', 'sslserver'],
  ['pki/apiserver-kubelet-client.crt', 'pki/ca.crt', 'sslclient'],
  ['pki/apiserver-etcd-client.crt', 'pki/etcd/ca.crt', 'sslclient'],
  ['pki/front-proxy-client.crt', 'pki/front-proxy-ca.crt', 'sslclient'],
  ['pki/etcd/server.crt', 'pki/etcd/ca.crt', 'sslserver'],
  ['pki/etcd/peer.crt', 'pki/etcd/ca.crt', 'sslclient'],
  ['pki/etcd/healthcheck-client.crt', 'pki/etcd/ca.crt', 'sslclient'],
];
const PROTECTED = ['pki/ca.crt', 'pki/ca.key', 'pki/front-proxy-ca.crt', 'pki/front-proxy-ca.key', 'pki/etcd/ca.crt', 'pki/etcd/ca.key', 'pki/sa.key', 'pki/sa.pub'];

/** Renews all on a copy of `tree`; checks everything every tree shares; returns the copy's /etc/kubernetes. */
function renewAllAndCheck(tree: string, name: string): { etc: string; stdout: string } {
  const host = copy(tree, name);
  const etc = join(host, 'etc/kubernetes');
  const kub = join(host, 'var/lib/kubelet/pki');
  // really expired before: openssl refuses the old apiserver certificate
  assert.match(verify(join(etc, 'pki/ca.crt'), 'sslserver', join(etc, 'pki/apiserver.crt')), /certificate has expired/);
  const before = hashTree(etc);
  const sanSet = (crt: string) => subjectOf(crt).san.split(', ').sort();
  const oldSan = sanSet(join(etc, 'pki/apiserver.crt'));

  const r = kpki(['renew', 'all', '--root', etc]);
  assert.is(r.status, 0, r.stderr + r.stdout);
  const after = hashTree(etc);
  for (const f of PROTECTED) assert.is(after.get(f), before.get(f), `${f} untouched`);
  for (const [crt, ca, purpose] of LEAVES) {
    assert.is.not(after.get(crt), before.get(crt), `${crt} replaced`);
    assert.match(verify(join(etc, ca), purpose, join(etc, crt)), /: OK$/, crt);
    assert.ok(valid(join(etc, crt)), `${crt} valid for another 300 days`);
  }
  // SANs copied from the old certificate (no --plan), and said so
  assert.equal(sanSet(join(etc, 'pki/apiserver.crt')), oldSan);
  assert.match(r.stdout, /apiserver .*old certificate/);
  for (const f of ['admin.conf', 'controller-manager.conf', 'scheduler.conf']) {
    const crt = clientOf(join(etc, f));
    assert.match(verify(join(etc, 'pki/ca.crt'), 'sslclient', crt), /: OK$/, f);
    assert.ok(valid(crt), f);
  }
  // the kubelet's link moved, as the kubelet does it, to a new dated pem (cert + key) that verifies
  const target = readlinkSync(join(kub, 'kubelet-client-current.pem'));
  assert.is.not(basename(target), OLD_PEM);
  assert.match(basename(target), /^kubelet-client-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.pem$/);
  assert.ok(existsSync(join(kub, OLD_PEM)), 'the old dated pem stays, as the kubelet leaves it');
  const pem = readFileSync(join(kub, basename(target)), 'utf8');
  assert.match(pem, /BEGIN CERTIFICATE[\s\S]+BEGIN (EC )?PRIVATE KEY/);
  assert.match(verify(join(etc, 'pki/ca.crt'), 'sslclient', join(kub, basename(target))), /: OK$/);
  assert.equal(subjectOf(join(kub, basename(target))), { cn: 'system:node:cp-1', o: ['system:nodes'], san: '' });
  assert.match(readFileSync(join(etc, 'kubelet.conf'), 'utf8'), /client-certificate: \/var\/lib\/kubelet\/pki\/kubelet-client-current\.pem/);
  // the self-signed serving certificate is now CA-signed, SANs kept
  assert.match(verify(join(etc, 'pki/ca.crt'), 'sslserver', join(kub, 'kubelet.crt')), /: OK$/);
  assert.is(subjectOf(join(kub, 'kubelet.crt')).san, 'DNS:cp-1');
  return { etc, stdout: r.stdout };
}

test('1.20-shaped tree, every leaf expired: --dry-run writes nothing; renew all renews every leaf, admin stays in system:masters', () => {
  const host = copy(tree20, 'dry20');
  const before = hashTree(host);
  const dry = kpki(['renew', 'all', '--root', join(host, 'etc/kubernetes'), '--dry-run']);
  assert.is(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /would be renewed/);
  assert.equal(hashTree(host), before);
  assert.is(readlinkSync(join(host, 'var/lib/kubelet/pki/kubelet-client-current.pem')), join(host, 'var/lib/kubelet/pki', OLD_PEM));

  const { etc, stdout } = renewAllAndCheck(tree20, 'real20');
  assert.match(stdout, /1\.20\.2 \(from .*kube-apiserver\.yaml\)/);
  assert.equal(subjectOf(clientOf(join(etc, 'admin.conf'))).o, ['system:masters']);
  assert.equal(subjectOf(join(etc, 'pki/apiserver-kubelet-client.crt')).o, ['system:masters']);
  assert.not.ok(existsSync(join(etc, 'super-admin.conf')), 'no super-admin.conf on a 1.20 tree');
  assert.match(stdout, /restart kubelet/);
});

test('1.29-shaped tree (super-admin.conf present): admin in kubeadm:cluster-admins, super-admin in system:masters', () => {
  const { etc } = renewAllAndCheck(tree29, 'real29');
  assert.equal(subjectOf(clientOf(join(etc, 'admin.conf'))).o, ['kubeadm:cluster-admins']);
  const sup = clientOf(join(etc, 'super-admin.conf'));
  assert.equal(subjectOf(sup), { cn: 'kubernetes-super-admin', o: ['system:masters'], san: '' });
  assert.match(verify(join(etc, 'pki/ca.crt'), 'sslclient', sup), /: OK$/);
});

test('a CA without its key stops only its leaves, naming kpki csr, exit 3', () => {
  const host = copy(tree20, 'external-fp');
  const etc = join(host, 'etc/kubernetes');
  rmSync(join(etc, 'pki/front-proxy-ca.key'));
  const before = hashTree(etc);
  const r = kpki(['renew', 'all', '--root', etc]);
  assert.is(r.status, 3, r.stderr);
  assert.match(r.stderr, /front-proxy-ca\.key: missing.*front-proxy-client.*kpki csr/);
  const after = hashTree(etc);
  assert.is(after.get('pki/front-proxy-client.crt'), before.get('pki/front-proxy-client.crt'));
  assert.is.not(after.get('pki/apiserver.crt'), before.get('pki/apiserver.crt'));
});

test('bad input: a root that is not a Kubernetes tree, a CA id, --root with --out: exit 2, nothing written', () => {
  const empty = join(work, 'empty/etc/kubernetes');
  mkdirSync(empty, { recursive: true });
  const r1 = kpki(['renew', 'all', '--root', empty]);
  assert.is(r1.status, 2);
  assert.match(r1.stderr, /not a Kubernetes tree/);
  const host = copy(tree20, 'bad20');
  const before = hashTree(host);
  const r2 = kpki(['renew', 'ca', '--root', join(host, 'etc/kubernetes')]);
  assert.is(r2.status, 2);
  assert.match(r2.stderr, /ca is a CA.*kpki ca extend/);
  const r3 = kpki(['renew', 'apiserverr', '--root', join(host, 'etc/kubernetes')]);
  assert.is(r3.status, 2);
  assert.match(r3.stderr, /did you mean apiserver/);
  assert.is(kpki(['renew', 'all', '--root', join(host, 'etc/kubernetes'), '--out', work]).status, 2);
  assert.is(kpki(['renew', 'all', '--root', join(host, 'etc/kubernetes'), '--node', 'cp-1']).status, 2);
  assert.equal(hashTree(host), before);
  // a file the strict reader refuses: named, exit 2, nothing written
  writeFileSync(join(host, 'etc/kubernetes/pki/etcd/peer.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const broken = hashTree(host);
  const r4 = kpki(['renew', 'all', '--root', join(host, 'etc/kubernetes')]);
  assert.is(r4.status, 2, r4.stderr);
  assert.match(r4.stderr, /etcd\/peer\.crt/);
  assert.equal(hashTree(host), broken);
});

test('--plan gives the SANs; --reuse-keys keeps the key; only the named ids change; --before skips what is fresh', () => {
  const host = copy(tree20, 'plan20');
  const etc = join(host, 'etc/kubernetes');
  const plan = join(work, 'cluster.yaml');
  writeFileSync(plan, 'apiVersion: kpki/v1alpha1\nkind: Cluster\nkubernetesVersion: v1.20.2\ncontrolPlaneEndpoint: api.example.test:6443\n' +
    'apiServer: { certSANs: [extra.example.test] }\nnetworking: { serviceSubnet: 10.96.0.0/12 }\n' +
    'nodes:\n  - { name: cp-1, address: 127.0.0.1, roles: [control-plane], init: true }\n');
  const before = hashTree(etc);
  // given the host's root, it reads its etc/kubernetes
  const r = kpki(['renew', 'apiserver', '--root', host, '--plan', plan, '--reuse-keys', '--json']);
  assert.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { renewed: number; items: Array<{ id: string; sans: string }>; version: { text: string } };
  assert.is(report.renewed, 1);
  assert.equal(report.items.map((i) => [i.id, i.sans]), [['apiserver', 'plan']]);
  assert.is(report.version.text, '1.20.2');
  const after = hashTree(etc);
  assert.equal([...after.keys()].filter((f) => !f.startsWith('backup/') && after.get(f) !== before.get(f)), ['pki/apiserver.crt']);
  assert.is(after.get('pki/apiserver.key'), before.get('pki/apiserver.key'), 'key kept');
  assert.ok(existsSync(join(etc, 'backup')), 'the old certificate is backed up');
  const crt = join(etc, 'pki/apiserver.crt');
  assert.equal(subjectOf(crt).san.split(', ').sort(), [
    'DNS:api.example.test', 'DNS:cp-1', 'DNS:extra.example.test', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local', 'IP Address:10.96.0.1', 'IP Address:127.0.0.1',
  ]);
  assert.match(verify(join(etc, 'pki/ca.crt'), 'sslserver', crt), /: OK$/);
  // now fresh: --before 30d leaves it, and everything still expired is renewed
  const j = JSON.parse(kpki(['renew', 'all', '--root', etc, '--before', '30d', '--json', '--dry-run']).stdout) as { items: Array<{ id: string; action: string }> };
  assert.is(j.items.find((i) => i.id === 'apiserver')!.action, 'keep');
  assert.is(j.items.find((i) => i.id === 'admin.conf')!.action, 'renew');
});

test('a worker (pki/ca.crt without its key): exit 3 saying the key is on the control planes; with the key there, kubelet.conf and kubelet.crt renewed', () => {
  const host = copy(tree20, 'worker20');
  const etc = join(host, 'etc/kubernetes');
  const caKey = readFileSync(join(etc, 'pki/ca.key'));
  for (const f of ['admin.conf', 'controller-manager.conf', 'scheduler.conf', 'manifests']) rmSync(join(etc, f), { recursive: true });
  for (const f of readdirSync(join(etc, 'pki'))) if (f !== 'ca.crt') rmSync(join(etc, 'pki', f), { recursive: true });
  const before = hashTree(host);
  const r = kpki(['renew', 'all', '--root', etc]);
  assert.is(r.status, 3, r.stderr);
  assert.match(r.stderr, /ca\.key: missing \(this is a worker: the key is on the control planes\); kubelet-serving, kubelet\.conf not renewed: kpki csr/);
  assert.equal(hashTree(host), before);
  writeFileSync(join(etc, 'pki/ca.key'), caKey, { mode: 0o600 });
  const ok = kpki(['renew', 'all', '--root', etc, '--json']);
  assert.is(ok.status, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { items: Array<{ id: string }> }).items.map((i) => i.id).sort(), ['kubelet-serving', 'kubelet.conf']);
  const kub = join(host, 'var/lib/kubelet/pki');
  const target = readlinkSync(join(kub, 'kubelet-client-current.pem'));
  assert.is.not(basename(target), OLD_PEM);
  assert.match(verify(join(etc, 'pki/ca.crt'), 'sslclient', join(kub, basename(target))), /: OK$/);
  assert.match(verify(join(etc, 'pki/ca.crt'), 'sslserver', join(kub, 'kubelet.crt')), /: OK$/);
});

test('an expired Kubernetes CA: renew stops its leaves naming ca extend; ca extend --root re-signs it in place (same key, kubeconfigs follow); then renew all works', () => {
  const host = kubeadmTree('caexp', 20, 300);
  const etc = join(host, 'etc/kubernetes');
  const r1 = kpki(['renew', 'all', '--root', etc]);
  assert.is(r1.status, 3, r1.stderr);
  assert.match(r1.stderr, /pki\/ca\.crt expired .*kpki ca extend ca --root/);
  const before = hashTree(etc);
  const spkiHash = (crt: string) => {
    const der = join(work, `spki-${Math.random().toString(36).slice(2)}.der`);
    sh('openssl', ['x509', '-in', crt, '-noout', '-pubkey', '-out', `${der}.pem`]);
    sh('openssl', ['pkey', '-pubin', '-in', `${der}.pem`, '-outform', 'DER', '-out', der]);
    return sh('openssl', ['dgst', '-sha256', '-r', der]).split(' ')[0];
  };
  const hashBefore = spkiHash(join(etc, 'pki/ca.crt'));
  assert.is(kpki(['ca', 'extend', 'ca', '--root', etc, '--dry-run']).status, 0);
  assert.equal(hashTree(etc), before, 'a dry run writes nothing');
  const r2 = kpki(['ca', 'extend', 'ca', '--root', etc, '--validity', '87600h']);
  assert.is(r2.status, 0, r2.stderr);
  assert.ok(r2.stdout.includes(`sha256:${hashBefore}`), r2.stdout);
  const after = hashTree(etc);
  assert.is.not(after.get('pki/ca.crt'), before.get('pki/ca.crt'));
  for (const f of ['pki/ca.key', 'pki/front-proxy-ca.crt', 'pki/etcd/ca.crt', 'pki/sa.key']) assert.is(after.get(f), before.get(f), f);
  assert.is(spkiHash(join(etc, 'pki/ca.crt')), hashBefore);
  assert.ok(valid(join(etc, 'pki/ca.crt')));
  // the old leaves still chain to it (their own expiry aside), and the kubeconfigs carry the new CA
  assert.match(sh('openssl', ['verify', '-no_check_time', '-CAfile', join(etc, 'pki/ca.crt'), join(etc, 'pki/apiserver.crt')]), /: OK/);
  const caData = (f: string) => Buffer.from(/certificate-authority-data: (\S+)/.exec(readFileSync(join(etc, f), 'utf8'))![1]!, 'base64').toString();
  for (const f of ['admin.conf', 'kubelet.conf', 'scheduler.conf']) assert.is(caData(f), readFileSync(join(etc, 'pki/ca.crt'), 'utf8'), f);
  const r3 = kpki(['renew', 'all', '--root', etc]);
  assert.is(r3.status, 0, r3.stderr);
  assert.match(verify(join(etc, 'pki/ca.crt'), 'sslserver', join(etc, 'pki/apiserver.crt')), /: OK$/);
});

test('temp files a killed run left (beside kubeconfigs, in pki/, pki/etcd/ and the kubelet directory) are removed by the next renew and ca extend, and reported', () => {
  const host = copy(tree20, 'leftovers');
  const etc = join(host, 'etc/kubernetes');
  const kub = join(host, 'var/lib/kubelet/pki');
  // Named as kpki names its temp files (target + .kpki-<12 hex>.tmp); a look-alike that is not one stays.
  const planted = [join(etc, 'admin.conf.kpki-0123456789ab.tmp'), join(etc, 'pki/apiserver.key.kpki-a1b2c3d4e5f6.tmp'), join(etc, 'pki/etcd/server.crt.kpki-ffffffffffff.tmp'), join(kub, 'kubelet.crt.kpki-000000000001.tmp')];
  for (const f of planted) writeFileSync(f, 'half a key', { mode: 0o600 });
  writeFileSync(join(etc, 'pki/notes.kpki-draft.tmp'), 'not kpki\'s');
  const r = kpki(['renew', 'all', '--root', etc, '--json']);
  assert.is(r.status, 0, r.stderr);
  for (const f of planted) assert.not.ok(existsSync(f), `${f} left`);
  assert.ok(existsSync(join(etc, 'pki/notes.kpki-draft.tmp')), 'a file that only looks like a temp name was removed');
  const report = JSON.parse(r.stdout) as { files: Array<{ path: string; action: string; reason?: string }> };
  const removed = report.files.filter((f) => f.action === 'removed').map((f) => f.path).sort();
  assert.equal(removed, [...planted].sort());
  assert.ok(report.files.filter((f) => f.action === 'removed').every((f) => /interrupted/.test(f.reason ?? '')));
  // ca extend --root as well.
  writeFileSync(join(etc, 'pki/ca.crt.kpki-abcdefabcdef.tmp'), 'half a CA');
  const e = kpki(['ca', 'extend', 'ca', '--root', etc]);
  assert.is(e.status, 0, e.stderr);
  assert.not.ok(existsSync(join(etc, 'pki/ca.crt.kpki-abcdefabcdef.tmp')));
});

test.run();
