/**
 * External CA flow with real tools: `kpki csr` on a store holding only CA certificates (made
 * with openssl, keys kept outside the store) writes keys and requests that `openssl req -verify`
 * reads with the subject, SANs and usages written out by hand below; the requests signed with
 * `openssl x509 -req -copy_extensions` and with Debian's `cfssl sign` import cleanly and pass
 * `openssl verify` with their purpose; a wrong SAN, a wrong EKU, another CA's signature or
 * another key refuses the whole import with nothing written; gen points at csr/import.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BOOKKEEPING, FIXTURES, hashTree, kpki, listFiles, modeOf, sh, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';
import { check } from '../../pki/check/check.js';
import { discover } from '../../pki/check/discover.js';
import { parsePlan } from '../../pki/plan/parse.js';
import { diskSink } from '../../pki/sinks/disk.js';
import { readRecord } from '../../pki/store/record.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');
const work = tempDir('kpki-csr-');
test.after(() => rmSync(work, { recursive: true, force: true }));

/** A self-signed P-256 CA made by openssl: `<dir>/<name>.crt` and `.key`. */
function makeCa(name: string, cn: string): { crt: string; key: string } {
  const crt = join(work, `${name}.crt`);
  const key = join(work, `${name}.key`);
  sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt,
    '-subj', `/CN=${cn}`, '-days', '3650', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,digitalSignature']);
  return { crt, key };
}
const CA = makeCa('ca', 'kubernetes');
const ETCD_CA = makeCa('etcd-ca', 'etcd-ca');
const FP_CA = makeCa('front-proxy-ca', 'front-proxy-ca');
/** Another CA with the Kubernetes CA's very subject: only its signature tells them apart. */
const OTHER_CA = makeCa('other-ca', 'kubernetes');

// The store: CA certificates only (as an organisation's CA hands them out).
const base = join(work, 'base');
for (const [file, ca] of [['pki/ca.crt', CA], ['pki/etcd/ca.crt', ETCD_CA], ['pki/front-proxy-ca.crt', FP_CA]] as const) {
  mkdirSync(dirname(join(base, file)), { recursive: true });
  cpSync(ca.crt, join(base, file));
}
const first = kpki(['csr', '-p', PLAN, '-o', base]);
if (first.status !== 0) throw new Error(`kpki csr: ${first.stderr}`);

/** Every credential file's hash (kpki's bookkeeping, rewritten as it likes, left out). */
const credentials = (store: string) => [...hashTree(store)].filter(([f]) => !BOOKKEEPING.includes(f));

let n = 0;
const copy = () => {
  const to = join(work, `store-${++n}`);
  cpSync(base, to, { recursive: true });
  return to;
};

// Written out by hand (kubeadm's names; a kubeconfig's request beside the kubeconfig).
const CP = 'nodes/cp-1/etc/kubernetes';
const REQUESTS = [
  `${CP}/pki/apiserver.csr`, `${CP}/pki/apiserver-kubelet-client.csr`, `${CP}/pki/front-proxy-client.csr`,
  `${CP}/pki/apiserver-etcd-client.csr`, `${CP}/pki/etcd/server.csr`, `${CP}/pki/etcd/peer.csr`, `${CP}/pki/etcd/healthcheck-client.csr`,
  'nodes/cp-1/var/lib/kubelet/pki/kubelet.csr', 'nodes/worker-1/var/lib/kubelet/pki/kubelet.csr', 'nodes/worker-2/var/lib/kubelet/pki/kubelet.csr',
  `${CP}/admin.conf.csr`, `${CP}/super-admin.conf.csr`, `${CP}/controller-manager.conf.csr`, `${CP}/scheduler.conf.csr`, `${CP}/kubelet.conf.csr`,
  'nodes/worker-1/etc/kubernetes/kubelet.conf.csr', 'nodes/worker-2/etc/kubernetes/kubelet.conf.csr',
  `${CP}/kube-proxy.conf.csr`, 'nodes/worker-1/etc/kubernetes/kube-proxy.conf.csr', 'nodes/worker-2/etc/kubernetes/kube-proxy.conf.csr',
].sort();

