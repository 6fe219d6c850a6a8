/**
 * THE catalog: every credential kpki knows, as data (modelled on kubeadm's certlist.go).
 * Identities follow the kubeadm release of the plan's `kubernetesVersion` (1.29+ when it names
 * none); the kubelet serving cert and kube-proxy kubeconfig follow the binary-install guides.
 * Order here is presentation order only: signing order is derived from `signer`, never from
 * position.
 */
import { firstHost } from '../plan/net.js';
import type { Plan } from '../plan/types.js';
import { runsAtLeast } from '../plan/version.js';
import type {
  CaEntry,
  CatalogEntry,
  CertEntry,
  KeyPairEntry,
  KubeconfigEntry,
  KubernetesMinor,
  NodeContext,
  NodeSelector,
  SanInput,
} from './types.js';

/**
 * The group kubeadm puts its cluster administrators in. From 1.29 (KK#121305, #121837) admin.conf
 * and apiserver-kubelet-client are in `kubeadm:cluster-admins`, bound to cluster-admin by a
 * ClusterRoleBinding, and only super-admin.conf keeps `system:masters`; before 1.29 both were
 * in `system:masters` and kubeadm created no such binding.
 */
export function adminGroup(plan: Plan): 'kubeadm:cluster-admins' | 'system:masters' {
  return runsAtLeast(plan.kubernetesVersion, 29) ? 'kubeadm:cluster-admins' : 'system:masters';
}

/** Whether the plan's Kubernetes release has the entry at all (see `since`). */
export function inRelease(entry: { readonly id: string; readonly since?: KubernetesMinor }, plan: Plan): boolean {
  return entry.since === undefined || runsAtLeast(plan.kubernetesVersion, Number(entry.since.slice(2)));
}

const PKI = 'etc/kubernetes/pki';
const CLIENT = ['clientAuth'] as const;
const SERVER = ['serverAuth'] as const;
const SERVER_CLIENT = ['serverAuth', 'clientAuth'] as const;

/**
 * CA keys stay in the cluster store; only `ca.key` goes to control-plane nodes, because
 * kube-controller-manager signs kubelet CSRs with it. Without front-proxy-ca.key and
 * etcd/ca.key on a node, kubeadm treats those CAs as external and uses the certs as given.
 */
export const CAS = [
  {
    kind: 'ca', id: 'ca', title: 'Kubernetes CA: signs the apiserver, clients and kubelets',
    cn: 'kubernetes', stem: 'ca', certOn: ['control-plane', 'kubelet'], keyOn: ['control-plane'],
    // apiserver and controller-manager --client-ca-file (+ the signing pair), kubelet clientCAFile
    readBy: ['kube-apiserver', 'kube-controller-manager', 'kubelet'],
    kubeadm: {
      on: ['control-plane'],
      why: 'kubeadm join writes pki/ca.crt on a worker itself (from discovery) and its preflight refuses an existing one',
    },
  },
  {
    kind: 'ca', id: 'front-proxy-ca', title: 'Front-proxy CA: trusted by aggregated API servers',
    cn: 'front-proxy-ca', stem: 'front-proxy-ca', certOn: ['control-plane'], keyOn: [],
    readBy: ['kube-apiserver', 'kube-controller-manager'], // --requestheader-client-ca-file
  },
  {
    kind: 'ca', id: 'etcd-ca', title: 'etcd CA: signs etcd members and etcd clients',
    cn: 'etcd-ca', stem: 'etcd/ca', certOn: ['control-plane', 'etcd-member'], keyOn: [],
    readBy: ['kube-apiserver', 'etcd'], // --etcd-cafile; --trusted-ca-file, --peer-trusted-ca-file
  },
] as const satisfies readonly CaEntry[];

export const KEYPAIRS = [
  {
    kind: 'keypair', id: 'sa', title: 'Service-account token signing key pair (not a certificate)',
    stem: 'sa', on: ['control-plane'],
    readBy: ['kube-apiserver', 'kube-controller-manager'], // sa.pub + sa.key; --service-account-private-key-file
  },
] as const satisfies readonly KeyPairEntry[];

