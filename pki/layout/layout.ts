/**
 * Where every credential lands: the cluster store (`pki/`, the CAs and the SA key pair,
 * the source of truth for signing) and one root-relative tree per node (`nodes/<name>/`)
 * holding exactly the files that host needs. Which credentials a node gets comes from the
 * catalog (its selectors, and its `kubeadm` placement under `deploy: kubeadm`); the file names
 * come from the plan's LAYOUT, a table from catalog id to node path: kubeadm's
 * (`etc/kubernetes/pki/...`, derived from the catalog) or the cfssl guides' (layouts/cfssl-names.ts),
 * the latter in the plan's directories when it sets them (`layout: { name: cfssl, kubernetesDir, ... }`).
 * The same layout says where a re-run reads a leaf back from and names unwanted files.
 */
import type { ResolvedLeaf, ResolvedPki } from '../catalog/resolve.js';
import { nodeMatcher, selectNodes } from '../catalog/resolve.js';
import { CAS, CERTS, deployedOn, KEYPAIRS, KUBECONFIGS } from '../catalog/entries.js';
import type { CaId, NodeSelector } from '../catalog/types.js';
import { cfsslDirsIn, cfsslLayout, cfsslPath, isCfsslName, type CatalogId } from './cfssl-names.js';
import type { Deploy, Layout, LayoutDirs, Plan } from '../plan/types.js';
import { CFSSL_DEFAULT_DIRS, LAYOUTS } from '../plan/types.js';
import type { Observation, ObservedFile } from '../sinks/types.js';

export const NODE_PKI = 'etc/kubernetes/pki';

/** One file of a credential: its certificate (or a key pair's public key), its key, or its kubeconfig. */
export type Part = 'crt' | 'key' | 'pub' | 'kubeconfig';

/** Where a file's bytes come from. */
export type FileSource =
  | { readonly from: 'ca'; readonly ref: CaId; readonly part: 'crt' | 'key' }
  | { readonly from: 'keypair'; readonly ref: string; readonly part: 'key' | 'pub' }
  /** A kubeconfig leaf may also be written as separate pem files where the layout has them (cfssl). */
  | { readonly from: 'leaf'; readonly ref: string; readonly part: 'crt' | 'key' | 'kubeconfig' }
  | { readonly from: 'config'; readonly ref: NodeConfigId; readonly node: string };

export interface FileSpec {
  /** Relative to the output directory, `/`-separated. */
  readonly path: string;
  readonly mode: number;
  readonly source: FileSource;
}

/** A layout: the node-root-relative path of one part of a credential, or undefined where it has none. */
export type NodeLayout = (id: CatalogId, part: Part) => string | undefined;

/** kubeadm's names, straight from the catalog's stems and paths. */
const KUBEADM_NAMES: ReadonlyMap<string, string> = new Map([
  ...CAS.flatMap((c) => [[`${c.id} crt`, `${NODE_PKI}/${c.stem}.crt`], [`${c.id} key`, `${NODE_PKI}/${c.stem}.key`]] as const),
  ...KEYPAIRS.flatMap((k) => [[`${k.id} key`, `${NODE_PKI}/${k.stem}.key`], [`${k.id} pub`, `${NODE_PKI}/${k.stem}.pub`]] as const),
  ...CERTS.flatMap((c) => [[`${c.id} crt`, `${c.path}.crt`], [`${c.id} key`, `${c.path}.key`]] as const),
  ...KUBECONFIGS.map((k) => [`${k.id} kubeconfig`, k.path] as const),
]);

/** Each layout in its default directories (the cfssl guides' /etc/kubernetes/ssl, /etc/etcd/ssl, /etc/kubernetes). */
export const LAYOUT_PATHS: { readonly [l in Layout]: NodeLayout } = {
  kubeadm: (id, part) => KUBEADM_NAMES.get(`${id} ${part}`),
  cfssl: cfsslPath,
};

/** One per directories object (a plan's, shared by all its leaves), so identity compares layouts. */
const MOVED = new WeakMap<LayoutDirs, NodeLayout>();

/** A layout in the given directories (cfssl only; kubeadm's are fixed), or in its default ones. */
export function nodeLayout(layout: Layout, dirs?: LayoutDirs): NodeLayout {
  if (layout !== 'cfssl' || dirs === undefined) return LAYOUT_PATHS[layout];
  let moved = MOVED.get(dirs);
  if (!moved) MOVED.set(dirs, (moved = cfsslLayout(dirs)));
  return moved;
}

const planLayout = (plan: Plan) => nodeLayout(plan.layout, plan.layoutDirs);
const leafLayout = (leaf: ResolvedLeaf) => nodeLayout(leaf.layout, leaf.layoutDirs);