/** Which CA signs a request, by hand. */
const caFor = (csr: string) => (/etcd/.test(csr) ? ETCD_CA : /front-proxy/.test(csr) ? FP_CA : CA);
/** The key beside a request (a kubeconfig's pending key is `<file>.conf.key`). */
const keyFor = (csr: string) => csr.replace(/\.csr$/, '.key');

const reqText = (store: string, csr: string) => sh('openssl', ['req', '-verify', '-noout', '-text', '-in', join(store, csr)]);
const line = (text: string, header: string) => {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.includes(header));
  return i < 0 ? undefined : lines[i + 1]!.trim();
};

test('csr: a request and a key for every leaf of every node, workers too; keys 0600 in 0700 directories', () => {
  const files = listFiles(base).filter((f) => !BOOKKEEPING.includes(f));
  assert.equal(files.filter((f) => f.endsWith('.csr')), REQUESTS);
  for (const csr of REQUESTS) {
    const key = keyFor(csr);
    assert.ok(files.includes(key), key);
    assert.is(modeOf(join(base, key)), 0o600, key);
    assert.is(statSync(dirname(join(base, key))).mode & 0o777, 0o700, dirname(key));
    // The key is the request's: the public key openssl takes from the request is the key's.
    const fromReq = sh('openssl', ['req', '-in', join(base, csr), '-noout', '-pubkey']);
    assert.is(fromReq, createPublicKey(createPrivateKey(readFileSync(join(base, key), 'utf8'))).export({ type: 'spki', format: 'pem' }).toString(), csr);
  }
  // Nothing but requests and keys was added; the store's CA files are as they were.
  assert.equal(files.filter((f) => !f.endsWith('.csr') && !f.endsWith('.key')), ['pki/ca.crt', 'pki/etcd/ca.crt', 'pki/front-proxy-ca.crt']);
});

test('csr: openssl req -verify reads the subject, SANs and usages the catalog asks for', () => {
  const api = reqText(base, `${CP}/pki/apiserver.csr`);
  assert.match(api, 'Subject: CN = kube-apiserver\n');
  assert.is(line(api, 'Subject Alternative Name'), 'DNS:cp-1, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local, IP Address:10.96.0.1, IP Address:192.0.2.10');
  assert.is(line(api, 'Extended Key Usage'), 'TLS Web Server Authentication');
  assert.is(line(api, 'Key Usage: critical'), 'Digital Signature');

  const peer = reqText(base, `${CP}/pki/etcd/peer.csr`);
  assert.match(peer, 'Subject: CN = cp-1\n');
  assert.is(line(peer, 'Subject Alternative Name'), 'DNS:cp-1, DNS:localhost, IP Address:192.0.2.10, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  assert.is(line(peer, 'Extended Key Usage'), 'TLS Web Server Authentication, TLS Web Client Authentication');

  const admin = reqText(base, `${CP}/admin.conf.csr`);
  assert.match(admin, 'Subject: O = kubeadm:cluster-admins, CN = kubernetes-admin\n');
  assert.is(line(admin, 'Extended Key Usage'), 'TLS Web Client Authentication');
  assert.not.ok(admin.includes('Subject Alternative Name'));

  const kubelet = reqText(base, 'nodes/worker-2/etc/kubernetes/kubelet.conf.csr');
  assert.match(kubelet, 'Subject: O = system:nodes, CN = system:node:worker-2\n');
  assert.is(line(kubelet, 'Extended Key Usage'), 'TLS Web Client Authentication');
});

test('csr: a re-run keeps keys and requests that fit; a lost request is written again for the same key', () => {
  const store = copy();
  const before = hashTree(store);
  const again = kpki(['csr', '-p', PLAN, '-o', store]);
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stdout, '20 requests in');
  assert.match(again.stdout, '(0 written, 20 kept)');
  assert.equal(credentials(store), [...before].filter(([f]) => !BOOKKEEPING.includes(f)));
  const csr = `${CP}/pki/apiserver.csr`;
  unlinkSync(join(store, csr));
  assert.is(kpki(['csr', '-p', PLAN, '-o', store, '--node', 'cp-1']).status, 0);
  const after = hashTree(store);
  assert.is(after.get(keyFor(csr)), before.get(keyFor(csr)));
  assert.ok(after.has(csr));
  const pub = (file: string) => sh('openssl', ['req', '-in', file, '-noout', '-pubkey']);
  assert.is(pub(join(store, csr)), pub(join(base, csr)));
  // A plan change (one more API server SAN): a new request for the same key; the rest kept.
  const plan = join(work, 'more-sans.yaml');
  writeFileSync(plan, readFileSync(PLAN, 'utf8').replace('  bindPort: 6443', '  bindPort: 6443\n  certSANs: [api.example.test]'));
  const changed = kpki(['csr', '-p', plan, '-o', store]);
  assert.is(changed.status, 0, changed.stderr);
  assert.match(changed.stdout, '(1 written, 19 kept)');
  assert.is(hashTree(store).get(keyFor(csr)), before.get(keyFor(csr)));
  assert.match(line(reqText(store, csr), 'Subject Alternative Name')!, 'DNS:api.example.test');
  const bad = kpki(['csr', '-p', PLAN, '-o', store, '--node', 'cp-9']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, "node 'cp-9' is not in the plan");
});