/**
 * SANs of the apiserver: in-cluster names, the first service IP per family, the node, the endpoint.
 * With the cfssl layout also 127.0.0.1: the binary-install guides put it in their server-csr.json
 * because their units reach the API server on the host's loopback (kube-controller-manager and
 * kube-scheduler, a node-local proxy in front of the control planes). kubeadm's apiserver has no
 * loopback SAN (GetAPIServerAltNames: node name, service IP, advertise address, endpoint,
 * certSANs); its local kubeconfigs use the advertise address, so kubeadm's layout stays kubeadm's.
 */
function apiserverSans({ plan, node }: NodeContext): SanInput {
  const svc = 'kubernetes.default.svc';
  return {
    dns: [node.name, 'kubernetes', 'kubernetes.default', svc, `${svc}.${plan.networking.dnsDomain}`],
    ips: [...plan.networking.serviceSubnets.map(firstHost), node.address, ...(plan.layout === 'cfssl' ? ['127.0.0.1'] : [])],
    any: [plan.controlPlaneEndpoint.host, ...plan.apiServer.certSANs, ...node.extraSANs],
  };
}

/** kubeadm's etcd member SANs: reachable by name, by address and on loopback. */
function etcdMemberSans({ node }: NodeContext): SanInput {
  return { dns: [node.name, 'localhost'], ips: [node.address, '127.0.0.1', '::1'], any: node.extraSANs };
}

const nodeIdentity = ({ node }: NodeContext) => ({ cn: `system:node:${node.name}`, o: ['system:nodes'] });

export const CERTS = [
  {
    kind: 'cert', id: 'apiserver', title: 'kube-apiserver serving certificate',
    signer: 'ca', on: 'control-plane', usages: SERVER, path: `${PKI}/apiserver`,
    identity: () => ({ cn: 'kube-apiserver', o: [] }), sans: apiserverSans,
    readBy: ['kube-apiserver'], serves: { component: 'kube-apiserver', port: 'apiserver', alsoVia: 'endpoint' },
  },
  {
    kind: 'cert', id: 'apiserver-kubelet-client', title: 'kube-apiserver client certificate for kubelets',
    readBy: ['kube-apiserver'],
    signer: 'ca', on: 'control-plane', usages: CLIENT, path: `${PKI}/apiserver-kubelet-client`,
    identity: ({ plan }) => ({ cn: 'kube-apiserver-kubelet-client', o: [adminGroup(plan)] }),
  },
  {
    kind: 'cert', id: 'front-proxy-client', title: 'kube-apiserver client certificate for the front proxy',
    signer: 'front-proxy-ca', on: 'control-plane', usages: CLIENT, path: `${PKI}/front-proxy-client`,
    identity: () => ({ cn: 'front-proxy-client', o: [] }),
    readBy: ['kube-apiserver'],
  },
  {
    kind: 'cert', id: 'apiserver-etcd-client', title: 'kube-apiserver client certificate for etcd',
    signer: 'etcd-ca', on: 'control-plane', usages: CLIENT, path: `${PKI}/apiserver-etcd-client`,
    identity: () => ({ cn: 'kube-apiserver-etcd-client', o: [] }),
    readBy: ['kube-apiserver'],
  },
  {
    kind: 'cert', id: 'etcd-server', title: 'etcd serving certificate',
    signer: 'etcd-ca', on: 'etcd-member', usages: SERVER_CLIENT, path: `${PKI}/etcd/server`,
    identity: ({ node }) => ({ cn: node.name, o: [] }), sans: etcdMemberSans,
    readBy: ['etcd'], serves: { component: 'etcd', port: 2379, reloads: 'per-connection' },
  },
  {
    kind: 'cert', id: 'etcd-peer', title: 'etcd peer certificate',
    signer: 'etcd-ca', on: 'etcd-member', usages: SERVER_CLIENT, path: `${PKI}/etcd/peer`,
    identity: ({ node }) => ({ cn: node.name, o: [] }), sans: etcdMemberSans,
    readBy: ['etcd'], serves: { component: 'etcd', port: 2380, reloads: 'per-connection' },
  },
  {
    kind: 'cert', id: 'etcd-healthcheck-client', title: 'client certificate for etcd health checks',
    signer: 'etcd-ca', on: 'etcd-member', usages: CLIENT, path: `${PKI}/etcd/healthcheck-client`,
    identity: () => ({ cn: 'kube-etcd-healthcheck-client', o: [] }),
    // kubeadm's etcd probes use plain HTTP on 2381; only operators' etcdctl reads this one
    readBy: ['admin'],
  },
  {
    kind: 'cert', id: 'kubelet-serving', title: 'kubelet serving certificate, CA-signed (no CSR approver needed)',
    signer: 'ca', on: 'kubelet', usages: SERVER, path: 'var/lib/kubelet/pki/kubelet',
    identity: nodeIdentity,
    sans: ({ node }) => ({ dns: [node.name], ips: [node.address], any: node.extraSANs }),
    readBy: ['kubelet'], serves: { component: 'kubelet', port: 10250 },
  },
] as const satisfies readonly CertEntry[];

