/**
 * Hand-written expectations for the interop suites (openssl, tls, kubectl) and for the fast
 * in-memory profile check (test/unit/issued-profiles.test.ts).
 *
 * Everything here is derived from the kubeadm (1.29+) layout spec by hand, per fixture, and
 * deliberately does NOT import kpki's catalog or plan code: a bug in kpki must not be able to
 * change what the tests consider correct.
 */

export type FixtureName = 'single-cp' | 'ha-cluster' | 'external-etcd' | 'dual-stack';
export const FIXTURE_NAMES: readonly FixtureName[] = ['single-cp', 'ha-cluster', 'external-etcd', 'dual-stack'];

export type Role = 'control-plane' | 'worker' | 'etcd' | 'load-balancer';
export type CaName = 'ca' | 'front-proxy-ca' | 'etcd-ca';
export type Eku = 'serverAuth' | 'clientAuth';
export type KeyAlgorithm = 'ecdsa-p256' | 'rsa-2048';

/** The three CAs: store file (relative to `--out`), CN. */
export const CAS: Record<CaName, { file: string; key: string; cn: string }> = {
  ca: { file: 'pki/ca.crt', key: 'pki/ca.key', cn: 'kubernetes' },
  'front-proxy-ca': { file: 'pki/front-proxy-ca.crt', key: 'pki/front-proxy-ca.key', cn: 'front-proxy-ca' },
  'etcd-ca': { file: 'pki/etcd/ca.crt', key: 'pki/etcd/ca.key', cn: 'etcd-ca' },
};
export const CA_NAMES: readonly CaName[] = ['ca', 'front-proxy-ca', 'etcd-ca'];

/** The cluster store below `--out/pki`, exactly: CAs, the SA key pair, kpki's state (0600). */
export const STORE_FILES: readonly string[] = [
  'pki/ca.crt', 'pki/ca.key', 'pki/front-proxy-ca.crt', 'pki/front-proxy-ca.key',
  'pki/etcd/ca.crt', 'pki/etcd/ca.key', 'pki/sa.key', 'pki/sa.pub',
  // The fixtures are binary installs of 1.29+ identities: the kubeadm:cluster-admins binding to apply.
  'pki/rbac.yaml',
  // kpki's own bookkeeping (init node, each leaf's reading by its files' digests; no secret), 0600.
  'pki/record',
].sort();

// ---------------------------------------------------------------------------------------------
// Fixture facts, copied by hand from fixtures/*.yaml (addresses in canonical textual form).

export interface NodeSpec {
  name: string;
  address: string;
  roles: Role[];
  extraDns?: string[];
  extraIps?: string[];
}

export interface FixtureSpec {
  /** The fixture file's stem (fixtures/<name>.yaml). */
  name: string;
  clusterName: string;
  /** controlPlaneEndpoint, if the plan has one. */
  endpoint?: { host: string; port: number };
  bindPort: number;
  /** First host address of each service subnet (10.96.0.0/12 → 10.96.0.1, ...). */
  serviceIps: string[];
  dnsDomain: string;
  certSansDns: string[];
  certSansIps: string[];
  externalEtcd: boolean;
  keyAlgorithm: KeyAlgorithm;
  caValidityHours: number;
  certValidityHours: number;
  /** pki.subject attributes added to every CA subject. */
  caSubjectExtra: Array<[string, string]>;
  nodes: NodeSpec[];
}

