/**
 * Is a certificate's subject right for the role it plays? Judged by what reads it, not by
 * equality with kubeadm's subject (kubernetes-pki.md §7):
 *  - serving certificates: clients check SANs (rules.ts), never the CN or O;
 *  - etcd clients: etcd's --client-cert-auth checks the chain only (etcd auth is off in kubeadm
 *    and the guides), so CN and O are never read;
 *  - the front-proxy client: aggregated API servers accept only the CNs in
 *    --requestheader-allowed-names (kubeadm: front-proxy-client);
 *  - clients of the apiserver (and of the kubelet, which asks the apiserver): the user (CN) and
 *    groups (O) are what RBAC, the Node authorizer and system:masters act on.
 * A wrong user, or a missing group the role is authorized through, breaks it (critical);
 * system:masters where the role does not need it is unsafe (warning); anything else that
 * differs from kubeadm's subject is information.
 */
import type { CaId } from '../catalog/types.js';
import { finding, type Finding } from '../findings.js';
import type { CatalogId } from '../layout/cfssl-names.js';
import type { LeafRoleEntry } from './roles.js';
import { expectedIdentity } from './roles.js';
import type { ClusterVersion } from './version.js';

const MASTERS = 'system:masters';
const CLUSTER_ADMINS = 'kubeadm:cluster-admins';
const NODES = 'system:nodes';
/** kubeadm binds kubeadm:cluster-admins to cluster-admin from this minor on (KK#121305). */
const CLUSTER_ADMINS_SINCE = 29;

/** What authorizes a client of the apiserver: its user name, and the group it needs. */
interface ApiClient {
  readonly kind: 'apiserver';
  /** The user name is what RBAC binds (`system:kube-scheduler`); false: a group carries it. */
  readonly user: boolean;
  /** `cluster-admin`: system:masters, or kubeadm:cluster-admins from 1.29; `superuser`: system:masters. */
  readonly group?: 'cluster-admin' | 'superuser' | typeof NODES;
}

type Reader = { readonly kind: 'tls-server' } | { readonly kind: 'etcd' } | { readonly kind: 'requestheader' } | ApiClient;

/** Every leaf role the catalog has: a new one fails to compile until it is judged here. */
const READERS: { readonly [id in Exclude<CatalogId, CaId | 'sa'>]: Reader } = {
  'apiserver': { kind: 'tls-server' },
  'kubelet-serving': { kind: 'tls-server' },
  'etcd-server': { kind: 'tls-server' },
  'etcd-peer': { kind: 'tls-server' },
  'apiserver-etcd-client': { kind: 'etcd' },
  'etcd-healthcheck-client': { kind: 'etcd' },
  'front-proxy-client': { kind: 'requestheader' },
  // kubelets ask the apiserver (webhook authorization) about the apiserver's own requests
  'apiserver-kubelet-client': { kind: 'apiserver', user: false, group: 'cluster-admin' },
  'admin.conf': { kind: 'apiserver', user: false, group: 'cluster-admin' },
  'super-admin.conf': { kind: 'apiserver', user: false, group: 'superuser' },
  'controller-manager.conf': { kind: 'apiserver', user: true },
  'scheduler.conf': { kind: 'apiserver', user: true },
  'kube-proxy.conf': { kind: 'apiserver', user: true },
  'kubelet.conf': { kind: 'apiserver', user: true, group: NODES },
};

export interface IdentityContext {
  /** The node the certificate belongs to, when known (`system:node:<name>`). */
  readonly node?: string;
  /** The cluster's release, when known. */
  readonly version?: ClusterVersion;
  readonly ref?: string;
}

const quote = (o: readonly string[]) => (o.length ? `"${o.join(',')}"` : 'no O');
const runs = (v: ClusterVersion | undefined) => (v ? `this cluster runs ${v.text} (from ${v.source})` : 'the cluster\'s release is unknown (pass --kubernetes-version or --plan)');

