/**
 * Every certificate gen issues, for every fixture, held to hand-written expectations: subject,
 * SANs, key usages, basicConstraints, signer and signature, NotBefore backdated, NotAfter, and
 * the kubeconfigs' embedded client certificates. The expectations come from
 * test/interop/expected.ts (written from kubeadm's layout, no kpki import) plus the two
 * fixtures the interop suites leave out, written below; certificates are read with Node's
 * X509Certificate and @peculiar/x509, never with kpki's own reader, so a reader bug cannot hide
 * a writer bug. In memory with an injected clock: no openssl, no child process (issue 20:
 * profile bugs must not be caught only by the slow interop suites).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { x509 } from '../x509/peculiar-lib.js';
import { FIXTURES } from '../support/cli.js';
import { generateFiles } from '../../pki/gen/generate.js';
import { parsePlan } from '../../pki/plan/parse.js';
import type { MemoryFile } from '../../pki/sinks/memory.js';
import {
  CAS, CA_KEY_USAGE, CA_NAMES, FIXTURE_NAMES, LEAF_KEY_USAGE, SPECS, expectFixture, expectSpec, normIp,
  type CaName, type CertExpectation, type Eku, type FixtureSpec, type KubeconfigExpectation, type LeafFile,
} from '../interop/expected.js';

// ---------------------------------------------------------------------------------------------
// Hand-written facts

/** The injected clock: a whole second, so certificate times (second precision) compare exactly. */
const T0 = Date.UTC(2031, 2, 4, 5, 6, 7);
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** README: "NotBefore backdated five minutes", as kubeadm does for clock skew between hosts. */
const BACKDATE = 5 * MINUTE;

const EKU_OID: Record<string, Eku> = { '1.3.6.1.5.5.7.3.1': 'serverAuth', '1.3.6.1.5.5.7.3.2': 'clientAuth' };
/** expected.ts names key usages as openssl prints them; RFC 5280 §4.2.1.3 bits. */
const KU_BIT: Record<string, number> = { 'Digital Signature': 0x01, 'Key Encipherment': 0x04, 'Certificate Sign': 0x20 };
function kuBits(names: readonly string[]): number {
  return names.reduce((bits, n) => {
    const bit = KU_BIT[n];
    if (bit === undefined) throw new Error(`no bit for key usage ${n}`);
    return bits | bit;
  }, 0);
}

/** A node's credentials: leaf files and kubeconfigs (paths relative to the node directory). */
interface NodeCerts { name: string; leaves: LeafFile[]; kubeconfigs: KubeconfigExpectation[] }
interface Case {
  fixture: string;
  spec: FixtureSpec;
  nodes: NodeCerts[];
  caSubject(ca: CaName): Array<[string, string]>;
  /** Exact node file sets with modes, where expected.ts has them. */
  files?: Map<string, Map<string, number>>;
}

/** fixtures/kubeadm-ha.yaml by hand: ha-cluster's shape with FQDN node names. */
const KUBEADM_HA: FixtureSpec = {
  name: 'kubeadm-ha', clusterName: 'kubernetes',
  endpoint: { host: 'k8s-api.example.internal', port: 6443 }, bindPort: 6443,
  serviceIps: ['10.96.0.1'], dnsDomain: 'cluster.local',
  certSansDns: ['k8s-api.example.internal'], certSansIps: ['192.0.2.100'],
  externalEtcd: false, keyAlgorithm: 'ecdsa-p256', caValidityHours: 87600, certValidityHours: 8760, caSubjectExtra: [],
  nodes: [
    { name: 'lb.example.internal', address: '192.0.2.100', roles: ['load-balancer'] },
    { name: 'cp-1.example.internal', address: '192.0.2.11', roles: ['control-plane'] },
    { name: 'cp-2.example.internal', address: '192.0.2.12', roles: ['control-plane'] },
    { name: 'cp-3.example.internal', address: '192.0.2.13', roles: ['control-plane'] },
    { name: 'worker-1.example.internal', address: '192.0.2.21', roles: ['worker'] },
    { name: 'worker-2.example.internal', address: '192.0.2.22', roles: ['worker'] },
  ],
};

