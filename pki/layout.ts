/**
 * Where every credential lands: the cluster store (`pki/`, the CAs and the SA key pair,
 * the source of truth for signing) and one root-relative tree per node (`nodes/<name>/`)
 * holding exactly the files that host needs, in kubeadm's layout. Derived from the catalog.
 */
import type { ResolvedLeaf, ResolvedPki } from './catalog/resolve.js';
import { nodeMatcher, selectNodes } from './catalog/resolve.js';
import { CAS, CERTS, KEYPAIRS, KUBECONFIGS } from './catalog/entries.js';
import type { CaId } from './catalog/types.js';
import type { Plan } from './plan/types.js';

export const NODE_PKI = 'etc/kubernetes/pki';

/** Where a file's bytes come from. */
export type FileSource =
  | { readonly from: 'ca'; readonly ref: CaId; readonly part: 'crt' | 'key' }
  | { readonly from: 'keypair'; readonly ref: string; readonly part: 'key' | 'pub' }
  | { readonly from: 'leaf'; readonly ref: string; readonly part: 'crt' | 'key' | 'kubeconfig' };

export interface FileSpec {
  /** Relative to the output directory, `/`-separated. */
  readonly path: string;
  readonly mode: number;
  readonly source: FileSource;
}

const modeOf = (part: string) => (part === 'crt' ? 0o644 : 0o600);

export function storeCaPaths(stem: string) {
  return { crt: `pki/${stem}.crt`, key: `pki/${stem}.key` };
}
export function storeKeyPairPaths(stem: string) {
  return { key: `pki/${stem}.key`, pub: `pki/${stem}.pub` };
}
export function nodeRoot(node: string): string {
  return `nodes/${node}`;
}

/** Every file of the output, store first, then nodes in plan order; stable order. */
export function fileSpecs(pki: ResolvedPki): FileSpec[] {
  const specs: FileSpec[] = [];
  const add = (path: string, source: FileSource) => specs.push({ path, mode: modeOf(source.part), source });
  for (const ca of pki.cas) {
    const p = storeCaPaths(ca.entry.stem);
    add(p.crt, { from: 'ca', ref: ca.ref, part: 'crt' });
    add(p.key, { from: 'ca', ref: ca.ref, part: 'key' });
  }
  for (const kp of pki.keypairs) {
    const p = storeKeyPairPaths(kp.entry.stem);
    add(p.key, { from: 'keypair', ref: kp.ref, part: 'key' });
    add(p.pub, { from: 'keypair', ref: kp.ref, part: 'pub' });
  }
  const matches = nodeMatcher(pki.plan);
  const leavesByNode = new Map<string, ResolvedLeaf[]>();
  for (const l of pki.leaves) leavesByNode.set(l.node.name, [...(leavesByNode.get(l.node.name) ?? []), l]);
  for (const node of pki.plan.nodes) {
    const root = nodeRoot(node.name);
    for (const ca of pki.cas) {
      if (matches(node, ca.entry.certOn)) {
        add(`${root}/${NODE_PKI}/${ca.entry.stem}.crt`, { from: 'ca', ref: ca.ref, part: 'crt' });
      }
      if (matches(node, ca.entry.keyOn)) {
        add(`${root}/${NODE_PKI}/${ca.entry.stem}.key`, { from: 'ca', ref: ca.ref, part: 'key' });
      }
    }
    for (const kp of pki.keypairs) {
      if (!matches(node, kp.entry.on)) continue;
      add(`${root}/${NODE_PKI}/${kp.entry.stem}.key`, { from: 'keypair', ref: kp.ref, part: 'key' });
      add(`${root}/${NODE_PKI}/${kp.entry.stem}.pub`, { from: 'keypair', ref: kp.ref, part: 'pub' });
    }
    for (const leaf of leavesByNode.get(node.name) ?? []) {
      if (leaf.kind === 'kubeconfig') {
        add(`${root}/${leaf.entry.path}`, { from: 'leaf', ref: leaf.ref, part: 'kubeconfig' });
      } else {
        add(`${root}/${leaf.entry.path}.crt`, { from: 'leaf', ref: leaf.ref, part: 'crt' });
        add(`${root}/${leaf.entry.path}.key`, { from: 'leaf', ref: leaf.ref, part: 'key' });
      }
    }
  }
  return specs;
}

/** The file a leaf is read back from on re-runs (its certificate or kubeconfig). */
export function leafPaths(leaf: ResolvedLeaf): { crt: string; key: string } | { kubeconfig: string } {
  const base = `${nodeRoot(leaf.node.name)}/${leaf.entry.path}`;
  return leaf.kind === 'kubeconfig' ? { kubeconfig: base } : { crt: `${base}.crt`, key: `${base}.key` };
}

/** Which catalog entry writes a node-relative path, and what kind of node gets it. */
function nodePathOwners(): Map<string, { id: string; on: string }> {
  const owners = new Map<string, { id: string; on: string }>();
  for (const ca of CAS) {
    owners.set(`${NODE_PKI}/${ca.stem}.crt`, { id: `${ca.id} certificate`, on: ca.certOn.join(' and ') });
    owners.set(`${NODE_PKI}/${ca.stem}.key`, { id: `${ca.id} key`, on: ca.keyOn.join(' and ') || 'no' });
  }
  for (const kp of KEYPAIRS) for (const ext of ['key', 'pub']) owners.set(`${NODE_PKI}/${kp.stem}.${ext}`, { id: `${kp.id}.${ext}`, on: kp.on.join(' and ') });
  for (const c of CERTS) for (const ext of ['crt', 'key']) owners.set(`${c.path}.${ext}`, { id: c.id, on: c.on });
  for (const k of KUBECONFIGS) owners.set(k.path, { id: k.id, on: k.on });
  return owners;
}
let owners: Map<string, { id: string; on: string }> | undefined;

/** Why a file found in a node tree is not wanted there, in words, from the catalog. */
export function whyNotWanted(plan: Plan, path: string): string {
  const [, name, ...rest] = path.split('/');
  const node = plan.nodes.find((n) => n.name === name);
  if (!node) return `node ${name} is not in the plan (--prune)`;
  const owner = (owners ??= nodePathOwners()).get(rest.join('/'));
  if (!owner) return 'not a file kpki writes for this node';
  const roles = node.roles.join(', ');
  if (owner.on === 'init-node') return `${owner.id} belongs on the init node only (${selectNodes(plan, 'init-node')[0]?.name ?? 'none'})`;
  return `${owner.id} goes to ${owner.on} nodes; ${name} is ${roles}${plan.etcd.external ? ' (etcd is external)' : ''}`;
}

/**
 * The init node a store already has: the first control plane (in plan order) whose tree
 * holds super-admin.conf. Keeping it there means reordering `nodes` never moves the
 * break-glass credential to a second node.
 */
export function initNodeInStore(plan: Plan, present: (path: string) => boolean): string | undefined {
  const entry = KUBECONFIGS.find((k) => k.on === 'init-node');
  if (!entry) return undefined;
  return selectNodes(plan, 'control-plane').find((n) => present(`${nodeRoot(n.name)}/${entry.path}`))?.name;
}