/**
 * Files that are not credentials, written next to them under a deploy condition. The kubeadm
 * configuration holds the bootstrap token, hence 0600.
 *
 * No KubeletConfiguration fragment is needed for the kubelet serving certificate: with
 * tlsCertFile / tlsPrivateKeyFile unset and serverTLSBootstrap false (kubeadm's defaults) the
 * kubelet uses `kubelet.crt` / `kubelet.key` from its --cert-dir, /var/lib/kubelet/pki, when
 * they are there, and only makes a self-signed pair when they are not (cmd/kubelet/app/server.go
 * InitializeTLS). kubeadm sets no --cert-dir, so the file kpki places there is the one served.
 */
export const NODE_CONFIGS = [
  {
    id: 'kubeadm-config', title: 'kubeadm init / join configuration (holds the bootstrap token)',
    deploy: 'kubeadm', on: 'kubelet', path: 'etc/kubernetes/kubeadm-config.yaml', mode: 0o600,
  },
] as const satisfies readonly { id: string; title: string; deploy: Deploy; on: NodeSelector; path: string; mode: number }[];
export type NodeConfigId = (typeof NODE_CONFIGS)[number]['id'];

const modeOf = (part: string) => (part === 'crt' ? 0o644 : 0o600);

export function storeCaPaths(stem: string) {
  return { crt: `pki/${stem}.crt`, key: `pki/${stem}.key` };
}
export function storeKeyPairPaths(stem: string) {
  return { key: `pki/${stem}.key`, pub: `pki/${stem}.pub` };
}
/**
 * kube-controller-manager's `--client-ca-file` and `--cluster-signing-cert-file` cannot take a
 * bundle (kubernetes/kubeadm#1350): while ca.crt holds old + new CAs, they read this file, next
 * to ca.crt, holding the signing CA alone (the one ca.key belongs to). Node-root-relative.
 */
export function signingCaPath(plan: Plan): string {
  return layoutPath(planLayout(plan), 'ca', 'crt').replace(/([^/]*?)(\.[^./]+)?$/, (_m, stem: string, ext = '') => `${stem}-signing${ext}`);
}

export function nodeRoot(node: string): string {
  return `nodes/${node}`;
}

function layoutPath(layout: NodeLayout, id: string, part: Part): string {
  const path = layout(id as CatalogId, part);
  if (path === undefined) throw new Error(`internal error: the layout has no ${part} for ${id}`);
  return path;
}

/** Every file of the output, store first, then nodes in plan order; stable order. */
export function fileSpecs(pki: ResolvedPki): FileSpec[] {
  const specs: FileSpec[] = [];
  const add = (path: string, source: FileSource, mode = 'part' in source ? modeOf(source.part) : 0o600) => specs.push({ path, mode, source });
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
  const plan = pki.plan;
  const layout = planLayout(plan);
  const matches = nodeMatcher(plan);
  const leavesByNode = new Map<string, ResolvedLeaf[]>();
  for (const l of pki.leaves) leavesByNode.set(l.node.name, [...(leavesByNode.get(l.node.name) ?? []), l]);
  for (const node of plan.nodes) {
    const root = nodeRoot(node.name);
    for (const ca of pki.cas) {
      if (matches(node, deployedOn(plan, ca.entry, ca.entry.certOn))) {
        add(`${root}/${layoutPath(layout, ca.ref, 'crt')}`, { from: 'ca', ref: ca.ref, part: 'crt' });
      }
      if (matches(node, ca.entry.keyOn)) add(`${root}/${layoutPath(layout, ca.ref, 'key')}`, { from: 'ca', ref: ca.ref, part: 'key' });
    }
    for (const kp of pki.keypairs) {
      if (!matches(node, deployedOn(plan, kp.entry, kp.entry.on))) continue;
      add(`${root}/${layoutPath(layout, kp.ref, 'key')}`, { from: 'keypair', ref: kp.ref, part: 'key' });
      add(`${root}/${layoutPath(layout, kp.ref, 'pub')}`, { from: 'keypair', ref: kp.ref, part: 'pub' });
    }
    for (const leaf of leavesByNode.get(node.name) ?? []) {
      const id = leaf.entry.id;
      if (leaf.kind === 'kubeconfig') add(`${root}/${layoutPath(layout, id, 'kubeconfig')}`, { from: 'leaf', ref: leaf.ref, part: 'kubeconfig' });
      // Certificates always; a kubeconfig's client pem pair where the layout keeps one (cfssl).
      for (const part of ['crt', 'key'] as const) {
        const path = layout(id as CatalogId, part);
        if (path !== undefined) add(`${root}/${path}`, { from: 'leaf', ref: leaf.ref, part });
        else if (leaf.kind === 'cert') layoutPath(layout, id, part);
      }
    }
    for (const c of NODE_CONFIGS) {
      if (plan.deploy === c.deploy && matches(node, [c.on])) add(`${root}/${c.path}`, { from: 'config', ref: c.id, node: node.name }, c.mode);
    }
  }
  return specs;
}