/** fixtures/cfssl-binary.yaml by hand (certValidity and caValidity are the defaults). */
const CFSSL_BINARY: FixtureSpec = {
  name: 'cfssl-binary', clusterName: 'kubernetes',
  endpoint: { host: '10.0.0.20', port: 6443 }, bindPort: 6443,
  serviceIps: ['10.254.0.1'], dnsDomain: 'cluster.local', certSansDns: [], certSansIps: [],
  externalEtcd: true, keyAlgorithm: 'rsa-2048', caValidityHours: 87600, certValidityHours: 8760,
  caSubjectExtra: [['C', 'CN'], ['ST', 'BeiJing'], ['L', 'BeiJing'], ['O', 'k8s'], ['OU', 'System']],
  nodes: [
    { name: 'etcd-1', address: '10.0.0.11', roles: ['etcd'] },
    { name: 'etcd-2', address: '10.0.0.12', roles: ['etcd'] },
    { name: 'etcd-3', address: '10.0.0.13', roles: ['etcd'] },
    { name: 'master-1', address: '10.0.0.21', roles: ['control-plane'] },
    { name: 'master-2', address: '10.0.0.22', roles: ['control-plane'] },
    { name: 'node-1', address: '10.0.0.31', roles: ['worker'] },
  ],
};

/**
 * deploy: kubeadm. Joining nodes get kubelet.conf by TLS bootstrap, so only the init node (cp-1)
 * gets one; kube-proxy runs as a DaemonSet with a service-account token, so no kube-proxy.conf.
 */
function kubeadmCase(): Case {
  const x = expectSpec(KUBEADM_HA);
  const init = 'cp-1.example.internal';
  const nodes = x.nodes.map((n) => ({
    name: n.name,
    leaves: n.leaves,
    kubeconfigs: n.kubeconfigs.filter((k) =>
      !k.file.endsWith('/kube-proxy.conf') && (n.name === init || !k.file.endsWith('/kubelet.conf'))),
  }));
  return { fixture: 'kubeadm-ha', spec: KUBEADM_HA, nodes, caSubject: x.caSubject };
}

/** layout: cfssl: the binary-install guides' names (as in test/catalog/cfssl-names.test.ts). */
const CFSSL_STEM: Record<string, string> = {
  'etc/kubernetes/pki/apiserver': 'etc/kubernetes/ssl/server',
  'etc/kubernetes/pki/apiserver-kubelet-client': 'etc/kubernetes/ssl/apiserver-kubelet-client',
  'etc/kubernetes/pki/front-proxy-client': 'etc/kubernetes/ssl/front-proxy-client',
  'etc/kubernetes/pki/apiserver-etcd-client': 'etc/etcd/ssl/apiserver-etcd-client',
  'etc/kubernetes/pki/etcd/server': 'etc/etcd/ssl/server',
  'etc/kubernetes/pki/etcd/peer': 'etc/etcd/ssl/peer',
  'etc/kubernetes/pki/etcd/healthcheck-client': 'etc/etcd/ssl/healthcheck-client',
};
/** Kubeconfig → the guides' file, and where they also keep its client pair (`<stem>.pem`). */
const CFSSL_KUBECONFIG: Record<string, [string, string | undefined]> = {
  'etc/kubernetes/admin.conf': ['etc/kubernetes/admin.kubeconfig', 'etc/kubernetes/ssl/admin'],
  'etc/kubernetes/controller-manager.conf': ['etc/kubernetes/kube-controller-manager.kubeconfig', 'etc/kubernetes/ssl/kube-controller-manager'],
  'etc/kubernetes/scheduler.conf': ['etc/kubernetes/kube-scheduler.kubeconfig', 'etc/kubernetes/ssl/kube-scheduler'],
  'etc/kubernetes/kubelet.conf': ['etc/kubernetes/kubelet.kubeconfig', undefined],
  'etc/kubernetes/kube-proxy.conf': ['etc/kubernetes/kube-proxy.kubeconfig', 'etc/kubernetes/ssl/kube-proxy'],
};