export const SPECS: Record<FixtureName, FixtureSpec> = {
  'single-cp': {
    name: 'single-cp',
    clusterName: 'kubernetes',
    bindPort: 6443,
    serviceIps: ['10.96.0.1'],
    dnsDomain: 'cluster.local',
    certSansDns: [],
    certSansIps: [],
    externalEtcd: false,
    keyAlgorithm: 'ecdsa-p256',
    caValidityHours: 87600,
    certValidityHours: 8760,
    caSubjectExtra: [],
    nodes: [
      { name: 'cp-1', address: '192.0.2.10', roles: ['control-plane'] },
      { name: 'worker-1', address: '192.0.2.21', roles: ['worker'] },
      { name: 'worker-2', address: '192.0.2.22', roles: ['worker'] },
    ],
  },
  'ha-cluster': {
    name: 'ha-cluster',
    clusterName: 'prod',
    endpoint: { host: 'k8s-api.example.internal', port: 6443 },
    bindPort: 6443,
    serviceIps: ['10.96.0.1'],
    dnsDomain: 'cluster.local',
    certSansDns: ['k8s-api.example.internal'],
    certSansIps: ['192.0.2.100'],
    externalEtcd: false,
    keyAlgorithm: 'ecdsa-p256',
    caValidityHours: 87600,
    certValidityHours: 8760,
    caSubjectExtra: [],
    nodes: [
      { name: 'lb', address: '192.0.2.100', roles: ['load-balancer'] },
      { name: 'cp-1', address: '192.0.2.11', roles: ['control-plane'] },
      { name: 'cp-2', address: '192.0.2.12', roles: ['control-plane'] },
      { name: 'cp-3', address: '192.0.2.13', roles: ['control-plane'] },
      { name: 'worker-1', address: '192.0.2.21', roles: ['worker'] },
      { name: 'worker-2', address: '192.0.2.22', roles: ['worker'] },
    ],
  },
  'external-etcd': {
    name: 'external-etcd',
    clusterName: 'kubernetes',
    bindPort: 6443,
    serviceIps: ['10.254.0.1'],
    dnsDomain: 'cluster.local',
    certSansDns: [],
    certSansIps: [],
    externalEtcd: true,
    keyAlgorithm: 'rsa-2048',
    caValidityHours: 87600,
    certValidityHours: 87600,
    caSubjectExtra: [['C', 'CN'], ['ST', 'BeiJing'], ['L', 'BeiJing'], ['O', 'k8s'], ['OU', 'System']],
    nodes: [
      { name: 'etcd-1', address: '10.0.0.11', roles: ['etcd'] },
      { name: 'etcd-2', address: '10.0.0.12', roles: ['etcd'] },
      { name: 'etcd-3', address: '10.0.0.13', roles: ['etcd'] },
      { name: 'cp-1', address: '10.0.0.21', roles: ['control-plane'], extraDns: ['master.example.internal'] },
      { name: 'worker-1', address: '10.0.0.31', roles: ['worker'] },
    ],
  },
  'dual-stack': {
    name: 'dual-stack',
    clusterName: 'dual',
    endpoint: { host: 'fd00::10', port: 6443 },
    bindPort: 6443,
    serviceIps: ['fd00:10:96::1', '10.96.0.1'],
    dnsDomain: 'cluster.local',
    certSansDns: [],
    certSansIps: ['fd00::10', '192.0.2.10'],
    externalEtcd: false,
    keyAlgorithm: 'ecdsa-p256',
    caValidityHours: 87600,
    certValidityHours: 8760,
    caSubjectExtra: [],
    nodes: [
      { name: 'cp-1', address: 'fd00::11', roles: ['control-plane'], extraIps: ['192.0.2.11'] },
      // Written in full in the plan ("fd00:0:0:0:0:0:0:12"); canonical form here.
      { name: 'cp-2', address: 'fd00::12', roles: ['control-plane'] },
      { name: 'worker-1', address: 'fd00::21', roles: ['worker'] },
    ],
  },
};

// ---------------------------------------------------------------------------------------------
// Expectations.

export interface CertExpectation {
  /** What the certificate is (apiserver, etcd/server, kubelet, ...). */
  kind: string;
  cn: string;
  o: string[];
  dns: string[];
  ips: string[];
  eku: Eku[];
  signer: CaName;
}

export interface LeafFile extends CertExpectation {
  /** Paths relative to the node directory. */
  crt: string;
  key: string;
}

export interface KubeconfigExpectation {
  /** Path relative to the node directory. */
  file: string;
  cert: CertExpectation;
  cluster: string;
  user: string;
  context: string;
  server: string;
}

export interface NodeExpectation {
  name: string;
  address: string;
  roles: Role[];
  /** Files relative to the node directory → expected mode. Empty for a load-balancer-only node. */
  files: Map<string, number>;
  leaves: LeafFile[];
  kubeconfigs: KubeconfigExpectation[];
  /** Node files that must be byte-identical copies of a store file (node path → store path). */
  copies: Map<string, string>;
}

export interface FixtureExpectation {
  spec: FixtureSpec;
  endpointUrl: string;
  nodes: NodeExpectation[];
  /** Expected CA subject attributes (any order), per CA. */
  caSubject(ca: CaName): Array<[string, string]>;
}

/** Mode a file must have, by name. */
export function fileMode(path: string): number {
  if (path.endsWith('.crt')) return 0o644;
  if (path.endsWith('.key') || path.endsWith('.conf') || path.endsWith('sa.pub') || path === 'pki/record') return 0o600;
  throw new Error(`no mode rule for ${path}`);
}