type LeafPaths = { crt: string; key: string } | { kubeconfig: string };

/**
 * The file a leaf is read back from on re-runs (its certificate or kubeconfig), in its plan's
 * layout and directories; with `layout`, in that layout's default directories instead.
 */
export function leafPaths(leaf: ResolvedLeaf, layout?: Layout): LeafPaths {
  return pathsIn(leaf, layout === undefined || layout === leaf.layout ? leafLayout(leaf) : LAYOUT_PATHS[layout]);
}

function pathsIn(leaf: ResolvedLeaf, layout: NodeLayout): LeafPaths {
  const base = nodeRoot(leaf.node.name);
  const at = (part: Part) => `${base}/${layoutPath(layout, leaf.entry.id, part)}`;
  return leaf.kind === 'kubeconfig' ? { kubeconfig: at('kubeconfig') } : { crt: at('crt'), key: at('key') };
}

/**
 * The observation as the planner should read it after a layout change: a leaf absent from its
 * layout's paths but present under another layout's names (in the default directories, or in
 * the cfssl directories its node's tree shows) is read from there, so it is kept (and moved)
 * rather than reissued. Only for reading: the change planner still sees the real files, creates
 * the new paths and removes the old ones (backed up, with the reason).
 */
export function readThroughLayouts(pki: ResolvedPki, observed: Observation): Observation {
  // Copied only when a leaf is found elsewhere: a store in its own layout is passed through.
  let files: Map<string, ObservedFile> | undefined;
  let trees: Map<string, NodeLayout> | undefined;
  const readFrom = (leaf: ResolvedLeaf, here: readonly string[], layout: NodeLayout): boolean => {
    const there = Object.values(pathsIn(leaf, layout));
    if (!there.every((p) => observed.files.has(p))) return false;
    files ??= new Map(observed.files);
    for (let i = 0; i < here.length; i++) files.set(here[i]!, observed.files.get(there[i]!)!);
    return true;
  };
  for (const leaf of pki.leaves) {
    const own = leafLayout(leaf);
    const here = Object.values(pathsIn(leaf, own));
    if (here.some((p) => (files ?? observed.files).has(p))) continue;
    if (LAYOUTS.some((l) => LAYOUT_PATHS[l] !== own && readFrom(leaf, here, LAYOUT_PATHS[l]))) continue;
    // A tree in cfssl directories a plan has since moved (found only when something is missing: new nodes too).
    const tree = (trees ??= treeLayouts(observed)).get(leaf.node.name);
    if (tree && tree !== own) readFrom(leaf, here, tree);
  }
  return files ? { ...observed, files } : observed;
}

/** Per node, the cfssl layout in the directories its tree's files are in, where they are not the defaults. */
function treeLayouts(observed: Observation): Map<string, NodeLayout> {
  const byNode = new Map<string, string[]>();
  for (const path of observed.files.keys()) {
    const m = /^nodes\/([^/]+)\/(.+)$/.exec(path);
    if (!m) continue;
    const list = byNode.get(m[1]!);
    if (list) list.push(m[2]!);
    else byNode.set(m[1]!, [m[2]!]);
  }
  const out = new Map<string, NodeLayout>();
  for (const [node, paths] of byNode) {
    const dirs = cfsslDirsIn(paths);
    if (Object.keys(dirs).length > 0) out.set(node, cfsslLayout({ ...CFSSL_DEFAULT_DIRS, ...dirs }));
  }
  return out;
}

interface Owner {
  /** `ca certificate`, `apiserver`, `kubeadm-config`... */
  readonly label: string;
  readonly id: string;
  /** Binary-install placement. */
  readonly on: readonly NodeSelector[];
  readonly kubeadm?: { readonly on: readonly NodeSelector[]; readonly why: string };
  readonly deploy?: Deploy;
}

/** Which catalog entry (or config) a node-relative path belongs to, per layout. */
function nodePathOwners(layout: NodeLayout): Map<string, Owner> {
  const owners = new Map<string, Owner>();
  const own = (id: string, part: Part, owner: Omit<Owner, 'id'>) => {
    const path = layout(id as CatalogId, part);
    if (path !== undefined) owners.set(path, { id, ...owner });
  };
  for (const ca of CAS) {
    own(ca.id, 'crt', { label: `${ca.id} certificate`, on: ca.certOn, ...('kubeadm' in ca ? { kubeadm: ca.kubeadm } : {}) });
    own(ca.id, 'key', { label: `${ca.id} key`, on: ca.keyOn });
  }
  for (const kp of KEYPAIRS) for (const part of ['key', 'pub'] as const) own(kp.id, part, { label: `${kp.id}.${part}`, on: kp.on });
  for (const e of [...CERTS, ...KUBECONFIGS]) {
    for (const part of ['crt', 'key', 'kubeconfig'] as const) own(e.id, part, { label: e.id, on: [e.on], ...('kubeadm' in e ? { kubeadm: e.kubeadm } : {}) });
  }
  for (const c of NODE_CONFIGS) owners.set(c.path, { id: c.id, label: c.id, on: [c.on], deploy: c.deploy });
  return owners;
}
const owners = new Map<NodeLayout, Map<string, Owner>>();
const ownersOf = (layout: NodeLayout) => owners.get(layout) ?? owners.set(layout, nodePathOwners(layout)).get(layout)!;