/** Kubernetes 1.28: admins in system:masters, no super-admin.conf; files under the cfssl names. */
function cfsslCase(): Case {
  const x = expectSpec(CFSSL_BINARY);
  const pre129 = (o: string[]) => o.map((g) => (g === 'kubeadm:cluster-admins' ? 'system:masters' : g));
  const name = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`no cfssl name for ${what}`);
    return v;
  };
  const nodes = x.nodes.map((n) => {
    const leaves: LeafFile[] = n.leaves.map((l) => {
      const [crt, key] = l.kind === 'kubelet'
        ? ['etc/kubernetes/ssl/kubelet.crt', 'etc/kubernetes/ssl/kubelet.key']
        : ((s) => [`${s}.pem`, `${s}-key.pem`])(name(CFSSL_STEM[l.crt.replace(/\.crt$/, '')], l.crt));
      // The guides' server-csr.json lists 127.0.0.1: units on a control plane reach its API server on loopback.
      const ips = l.kind === 'apiserver' ? [...l.ips, '127.0.0.1'] : l.ips;
      return { ...l, o: pre129(l.o), crt, key, ips };
    });
    const kubeconfigs: KubeconfigExpectation[] = [];
    for (const k of n.kubeconfigs) {
      if (k.file.endsWith('/super-admin.conf')) continue;
      const [file, pem] = name(CFSSL_KUBECONFIG[k.file], k.file);
      const cert = { ...k.cert, o: pre129(k.cert.o) };
      kubeconfigs.push({ ...k, file, cert });
      if (pem !== undefined) leaves.push({ ...cert, crt: `${pem}.pem`, key: `${pem}-key.pem` });
    }
    return { name: n.name, leaves, kubeconfigs };
  });
  return { fixture: 'cfssl-binary', spec: CFSSL_BINARY, nodes, caSubject: x.caSubject };
}

const CASES: Case[] = [
  ...FIXTURE_NAMES.map((name): Case => {
    const x = expectFixture(name);
    return { fixture: name, spec: SPECS[name], nodes: x.nodes, caSubject: x.caSubject, files: new Map(x.nodes.map((n) => [n.name, n.files])) };
  }),
  kubeadmCase(),
  cfsslCase(),
];

// ---------------------------------------------------------------------------------------------
// Generation (once per fixture, in memory) and reading back

const generated = new Map<string, Promise<Map<string, MemoryFile>>>();
function filesOf(fixture: string): Promise<Map<string, MemoryFile>> {
  let p = generated.get(fixture);
  if (!p) {
    const plan = parsePlan(readFileSync(join(FIXTURES, `${fixture}.yaml`), 'utf8'), `${fixture}.yaml`);
    p = generateFiles(plan, { deps: { now: () => new Date(T0) } }).then((r) => r.files);
    generated.set(fixture, p);
  }
  return p;
}

/** `v`, failing the test with `what` when it is missing. */
function must<T>(v: T | undefined, what: string): T {
  assert.ok(v !== undefined, what);
  return v as T;
}

const text = (files: Map<string, MemoryFile>, path: string) => must(files.get(path), `${path} was not written`).content;

interface Cert { node: X509Certificate; px: x509.X509Certificate }
function readPem(pem: string, label: string): Cert {
  assert.is(pem.match(/-----BEGIN CERTIFICATE-----/g)?.length, 1, `${label}: one certificate`);
  return { node: new X509Certificate(pem), px: new x509.X509Certificate(pem) };
}

const sorted = (xs: Iterable<string>) => [...xs].sort();
/** Set equality that names what is missing and what is extra. */
function sameSet(actual: readonly string[], expected: readonly string[], what: string) {
  const a = new Set(actual);
  const e = new Set(expected);
  const missing = [...e].filter((v) => !a.has(v));
  const extra = [...a].filter((v) => !e.has(v));
  assert.equal(sorted(a), sorted(e), `${what}: missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]`);
  assert.is(actual.length, a.size, `${what}: no duplicates in [${actual.join(', ')}]`);
}

