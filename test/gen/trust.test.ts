/**
 * What gen keeps must still be trustworthy under what the store holds now: after the store's CA
 * pair is swapped for another valid one (an adopted CA), every leaf verifies against the CA now
 * in the store, whatever earlier runs remembered; a leaf whose key no longer matches its
 * certificate is reissued, saying why. Checked with openssl, never with kpki's own reader.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpki, listFiles, sh, tempDir } from '../support/cli.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');
const ours = join(tempDir('kpki-trust-ours-'), 'out');
const theirs = join(tempDir('kpki-trust-theirs-'), 'out');

test.before(() => {
  for (const out of [ours, theirs]) {
    const r = kpki(['gen', '--plan', PLAN, '--out', out]);
    assert.is(r.status, 0, r.stderr);
  }
});

function copyOf(store: string): string {
  const out = join(tempDir('kpki-trust-'), 'out');
  cpSync(store, out, { recursive: true });
  return out;
}

/** The client certificate embedded in a kubeconfig, and its CA data, as PEM. */
function kubeconfigPems(file: string): { cert: string; ca: string } {
  const text = readFileSync(file, 'utf8');
  const field = (name: string) => {
    const m = new RegExp(`${name}: (\\S+)`).exec(text);
    assert.ok(m, `${file} has ${name}`);
    return Buffer.from(m[1]!, 'base64').toString('utf8');
  };
  return { cert: field('client-certificate-data'), ca: field('certificate-authority-data') };
}

/** openssl's verdict for one certificate under one CA file. */
function verifies(caFile: string, certPem: string): boolean {
  try {
    sh('openssl', ['verify', '-CAfile', caFile], certPem);
    return true;
  } catch {
    return false;
  }
}

/** The public key of a certificate or a private key, as openssl prints it. */
const publicKeyOf = (file: string, kind: 'cert' | 'key') =>
  kind === 'cert' ? sh('openssl', ['x509', '-noout', '-pubkey', '-in', file]) : sh('openssl', ['pkey', '-pubout', '-in', file]);

// Written by hand from kubeadm's layout: which files of the single-cp fixture the cluster CA
// (`ca`) signs, and which kubeconfigs carry a client certificate it signs.
const CA_SIGNED = [
  'nodes/cp-1/etc/kubernetes/pki/apiserver.crt',
  'nodes/cp-1/etc/kubernetes/pki/apiserver-kubelet-client.crt',
  'nodes/cp-1/var/lib/kubelet/pki/kubelet.crt',
  'nodes/worker-1/var/lib/kubelet/pki/kubelet.crt',
  'nodes/worker-2/var/lib/kubelet/pki/kubelet.crt',
];
const KUBECONFIGS = [
  ...['admin', 'super-admin', 'controller-manager', 'scheduler', 'kubelet', 'kube-proxy'].map((n) => `nodes/cp-1/etc/kubernetes/${n}.conf`),
  ...['worker-1', 'worker-2'].flatMap((w) => ['kubelet', 'kube-proxy'].map((n) => `nodes/${w}/etc/kubernetes/${n}.conf`)),
];
const CA_COPIES = ['cp-1', 'worker-1', 'worker-2'].map((n) => `nodes/${n}/etc/kubernetes/pki/ca.crt`);

test('the hand-written lists name every CA-signed file of the fixture', () => {
  const files = listFiles(join(ours, 'nodes')).map((f) => `nodes/${f}`);
  for (const f of [...CA_SIGNED, ...KUBECONFIGS, ...CA_COPIES]) assert.ok(files.includes(f), f);
  assert.equal(files.filter((f) => f.endsWith('.conf')).sort(), [...KUBECONFIGS].sort());
});

test('an adopted CA pair in pki/: every leaf is reissued under it, nothing kept from the old CA', () => {
  const out = copyOf(ours);
  for (const f of ['pki/ca.crt', 'pki/ca.key']) copyFileSync(join(theirs, f), join(out, f));
  const r = kpki(['gen', '--plan', PLAN, '--out', out]);
  assert.is(r.status, 0, r.stderr);

  const ca = join(out, 'pki/ca.crt');
  const caPem = readFileSync(ca, 'utf8');
  assert.is(caPem, readFileSync(join(theirs, 'pki/ca.crt'), 'utf8'), 'the adopted CA is kept as it is');
  for (const f of CA_SIGNED) {
    assert.ok(verifies(ca, readFileSync(join(out, f), 'utf8')), `${f} verifies against the CA in the store`);
    assert.is(publicKeyOf(join(out, f), 'cert'), publicKeyOf(join(out, f.replace(/\.crt$/, '.key')), 'key'), `${f} matches its key`);
  }
  for (const f of KUBECONFIGS) {
    const k = kubeconfigPems(join(out, f));
    assert.ok(verifies(ca, k.cert), `${f}: its client certificate verifies against the CA in the store`);
    assert.is(k.ca, caPem, `${f} embeds the CA in the store`);
  }
  for (const f of CA_COPIES) assert.is(readFileSync(join(out, f), 'utf8'), caPem, `${f} is the CA in the store`);
  // Leaves of the other two CAs are untouched: their CAs did not change.
  for (const f of ['nodes/cp-1/etc/kubernetes/pki/front-proxy-client.crt', 'nodes/cp-1/etc/kubernetes/pki/etcd/server.crt']) {
    assert.is(readFileSync(join(out, f), 'utf8'), readFileSync(join(ours, f), 'utf8'), `${f} kept`);
  }
  assert.match(kpki(['gen', '--plan', PLAN, '--out', out]).stdout, /Nothing to do/);
});

for (const [what, stem] of [
  ['apiserver', 'nodes/cp-1/etc/kubernetes/pki/apiserver'],
  ['a worker kubelet serving', 'nodes/worker-1/var/lib/kubelet/pki/kubelet'],
] as const) {
  test(`${what} key replaced by another key: the pair is reissued with the reason, and matches again`, () => {
    const out = copyOf(ours);
    sh('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(out, `${stem}.key`)]);
    assert.is.not(publicKeyOf(join(out, `${stem}.crt`), 'cert'), publicKeyOf(join(out, `${stem}.key`), 'key'));
    const r = kpki(['gen', '--plan', PLAN, '--out', out]);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /private key does not match the certificate/);
    assert.match(r.stdout, /Wrote 2 files .*\(0 new, 2 replaced/);
    assert.is(publicKeyOf(join(out, `${stem}.crt`), 'cert'), publicKeyOf(join(out, `${stem}.key`), 'key'));
    assert.ok(verifies(join(out, 'pki/ca.crt'), readFileSync(join(out, `${stem}.crt`), 'utf8')));
  });
}

test.run();
