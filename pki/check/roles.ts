/**
 * Which catalog role a certificate found on a host plays, from where it lies (kubeadm and
 * kpki paths) or, failing that, from what it says (CN, O, EKU, SANs, issuer): a cfssl
 * `server.pem` with `kubernetes.default` in its SANs is the apiserver's, a `kube-proxy.pem`
 * with CN `system:kube-proxy` is kube-proxy's. Everything is derived from the catalog; what
 * an identity must be to work is judged in identity.ts.
 */
import { CAS, CERTS, KUBECONFIGS } from '../catalog/entries.js';
import type { CaId, CertEntry, Identity, KubeconfigEntry, NodeContext } from '../catalog/types.js';
import { normalise } from '../plan/normalise.js';
import { MIN_KUBERNETES_MINOR, type PlanInput } from '../plan/types.js';
import { cfsslPath } from '../layout/cfssl-names.js';
import type { CertFacts } from '../x509/facts.js';

export type LeafRoleEntry = CertEntry | KubeconfigEntry;

/** How sure a recognition is: a catalog path, or the certificate's contents. */
export type Basis = 'path' | 'content';

const SERVER_AUTH = 'serverAuth';

/** Suffixes of a node-relative catalog path a file may end with (a copied /etc/kubernetes has no `etc/`). */
function suffixes(path: string, minParts: number): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 0; parts.length - i >= minParts; i++) out.push(parts.slice(i).join('/'));
  return out;
}

interface PathRule<T> {
  readonly suffix: string;
  readonly value: T;
}

function byLongest<T>(rules: PathRule<T>[]): PathRule<T>[] {
  return rules.sort((a, b) => b.suffix.length - a.suffix.length);
}

/** `file` is `suffix` or ends with `/suffix` (checked without building a string: thousands of files × dozens of rules). */
const endsWith = (file: string, suffix: string) =>
  file.endsWith(suffix) && (file.length === suffix.length || file.charCodeAt(file.length - suffix.length - 1) === 47);

let leafRules: PathRule<LeafRoleEntry>[] | undefined;
function leafPathRules(): PathRule<LeafRoleEntry>[] {
  if (leafRules) return leafRules;
  const rules: PathRule<LeafRoleEntry>[] = [];
  for (const c of CERTS) for (const s of suffixes(`${c.path}.crt`, 2)) rules.push({ suffix: s, value: c });
  for (const k of KUBECONFIGS) for (const s of suffixes(k.path, 1)) rules.push({ suffix: s, value: k });
  // Files the kubelet writes itself (kubeadm nodes): its rotated client and serving certificates.
  const kubeletConf = KUBECONFIGS.find((k) => k.path.endsWith('/kubelet.conf'));
  const serving = CERTS.find((c) => c.path.endsWith('kubelet/pki/kubelet'));
  if (kubeletConf) rules.push({ suffix: 'kubelet/pki/kubelet-client-current.pem', value: kubeletConf });
  if (serving) rules.push({ suffix: 'kubelet/pki/kubelet-server-current.pem', value: serving });
  // The cfssl guides' names (layout: cfssl: kubernetes/ssl/server.pem, kube-proxy.kubeconfig), for
  // what the Kubernetes CA signs only: single-CA installs sign etcd's and the aggregator's
  // certificates with it, and a role named by path is held to its catalog signer.
  for (const e of [...CERTS, ...KUBECONFIGS]) {
    if (e.signer !== 'ca') continue;
    const pem = cfsslPath(e.id, 'crt');
    const kubeconfig = cfsslPath(e.id, 'kubeconfig');
    if (pem !== undefined) for (const s of suffixes(pem, 3)) rules.push({ suffix: s, value: e });
    if (kubeconfig !== undefined) for (const s of suffixes(kubeconfig, 1)) rules.push({ suffix: s, value: e });
  }
  return (leafRules = byLongest(rules));
}

let caRules: PathRule<CaId>[] | undefined;
function caPathRules(): PathRule<CaId>[] {
  // kubeadm's `ca.crt` and the same name as `.pem` (cfssl-style trees).
  return (caRules ??= byLongest(CAS.flatMap((ca) => [`pki/${ca.stem}.crt`, `pki/${ca.stem}.pem`].flatMap((p) => suffixes(p, 2).map((suffix) => ({ suffix, value: ca.id as CaId }))))));
}

/** The catalog role a file's path names, if any. */
export function roleByPath(file: string): LeafRoleEntry | undefined {
  return leafPathRules().find((r) => endsWith(file, r.suffix))?.value;
}

