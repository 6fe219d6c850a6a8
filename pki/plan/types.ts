/**
 * The cluster plan in two forms: `PlanInput` is what a user writes in cluster.yaml
 * (everything optional that has a default), `Plan` is the validated, normalised value the
 * rest of kpki reads. Nothing downstream ever sees a `PlanInput`.
 */

export const PLAN_API_VERSION = 'kpki/v1alpha1';
export const PLAN_KIND = 'Cluster';

export const ROLES = ['control-plane', 'etcd', 'worker', 'load-balancer'] as const;
export type Role = (typeof ROLES)[number];

/** How the cluster is assembled: kubeadm init/join around kpki's files, or hand-run binaries. */
export const DEPLOYS = ['binary', 'kubeadm'] as const;
export type Deploy = (typeof DEPLOYS)[number];

/** File names and directories of the node trees: kubeadm's, or the cfssl binary-install guides'. */
export const LAYOUTS = ['kubeadm', 'cfssl'] as const;
export type Layout = (typeof LAYOUTS)[number];

/**
 * The directories of the cfssl layout on a node, absolute (`/k8s/kubernetes/ssl`): Kubernetes
 * certificates and keys, etcd's, and the kubeconfigs. kubeadm's layout has fixed directories.
 */
export interface LayoutDirs {
  readonly kubernetesDir: string;
  readonly etcdDir: string;
  readonly kubeconfigDir: string;
}
export const LAYOUT_DIR_FIELDS = ['kubernetesDir', 'etcdDir', 'kubeconfigDir'] as const satisfies readonly (keyof LayoutDirs)[];

/** The cfssl guides' directories, used where a plan does not set its own. */
export const CFSSL_DEFAULT_DIRS: LayoutDirs = { kubernetesDir: '/etc/kubernetes/ssl', etcdDir: '/etc/etcd/ssl', kubeconfigDir: '/etc/kubernetes' };

/** `layout:` as written: a name, or a name with directories. */
export type LayoutInput = Layout | ({ name: Layout } & { -readonly [K in keyof LayoutDirs]?: string });

/** Oldest Kubernetes minor release kpki writes identities and kubeadm configuration for. */
export const MIN_KUBERNETES_MINOR = 20;

