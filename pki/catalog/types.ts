/**
 * Types of the certificate catalog: one entry per *kind* of credential, as data.
 * Generation, audit, renewal and CSR generation all read the same entries
 * (see entries.ts); nothing else in kpki lists certificates by hand.
 */
import type { Plan, PlanNode } from '../plan/types.js';
import type { Usage } from '../x509/profile.js';

export type CaId = 'ca' | 'front-proxy-ca' | 'etcd-ca';
export type { Usage };

/**
 * A program that reads credentials: the one to restart after a renewal. `admin` is the people
 * and tools (kubectl, etcdctl) holding a copy: nothing restarts, the file is handed out again.
 */
export type Component =
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kubelet'
  | 'kube-proxy'
  | 'etcd'
  | 'admin';

/** Where a serving certificate is served: what a live probe connects to and compares. */
export interface Serves {
  readonly component: Extract<Component, 'kube-apiserver' | 'etcd' | 'kubelet'>;
  /** `apiserver`: the plan's `apiServer.bindPort`, on the node's address; else a fixed port. */
  readonly port: 'apiserver' | number;
  /** Also reached through the control-plane endpoint (a load balancer in front of every such node). */
  readonly alsoVia?: 'endpoint';
  /**
   * `per-connection`: the component loads the files on every new TLS connection (etcd's transport
   * does; measured with etcd 3.4), so serving an old certificate means the node's file is old,
   * not the process. Absent: the running process holds what it loaded.
   */
  readonly reloads?: 'per-connection';
}

/** Which nodes of the plan an entry applies to. */
export type NodeSelector =
  | 'control-plane'
  /**
   * kubeadm's init node: the node marked `init: true`, else the first control plane in plan
   * order (the planner overrides this with the node that already holds the credential).
   */
  | 'init-node'
  /** Control-plane nodes when etcd is stacked, nodes with role `etcd` when external. */
  | 'etcd-member'
  /** Every node that runs a kubelet: control-plane and worker nodes. */
  | 'kubelet';

export interface Identity {
  readonly cn: string;
  /** Organisations, in order; empty for none. */
  readonly o: readonly string[];
}

/** Subject alternative names before normalisation (duplicates allowed, IPs not yet split). */
export interface SanInput {
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  /** Entries that may be either (certSANs, extraSANs, endpoint host); sorted out by resolve. */
  readonly any?: readonly string[];
}

/** What a resolver gets: the plan and, for per-node entries, the node. */
export interface NodeContext {
  readonly plan: Plan;
  readonly node: PlanNode;
}

/** A Kubernetes minor release, `1.29`. */
export type KubernetesMinor = `1.${number}`;

interface EntryBase {
  /**
   * Who reads the files of this entry (flags, manifests, kubeconfigs), i.e. what must be
   * restarted, or for `admin` handed the new file, after a renewal. Empty: nothing reads it.
   */
  readonly readBy: readonly Component[];
  /** Stable id, used on the CLI, in reports and in JSON output. */
  readonly id: string;
  /** One line for --help and tables. */
  readonly title: string;
  /**
   * The first Kubernetes release that has this credential (kubeadm writes super-admin.conf from
   * 1.29). A plan naming an older `kubernetesVersion` gets none; a plan naming none gets it.
   */
  readonly since?: KubernetesMinor;
  /**
   * Where the entry goes on a `deploy: kubeadm` cluster when that is less than its binary-install
   * placement (`on`, or `certOn` for a CA): kubeadm join makes some files itself and refuses to
   * run where they already exist. `why` is the reason given when such a file leaves a tree.
   */
  readonly kubeadm?: { readonly on: readonly NodeSelector[]; readonly why: string };
}

/** A self-signed certificate authority, shared by the whole cluster. */
export interface CaEntry extends EntryBase {
  readonly kind: 'ca';
  readonly id: CaId;
  readonly cn: string;
  /** Path stem under the PKI directory (`etc/kubernetes/pki/` on nodes, `pki/` in the store). */
  readonly stem: string;
  /** Nodes that get the CA certificate. */
  readonly certOn: readonly NodeSelector[];
  /** Nodes that get the CA private key (kubeadm keeps CA keys on control-plane nodes). */
  readonly keyOn: readonly NodeSelector[];
}

/** A key pair without a certificate (the service-account token signing key). */
export interface KeyPairEntry extends EntryBase {
  readonly kind: 'keypair';
  readonly stem: string;
  readonly on: readonly NodeSelector[];
}

/** A leaf certificate written as `<stem>.crt` + `<stem>.key`, one per selected node. */
export interface CertEntry extends EntryBase {
  readonly kind: 'cert';
  readonly signer: CaId;
  readonly on: NodeSelector;
  readonly usages: readonly Usage[];
  readonly identity: (ctx: NodeContext) => Identity;
  readonly sans?: (ctx: NodeContext) => SanInput;
  /** Node-root-relative path without extension, e.g. `etc/kubernetes/pki/apiserver`. */
  readonly path: string;
  /** Serving certificates: the port that serves it (live probes derive their targets from this). */
  readonly serves?: Serves;
}

/** A kubeconfig with an embedded client certificate, one per selected node. */
export interface KubeconfigEntry extends EntryBase {
  readonly kind: 'kubeconfig';
  readonly signer: 'ca';
  readonly on: NodeSelector;
  readonly identity: (ctx: NodeContext) => Identity;
  /** `endpoint`: the control-plane endpoint (LB); `local`: this node's own apiserver. */
  readonly server: 'endpoint' | 'local';
  /** Node-root-relative file path, e.g. `etc/kubernetes/admin.conf`. */
  readonly path: string;
}

export type CatalogEntry = CaEntry | KeyPairEntry | CertEntry | KubeconfigEntry;
/** Entries that carry an issued certificate (not CAs, not key pairs). */
export type LeafEntry = CertEntry | KubeconfigEntry;