/** Findings about the subject of a certificate playing `entry`'s role. */
export function identityFindings(entry: LeafRoleEntry, subject: { readonly cn: string; readonly o: readonly string[] }, file: string, ctx: IdentityContext): Finding[] {
  const reader: Reader = (READERS as Readonly<Record<string, Reader>>)[entry.id] ?? { kind: 'tls-server' };
  const want = expectedIdentity(entry, ctx.node, ctx.version?.minor);
  const { cn, o } = subject;
  const out: Finding[] = [];
  const add = (code: Parameters<typeof finding>[0], message: string) => out.push(finding(code, file, message, ctx.ref));
  const differs = want !== undefined && (want.cn !== cn || want.o.join('\n') !== o.join('\n'));
  const kubeadm = want ? `kubeadm gives ${entry.id} CN "${want.cn}", ${quote(want.o)}` : `kubeadm gives ${entry.id} another subject`;
  if (reader.kind === 'tls-server') {
    if (differs) add('identity-differs', `CN "${cn}", ${quote(o)}: ${kubeadm}; clients check a serving certificate's SANs, not its subject`);
    return out;
  }
  if (reader.kind === 'etcd') {
    if (differs) add('identity-differs', `CN "${cn}", ${quote(o)}: ${kubeadm}; etcd checks only that a client certificate chains to its CA`);
    return out;
  }
  if (reader.kind === 'requestheader') {
    if (want && want.cn !== cn) add('identity-mismatch', `CN "${cn}": aggregated API servers accept the front proxy only under the names in --requestheader-allowed-names (kubeadm: "${want.cn}")`);
    else if (differs) add('identity-differs', `O ${quote(o)}: aggregated API servers read only the CN`);
    return out;
  }
  // A client of the apiserver: the user and groups it will see.
  const needed = new Set<string>();
  if (reader.user) {
    const user = want?.cn;
    const prefix = user === undefined ? 'system:node:' : undefined; // kubelet.conf on an unknown node
    if (user !== undefined && cn !== user) add('identity-mismatch', `CN "${cn}": the apiserver sees user "${cn}", but ${entry.id} is authorized as "${user}"`);
    else if (prefix && !cn.startsWith(prefix)) add('identity-mismatch', `CN "${cn}": the apiserver sees user "${cn}", but ${entry.id} is authorized as "${prefix}<node>"`);
  } else if (want && cn !== want.cn) {
    add('identity-differs', `CN "${cn}" (kubeadm: "${want.cn}"): ${entry.id} is authorized through its group, so the user name only shows in audit logs`);
  }
  const v = ctx.version;
  if (reader.group === NODES || reader.group === 'superuser') {
    const g = reader.group === NODES ? NODES : MASTERS;
    needed.add(g);
    if (!o.includes(g)) add('identity-mismatch', `O ${quote(o)}: ${entry.id} needs group "${g}"; without it its requests are denied`);
  } else if (reader.group === 'cluster-admin') {
    const masters = o.includes(MASTERS);
    const admins = o.includes(CLUSTER_ADMINS);
    const before = v !== undefined && v.minor < CLUSTER_ADMINS_SINCE;
    if (masters) needed.add(MASTERS);
    if (admins && !before) needed.add(CLUSTER_ADMINS);
    if (!masters && !admins) {
      add('identity-mismatch', `O ${quote(o)}: ${entry.id} needs "${before ? MASTERS : CLUSTER_ADMINS}" (or "${MASTERS}") to be a cluster administrator; without it its requests are denied`);
    } else if (!masters && admins && before) {
      add('identity-mismatch', `O "${CLUSTER_ADMINS}": kubeadm binds that group to cluster-admin only from 1.${CLUSTER_ADMINS_SINCE} and ${runs(v)}; ${entry.id} needs "${MASTERS}" there`);
    } else if (masters && v !== undefined && !before) {
      add('legacy-identity', `O "${MASTERS}" is kubeadm's identity for ${entry.id} before 1.${CLUSTER_ADMINS_SINCE} and ${runs(v)}: it should be in "${CLUSTER_ADMINS}"`);
    } else if (masters && !admins) {
      add('older-release-identity', `O "${MASTERS}": ${entry.id}'s identity before 1.${CLUSTER_ADMINS_SINCE} ("${CLUSTER_ADMINS}" after); ${runs(v)}`);
    }
  }
  for (const g of o) {
    if (needed.has(g)) continue;
    if (g === MASTERS) add('identity-privileged', `O "${MASTERS}": ${entry.id} needs no superuser group, and with it the holder of this key bypasses authorization`);
    else if (!(reader.group === 'cluster-admin' && g === CLUSTER_ADMINS)) add('identity-differs', `O "${g}": a group kubeadm does not give ${entry.id} and nothing binds by default; it grants nothing`);
  }
  return out;
}
