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
 *
 * The three directories are the guides' defaults; a plan may move each (`layout: { name: cfssl,
 * kubernetesDir: /k8s/kubernetes/ssl, etcdDir: /k8s/etcd/ssl, kubeconfigDir: /k8s/kubernetes/cfg }`,
 * the other family of guides), and cfsslLayout puts the same names there.
 */
import type { CAS, CERTS, KEYPAIRS, KUBECONFIGS } from '../catalog/entries.js';
import { CFSSL_DEFAULT_DIRS, type LayoutDirs } from '../plan/types.js';

/** Every id the catalog has; the table below must name each one (a compile error otherwise). */
export type CatalogId =
  | (typeof CAS)[number]['id']
  | (typeof KEYPAIRS)[number]['id']
  | (typeof CERTS)[number]['id']
  | (typeof KUBECONFIGS)[number]['id'];

/** A directory as node trees hold it: relative to the node's root (`etc/...`, no leading `/`). */
const inTree = (dir: string) => dir.replace(/^\/+/, '').replace(/\/+$/, '');

/** The guides' directories, node-root-relative. */
export const CFSSL_KUBERNETES_DIR = inTree(CFSSL_DEFAULT_DIRS.kubernetesDir);
export const CFSSL_ETCD_DIR = inTree(CFSSL_DEFAULT_DIRS.etcdDir);
const KUBECONFIG_DIR = inTree(CFSSL_DEFAULT_DIRS.kubeconfigDir);

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

/** Which of a plan's directories replaces each of the guides' (every cfsslPath is `<one of these>/<file>`). */
const DIR_FIELD: ReadonlyMap<string, keyof LayoutDirs> = new Map([
  [CFSSL_KUBERNETES_DIR, 'kubernetesDir'],
  [CFSSL_ETCD_DIR, 'etcdDir'],
  [KUBECONFIG_DIR, 'kubeconfigDir'],
]);

/** The cfssl layout with its files in `dirs` (absolute, as the plan names them): the same names, other directories. */
export function cfsslLayout(dirs: LayoutDirs): (id: CatalogId, part: CfsslPart) => string | undefined {
  const moved = new Map([...DIR_FIELD].map(([from, field]) => [from, inTree(dirs[field])]));
  return (id, part) => {
    const path = cfsslPath(id, part);
    if (path === undefined) return undefined;
    const slash = path.lastIndexOf('/');
    const dir = moved.get(path.slice(0, slash));
    if (dir === undefined) throw new Error(`internal error: ${path} is in none of the cfssl layout's directories`);
    return `${dir}${path.slice(slash)}`;
  };
}

/** Every file name of the table (ca.pem, server-key.pem, admin.kubeconfig, ...). */
const ALL_NAMES: ReadonlySet<string> = new Set(
  (Object.keys(CFSSL_NAMES) as CatalogId[]).flatMap((id) =>
    (['crt', 'key', 'pub', 'kubeconfig'] as const).map((part) => cfsslPath(id, part)?.split('/').pop()).filter((n): n is string => n !== undefined)),
);

/** Whether a file name is one the cfssl layout writes. */
export const isCfsslName = (name: string): boolean => ALL_NAMES.has(name);

/** File names only one credential has in the table (peer.pem, kube-proxy.pem, kubelet.kubeconfig, ...), with their directory. */
const UNIQUE_NAMES: ReadonlyMap<string, keyof LayoutDirs> = (() => {
  const seen = new Map<string, (keyof LayoutDirs)[]>();
  for (const id of Object.keys(CFSSL_NAMES) as CatalogId[]) {
    for (const part of ['crt', 'key', 'pub', 'kubeconfig'] as const) {
      const path = cfsslPath(id, part);
      if (path === undefined) continue;
      const slash = path.lastIndexOf('/');
      const name = path.slice(slash + 1);
      seen.set(name, [...(seen.get(name) ?? []), DIR_FIELD.get(path.slice(0, slash))!]);
    }
  }
  return new Map([...seen].filter(([, fields]) => fields.length === 1).map(([name, [field]]) => [name, field!]));
})();

/**
 * The cfssl directories a node tree's files are in (absolute), read from the names only one
 * credential has: how a re-run finds a tree written under directories the plan has since moved.
 * `paths` are node-root-relative; directories with no such file are left out.
 */
export function cfsslDirsIn(paths: Iterable<string>): Partial<LayoutDirs> {
  const dirs: { -readonly [K in keyof LayoutDirs]?: string } = {};
  for (const path of paths) {
    const slash = path.lastIndexOf('/');
    const field = UNIQUE_NAMES.get(path.slice(slash + 1));
    if (field !== undefined && slash > 0) dirs[field] ??= `/${path.slice(0, slash)}`;
  }
  return dirs;
}