const subjectOf = (c: Cert) => c.px.subjectName.toJSON().flatMap((rdn) => Object.entries(rdn).flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`)));
const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
const iso = (t: number) => new Date(t).toISOString();

const ext = <T extends x509.Extension>(c: Cert, type: new (raw: BufferSource) => T, label: string, name: string): T =>
  must(c.px.getExtension(type) ?? undefined, `${label}: has a ${name} extension`);

function checkKey(c: Cert, keyPem: string, spec: FixtureSpec, label: string) {
  const pub = c.node.publicKey;
  if (spec.keyAlgorithm === 'ecdsa-p256') assert.equal([pub.asymmetricKeyType, pub.asymmetricKeyDetails?.namedCurve], ['ec', 'prime256v1'], `${label}: P-256 key`);
  else assert.equal([pub.asymmetricKeyType, pub.asymmetricKeyDetails?.modulusLength], ['rsa', 2048], `${label}: RSA-2048 key`);
  assert.ok(spki(createPublicKey(keyPem)).equals(spki(pub)), `${label}: the key matches the certificate`);
}

/** One leaf against its expectation; `cas` are the store's CA certificates. */
function checkLeaf(c: Cert, exp: CertExpectation, spec: FixtureSpec, cas: Map<CaName, Cert>, label: string) {
  sameSet(subjectOf(c), [`CN=${exp.cn}`, ...exp.o.map((o) => `O=${o}`)], `${label}: subject`);
  const names = c.px.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  sameSet(names.filter((n) => n.type === 'dns').map((n) => n.value), exp.dns, `${label}: DNS SANs`);
  sameSet(names.filter((n) => n.type === 'ip').map((n) => normIp(n.value)), exp.ips.map(normIp), `${label}: IP SANs`);
  assert.equal(names.filter((n) => n.type !== 'dns' && n.type !== 'ip').map((n) => n.type), [], `${label}: only DNS and IP SANs`);

  const eku = ext(c, x509.ExtendedKeyUsageExtension, label, 'extendedKeyUsage');
  sameSet(eku.usages.map((u) => EKU_OID[String(u)] ?? String(u)), exp.eku, `${label}: extended key usages`);
  const ku = ext(c, x509.KeyUsagesExtension, label, 'keyUsage');
  assert.ok(ku.critical, `${label}: keyUsage critical`);
  assert.is(ku.usages, kuBits(LEAF_KEY_USAGE[spec.keyAlgorithm]), `${label}: keyUsage is ${LEAF_KEY_USAGE[spec.keyAlgorithm].join(' + ')}`);
  const bc = ext(c, x509.BasicConstraintsExtension, label, 'basicConstraints');
  assert.ok(bc.critical && !bc.ca, `${label}: basicConstraints critical, CA:FALSE`);
  assert.not.ok(c.node.ca, `${label}: not a CA (node:crypto)`);

  const ca = cas.get(exp.signer);
  assert.ok(ca, `${label}: signer ${exp.signer} read`);
  assert.ok(c.node.checkIssued(ca!.node), `${label}: issued by ${exp.signer}`);
  assert.ok(c.node.verify(ca!.node.publicKey), `${label}: signature verifies with ${exp.signer}'s key`);
  for (const other of CA_NAMES.filter((n) => n !== exp.signer)) {
    assert.not.ok(c.node.verify(cas.get(other)!.node.publicKey), `${label}: not signed by ${other}`);
  }

  assert.is(iso(c.px.notBefore.getTime()), iso(T0 - BACKDATE), `${label}: NotBefore backdated 5 minutes from the issue time ${iso(T0)}`);
  assert.is(iso(Date.parse(c.node.validFrom)), iso(T0 - BACKDATE), `${label}: NotBefore (node:crypto)`);
  // A leaf never outlives its CA (external-etcd's certValidity equals caValidity).
  const end = T0 + Math.min(spec.certValidityHours, spec.caValidityHours) * HOUR;
  assert.is(iso(c.px.notAfter.getTime()), iso(end), `${label}: NotAfter = issue time + ${spec.certValidityHours}h`);
}

// ---------------------------------------------------------------------------------------------
// Tests