/** Every directory (relative, '' excluded) that directly holds a 0600 file: must be 0700. */
export function privateDirs(files: Map<string, number>): Set<string> {
  const dirs = new Set<string>();
  for (const [f, mode] of files) {
    if (mode !== 0o600) continue;
    const i = f.lastIndexOf('/');
    if (i > 0) dirs.add(f.slice(0, i));
  }
  return dirs;
}

/** `host:port` → URL host part: IPv6 literals bracketed. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function isIp(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

/** Canonical comparable form of an IP (IPv6 expanded to 8 lowercase groups without leading zeros). */
export function normIp(ip: string): string {
  const s = ip.trim().toLowerCase();
  if (!s.includes(':')) return s.split('.').map((p) => String(Number(p))).join('.');
  let groups: string[];
  if (s.includes('::')) {
    const [head, tail] = s.split('::') as [string, string];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  } else {
    groups = s.split(':');
  }
  if (groups.length !== 8) throw new Error(`bad IPv6 ${ip}`);
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];

export function expectFixture(name: FixtureName): FixtureExpectation {
  return expectSpec(SPECS[name]);
}

/** The binary-install (1.29+, kubeadm layout) expectation for any spec written out by hand. */
export function expectSpec(spec: FixtureSpec): FixtureExpectation {
  const name = spec.name;
  const cps = spec.nodes.filter((n) => n.roles.includes('control-plane'));
  const first = cps[0];
  if (!first) throw new Error(`${name}: no control plane`);
  const ep = spec.endpoint ?? { host: first.address, port: spec.bindPort };
  const endpointUrl = `https://${urlHost(ep.host)}:${ep.port}`;
  const ca = 'ca' as const;

  const leavesFor = (n: NodeSpec): LeafFile[] => {
    const exDns = n.extraDns ?? [];
    const exIps = n.extraIps ?? [];
    const isCp = n.roles.includes('control-plane');
    const isEtcd = spec.externalEtcd ? n.roles.includes('etcd') : isCp;
    const isKubeletHost = isCp || n.roles.includes('worker');
    const out: LeafFile[] = [];
    const leaf = (kind: string, path: string, e: Omit<CertExpectation, 'kind'>) =>
      out.push({ kind, crt: `${path}.crt`, key: `${path}.key`, ...e });
    const P = 'etc/kubernetes/pki';
    if (isCp) {
      const svc = `kubernetes.default.svc`;
      leaf('apiserver', `${P}/apiserver`, {
        cn: 'kube-apiserver', o: [], eku: ['serverAuth'], signer: ca,
        dns: uniq([n.name, 'kubernetes', 'kubernetes.default', svc, `${svc}.${spec.dnsDomain}`,
          ...(isIp(ep.host) ? [] : [ep.host]), ...spec.certSansDns, ...exDns]),
        ips: uniq([...spec.serviceIps, n.address, ...(isIp(ep.host) ? [ep.host] : []), ...spec.certSansIps, ...exIps].map(normIp)),
      });
      leaf('apiserver-kubelet-client', `${P}/apiserver-kubelet-client`, {
        cn: 'kube-apiserver-kubelet-client', o: ['kubeadm:cluster-admins'], eku: ['clientAuth'], signer: ca, dns: [], ips: [],
      });
      leaf('front-proxy-client', `${P}/front-proxy-client`, {
        cn: 'front-proxy-client', o: [], eku: ['clientAuth'], signer: 'front-proxy-ca', dns: [], ips: [],
      });
      leaf('apiserver-etcd-client', `${P}/apiserver-etcd-client`, {
        cn: 'kube-apiserver-etcd-client', o: [], eku: ['clientAuth'], signer: 'etcd-ca', dns: [], ips: [],
      });
    }
    if (isEtcd) {
      const san = {
        dns: uniq([n.name, 'localhost', ...exDns]),
        ips: uniq([n.address, '127.0.0.1', '::1', ...exIps].map(normIp)),
      };
      leaf('etcd/server', `${P}/etcd/server`, { cn: n.name, o: [], eku: ['serverAuth', 'clientAuth'], signer: 'etcd-ca', ...san });
      leaf('etcd/peer', `${P}/etcd/peer`, { cn: n.name, o: [], eku: ['serverAuth', 'clientAuth'], signer: 'etcd-ca', ...san });
      leaf('etcd/healthcheck-client', `${P}/etcd/healthcheck-client`, {
        cn: 'kube-etcd-healthcheck-client', o: [], eku: ['clientAuth'], signer: 'etcd-ca', dns: [], ips: [],
      });
    }
    if (isKubeletHost) {
      leaf('kubelet', 'var/lib/kubelet/pki/kubelet', {
        cn: `system:node:${n.name}`, o: ['system:nodes'], eku: ['serverAuth'], signer: ca,
        dns: uniq([n.name, ...exDns]), ips: uniq([n.address, ...exIps].map(normIp)),
      });
    }
    return out;
  };

  const kubeconfigsFor = (n: NodeSpec): KubeconfigExpectation[] => {
    const isCp = n.roles.includes('control-plane');
    const isKubeletHost = isCp || n.roles.includes('worker');
    const local = `https://${urlHost(n.address)}:${spec.bindPort}`;
    const out: KubeconfigExpectation[] = [];
    const kc = (file: string, cn: string, o: string[], server: string) =>
      out.push({
        file: `etc/kubernetes/${file}`,
        cert: { kind: file, cn, o, dns: [], ips: [], eku: ['clientAuth'], signer: ca },
        cluster: spec.clusterName, user: cn, context: `${cn}@${spec.clusterName}`, server,
      });
    if (isCp) {
      kc('admin.conf', 'kubernetes-admin', ['kubeadm:cluster-admins'], endpointUrl);
      if (n === first) kc('super-admin.conf', 'kubernetes-super-admin', ['system:masters'], endpointUrl);
      kc('controller-manager.conf', 'system:kube-controller-manager', [], local);
      kc('scheduler.conf', 'system:kube-scheduler', [], local);
    }
    if (isKubeletHost) {
      kc('kubelet.conf', `system:node:${n.name}`, ['system:nodes'], endpointUrl);
      kc('kube-proxy.conf', 'system:kube-proxy', [], endpointUrl);
    }
    return out;
  };

  const nodes = spec.nodes.map((n): NodeExpectation => {
    const isCp = n.roles.includes('control-plane');
    const isEtcd = spec.externalEtcd ? n.roles.includes('etcd') : isCp;
    const isWorker = n.roles.includes('worker');
    const leaves = leavesFor(n);
    const kubeconfigs = kubeconfigsFor(n);
    const copies = new Map<string, string>();
    const P = 'etc/kubernetes/pki';
    if (isCp) {
      copies.set(`${P}/ca.crt`, 'pki/ca.crt');
      copies.set(`${P}/ca.key`, 'pki/ca.key');
      copies.set(`${P}/front-proxy-ca.crt`, 'pki/front-proxy-ca.crt');
      copies.set(`${P}/etcd/ca.crt`, 'pki/etcd/ca.crt');
      copies.set(`${P}/sa.key`, 'pki/sa.key');
      copies.set(`${P}/sa.pub`, 'pki/sa.pub');
    }
    if (isEtcd) copies.set(`${P}/etcd/ca.crt`, 'pki/etcd/ca.crt');
    if (isWorker) copies.set(`${P}/ca.crt`, 'pki/ca.crt');
    const paths = new Set<string>([...copies.keys()]);
    for (const l of leaves) { paths.add(l.crt); paths.add(l.key); }
    for (const k of kubeconfigs) paths.add(k.file);
    const files = new Map([...paths].sort().map((p) => [p, fileMode(p)] as [string, number]));
    return { name: n.name, address: n.address, roles: n.roles, files, leaves, kubeconfigs, copies };
  });

  return {
    spec,
    endpointUrl,
    nodes,
    caSubject: (c) => [['CN', CAS[c].cn], ...spec.caSubjectExtra],
  };
}

