/**
 * CAs kpki adopts but did not make: made with `openssl req -x509` for every key kind kpki signs
 * with (RSA 2048 / 3072 / 4096, ECDSA P-256 / P-384 / P-521, Ed25519), placed in a fresh store,
 * then `kpki gen`. Every leaf must verify with `openssl verify -x509_strict` and with Node,
 * carry the signature algorithm its CA's key calls for, and the key usage its OWN key allows
 * (keyEncipherment for RSA keys only). RSA-1024 and DSA CAs are refused (exit 3) naming the
 * file, with nothing written. Expectations are written out here by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BOOKKEEPING, hashTree, kpki, listFiles, sh, tempDir, writePlan } from '../support/cli.js';
import { run as runBounded } from '../support/proc.js';

// ---------------------------------------------------------------------------------------------
// Helpers

async function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const r = await runBounded(cmd, args, { input });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

type CaKind = 'rsa-1024' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'ec-p256' | 'ec-p384' | 'ec-p521' | 'ed25519' | 'dsa';

/** The signature algorithm openssl must show on every leaf a CA of this kind signs. */
const SIG_ALG: Partial<Record<CaKind, string>> = {
  'rsa-2048': 'sha256WithRSAEncryption', 'rsa-3072': 'sha256WithRSAEncryption', 'rsa-4096': 'sha256WithRSAEncryption',
  'ec-p256': 'ecdsa-with-SHA256', 'ec-p384': 'ecdsa-with-SHA384', 'ec-p521': 'ecdsa-with-SHA512', ed25519: 'ED25519',
};

const root = tempDir('kpki-foreign-ca-');
test.after(() => rmSync(root, { recursive: true, force: true }));

/** DSA parameters are slow to make: one set for every DSA key. */
let dsaParams: Promise<string> | undefined;

async function genKey(kind: CaKind, file: string): Promise<void> {
  const rsa = /^rsa-(\d+)$/.exec(kind)?.[1];
  const curve = /^ec-p(\d+)$/.exec(kind)?.[1];
  if (rsa) await run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${rsa}`, '-out', file]);
  else if (curve) {
    await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:P-${curve}`,
      '-pkeyopt', 'ec_param_enc:named_curve', '-out', file]);
  } else if (kind === 'ed25519') await run('openssl', ['genpkey', '-algorithm', 'ED25519', '-out', file]);
  else {
    dsaParams ??= (async () => {
      const params = join(root, 'dsa.params');
      await run('openssl', ['genpkey', '-genparam', '-algorithm', 'DSA', '-pkeyopt', 'dsa_paramgen_bits:2048', '-out', params]);
      return params;
    })();
    await run('openssl', ['genpkey', '-paramfile', await dsaParams, '-out', file]);
  }
}

/** Store paths of the three CAs (kubeadm's layout), and a CN for each. */
const CA_FILES = {
  ca: { crt: 'pki/ca.crt', key: 'pki/ca.key', cn: 'foreign-kubernetes-ca' },
  'front-proxy-ca': { crt: 'pki/front-proxy-ca.crt', key: 'pki/front-proxy-ca.key', cn: 'foreign-front-proxy-ca' },
  etcd: { crt: 'pki/etcd/ca.crt', key: 'pki/etcd/ca.key', cn: 'foreign-etcd-ca' },
} as const;
type CaName = keyof typeof CA_FILES;

/**
 * A CA as an operator would make one with openssl: self-signed, with the key usage a CA needs
 * (`openssl verify -x509_strict` rejects a CA without keyUsage, whoever issued its leaves).
 */