for (const k of CASES) {
  const { fixture, spec } = k;
  /** The store's CAs, checked and parsed. */
  const readCas = async () => {
    const files = await filesOf(fixture);
    return new Map(CA_NAMES.map((n) => [n, readPem(text(files, CAS[n].file), n)] as const));
  };

  test(`${fixture}: the CAs (subject, CA:TRUE, keyCertSign, self-signed, backdated, caValidity)`, async () => {
    const files = await filesOf(fixture);
    const cas = await readCas();
    for (const [n, c] of cas) {
      sameSet(subjectOf(c), k.caSubject(n).map(([a, v]) => `${a}=${v}`), `${n}: subject`);
      assert.ok(c.node.checkIssued(c.node) && c.node.verify(c.node.publicKey), `${n}: self-signed`);
      const bc = ext(c, x509.BasicConstraintsExtension, n, 'basicConstraints');
      assert.ok(bc.critical && bc.ca, `${n}: basicConstraints critical, CA:TRUE`);
      const ku = ext(c, x509.KeyUsagesExtension, n, 'keyUsage');
      assert.ok(ku.critical, `${n}: keyUsage critical`);
      assert.is(ku.usages, kuBits(CA_KEY_USAGE[spec.keyAlgorithm]), `${n}: keyUsage is ${CA_KEY_USAGE[spec.keyAlgorithm].join(' + ')}`);
      assert.is(iso(c.px.notBefore.getTime()), iso(T0 - BACKDATE), `${n}: NotBefore backdated 5 minutes from the issue time ${iso(T0)}`);
      assert.is(iso(c.px.notAfter.getTime()), iso(T0 + spec.caValidityHours * HOUR), `${n}: NotAfter = issue time + ${spec.caValidityHours}h`);
      checkKey(c, text(files, CAS[n].key), spec, n);
    }
  });

  test(`${fixture}: every leaf certificate file matches its hand-written profile`, async () => {
    const files = await filesOf(fixture);
    const cas = await readCas();
    let seen = 0;
    for (const n of k.nodes) {
      for (const l of n.leaves) {
        const label = `${n.name}:${l.kind} (${l.crt})`;
        const c = readPem(text(files, `nodes/${n.name}/${l.crt}`), label);
        checkLeaf(c, l, spec, cas, label);
        checkKey(c, text(files, `nodes/${n.name}/${l.key}`), spec, label);
        seen++;
      }
    }
    assert.ok(seen > 0);
  });

  test(`${fixture}: every kubeconfig's client certificate matches its hand-written profile`, async () => {
    const files = await filesOf(fixture);
    const cas = await readCas();
    const caPem = text(files, CAS.ca.file);
    for (const n of k.nodes) {
      for (const kc of n.kubeconfigs) {
        const label = `${n.name}:${kc.file}`;
        const doc = parseYaml(text(files, `nodes/${n.name}/${kc.file}`)) as {
          'current-context'?: string;
          clusters?: Array<{ name?: string; cluster?: Record<string, string> }>;
          users?: Array<{ name?: string; user?: Record<string, string> }>;
        };
        const cluster = doc.clusters?.[0];
        const user = doc.users?.[0];
        assert.equal(
          [cluster?.name, cluster?.cluster?.server, user?.name, doc['current-context']],
          [kc.cluster, kc.server, kc.user, kc.context],
          `${label}: cluster, server, user, context`,
        );
        const b64 = (v: string | undefined) => Buffer.from(v ?? '', 'base64').toString('utf8');
        assert.is(b64(cluster?.cluster?.['certificate-authority-data']), caPem, `${label}: certificate-authority-data is pki/ca.crt`);
        const c = readPem(b64(user?.user?.['client-certificate-data']), label);
        checkLeaf(c, kc.cert, spec, cas, label);
        checkKey(c, b64(user?.user?.['client-key-data']), spec, label);
      }
    }
  });

  test(`${fixture}: no certificate is issued beyond the expected ones`, async () => {
    const files = await filesOf(fixture);
    const caCopies = new Set(CA_NAMES.map((n) => text(files, CAS[n].file)));
    const expected = new Map(k.nodes.map((n) => [n.name, [...n.leaves.map((l) => l.crt), ...n.kubeconfigs.map((c) => c.file)]]));
    const found = new Map<string, string[]>();
    for (const [path, f] of files) {
      const [top, node, ...rest] = path.split('/');
      if (top !== 'nodes' || node === undefined) continue;
      const rel = rest.join('/');
      const leaf = f.content.includes('client-certificate-data') || (f.content.includes('-----BEGIN CERTIFICATE-----') && !caCopies.has(f.content));
      if (!found.has(node)) found.set(node, []);
      if (leaf) found.get(node)!.push(rel);
    }
    const withFiles = k.nodes.filter((n) => k.files ? (k.files.get(n.name)?.size ?? 0) > 0 : n.leaves.length + n.kubeconfigs.length > 0);
    sameSet([...found.keys()], withFiles.map((n) => n.name), 'nodes with files');
    for (const n of k.nodes) sameSet(found.get(n.name) ?? [], expected.get(n.name) ?? [], `${n.name}: certificates`);
    if (!k.files) return;
    // The interop fixtures also have exact node file sets, with modes.
    for (const [node, want] of k.files) {
      const prefix = `nodes/${node}/`;
      const got = [...files].filter(([p]) => p.startsWith(prefix)).map(([p, f]) => `${p.slice(prefix.length)} ${f.mode.toString(8)}`);
      assert.equal(sorted(got), sorted([...want].map(([p, m]) => `${p} ${m.toString(8)}`)), `${node}: files and modes`);
    }
  });
}

test.run();