/** The catalog CA a CA certificate is: by path, else by the CN kubeadm gives it. `sure` is false for a guess from a CN. */
export function caRole(file: string, cert: CertFacts): { id: CaId; sure: boolean } | undefined {
  const byPath = caPathRules().find((r) => endsWith(file, r.suffix));
  if (byPath) return { id: byPath.value, sure: true };
  const cn = cert.subject.cn;
  const exact = CAS.find((c) => c.cn === cn);
  if (exact) return { id: exact.id, sure: true };
  const lower = cn.toLowerCase();
  if (lower.includes('etcd')) return { id: 'etcd-ca', sure: false };
  if (lower.includes('front-proxy') || lower.includes('aggregat')) return { id: 'front-proxy-ca', sure: false };
  if (lower.includes('kubernetes') || /(^|[^a-z])k8s([^a-z]|$)/.test(lower)) return { id: 'ca', sure: false };
  return undefined;
}

/** A one-node plan to ask the catalog's identity rules with (built from values: no YAML on check's path). */
const sampleInput = (minor?: number): PlanInput => ({
  apiVersion: 'kpki/v1alpha1', kind: 'Cluster', nodes: [{ name: 'node-a', address: '192.0.2.1', roles: ['control-plane'] }],
  ...(minor === undefined ? {} : { kubernetesVersion: `1.${minor}` }),
});

/** Sample contexts per Kubernetes minor (`undefined`: the newest rules), made once each. */
const samples = new Map<number | undefined, { a: NodeContext; b: NodeContext }>();
function contexts(minor?: number): { a: NodeContext; b: NodeContext } {
  let s = samples.get(minor);
  if (!s) {
    const plan = normalise(sampleInput(minor), '<check>');
    const node = plan.nodes[0]!;
    samples.set(minor, (s = { a: { plan, node }, b: { plan, node: { ...node, name: 'node-b' } } }));
  }
  return s;
}

/** True when the entry's identity depends on the node (`system:node:<name>`, etcd members). */
const perNode = new Map<LeafRoleEntry, boolean>();
export function identityIsPerNode(entry: LeafRoleEntry): boolean {
  let known = perNode.get(entry);
  if (known === undefined) {
    const { a, b } = contexts();
    const x = entry.identity(a);
    const y = entry.identity(b);
    perNode.set(entry, (known = x.cn !== y.cn || x.o.join() !== y.o.join()));
  }
  return known;
}

/**
 * The identity the catalog gives the role on `node` in Kubernetes `1.<minor>` (newest rules
 * without one); undefined when it depends on an unknown node.
 */
export function expectedIdentity(entry: LeafRoleEntry, node: string | undefined, minor?: number): Identity | undefined {
  // The catalog takes 1.20 and later; older releases had the 1.20 identities.
  const { a } = contexts(minor === undefined ? undefined : Math.max(minor, MIN_KUBERNETES_MINOR));
  if (!identityIsPerNode(entry)) return entry.identity(a);
  if (node === undefined) return undefined;
  return entry.identity({ plan: a.plan, node: { ...a.node, name: node } });
}

export const usagesOf = (entry: LeafRoleEntry): readonly string[] => (entry.kind === 'cert' ? entry.usages : ['clientAuth']);

/**
 * Recognises a role from the certificate's contents. `issuerCa` is the catalog CA of the CA
 * that signed it, when known; `client`: it is a kubeconfig's. Order matters: the most specific
 * identities first.
 */
export function roleByContent(cert: CertFacts, issuerCa: CaId | undefined, file: string, client = false): LeafRoleEntry | undefined {
  const cn = cert.subject.cn;
  const eku = cert.extKeyUsage ?? [];
  const server = eku.includes(SERVER_AUTH);
  const dns = cert.subjectAltName?.dns ?? [];
  const find = (id: string) => [...CERTS, ...KUBECONFIGS].find((e) => e.id === id);
  // Fixed identities: the catalog's own CNs (node-independent entries).
  for (const e of [...CERTS, ...KUBECONFIGS]) {
    if (identityIsPerNode(e)) continue;
    const want = expectedIdentity(e, undefined)!;
    if (want.cn === cn) return e;
  }
  // A kubeconfig's certificate is a client's, whatever usages a shared signing profile gave it.
  if (cn.startsWith('system:node:')) return find(server && !client ? 'kubelet-serving' : 'kubelet.conf');
  if (client) return cn === 'admin' && cert.subject.o.includes('system:masters') ? find('admin.conf') : undefined;
  if (server && dns.some((d) => d === 'kubernetes.default' || d.startsWith('kubernetes.default.svc'))) return find('apiserver');
  if (cn === 'admin' && cert.subject.o.includes('system:masters')) return find('admin.conf');
  if (server && issuerCa === 'etcd-ca') return find(/peer/i.test(file) ? 'etcd-peer' : 'etcd-server');
  return undefined;
}