export const KUBECONFIGS = [
  {
    kind: 'kubeconfig', id: 'admin.conf', title: 'cluster administrator (kubeadm:cluster-admins; system:masters before 1.29)',
    signer: 'ca', on: 'control-plane', server: 'endpoint', path: 'etc/kubernetes/admin.conf',
    identity: ({ plan }) => ({ cn: 'kubernetes-admin', o: [adminGroup(plan)] }),
    readBy: ['admin'],
  },
  {
    kind: 'kubeconfig', id: 'super-admin.conf', title: 'break-glass superuser (system:masters), init node only, 1.29+',
    signer: 'ca', on: 'init-node', since: '1.29', server: 'endpoint', path: 'etc/kubernetes/super-admin.conf',
    identity: () => ({ cn: 'kubernetes-super-admin', o: ['system:masters'] }),
    readBy: ['admin'],
  },
  {
    kind: 'kubeconfig', id: 'controller-manager.conf', title: 'kube-controller-manager',
    signer: 'ca', on: 'control-plane', server: 'local', path: 'etc/kubernetes/controller-manager.conf',
    identity: () => ({ cn: 'system:kube-controller-manager', o: [] }),
    readBy: ['kube-controller-manager'],
  },
  {
    kind: 'kubeconfig', id: 'scheduler.conf', title: 'kube-scheduler',
    signer: 'ca', on: 'control-plane', server: 'local', path: 'etc/kubernetes/scheduler.conf',
    identity: () => ({ cn: 'system:kube-scheduler', o: [] }),
    readBy: ['kube-scheduler'],
  },
  {
    kind: 'kubeconfig', id: 'kubelet.conf', title: 'kubelet client identity (Node authorizer)',
    signer: 'ca', on: 'kubelet', server: 'endpoint', path: 'etc/kubernetes/kubelet.conf',
    identity: nodeIdentity,
    readBy: ['kubelet'],
    // kubeadm init validates and uses an existing kubelet.conf; every joining node (control
    // planes too) gets its own by TLS bootstrap, and join preflight refuses one already there.
    kubeadm: {
      on: ['init-node'],
      why: 'kubeadm join makes kubelet.conf by TLS bootstrap and its preflight refuses an existing one; only the init node gets it',
    },
  },
  {
    kind: 'kubeconfig', id: 'kube-proxy.conf', title: 'kube-proxy (bound to system:node-proxier by default)',
    signer: 'ca', on: 'kubelet', server: 'endpoint', path: 'etc/kubernetes/kube-proxy.conf',
    identity: () => ({ cn: 'system:kube-proxy', o: [] }),
    readBy: ['kube-proxy'],
    // kubeadm runs kube-proxy as a DaemonSet with a service-account token: an unused client
    // credential on every host is only something to steal.
    kubeadm: { on: [], why: 'kubeadm runs kube-proxy as a DaemonSet with a service-account token; nothing reads kube-proxy.conf' },
  },
] as const satisfies readonly KubeconfigEntry[];

/**
 * The node selectors an entry goes to under the plan's `deploy`: its own (`on`, or a CA's
 * `certOn`) for binary installs, its `kubeadm` placement when kubeadm assembles the cluster.
 */
export function deployedOn(plan: Plan, entry: CatalogEntry, own: readonly NodeSelector[]): readonly NodeSelector[] {
  return plan.deploy === 'kubeadm' && entry.kubeadm ? entry.kubeadm.on : own;
}

export const CATALOG: readonly CatalogEntry[] = [...CAS, ...KEYPAIRS, ...CERTS, ...KUBECONFIGS];