/** Maps openssl's EKU text to the short names used above. */
export const EKU_TEXT: Record<string, Eku> = {
  'TLS Web Server Authentication': 'serverAuth',
  'TLS Web Client Authentication': 'clientAuth',
};
/** keyEncipherment only on RSA keys (RFC 5480 §3 and RFC 8813 §3 forbid it for EC keys). */
export const LEAF_KEY_USAGE: Record<KeyAlgorithm, string[]> = {
  'ecdsa-p256': ['Digital Signature'],
  'rsa-2048': ['Digital Signature', 'Key Encipherment'],
};
export const CA_KEY_USAGE: Record<KeyAlgorithm, string[]> = {
  'ecdsa-p256': ['Digital Signature', 'Certificate Sign'],
  'rsa-2048': ['Digital Signature', 'Key Encipherment', 'Certificate Sign'],
};
export const SIG_ALG: Record<KeyAlgorithm, string> = { 'ecdsa-p256': 'ecdsa-with-SHA256', 'rsa-2048': 'sha256WithRSAEncryption' };
export const KEY_PEM_HEADER: Record<KeyAlgorithm, string> = {
  'ecdsa-p256': '-----BEGIN EC PRIVATE KEY-----',
  'rsa-2048': '-----BEGIN RSA PRIVATE KEY-----',
};