export const KEY_ALGORITHMS = ['rsa-2048', 'rsa-3072', 'rsa-4096', 'ecdsa-p256', 'ecdsa-p384'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** Extra subject attributes for the CA certificates (cfssl-style installs set these). */
export interface SubjectExtras {
  readonly C?: string;
  readonly ST?: string;
  readonly L?: string;
  readonly O?: string;
  readonly OU?: string;
}

/** cluster.yaml as written. Field names are a public contract: other tools write them. */
export interface PlanInput {
  apiVersion: typeof PLAN_API_VERSION;
  kind: typeof PLAN_KIND;
  clusterName?: string;
  /** `v1.31.2`, `1.31.2` or `1.31`; selects identities and the kubeadm config API version. */
  kubernetesVersion?: string;
  deploy?: Deploy;
  layout?: LayoutInput;
  controlPlaneEndpoint?: string;
  apiServer?: { bindPort?: number; certSANs?: string[] };
  networking?: { serviceSubnet?: string; podSubnet?: string; dnsDomain?: string };
  etcd?: { external?: boolean; dataDir?: string };
  /** `kpki install`: where the component binaries are on the hosts. */
  binDir?: string;
  /** `kpki install`: settings of every kubelet. */
  kubelet?: { containerRuntimeEndpoint?: string; cgroupDriver?: CgroupDriver; clusterDNS?: string };
  /** `kpki install`: a virtual IP that keepalived moves between the load-balancer nodes. */
  loadBalancer?: { vip: string; interface: string };
  /** `kpki install`: flags appended to a component's command line, `--name=value` each. */
  extraFlags?: { [C in UnitComponent]?: string[] };
  pki?: {
    keyAlgorithm?: KeyAlgorithm;
    caValidity?: string;
    certValidity?: string;
    /** Reissue a leaf when it has less than this left (default 720h = 30 days). */
    renewBefore?: string;
    subject?: SubjectExtras;
  };
  nodes: Array<{
    name: string;
    address: string;
    roles: Role[];
    extraSANs?: string[];
    /** kubeadm's init node (the one that gets super-admin.conf); at most one, a control plane. */
    init?: boolean;
    ssh?: NodeSsh;
  }>;
}

/** The programs `kpki install` writes a systemd unit for. */
export const UNIT_COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy'] as const;
export type UnitComponent = (typeof UNIT_COMPONENTS)[number];

export const CGROUP_DRIVERS = ['systemd', 'cgroupfs'] as const;
export type CgroupDriver = (typeof CGROUP_DRIVERS)[number];

/**
 * What `kpki install` needs beyond the PKI, defaults filled in. Every value here was
 * validated as safe to write unquoted into a systemd unit or a config file.
 */
export interface HostSettings {
  readonly binDir: string;
  readonly etcdDataDir: string;
  readonly containerRuntimeEndpoint: string;
  readonly cgroupDriver: CgroupDriver;
  /** The cluster DNS service IP (default: the 10th address of the first service subnet). */
  readonly clusterDNS: string;
  readonly loadBalancer?: { readonly vip: string; readonly interface: string };
  readonly extraFlags: { readonly [C in UnitComponent]: readonly string[] };
}

export type IpFamily = 4 | 6;

/** A CIDR, parsed. `network` is the canonical text form of the network address. */
export interface Cidr {
  readonly text: string;
  readonly family: IpFamily;
  readonly network: string;
  readonly prefix: number;
}

/** `host[:port]` with the host classified; IPv6 hosts are stored without brackets. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly hostIsIp: boolean;
}

export interface PlanNode {
  readonly name: string;
  /** Canonical textual IP (IPv6 compressed, lower case). */
  readonly address: string;
  readonly family: IpFamily;
  readonly roles: readonly Role[];
  readonly extraSANs: readonly string[];
  /** How kpki reaches the node over SSH, as written (defaults apply where it connects). */
  readonly ssh?: NodeSsh;
}

/** `nodes[].ssh`: host (default the node's address), port, user (default root), identity file. */
export interface NodeSsh {
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly identityFile?: string;
}

/** A Kubernetes release as the plan names it; `text` is what the user wrote. */
export interface KubernetesVersion {
  readonly major: number;
  readonly minor: number;
  /** Absent when the plan names a minor release only (`1.28`). */
  readonly patch?: number;
  readonly text: string;
}

export interface Plan {
  /** Where the plan came from, for messages; `<memory>` when parsed from a string. */
  readonly source: string;
  readonly clusterName: string;
  /** Absent: identities follow the newest rules (kubeadm 1.29+). */
  readonly kubernetesVersion?: KubernetesVersion;
  readonly deploy: Deploy;
  readonly layout: Layout;
  /** layout cfssl: its directories (the guides' where the plan sets none); absent for kubeadm's layout. */
  readonly layoutDirs?: LayoutDirs;
  /**
   * The node marked `init: true`, when one is. Absent otherwise: generate then keeps the node
   * the store recorded (or whose tree holds super-admin.conf), else the first control plane,
   * so reordering `nodes` never moves it.
   */
  readonly initNode?: string;
  /** Always set: the explicit endpoint, or the single control plane's address and bindPort. */
  readonly controlPlaneEndpoint: Endpoint;
  readonly apiServer: { readonly bindPort: number; readonly certSANs: readonly string[] };
  readonly networking: {
    readonly serviceSubnets: readonly Cidr[];
    readonly podSubnets: readonly Cidr[];
    readonly dnsDomain: string;
  };
  readonly etcd: { readonly external: boolean };
  /** Set by the normaliser; absent only in plans built by hand (install then applies the defaults). */
  readonly host?: HostSettings;
  readonly pki: {
    readonly keyAlgorithm: KeyAlgorithm;
    /** Durations in milliseconds. */
    readonly caValidityMs: number;
    readonly certValidityMs: number;
    readonly renewBeforeMs: number;
    readonly subject: SubjectExtras;
  };
  /** In plan order. */
  readonly nodes: readonly PlanNode[];
}
