/**
 * The benchmark's cluster plans and the certificate set every tool must produce for them.
 * This is an independent restatement of the kubeadm certificate set (not kpki's code), so the
 * bench can check kpki, the openssl script and the cfssl script against the same expectation.
 */

export type Alg = 'ecdsa-p256' | 'rsa-2048';
export const ALGS: readonly Alg[] = ['ecdsa-p256', 'rsa-2048'];

export interface BenchNode {
  readonly name: string;
  readonly address: string;
  readonly role: 'control-plane' | 'worker';
}

export interface BenchPlan {
  readonly id: string;
  /** Host of controlPlaneEndpoint; absent for single-control-plane plans (kpki uses the node address). */
  readonly endpoint?: { readonly host: string; readonly port: number };
  readonly certSANs: readonly string[];
  readonly nodes: readonly BenchNode[];
}

export type CaName = 'ca' | 'front-proxy-ca' | 'etcd-ca';
export const CA_COMMON_NAMES: Readonly<Record<CaName, string>> = {
  ca: 'kubernetes',
  'front-proxy-ca': 'front-proxy-ca',
  'etcd-ca': 'etcd-ca',
};

export type Usage = 'server' | 'client' | 'server+client';

export interface ExpectedLeaf {
  readonly what: string;
  readonly issuer: CaName;
  readonly cn: string;
  readonly orgs: readonly string[];
  readonly usage: Usage;
  readonly dns: readonly string[];
  readonly ips: readonly string[];
}

