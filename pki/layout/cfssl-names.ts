/**
 * The cfssl / binary-install file names: ONE table from catalog id to where that credential
 * lives on a node in the layout of the hand-written binary-install guides (`layout: cfssl`).
 * Data only; the catalog still decides what exists and which nodes get it.
 *
 * Source: the cfssl-based "binary install" guides, which share one shape: cfssljson's names
 * `<name>.pem` + `<name>-key.pem`, Kubernetes files in /etc/kubernetes/ssl/ (ca.pem,
 * ca-key.pem, server.pem for the API server, kube-proxy.pem), etcd files apart in /etc/etcd/ssl/
 * (ca.pem, server.pem, server-key.pem), kubeconfigs as /etc/kubernetes/<component>.kubeconfig.
 * Seen in the kube-apiserver/etcd units of those guides, e.g.
 *   --tls-cert-file=/etc/kubernetes/ssl/server.pem --client-ca-file=/etc/kubernetes/ssl/ca.pem
 *   --etcd-cafile=/etc/etcd/ssl/ca.pem --etcd-certfile=/etc/etcd/ssl/server.pem
 *   etcd --cert-file=/etc/etcd/ssl/server.pem --trusted-ca-file=/etc/etcd/ssl/ca.pem
 * (kubernetes-pki.md §6: cfssljson `-bare` names; peers-and-pain-points.md: kubeasz's
 * /etc/kubernetes/ssl; Kubernetes The Hard Way's cfssl era used the same *.pem / *-key.pem pairs).
 *
 * Where a guide reuses one file for two jobs, kpki keeps the catalog's separate credentials and
 * gives the second one its own name, so nothing collides on a node:
 *  - the guides' etcd units pass server.pem as the peer certificate too. kpki's etcd-server
 *    certificate has the peer SANs and both usages, so those units keep working; the peer
 *    certificate is written as peer.pem for units that name one (the etcd project's own naming);
 *  - the guides point the API server's --etcd-certfile at /etc/etcd/ssl/server.pem. That works
 *    on a node that is also an etcd member (the server certificate has clientAuth); the dedicated
 *    client is apiserver-etcd-client.pem, which external-etcd control planes need;
 *  - the guides sign service-account tokens with ca-key.pem. kpki keeps a separate key pair
 *    (sa.pub, sa-key.pem); units that name ca-key.pem still find the CA key there.
 * The kubelet serving certificate is kubelet.crt / kubelet.key in /etc/kubernetes/ssl, the names
 * the kubelet itself looks for in its --cert-dir (the guides' /etc/kubernetes/ssl) before it makes
 * a self-signed one: placed there, it is used with no flag changed.
 */
import type { CAS, CERTS, KEYPAIRS, KUBECONFIGS } from '../catalog/entries.js';

/** Every id the catalog has; the table below must name each one (a compile error otherwise). */
export type CatalogId =
  | (typeof CAS)[number]['id']
  | (typeof KEYPAIRS)[number]['id']
  | (typeof CERTS)[number]['id']
  | (typeof KUBECONFIGS)[number]['id'];

/** Node-root-relative directories, as the layout writes node trees (`etc/...`, no leading `/`). */
export const CFSSL_KUBERNETES_DIR = 'etc/kubernetes/ssl';
export const CFSSL_ETCD_DIR = 'etc/etcd/ssl';
const KUBECONFIG_DIR = 'etc/kubernetes';

/** A certificate (CA or leaf) and its key; for key pairs, `crt` is the public key. */
export interface CfsslPair {
  readonly dir: string;
  readonly crt: string;
  readonly key: string;
}

export type CfsslName =
  | ({ readonly kind: 'pair' } & CfsslPair)
  /** The kubeconfig file; `pem`: where the guides also keep its client certificate and key. */
  | { readonly kind: 'kubeconfig'; readonly file: string; readonly pem?: CfsslPair };

const pem = (dir: string, name: string): { readonly kind: 'pair' } & CfsslPair => ({ kind: 'pair', dir, crt: `${name}.pem`, key: `${name}-key.pem` });
const k8s = (name: string) => pem(CFSSL_KUBERNETES_DIR, name);
const etcd = (name: string) => pem(CFSSL_ETCD_DIR, name);
const kubeconfig = (name: string, client?: string): CfsslName => ({
  kind: 'kubeconfig',
  file: `${KUBECONFIG_DIR}/${name}.kubeconfig`,
  ...(client !== undefined && { pem: { dir: CFSSL_KUBERNETES_DIR, crt: `${client}.pem`, key: `${client}-key.pem` } }),
});

export const CFSSL_NAMES: { readonly [id in CatalogId]: CfsslName } = {
  // CAs: the Kubernetes CA and the etcd CA are both ca.pem, in their own directories.
  'ca': k8s('ca'),
  'front-proxy-ca': k8s('front-proxy-ca'),
  'etcd-ca': etcd('ca'),
  // Service-account key pair: sa.pub (the "certificate" slot holds the public key) and sa-key.pem.
  'sa': { kind: 'pair', dir: CFSSL_KUBERNETES_DIR, crt: 'sa.pub', key: 'sa-key.pem' },
  'apiserver': k8s('server'),
  'apiserver-kubelet-client': k8s('apiserver-kubelet-client'),
  'front-proxy-client': k8s('front-proxy-client'),
  'apiserver-etcd-client': etcd('apiserver-etcd-client'),
  'etcd-server': etcd('server'),
  'etcd-peer': etcd('peer'),
  'etcd-healthcheck-client': etcd('healthcheck-client'),
  'kubelet-serving': { kind: 'pair', dir: CFSSL_KUBERNETES_DIR, crt: 'kubelet.crt', key: 'kubelet.key' },
  'admin.conf': kubeconfig('admin', 'admin'),
  'super-admin.conf': kubeconfig('super-admin', 'super-admin'),
  'controller-manager.conf': kubeconfig('kube-controller-manager', 'kube-controller-manager'),
  'scheduler.conf': kubeconfig('kube-scheduler', 'kube-scheduler'),
  'kubelet.conf': kubeconfig('kubelet'),
  'kube-proxy.conf': kubeconfig('kube-proxy', 'kube-proxy'),
};

/** Which file of a credential: its certificate (or public key), its key, or its kubeconfig. */
export type CfsslPart = 'crt' | 'key' | 'pub' | 'kubeconfig';

/**
 * The node-root-relative path of one part of a credential in the cfssl layout, or undefined when
 * the layout has no such file (a kubeconfig's separate client pem, when the guides keep none).
 * `crt` of a kubeconfig entry is its client certificate (`pem`); `pub` is the key pair's public key.
 */
export function cfsslPath(id: CatalogId, part: CfsslPart): string | undefined {
  const name = CFSSL_NAMES[id];
  if (name.kind === 'kubeconfig') {
    if (part === 'kubeconfig') return name.file;
    if (!name.pem || part === 'pub') return undefined;
    return `${name.pem.dir}/${part === 'crt' ? name.pem.crt : name.pem.key}`;
  }
  if (part === 'kubeconfig') return undefined;
  return `${name.dir}/${part === 'key' ? name.key : name.crt}`;
}
