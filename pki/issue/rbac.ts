/**
 * The RBAC objects kpki's identities need beyond the bindings Kubernetes creates by itself,
 * for clusters that kubeadm does not set up (deploy: binary).
 *
 * Built-in bindings already cover the kubelets (Node authorizer, system:nodes), kube-proxy
 * (system:node-proxier binds the user system:kube-proxy), the controller manager and the
 * scheduler (system:kube-controller-manager, system:kube-scheduler); system:masters bypasses
 * authorization; the front-proxy client and the etcd clients are not RBAC subjects. What is left:
 *  - `kubeadm:cluster-admins`: from 1.29 admin.conf and apiserver-kubelet-client carry this group,
 *    and only kubeadm creates its binding to cluster-admin (EnsureAdminClusterRoleBinding), so
 *    without it `kubectl --kubeconfig admin.conf` is Forbidden on a binary install.
 *  - the API server's client identity toward the kubelets: the kubelet authorizes
 *    logs/exec/port-forward through a SubjectAccessReview on nodes/proxy and friends; the
 *    built-in ClusterRole for that is `system:kubelet-api-admin`, which Kubernetes does not
 *    bind. kubeadm relies on the admin group; binding the user as well keeps `kubectl logs`
 *    working if the admin binding is ever narrowed.
 * Identities are read from the catalog, so the manifest follows the plan's Kubernetes version:
 * before 1.29 both identities are in system:masters and nothing is needed.
 */
import { scalar } from '../kubeconfig/kubeconfig.js';
import { CERTS, KUBECONFIGS } from '../catalog/entries.js';
import { selectNodes } from '../catalog/resolve.js';
import type { Identity, NodeContext } from '../catalog/types.js';
import type { Plan } from '../plan/types.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
/** Authorization is bypassed for this group; no binding can add to it. */
const SUPERUSERS = 'system:masters';

/** Groups only kubeadm binds, and the ClusterRole it binds each to, under the same binding name. */
const KUBEADM_GROUP_BINDINGS: Readonly<Record<string, string>> = {
  'kubeadm:cluster-admins': 'cluster-admin',
};

interface Binding {
  readonly name: string;
  readonly role: string;
  readonly subject: { readonly kind: 'Group' | 'User'; readonly name: string };
}

/** One ClusterRoleBinding, rendered from a template like the kubeconfigs (no YAML library on gen's path). */
function clusterRoleBinding(b: Binding): string {
  return `apiVersion: ${RBAC_GROUP}/v1
kind: ClusterRoleBinding
metadata:
  name: ${scalar(b.name)}
  labels:
    app.kubernetes.io/managed-by: kpki
roleRef:
  apiGroup: ${RBAC_GROUP}
  kind: ClusterRole
  name: ${scalar(b.role)}
subjects:
  - apiGroup: ${RBAC_GROUP}
    kind: ${b.subject.kind}
    name: ${scalar(b.subject.name)}
`;
}

/** The entry's identity on the plan's first control plane (these identities are the same on every node). */
function identityOf(plan: Plan, entry: { readonly identity: (ctx: NodeContext) => Identity }): Identity | undefined {
  const node = selectNodes(plan, 'control-plane')[0];
  return node && entry.identity({ plan, node });
}

/** The bindings the plan's identities need, in a stable order. */
export function rbacBindings(plan: Plan): Binding[] {
  const bindings: Binding[] = [];
  const admin = KUBECONFIGS.find((e) => e.id === 'admin.conf');
  const kubeletClient = CERTS.find((e) => e.id === 'apiserver-kubelet-client');
  if (!admin || !kubeletClient) throw new Error('internal error: admin identities missing from the catalog');
  const groups = new Set<string>();
  for (const identity of [identityOf(plan, admin), identityOf(plan, kubeletClient)]) {
    for (const group of identity?.o ?? []) if (group in KUBEADM_GROUP_BINDINGS) groups.add(group);
  }
  for (const group of groups) {
    bindings.push({ name: group, role: KUBEADM_GROUP_BINDINGS[group] ?? '', subject: { kind: 'Group', name: group } });
  }
  const client = identityOf(plan, kubeletClient);
  if (client && !client.o.includes(SUPERUSERS)) {
    bindings.push({ name: `kpki:${client.cn}`, role: 'system:kubelet-api-admin', subject: { kind: 'User', name: client.cn } });
  }
  return bindings;
}

/**
 * The ClusterRoleBindings as one multi-document YAML stream for `kubectl apply -f`, or the
 * empty string when the plan's identities need none (Kubernetes before 1.29).
 */
export function rbacManifests(plan: Plan): string {
  return rbacBindings(plan).map(clusterRoleBinding).join('---\n');
}