const SERVICE_IP = '10.96.0.1';
const API_DNS = [
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

export function haPlan(): BenchPlan {
  const cps = [1, 2, 3].map((i) => node(`cp-${i}`, `10.0.0.${10 + i}`, 'control-plane'));
  const workers = [1, 2].map((i) => node(`worker-${i}`, `10.0.0.${20 + i}`, 'worker'));
  return {
    id: 'ha',
    endpoint: { host: 'k8s-api.example.internal', port: 6443 },
    certSANs: ['10.0.0.10', 'k8s-api.example.internal'],
    nodes: [...cps, ...workers],
  };
}

/** One control plane (10.1.0.1) and `count` workers at 10.1.x.y. */
export function workersPlan(count: number): BenchPlan {
  const workers: BenchNode[] = [];
  for (let i = 0; i < count; i++) {
    workers.push(node(`worker-${i + 1}`, `10.1.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`, 'worker'));
  }
  return { id: `w${count}`, certSANs: [], nodes: [node('cp-1', '10.1.0.1', 'control-plane'), ...workers] };
}

function node(name: string, address: string, role: BenchNode['role']): BenchNode {
  return { name, address, role };
}

export function controlPlanes(plan: BenchPlan): BenchNode[] {
  return plan.nodes.filter((n) => n.role === 'control-plane');
}

export function isIpLiteral(s: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(s) || s.includes(':');
}

/** Every leaf certificate of the plan, in a stable order. */
export function expectedLeaves(plan: BenchPlan): ExpectedLeaf[] {
  const leaves: ExpectedLeaf[] = [];
  controlPlanes(plan).forEach((cp, i) => leaves.push(...controlPlaneLeaves(plan, cp, i === 0)));
  for (const n of plan.nodes) leaves.push(...kubeletNodeLeaves(n));
  return leaves;
}

function controlPlaneLeaves(plan: BenchPlan, cp: BenchNode, first: boolean): ExpectedLeaf[] {
  const extra = [...(plan.endpoint ? [plan.endpoint.host] : []), ...plan.certSANs];
  const apiDns = [cp.name, ...API_DNS, ...extra.filter((s) => !isIpLiteral(s))];
  const apiIps = [SERVICE_IP, cp.address, ...extra.filter(isIpLiteral)];
  const etcdDns = [cp.name, 'localhost'];
  const etcdIps = [cp.address, '127.0.0.1', '::1'];
  const c = (what: string, issuer: CaName, cn: string, orgs: string[] = []): ExpectedLeaf =>
    leaf(`${cp.name}/${what}`, issuer, cn, orgs, 'client');
  const leaves: ExpectedLeaf[] = [
    { ...leaf(`${cp.name}/apiserver`, 'ca', 'kube-apiserver', [], 'server'), dns: apiDns, ips: apiIps },
    c('apiserver-kubelet-client', 'ca', 'kube-apiserver-kubelet-client', ['kubeadm:cluster-admins']),
    c('front-proxy-client', 'front-proxy-ca', 'front-proxy-client'),
    c('apiserver-etcd-client', 'etcd-ca', 'kube-apiserver-etcd-client'),
    { ...leaf(`${cp.name}/etcd/server`, 'etcd-ca', cp.name, [], 'server+client'), dns: etcdDns, ips: etcdIps },
    { ...leaf(`${cp.name}/etcd/peer`, 'etcd-ca', cp.name, [], 'server+client'), dns: etcdDns, ips: etcdIps },
    c('etcd/healthcheck-client', 'etcd-ca', 'kube-etcd-healthcheck-client'),
    c('admin', 'ca', 'kubernetes-admin', ['kubeadm:cluster-admins']),
    c('controller-manager', 'ca', 'system:kube-controller-manager'),
    c('scheduler', 'ca', 'system:kube-scheduler'),
  ];
  if (first) leaves.push(c('super-admin', 'ca', 'kubernetes-super-admin', ['system:masters']));
  return leaves;
}

function kubeletNodeLeaves(n: BenchNode): ExpectedLeaf[] {
  const cn = `system:node:${n.name}`;
  return [
    leaf(`${n.name}/kubelet-client`, 'ca', cn, ['system:nodes'], 'client'),
    { ...leaf(`${n.name}/kubelet`, 'ca', cn, ['system:nodes'], 'server'), dns: [n.name], ips: [n.address] },
    leaf(`${n.name}/kube-proxy`, 'ca', 'system:kube-proxy', [], 'client'),
  ];
}

function leaf(what: string, issuer: CaName, cn: string, orgs: string[], usage: Usage): ExpectedLeaf {
  return { what, issuer, cn, orgs, usage, dns: [], ips: [] };
}

/** The brief's formula: 4 cluster keys (3 CAs + sa) + 10 per control plane + super-admin + 3 per node. */
export function expectedKeyCount(plan: BenchPlan): number {
  const cps = controlPlanes(plan).length;
  return 4 + 10 * cps + (cps > 0 ? 1 : 0) + 3 * plan.nodes.length;
}

/** Distinct certificates: every key except sa has one. */
export function expectedCertCount(plan: BenchPlan): number {
  return expectedKeyCount(plan) - 1;
}

/** The plan in kpki's cluster.yaml format. */
export function planYaml(plan: BenchPlan, alg: Alg): string {
  const lines = ['apiVersion: kpki/v1alpha1', 'kind: Cluster'];
  if (plan.endpoint) lines.push(`controlPlaneEndpoint: ${plan.endpoint.host}:${plan.endpoint.port}`);
  if (plan.certSANs.length > 0) lines.push(`apiServer: { certSANs: [${plan.certSANs.join(', ')}] }`);
  lines.push(`pki: { keyAlgorithm: ${alg} }`, 'nodes:');
  for (const n of plan.nodes) {
    lines.push(`  - { name: ${n.name}, address: ${n.address}, roles: [${n.role}] }`);
  }
  return lines.join('\n') + '\n';
}

/** The plan as the sourced shell spec that openssl-gen.sh and cfssl-gen.sh read. */
export function scriptSpec(plan: BenchPlan, alg: Alg): string {
  const pairs = (role: BenchNode['role']): string =>
    plan.nodes
      .filter((n) => n.role === role)
      .map((n) => `${n.name}:${n.address}`)
      .join(' ');
  return [
    `ALG=${alg}`,
    `ENDPOINT_HOST=${plan.endpoint?.host ?? ''}`,
    `API_CERT_SANS="${plan.certSANs.join(' ')}"`,
    `SERVICE_IP=${SERVICE_IP}`,
    `CONTROL_PLANES="${pairs('control-plane')}"`,
    `WORKERS="${pairs('worker')}"`,
    '',
  ].join('\n');
}
