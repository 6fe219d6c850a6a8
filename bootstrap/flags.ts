/**
 * THE flag table of `kpki install`: for each component, every command-line flag kpki sets and
 * where its value comes from, per Kubernetes minor release. Which credential a component reads
 * is the catalog's fact (`readBy`); this table adds only how the component is told (the flag
 * or config field), so a template never names a file: it asks the table. A test holds every
 * file reference here to the catalog's `readBy` of that component.
 *
 * Releases: `since`/`until` are Kubernetes minors (`until` is the first release that no longer
 * takes the flag). Only flags accepted from 1.20 through current releases within those bounds;
 * never a removed one (`--insecure-port`, `--kubelet-https`, `--experimental-*`).
 */
import type { CatalogId } from '../pki/layout/cfssl-names.js';
import type { Part } from '../pki/layout/layout.js';
import type { UnitComponent } from '../pki/plan/types.js';

/** Values computed from the plan and the node (see render/values.ts). */
export type Fact =
  | 'node-name'
  | 'node-address'
  | 'bind-port'
  | 'etcd-data-dir'
  | 'etcd-client-url'
  | 'etcd-peer-url'
  | 'etcd-initial-cluster'
  | 'etcd-servers'
  | 'service-cidr'
  | 'pod-cidr'
  | 'sa-issuer'
  | 'kubelet-config'
  | 'kube-proxy-config'
  | 'cri-endpoint';

/** A catalog credential's file on the node (its path comes from the plan's layout), a fact, or a constant. */
export type FlagValue =
  | { readonly file: CatalogId; readonly part: Part }
  | { readonly fact: Fact }
  | { readonly literal: string };

export interface FlagSpec {
  /** Without the leading `--`. */
  readonly flag: string;
  readonly value: FlagValue;
  /** First Kubernetes minor that takes it (absent: every supported release). */
  readonly since?: number;
  /** First Kubernetes minor that no longer takes it (or where kpki moves it to a config field). */
  readonly until?: number;
  /** Only when the plan has a pod subnet. */
  readonly needs?: 'pod-subnet';
}

const file = (id: CatalogId, part: Part): FlagValue => ({ file: id, part });
const fact = (f: Fact): FlagValue => ({ fact: f });
const literal = (v: string): FlagValue => ({ literal: v });