async function makeCa(out: string, name: CaName, kind: CaKind): Promise<void> {
  const f = CA_FILES[name];
  mkdirSync(join(out, 'pki/etcd'), { recursive: true, mode: 0o700 });
  await genKey(kind, join(out, f.key));
  await run('openssl', ['req', '-x509', '-new', '-key', join(out, f.key), '-out', join(out, f.crt), '-days', '3650',
    '-subj', `/O=Foreign Corp/CN=${f.cn}`, '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
}

/** A fresh `--out` holding three openssl-made CAs of `kinds` (ca, front-proxy-ca, etcd). */
async function storeWith(label: string, kinds: Record<CaName, CaKind>): Promise<string> {
  const out = join(root, label, 'out');
  await Promise.all((Object.keys(CA_FILES) as CaName[]).map((n) => makeCa(out, n, kinds[n])));
  return out;
}

const plan = (leafAlg: 'ecdsa-p256' | 'rsa-2048') => writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
pki:
  keyAlgorithm: ${leafAlg}
nodes:
  - { name: cp-1, address: 192.0.2.11, roles: [control-plane] }
  - { name: worker-1, address: 192.0.2.21, roles: [worker] }
`, mkdtempSync(join(root, 'plan-')));

/**
 * Every leaf certificate of a one-control-plane, one-worker cluster with stacked etcd (kubeadm's
 * layout) and the CA that must have signed it: etcd serving, peer and client certificates by
 * the etcd CA, the front-proxy client by the front-proxy CA, everything else by the cluster CA.
 */
const LEAVES: ReadonlyArray<readonly [string, CaName]> = [
  ['nodes/cp-1/etc/kubernetes/pki/apiserver.crt', 'ca'],
  ['nodes/cp-1/etc/kubernetes/pki/apiserver-kubelet-client.crt', 'ca'],
  ['nodes/cp-1/etc/kubernetes/pki/front-proxy-client.crt', 'front-proxy-ca'],
  ['nodes/cp-1/etc/kubernetes/pki/apiserver-etcd-client.crt', 'etcd'],
  ['nodes/cp-1/etc/kubernetes/pki/etcd/server.crt', 'etcd'],
  ['nodes/cp-1/etc/kubernetes/pki/etcd/peer.crt', 'etcd'],
  ['nodes/cp-1/etc/kubernetes/pki/etcd/healthcheck-client.crt', 'etcd'],
  ['nodes/cp-1/etc/kubernetes/admin.conf', 'ca'],
  ['nodes/cp-1/etc/kubernetes/super-admin.conf', 'ca'],
  ['nodes/cp-1/etc/kubernetes/controller-manager.conf', 'ca'],
  ['nodes/cp-1/etc/kubernetes/scheduler.conf', 'ca'],
  ['nodes/cp-1/etc/kubernetes/kubelet.conf', 'ca'],
  ['nodes/cp-1/etc/kubernetes/kube-proxy.conf', 'ca'],
  ['nodes/cp-1/var/lib/kubelet/pki/kubelet.crt', 'ca'],
  ['nodes/worker-1/etc/kubernetes/kubelet.conf', 'ca'],
  ['nodes/worker-1/etc/kubernetes/kube-proxy.conf', 'ca'],
  ['nodes/worker-1/var/lib/kubelet/pki/kubelet.crt', 'ca'],
];

/** The leaf certificate in a .crt, or the client certificate embedded in a kubeconfig, as a PEM file. */
function leafPemFile(out: string, path: string, scratch: string): string {
  if (path.endsWith('.crt')) return join(out, path);
  const data = /client-certificate-data: *(\S+)/.exec(readFileSync(join(out, path), 'utf8'))?.[1];
  assert.ok(data, `${path}: no client-certificate-data`);
  const file = join(scratch, `${path.replace(/\//g, '_')}.pem`);
  writeFileSync(file, Buffer.from(data, 'base64'));
  return file;
}

/** The keyUsage line `openssl x509 -ext keyUsage` prints, by the leaf's own key. */
const LEAF_KU: Record<'ecdsa-p256' | 'rsa-2048', string> = {
  'ecdsa-p256': 'Digital Signature',
  'rsa-2048': 'Digital Signature, Key Encipherment',
};

async function checkTree(out: string, kinds: Record<CaName, CaKind>, leafAlg: 'ecdsa-p256' | 'rsa-2048'): Promise<void> {
  const scratch = join(out, '..', 'scratch');
  mkdirSync(scratch, { recursive: true });
  const files = LEAVES.map(([path, ca]) => ({ path, ca, pem: leafPemFile(out, path, scratch) }));

  // openssl verify, one call per CA over all its leaves.
  for (const name of Object.keys(CA_FILES) as CaName[]) {
    const mine = files.filter((f) => f.ca === name);
    const text = await run('openssl', ['verify', '-x509_strict', '-CAfile', join(out, CA_FILES[name].crt), ...mine.map((f) => f.pem)]);
    for (const f of mine) assert.ok(text.includes(`${f.pem}: OK\n`), `${f.path}: openssl verify -x509_strict against ${name}: ${text}`);
  }

  // openssl's text of every leaf in one go (the same printer as `openssl x509 -text`, in order):
  // one process instead of one per certificate keeps this suite's time down.
  const bundle = await run('openssl', ['crl2pkcs7', '-nocrl', ...files.flatMap((f) => ['-certfile', f.pem])]);
  const texts = (await run('openssl', ['pkcs7', '-print_certs', '-text', '-noout'], bundle)).split(/^Certificate:$/m).slice(1);
  assert.is(texts.length, files.length, 'openssl printed every leaf');
  for (const [i, f] of files.entries()) {
    const kind = kinds[f.ca];
    const txt = texts[i]!;
    // pkcs7 -print_certs writes names without the spaces around '=' that x509 -text puts in.
    assert.match(txt, `Issuer: O=Foreign Corp, CN=${CA_FILES[f.ca].cn}\n`, `${f.path}: issuer`);
    const sig = [...txt.matchAll(/Signature Algorithm: (\S+)/g)].map((m) => m[1]);
    assert.equal(sig, [SIG_ALG[kind], SIG_ALG[kind]], `${f.path}: signature algorithm under a ${kind} CA`);
    assert.match(txt, `X509v3 Key Usage: critical\n                ${LEAF_KU[leafAlg]}\n`, `${f.path}: keyUsage`);
  }

  for (const f of files) {
    const cert = new X509Certificate(readFileSync(f.pem));
    const caPublicKey = createPublicKey(readFileSync(join(out, CA_FILES[f.ca].key)));
    assert.ok(cert.verify(caPublicKey), `${f.path}: Node verifies it with the ${kinds[f.ca]} CA's key`);
    assert.is(cert.publicKey.asymmetricKeyType, leafAlg === 'rsa-2048' ? 'rsa' : 'ec', `${f.path}: leaf key type`);
  }
}

async function adoptAndCheck(label: string, kinds: Record<CaName, CaKind>, leafAlg: 'ecdsa-p256' | 'rsa-2048') {
  const out = await storeWith(label, kinds);
  const cas = new Map((Object.keys(CA_FILES) as CaName[]).flatMap((n) =>
    [CA_FILES[n].crt, CA_FILES[n].key].map((p) => [p, readFileSync(join(out, p), 'utf8')] as const)));
  const r = kpki(['gen', '--plan', plan(leafAlg), '--out', out]);
  assert.is(r.status, 0, `${label}: ${r.stderr}`);
  for (const [p, text] of cas) assert.is(readFileSync(join(out, p), 'utf8'), text, `${label}: ${p} is kept as it was`);
  await checkTree(out, kinds, leafAlg);
  adopted.set(label, out);
  return out;
}

/** Trees the adoption tests made and checked, by label, for later tests to start from. */
const adopted = new Map<string, string>();

const same = (k: CaKind): Record<CaName, CaKind> => ({ ca: k, 'front-proxy-ca': k, etcd: k });

// ---------------------------------------------------------------------------------------------
// Adopted CAs of every kind kpki signs with. Each run gives its three CAs different kinds of
// one family, so every kind signs (and is verified on) real leaves in four runs instead of seven.

const RSA_CAS: Record<CaName, CaKind> = { ca: 'rsa-4096', 'front-proxy-ca': 'rsa-3072', etcd: 'rsa-2048' };
const EC_CAS: Record<CaName, CaKind> = { ca: 'ec-p521', 'front-proxy-ca': 'ec-p384', etcd: 'ec-p256' };

test('openssl-made RSA-4096 / 3072 / 2048 CAs sign ECDSA P-256 leaves that openssl and Node verify', async () => {
  await adoptAndCheck('rsa', RSA_CAS, 'ecdsa-p256');
});

test('openssl-made ECDSA P-521 / P-384 / P-256 CAs sign ECDSA P-256 leaves that openssl and Node verify', async () => {
  await adoptAndCheck('ec', EC_CAS, 'ecdsa-p256');
});

test('openssl-made Ed25519 CAs sign ECDSA P-256 leaves that openssl and Node verify', async () => {
  await adoptAndCheck('ed25519', same('ed25519'), 'ecdsa-p256');
});

test('RSA-2048 leaves under P-384 / Ed25519 / P-521 CAs keep keyEncipherment and verify', async () => {
  await adoptAndCheck('rsa-leaves', { ca: 'ec-p384', 'front-proxy-ca': 'ed25519', etcd: 'ec-p521' }, 'rsa-2048');
});

// ---------------------------------------------------------------------------------------------
// CAs kpki will not sign with

/** Every file below `out`, hashed, except hidden ones (a store lock's file is not output). */
const visibleTree = (out: string) => [...hashTree(out)].filter(([p]) => !basename(p).startsWith('.'));

for (const [kind, where, message] of [
  ['rsa-1024', 'front-proxy-ca', /pki\/front-proxy-ca\.key: kpki cannot sign with a 1024-bit RSA key; .*at least 2048 bits/],
  ['dsa', 'etcd', /pki\/etcd\/ca\.key: kpki cannot sign with a 2048-bit DSA key; .*RSA keys of 2048 to 4096 bits, ECDSA P-256, P-384 or P-521 keys, and Ed25519 keys/],
] as const) {
  test(`a ${kind} CA (${where}) is refused with exit 3 naming its file, and nothing is written`, async () => {
    const out = await storeWith(`refuse-${kind}`, { ...same('ec-p256'), [where]: kind });
    const before = visibleTree(out);
    assert.is(before.length, 6, 'three CAs, nothing else');
    const r = kpki(['gen', '--plan', plan('ecdsa-p256'), '--out', out]);
    assert.is(r.status, 3, r.stderr);
    assert.match(r.stderr, message);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(visibleTree(out), before, 'nothing written');
  });
}

test('a lone DSA CA in an otherwise empty store: the other CAs are not created either', async () => {
  const out = join(root, 'lone-dsa', 'out');
  await makeCa(out, 'ca', 'dsa');
  const r = kpki(['gen', '--plan', plan('ecdsa-p256'), '--out', out]);
  assert.is(r.status, 3, r.stderr);
  assert.match(r.stderr, /pki\/ca\.key: kpki cannot sign with a 2048-bit DSA key/);
  assert.equal(listFiles(out).filter((p) => !basename(p).startsWith('.')), ['pki/ca.crt', 'pki/ca.key']);
});

// ---------------------------------------------------------------------------------------------
// Trees made before key usage followed the key type stay as they are

test('an EC leaf that still carries keyEncipherment (as kubeadm writes it) is kept, not reissued', async () => {
  const out = join(root, 'legacy-ku', 'out');
  cpSync(adopted.get('ec') ?? await adoptAndCheck('ec', EC_CAS, 'ecdsa-p256'), out, { recursive: true });
  const crt = join(out, 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt');
  const key = join(out, 'nodes/cp-1/etc/kubernetes/pki/apiserver.key');
  const work = join(out, '..', 'legacy');
  mkdirSync(work, { recursive: true });
  // The same key, subject, SANs and EKU, signed by the same (P-521) CA, with keyEncipherment added.
  const sans = sh('openssl', ['x509', '-noout', '-ext', 'subjectAltName', '-in', crt]).split('\n')[1]!.trim().replace(/IP Address:/g, 'IP:');
  assert.match(sans, /^DNS:.*IP:10\.96\.0\.1/, sans);
  const ext = join(work, 'ext.cnf');
  writeFileSync(ext, [
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth',
    'basicConstraints = critical, CA:FALSE',
    'authorityKeyIdentifier = keyid',
    `subjectAltName = ${sans}`,
    '',
  ].join('\n'));
  const csr = join(work, 'apiserver.csr');
  sh('openssl', ['req', '-new', '-key', key, '-subj', '/CN=kube-apiserver', '-out', csr]);
  sh('openssl', ['x509', '-req', '-in', csr, '-CA', join(out, CA_FILES.ca.crt), '-CAkey', join(out, CA_FILES.ca.key),
    '-set_serial', '0x1234567890abcdef', '-days', '365', '-sha512', '-extfile', ext, '-out', crt]);
  const legacy = readFileSync(crt, 'utf8');
  assert.is(sh('openssl', ['x509', '-noout', '-ext', 'keyUsage', '-in', crt]), 'X509v3 Key Usage: critical\n    Digital Signature, Key Encipherment\n');
  const before = hashTree(out);

  const r = kpki(['gen', '--plan', plan('ecdsa-p256'), '--out', out]);
  assert.is(r.status, 0, r.stderr);
  // "Nothing written": the adopted P-521 CA differs from the plan's key type, which gen reports but keeps.
  assert.match(r.stdout, /Nothing written: the \d+ credentials in .* are current/);
  assert.is(readFileSync(crt, 'utf8'), legacy, 'the openssl-signed leaf is kept byte for byte');
  // Every credential file is untouched; only kpki's bookkeeping (pki/record) records the check.
  const credentials = (tree: Map<string, string>) => [...tree].filter(([p]) => !BOOKKEEPING.includes(p));
  assert.equal(credentials(hashTree(out)), credentials(before));
});

test.run();