/** Signs a request with openssl, copying its extensions (and adding those of `ext`, which win). */
function opensslSign(store: string, csr: string, ca = caFor(csr), ext?: string, copyMode = 'copyall'): string {
  const out = join(work, `signed-${++n}.crt`);
  const args = ['x509', '-req', '-in', join(store, csr), '-CA', ca.crt, '-CAkey', ca.key, '-set_serial', String(1000 + n), '-days', '365', '-copy_extensions', copyMode, '-out', out];
  if (ext) {
    const file = join(work, `ext-${n}.cnf`);
    writeFileSync(file, `${ext}\n`);
    args.push('-extfile', file);
  }
  sh('openssl', args);
  return out;
}

function verify(ca: string, crt: string, purpose: 'sslserver' | 'sslclient'): void {
  const r = runSync('openssl', ['verify', '-CAfile', ca, '-purpose', purpose, crt]);
  assert.is(r.status, 0, `${crt}: ${r.stdout}${r.stderr}`);
}

/** A kubeconfig's client certificate and CA data, decoded; its key. */
function kubeconfig(file: string): { crt: string; caPem: string; keyPem: string } {
  const doc = parseYaml(readFileSync(file, 'utf8')) as { clusters: Array<{ cluster: Record<string, string> }>; users: Array<{ user: Record<string, string> }> };
  const crt = join(work, `kc-${++n}.crt`);
  writeFileSync(crt, Buffer.from(doc.users[0]!.user['client-certificate-data']!, 'base64'));
  return {
    crt,
    caPem: Buffer.from(doc.clusters[0]!.cluster['certificate-authority-data']!, 'base64').toString('utf8'),
    keyPem: Buffer.from(doc.users[0]!.user['client-key-data']!, 'base64').toString('utf8'),
  };
}

