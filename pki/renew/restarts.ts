/**
 * What must restart (or be handed out again) on each node for renewed files to take effect,
 * from the catalog's `readBy` and `serves.reloads` facts: never a second list.
 */
import { CATALOG } from '../catalog/entries.js';
import type { CatalogEntry, Component } from '../catalog/types.js';
import { LAYOUT_PATHS } from '../layout/layout.js';
import type { CatalogId } from '../layout/cfssl-names.js';
import type { Layout } from '../plan/types.js';
import type { ResolvedPki } from '../catalog/resolve.js';

/**
 * `restart`: the process holds what it loaded. `reload`: it reads the file again on every new
 * connection (etcd's own serving and peer certificates), so nothing restarts. `hand-out`: people
 * and tools hold a copy (admin.conf); give them the new file.
 */
export type RestartAction = 'restart' | 'reload' | 'hand-out';

export interface Restart {
  readonly component: Component;
  readonly action: RestartAction;
  /** Node-root-relative paths of the changed files this component reads. */
  readonly files: readonly string[];
}

export interface NodeRestarts {
  readonly node: string;
  readonly restarts: readonly Restart[];
}

/** A changed credential on a node: a leaf id, or a CA id when the CA certificate changed. */
export interface ChangedCredential {
  readonly node: string;
  readonly id: string;
}

const BY_ID: ReadonlyMap<string, CatalogEntry> = new Map(CATALOG.map((e) => [e.id, e]));
/** Presentation order: servers first, then the node agents, then people. */
const ORDER: readonly Component[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'admin'];

function actionOf(entry: CatalogEntry, component: Component): RestartAction {
  if (component === 'admin') return 'hand-out';
  const serves = 'serves' in entry ? entry.serves : undefined;
  return serves?.component === component && serves.reloads === 'per-connection' ? 'reload' : 'restart';
}

/** The file of a credential that its readers load (a certificate, a kubeconfig, a CA certificate). */
function fileOf(entry: CatalogEntry, layout: Layout): string {
  const part = entry.kind === 'kubeconfig' ? 'kubeconfig' : 'crt';
  return LAYOUT_PATHS[layout](entry.id as CatalogId, part) ?? entry.id;
}

/**
 * The components that run on each node: those reading one of its leaves (a worker has no
 * kube-apiserver, though the CA certificate it holds is also read by one elsewhere).
 */
function componentsByNode(pki: ResolvedPki): Map<string, Set<Component>> {
  const runs = new Map<string, Set<Component>>();
  for (const l of pki.leaves) {
    let set = runs.get(l.node.name);
    if (!set) runs.set(l.node.name, (set = new Set()));
    for (const c of l.entry.readBy) set.add(c);
  }
  return runs;
}

/** Per node (in the order given), per component that runs there: what to do and for which files. */
export function restartsFor(changed: readonly ChangedCredential[], pki: ResolvedPki): NodeRestarts[] {
  const layout = pki.plan.layout;
  const runs = componentsByNode(pki);
  const nodes = new Map<string, Map<string, { component: Component; action: RestartAction; files: string[] }>>();
  for (const c of changed) {
    const entry = BY_ID.get(c.id);
    if (!entry) continue;
    const file = fileOf(entry, layout);
    let perNode = nodes.get(c.node);
    if (!perNode) nodes.set(c.node, (perNode = new Map()));
    for (const component of entry.readBy) {
      if (!runs.get(c.node)?.has(component)) continue;
      const action = actionOf(entry, component);
      const key = `${component} ${action}`;
      const r = perNode.get(key) ?? { component, action, files: [] };
      if (!r.files.includes(file)) r.files.push(file);
      perNode.set(key, r);
    }
  }
  return [...nodes].filter(([, m]) => m.size > 0).map(([node, m]) => ({
    node,
    restarts: [...m.values()].sort((a, b) => ORDER.indexOf(a.component) - ORDER.indexOf(b.component) || a.action.localeCompare(b.action)),
  }));
}

/** `etc/kubernetes/pki/apiserver.crt` → `apiserver.crt`: the name people know a file by. */
export function shortName(path: string): string {
  return path.replace(/^etc\/kubernetes\/(pki\/)?/, '').replace(/^var\/lib\/kubelet\/pki\//, '');
}

/** One line per node: "cp-1: restart kube-apiserver (apiserver.crt, ...); restart kubelet (kubelet.conf)". */
export function describeRestarts(r: NodeRestarts): string {
  const files = (x: Restart) => x.files.map(shortName).join(', ');
  const part = (x: Restart) =>
    x.action === 'restart' ? `restart ${x.component} (${files(x)})`
    : x.action === 'reload' ? `${x.component} reloads on its next connections, no restart (${files(x)})`
    : `hand out ${files(x)}`;
  return `${r.node}: ${r.restarts.map(part).join('; ')}`;
}
