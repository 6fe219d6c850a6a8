/**
 * Catalog × plan → one resolved spec per credential instance. Pure: the same plan always
 * resolves to the same list, sorted signer-first then by id and node, so reports,
 * dry runs and files are stable.
 */
import { canonicalIp, isIp, formatHostPort } from '../plan/net.js';
import type { Plan, PlanNode } from '../plan/types.js';
import { CAS, CERTS, deployedOn, inRelease, KEYPAIRS, KUBECONFIGS } from './entries.js';
import type { CaEntry, CaId, CertEntry, Identity, KeyPairEntry, KubeconfigEntry, NodeSelector, SanInput, Usage } from './types.js';
import type { Layout, LayoutDirs } from '../plan/types.js';
import type { CertProfile } from '../x509/profile.js';

export type { CertProfile };

export interface ResolvedCa {
  readonly kind: 'ca';
  readonly ref: CaId;
  readonly entry: CaEntry;
  readonly profile: CertProfile;
}

export interface ResolvedKeyPair {
  readonly kind: 'keypair';
  readonly ref: string;
  readonly entry: KeyPairEntry;
}

export interface ResolvedLeaf {
  readonly kind: 'cert' | 'kubeconfig';
  /** `<entry id>@<node name>`, unique across the cluster. */
  readonly ref: string;
  readonly entry: CertEntry | KubeconfigEntry;
  readonly node: PlanNode;
  readonly signer: CaId;
  readonly profile: CertProfile;
  /** Kubeconfigs only: the API server URL written into the file. */
  readonly server?: string;
  /** The plan's file layout: where the leaf is written and read back from (layout.ts). */
  readonly layout: Layout;
  /** The cfssl layout's directories, when the plan has them. */
  readonly layoutDirs?: LayoutDirs;
}

export interface ResolvedPki {
  readonly plan: Plan;
  readonly cas: readonly ResolvedCa[];
  readonly keypairs: readonly ResolvedKeyPair[];
  readonly leaves: readonly ResolvedLeaf[];
}

/** Nodes an entry applies to, in plan order. */
export function selectNodes(plan: Plan, selector: NodeSelector): PlanNode[] {
  const has = (n: PlanNode, role: PlanNode['roles'][number]) => n.roles.includes(role);
  switch (selector) {
    case 'control-plane':
      return plan.nodes.filter((n) => has(n, 'control-plane'));
    case 'init-node': {
      // The marked node while it is a control plane, else the first control plane.
      const cps = plan.nodes.filter((n) => has(n, 'control-plane'));
      return cps.filter((n) => n.name === plan.initNode).concat(cps).slice(0, 1);
    }
    case 'etcd-member':
      return plan.nodes.filter((n) => has(n, plan.etcd.external ? 'etcd' : 'control-plane'));
    case 'kubelet':
      return plan.nodes.filter((n) => has(n, 'control-plane') || has(n, 'worker'));
  }
}

/** Nodes matching any of the selectors, in plan order, each once. */
export function selectAll(plan: Plan, selectors: readonly NodeSelector[]): PlanNode[] {
  if (selectors.length === 1) return selectNodes(plan, selectors[0]!);
  const names = new Set(selectors.flatMap((s) => selectNodes(plan, s).map((n) => n.name)));
  return plan.nodes.filter((n) => names.has(n.name));
}

/** A membership test per selector, built once (a plan may have thousands of nodes). */
export function nodeMatcher(plan: Plan): (node: PlanNode, selectors: readonly NodeSelector[]) => boolean {
  const cache = new Map<NodeSelector, ReadonlySet<string>>();
  const members = (s: NodeSelector) => {
    let set = cache.get(s);
    if (!set) cache.set(s, (set = new Set(selectNodes(plan, s).map((n) => n.name))));
    return set;
  };
  return (node, selectors) => selectors.some((s) => members(s).has(node.name));
}

/** Splits SAN input into sorted unique DNS names and canonical unique IPs (kubeadm's rules). */
export function normaliseSans(input: SanInput | undefined): { dns: string[]; ips: string[] } {
  const dns = new Set(input?.dns ?? []);
  const ips: string[] = [];
  const addIp = (ip: string) => {
    const c = canonicalIp(ip);
    if (c !== undefined && !ips.includes(c)) ips.push(c);
  };
  (input?.ips ?? []).forEach(addIp);
  for (const v of input?.any ?? []) (isIp(v) ? addIp(v) : dns.add(v));
  return { dns: [...dns].sort(), ips };
}

function leafProfile(identity: Identity, usages: readonly Usage[], sans?: SanInput): CertProfile {
  return { cn: identity.cn, o: identity.o, extras: {}, ...normaliseSans(sans), usages, isCa: false };
}

function serverUrl(plan: Plan, node: PlanNode, kind: KubeconfigEntry['server']): string {
  return kind === 'endpoint'
    ? `https://${formatHostPort(plan.controlPlaneEndpoint.host, plan.controlPlaneEndpoint.port)}`
    : `https://${formatHostPort(node.address, plan.apiServer.bindPort)}`;
}

const layoutOf = (plan: Plan) => ({ layout: plan.layout, ...(plan.layoutDirs && { layoutDirs: plan.layoutDirs }) });

export function resolve(plan: Plan): ResolvedPki {
  const cas: ResolvedCa[] = CAS.map((entry) => ({
    kind: 'ca',
    ref: entry.id,
    entry,
    // kubeadm: CA SAN = [CN]; no usages on CAs.
    profile: { cn: entry.cn, o: [], extras: plan.pki.subject, dns: [entry.cn], ips: [], usages: [], isCa: true },
  }));
  const keypairs: ResolvedKeyPair[] = KEYPAIRS.map((entry) => ({ kind: 'keypair', ref: entry.id, entry }));
  const leaves: ResolvedLeaf[] = [];
  for (const entry of CERTS) {
    if (!inRelease(entry, plan)) continue;
    for (const node of selectAll(plan, deployedOn(plan, entry, [entry.on]))) {
      const ctx = { plan, node };
      leaves.push({
        kind: 'cert', ref: `${entry.id}@${node.name}`, entry, node, signer: entry.signer, ...layoutOf(plan),
        profile: leafProfile(entry.identity(ctx), entry.usages, 'sans' in entry ? entry.sans(ctx) : undefined),
      });
    }
  }
  for (const entry of KUBECONFIGS) {
    if (!inRelease(entry, plan)) continue;
    for (const node of selectAll(plan, deployedOn(plan, entry, [entry.on]))) {
      leaves.push({
        kind: 'kubeconfig', ref: `${entry.id}@${node.name}`, entry, node, signer: entry.signer, ...layoutOf(plan),
        profile: leafProfile(entry.identity({ plan, node }), ['clientAuth']),
        server: serverUrl(plan, node, entry.server),
      });
    }
  }
  return { plan, cas, keypairs, leaves };
}