export const COMPONENT_FLAGS: { readonly [C in UnitComponent]: readonly FlagSpec[] } = {
  // etcd 3.4 / 3.5: client and peer TLS, both with client-certificate authentication.
  etcd: [
    { flag: 'name', value: fact('node-name') },
    { flag: 'data-dir', value: fact('etcd-data-dir') },
    { flag: 'listen-client-urls', value: fact('etcd-client-url') },
    { flag: 'advertise-client-urls', value: fact('etcd-client-url') },
    { flag: 'listen-peer-urls', value: fact('etcd-peer-url') },
    { flag: 'initial-advertise-peer-urls', value: fact('etcd-peer-url') },
    { flag: 'initial-cluster', value: fact('etcd-initial-cluster') },
    { flag: 'initial-cluster-state', value: literal('new') },
    { flag: 'initial-cluster-token', value: literal('kpki-etcd') },
    { flag: 'cert-file', value: file('etcd-server', 'crt') },
    { flag: 'key-file', value: file('etcd-server', 'key') },
    { flag: 'trusted-ca-file', value: file('etcd-ca', 'crt') },
    { flag: 'client-cert-auth', value: literal('true') },
    { flag: 'peer-cert-file', value: file('etcd-peer', 'crt') },
    { flag: 'peer-key-file', value: file('etcd-peer', 'key') },
    { flag: 'peer-trusted-ca-file', value: file('etcd-ca', 'crt') },
    { flag: 'peer-client-cert-auth', value: literal('true') },
  ],
  'kube-apiserver': [
    { flag: 'advertise-address', value: fact('node-address') },
    { flag: 'secure-port', value: fact('bind-port') },
    { flag: 'allow-privileged', value: literal('true') },
    { flag: 'authorization-mode', value: literal('Node,RBAC') },
    { flag: 'enable-admission-plugins', value: literal('NodeRestriction') },
    { flag: 'service-cluster-ip-range', value: fact('service-cidr') },
    { flag: 'client-ca-file', value: file('ca', 'crt') },
    { flag: 'tls-cert-file', value: file('apiserver', 'crt') },
    { flag: 'tls-private-key-file', value: file('apiserver', 'key') },
    { flag: 'kubelet-client-certificate', value: file('apiserver-kubelet-client', 'crt') },
    { flag: 'kubelet-client-key', value: file('apiserver-kubelet-client', 'key') },
    // kpki's kubelet serving certificates are CA-signed, so the apiserver can verify them.
    { flag: 'kubelet-certificate-authority', value: file('ca', 'crt') },
    { flag: 'kubelet-preferred-address-types', value: literal('InternalIP,ExternalIP,Hostname') },
    { flag: 'proxy-client-cert-file', value: file('front-proxy-client', 'crt') },
    { flag: 'proxy-client-key-file', value: file('front-proxy-client', 'key') },
    { flag: 'requestheader-client-ca-file', value: file('front-proxy-ca', 'crt') },
    { flag: 'requestheader-allowed-names', value: literal('front-proxy-client') },
    { flag: 'requestheader-username-headers', value: literal('X-Remote-User') },
    { flag: 'requestheader-group-headers', value: literal('X-Remote-Group') },
    { flag: 'requestheader-extra-headers-prefix', value: literal('X-Remote-Extra-') },
    { flag: 'etcd-servers', value: fact('etcd-servers') },
    { flag: 'etcd-cafile', value: file('etcd-ca', 'crt') },
    { flag: 'etcd-certfile', value: file('apiserver-etcd-client', 'crt') },
    { flag: 'etcd-keyfile', value: file('apiserver-etcd-client', 'key') },
    { flag: 'service-account-key-file', value: file('sa', 'pub') },
    { flag: 'service-account-signing-key-file', value: file('sa', 'key') },
    { flag: 'service-account-issuer', value: fact('sa-issuer') },
  ],
  'kube-controller-manager': [
    { flag: 'kubeconfig', value: file('controller-manager.conf', 'kubeconfig') },
    { flag: 'authentication-kubeconfig', value: file('controller-manager.conf', 'kubeconfig') },
    { flag: 'authorization-kubeconfig', value: file('controller-manager.conf', 'kubeconfig') },
    { flag: 'bind-address', value: literal('127.0.0.1') },
    { flag: 'leader-elect', value: literal('true') },
    // Single-CA files: these two flags cannot take a CA bundle (kubeadm#1350).
    { flag: 'client-ca-file', value: file('ca', 'crt') },
    { flag: 'cluster-signing-cert-file', value: file('ca', 'crt') },
    { flag: 'cluster-signing-key-file', value: file('ca', 'key') },
    { flag: 'requestheader-client-ca-file', value: file('front-proxy-ca', 'crt') },
    { flag: 'root-ca-file', value: file('ca', 'crt') },
    { flag: 'service-account-private-key-file', value: file('sa', 'key') },
    { flag: 'use-service-account-credentials', value: literal('true') },
    { flag: 'controllers', value: literal('*,bootstrapsigner,tokencleaner') },
    { flag: 'service-cluster-ip-range', value: fact('service-cidr') },
    { flag: 'allocate-node-cidrs', value: literal('true'), needs: 'pod-subnet' },
    { flag: 'cluster-cidr', value: fact('pod-cidr'), needs: 'pod-subnet' },
    // The insecure port: only 0 from 1.20, the flag gone in 1.24; 0 closes 10252 before 1.22.
    { flag: 'port', value: literal('0'), until: 22 },
  ],
  'kube-scheduler': [
    { flag: 'kubeconfig', value: file('scheduler.conf', 'kubeconfig') },
    { flag: 'authentication-kubeconfig', value: file('scheduler.conf', 'kubeconfig') },
    { flag: 'authorization-kubeconfig', value: file('scheduler.conf', 'kubeconfig') },
    { flag: 'bind-address', value: literal('127.0.0.1') },
    { flag: 'leader-elect', value: literal('true') },
    { flag: 'port', value: literal('0'), until: 23 },
  ],
  // The rest of the kubelet's settings are KubeletConfiguration fields (KUBELET_CONFIG_FILES).
  kubelet: [
    { flag: 'config', value: fact('kubelet-config') },
    { flag: 'kubeconfig', value: file('kubelet.conf', 'kubeconfig') },
    { flag: 'hostname-override', value: fact('node-name') },
    { flag: 'node-ip', value: fact('node-address') },
    { flag: 'container-runtime', value: literal('remote'), until: 24 },
    // From 1.27 the config field containerRuntimeEndpoint (render/kubelet.ts).
    { flag: 'container-runtime-endpoint', value: fact('cri-endpoint'), until: 27 },
  ],
  'kube-proxy': [
    { flag: 'config', value: fact('kube-proxy-config') },
  ],
};

/** A config-file field that names a credential: `path` into the document. */
export interface ConfigFileField {
  readonly path: readonly string[];
  readonly value: { readonly file: CatalogId; readonly part: Part };
}

/** KubeletConfiguration (kubelet.config.k8s.io/v1beta1, every release) fields that name files. */
export const KUBELET_CONFIG_FILES: readonly ConfigFileField[] = [
  { path: ['authentication', 'x509', 'clientCAFile'], value: { file: 'ca', part: 'crt' } },
  { path: ['tlsCertFile'], value: { file: 'kubelet-serving', part: 'crt' } },
  { path: ['tlsPrivateKeyFile'], value: { file: 'kubelet-serving', part: 'key' } },
];

/** KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) fields that name files. */
export const KUBE_PROXY_CONFIG_FILES: readonly ConfigFileField[] = [
  { path: ['clientConnection', 'kubeconfig'], value: { file: 'kube-proxy.conf', part: 'kubeconfig' } },
];

/** Config files kpki writes next to the credentials (root-relative). */
export const CONFIG_PATHS = {
  'kubelet-config': 'var/lib/kubelet/config.yaml',
  'kube-proxy-config': 'var/lib/kube-proxy/config.yaml',
} as const;

/** Whether a spec applies to the plan's release (a plan naming none runs the newest). */
export function inRange(spec: { readonly since?: number; readonly until?: number }, minor: number | undefined): boolean {
  if (minor === undefined) return spec.until === undefined;
  return (spec.since === undefined || minor >= spec.since) && (spec.until === undefined || minor < spec.until);
}