test('import: every request signed with openssl x509 -req imports; openssl verify passes; kubeconfigs rendered around them', () => {
  const store = copy();
  const signed = REQUESTS.map((csr) => opensslSign(store, csr));
  const r = kpki(['import', '-p', PLAN, '-o', store, ...signed]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, 'Imported 20 certificates');
  verify(CA.crt, join(store, `${CP}/pki/apiserver.crt`), 'sslserver');
  verify(CA.crt, join(store, `${CP}/pki/apiserver-kubelet-client.crt`), 'sslclient');
  verify(FP_CA.crt, join(store, `${CP}/pki/front-proxy-client.crt`), 'sslclient');
  verify(ETCD_CA.crt, join(store, `${CP}/pki/etcd/peer.crt`), 'sslserver');
  verify(ETCD_CA.crt, join(store, `${CP}/pki/etcd/peer.crt`), 'sslclient');
  verify(CA.crt, join(store, 'nodes/worker-1/var/lib/kubelet/pki/kubelet.crt'), 'sslserver');
  // Each certificate sits beside its key: the pair matches (same public key).
  const pubOf = (crt: string) => sh('openssl', ['x509', '-in', crt, '-noout', '-pubkey']);
  const keyPub = (keyPem: string) => createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' }).toString();
  assert.is(pubOf(join(store, `${CP}/pki/etcd/server.crt`)), keyPub(readFileSync(join(store, `${CP}/pki/etcd/server.key`), 'utf8')));
  for (const conf of [`${CP}/admin.conf`, `${CP}/super-admin.conf`, 'nodes/worker-2/etc/kubernetes/kubelet.conf', 'nodes/worker-1/etc/kubernetes/kube-proxy.conf']) {
    const k = kubeconfig(join(store, conf));
    verify(CA.crt, k.crt, 'sslclient');
    assert.is(k.caPem, readFileSync(CA.crt, 'utf8'), conf);
    assert.is(pubOf(k.crt), keyPub(k.keyPem), conf);
    assert.is(k.keyPem, readFileSync(join(store, `${conf}.key`), 'utf8'), conf);
  }
  // The node trees carry the CA certificates too; no CA key was ever needed.
  assert.is(readFileSync(join(store, `${CP}/pki/etcd/ca.crt`), 'utf8'), readFileSync(ETCD_CA.crt, 'utf8'));
  assert.is(readFileSync(join(store, 'nodes/worker-1/etc/kubernetes/pki/ca.crt'), 'utf8'), readFileSync(CA.crt, 'utf8'));
  assert.not.ok(listFiles(store).some((f) => /(^|\/)(ca|front-proxy-ca)\.key$/.test(f)));
  // Importing the same certificates again changes nothing.
  const before = credentials(store);
  assert.is(kpki(['import', '-p', PLAN, '-o', store, ...signed]).status, 0);
  assert.equal(credentials(store), before);
});

/** The record's leaf lines (four tab-separated fields, unlike its header and store lines). */
const recordLeaves = (store: string) => readFileSync(join(store, 'pki/record'), 'utf8').trimEnd().split('\n').filter((l) => l.split('\t').length === 4);

const NOW = new Date(Date.now() + 86_400_000);

/**
 * check on the store through the record, and reading every file: the same verdict; and how
 * many of its certificates the record vouched for (read without parsing).
 */
async function checkBothWays(store: string): Promise<{ remembered: number }> {
  const plan = parsePlan(readFileSync(PLAN, 'utf8'), PLAN);
  const fast = await check({ out: store, plan, now: NOW });
  assert.equal(fast.record, { used: true });
  const { record: _a, ...recorded } = fast;
  const { record: _b, ...full } = await check({ out: store, plan, now: NOW, useRecord: false });
  assert.equal(recorded, full);
  const obs = await diskSink(store).observe(['pki', 'nodes']);
  const record = readRecord(obs.files.get('pki/record'));
  const found = discover(obs.files, { resolveRef: (_k, ref) => ref, facts: { get: (k) => record.facts(k) } });
  return { remembered: found.creds.filter((c) => c.remembered).length };
}