/** Why a file found in a node tree is not wanted there, in words, from the catalog and the layouts. */
export function whyNotWanted(plan: Plan, path: string): string {
  const [, name, ...rest] = path.split('/');
  const node = plan.nodes.find((n) => n.name === name);
  if (!node) return `node ${name} is not in the plan (--prune)`;
  const rel = rest.join('/');
  const layout = planLayout(plan);
  const mine = ownersOf(layout).get(rel);
  const elsewhere = LAYOUTS.filter((l) => LAYOUT_PATHS[l] !== layout).map((l) => [l, ownersOf(LAYOUT_PATHS[l]).get(rel)] as const).find(([, o]) => o);
  const owner = mine ?? elsewhere?.[1];
  if (!owner) {
    if (!isCfsslName(rel.slice(rel.lastIndexOf('/') + 1))) return 'not a file kpki writes for this node';
    return plan.layout === 'cfssl'
      ? `a cfssl-layout file outside the plan's layout directories (${Object.values(plan.layoutDirs ?? CFSSL_DEFAULT_DIRS).join(', ')})`
      : `a cfssl-layout file; the plan's layout is ${plan.layout}`;
  }
  const matches = nodeMatcher(plan);
  if (owner.deploy !== undefined && owner.deploy !== plan.deploy) return `${owner.label} is for deploy: ${owner.deploy}; the plan deploys ${plan.deploy}`;
  if (plan.deploy === 'kubeadm' && owner.kubeadm && matches(node, owner.on) && !matches(node, owner.kubeadm.on)) return owner.kubeadm.why;
  if (!mine && elsewhere && matches(node, owner.on)) {
    const now = layout(owner.id as CatalogId, partOf(elsewhere[0], owner.id, rel));
    if (elsewhere[0] === plan.layout) return `${owner.label} is in the ${plan.layout} layout's default directory here; the plan's layout directories put it${now ? ` at ${now}` : ' elsewhere'}`;
    return `${owner.label} has its ${elsewhere[0]}-layout name here; the plan's layout is ${plan.layout}${now ? ` (now ${now})` : ''}`;
  }
  const roles = node.roles.join(', ');
  if (owner.on.length === 1 && owner.on[0] === 'init-node') return `${owner.label} belongs on the init node only (${selectNodes(plan, 'init-node')[0]?.name ?? 'none'})`;
  return `${owner.label} goes to ${owner.on.join(' and ') || 'no'} nodes; ${name} is ${roles}${plan.etcd.external ? ' (etcd is external)' : ''}`;
}

/** Which part of credential `id` a path is in `layout`. */
function partOf(layout: Layout, id: string, rel: string): Part {
  return (['crt', 'key', 'pub', 'kubeconfig'] as const).find((p) => LAYOUT_PATHS[layout](id as CatalogId, p) === rel) ?? 'crt';
}

/**
 * The init node a store already has: the first control plane (in plan order) whose tree
 * holds super-admin.conf, under any layout's name. Keeping it there means reordering `nodes`
 * never moves the break-glass credential to a second node.
 */
function initNodeInTrees(plan: Plan, present: (path: string) => boolean): string | undefined {
  const entry = KUBECONFIGS.find((k) => k.on === 'init-node');
  if (!entry) return undefined;
  const layouts = [...LAYOUTS.map((l) => LAYOUT_PATHS[l]), planLayout(plan)];
  const paths = layouts.map((l) => l(entry.id, 'kubeconfig')).filter((p): p is string => p !== undefined);
  return selectNodes(plan, 'control-plane').find((n) => paths.some((p) => present(`${nodeRoot(n.name)}/${p}`)))?.name;
}

/**
 * The init node a run uses: the plan's choice (`nodes[].init`), else the one the store recorded
 * while it is still a control plane, else the tree that holds super-admin.conf; undefined (the
 * first control plane) only for a store that has none. gen and check both ask this.
 */
export function chooseInitNode(plan: Plan, recorded: string | undefined, present: (path: string) => boolean): string | undefined {
  if (plan.initNode !== undefined) return plan.initNode;
  const isCp = plan.nodes.some((n) => n.name === recorded && n.roles.includes('control-plane'));
  return isCp ? recorded : initNodeInTrees(plan, present);
}