test('import: the store record gains a line per imported leaf (as gen writes), and check trusts it with the same verdict as reading every file', async () => {
  const store = copy();
  const signed = REQUESTS.map((csr) => opensslSign(store, csr));
  assert.is(kpki(['import', '-p', PLAN, '-o', store, ...signed]).status, 0);
  assert.is(recordLeaves(store).length, REQUESTS.length);
  assert.is(modeOf(join(store, 'pki/record')), 0o600);
  assert.is((await checkBothWays(store)).remembered, REQUESTS.length);
  // One certificate signed again (another serial) and imported: its line replaced, not added.
  const again = opensslSign(store, `${CP}/pki/apiserver.csr`);
  assert.is(kpki(['import', '-p', PLAN, '-o', store, again]).status, 0);
  assert.is(recordLeaves(store).length, REQUESTS.length);
  assert.is((await checkBothWays(store)).remembered, REQUESTS.length);
});

test('import: a request signed with openssl ca (copy_extensions = copy) imports; openssl verify passes', () => {
  const store = copy();
  const dir = join(work, 'openssl-ca');
  mkdirSync(join(dir, 'new'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  const conf = join(dir, 'ca.cnf');
  writeFileSync(conf, [
    '[ca]', 'default_ca = ext', '[ext]', `dir = ${dir}`, 'database = $dir/index.txt', 'serial = $dir/serial', 'new_certs_dir = $dir/new',
    `certificate = ${CA.crt}`, `private_key = ${CA.key}`, 'default_md = sha256', 'default_days = 365', 'policy = any', 'copy_extensions = copy',
    'unique_subject = no', '[any]', 'commonName = supplied', 'organizationName = optional', '',
  ].join('\n'));
  const signed = [`${CP}/pki/apiserver.csr`, `${CP}/super-admin.conf.csr`].map((csr) => {
    const out = join(work, `ca-${++n}.crt`);
    sh('openssl', ['ca', '-batch', '-notext', '-config', conf, '-in', join(store, csr), '-out', out]);
    return out;
  });
  const r = kpki(['import', '-p', PLAN, '-o', store, ...signed]);
  assert.is(r.status, 0, r.stderr);
  verify(CA.crt, join(store, `${CP}/pki/apiserver.crt`), 'sslserver');
  verify(CA.crt, kubeconfig(join(store, `${CP}/super-admin.conf`)).crt, 'sslclient');
});

test("import: cfssl sign's output (JSON, usages from the config's profiles) imports; openssl verify passes", () => {
  const store = copy();
  const config = join(work, 'cfssl.json');
  const profile = (usages: string[]) => ({ usages: ['digital signature', ...usages], expiry: '8760h' });
  writeFileSync(config, JSON.stringify({
    signing: { default: { expiry: '8760h' }, profiles: { server: profile(['server auth']), client: profile(['client auth']), peer: profile(['server auth', 'client auth']) } },
  }));
  const jobs: Array<[string, string]> = [[`${CP}/pki/apiserver.csr`, 'server'], [`${CP}/pki/etcd/peer.csr`, 'peer'], [`${CP}/admin.conf.csr`, 'client'], ['nodes/worker-1/etc/kubernetes/kubelet.conf.csr', 'client']];
  const outputs = jobs.map(([csr, prof]) => {
    const ca = caFor(csr);
    const file = join(work, `cfssl-${++n}.json`);
    writeFileSync(file, sh('cfssl', ['sign', '-ca', ca.crt, '-ca-key', ca.key, '-config', config, '-profile', prof, join(store, csr)]));
    return file;
  });
  const r = kpki(['import', '-p', PLAN, '-o', store, ...outputs]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, 'Imported 4 certificates');
  verify(CA.crt, join(store, `${CP}/pki/apiserver.crt`), 'sslserver');
  verify(ETCD_CA.crt, join(store, `${CP}/pki/etcd/peer.crt`), 'sslclient');
  verify(CA.crt, kubeconfig(join(store, `${CP}/admin.conf`)).crt, 'sslclient');
  verify(CA.crt, kubeconfig(join(store, 'nodes/worker-1/etc/kubernetes/kubelet.conf')).crt, 'sslclient');
});

test('import: a wrong SAN, a wrong EKU, another CA, another key: refused with the reason, nothing written', () => {
  const store = copy();
  const api = `${CP}/pki/apiserver.csr`;
  const good = opensslSign(store, `${CP}/admin.conf.csr`);
  // Another key: a request openssl makes itself, same subject and extensions as kpki's.
  const otherKey = join(work, 'other.key');
  const otherCsr = join(store, 'other.csr');
  sh('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', otherKey, '-out', otherCsr, '-subj', '/CN=kube-apiserver',
    '-addext', 'subjectAltName=DNS:cp-1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1,IP:192.0.2.10',
    '-addext', 'extendedKeyUsage=serverAuth', '-addext', 'keyUsage=critical,digitalSignature']);
  const anotherKey = opensslSign(store, 'other.csr', CA);
  unlinkSync(otherCsr);
  const cases: Array<[string, string, RegExp]> = [
    ['wrong SAN', opensslSign(store, api, CA, 'subjectAltName=DNS:cp-1,DNS:evil.example,IP:192.0.2.10', 'copy'), /DNS SANs changed: .*-evil\.example/],
    ['wrong EKU', opensslSign(store, api, CA, 'extendedKeyUsage=clientAuth', 'copy'), /usages changed: \+serverAuth -clientAuth/],
    ['another CA', opensslSign(store, api, OTHER_CA), /not signed by ca \(the store's pki\/ca\.crt\)/],
    ['another key', anotherKey, /its public key is none of the keys kpki csr wrote/],
  ];
  for (const [what, bad, reason] of cases) {
    const before = hashTree(store);
    const r = kpki(['import', '-p', PLAN, '-o', store, good, bad]);
    assert.is(r.status, 3, `${what}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, reason, what);
    assert.match(r.stderr, 'nothing written', what);
    assert.equal(hashTree(store), before, what);
  }
  // The certificates themselves were what openssl was asked for: the refusals are kpki's.
  assert.match(sh('openssl', ['x509', '-in', cases[1]![1], '-noout', '-ext', 'extendedKeyUsage']), 'TLS Web Client Authentication');
  // Bad input: an unreadable file is exit 2, also nothing written.
  const before = hashTree(store);
  const missing = kpki(['import', '-p', PLAN, '-o', store, join(work, 'absent.crt')]);
  assert.is(missing.status, 2, missing.stderr);
  assert.equal(hashTree(store), before);
});

test('gen on a store with CA certificates but not their keys refuses, and names kpki csr / kpki import', () => {
  const store = copy();
  const before = hashTree(store);
  const r = kpki(['gen', '-p', PLAN, '-o', store]);
  assert.is(r.status, 3, r.stderr);
  assert.match(r.stderr, 'pki/ca.crt has no key beside it');
  assert.match(r.stderr, 'kpki csr');
  assert.match(r.stderr, 'kpki import');
  assert.equal(hashTree(store), before);
});

test('check on an external-CA store after import: the CAs without keys are information (ca-external), not a critical finding; exit 0', () => {
  const store = copy();
  assert.is(kpki(['import', '-p', PLAN, '-o', store, ...REQUESTS.map((csr) => opensslSign(store, csr))]).status, 0);
  const r = kpki(['check', '--out', store, '-p', PLAN, '--json']);
  assert.is(r.status, 0, r.stdout.slice(-800));
  const doc = JSON.parse(r.stdout) as { findings: Array<{ code: string; severity: string; file: string }> };
  assert.equal(doc.findings.filter((f) => f.code.startsWith('ca-')).map((f) => `${f.code} ${f.severity} ${f.file}`).sort(), [
    'ca-external info pki/ca.crt', 'ca-external info pki/etcd/ca.crt', 'ca-external info pki/front-proxy-ca.crt',
  ]);
  // Half a CA the other way round (a key without its certificate) stays critical.
  rmSync(join(store, 'pki/etcd/ca.crt'));
  writeFileSync(join(store, 'pki/etcd/ca.key'), readFileSync(ETCD_CA.key));
  assert.is(kpki(['check', '--out', store, '-p', PLAN]).status, 2);
});

test.run();
