/**
 * `kpki install`'s renderer: plan × catalog × the store's node trees → one root-relative file
 * set per host. Pure: no file system, no clock; the same file set goes to a directory
 * (apply.ts, `--stage`) or, later, over SSH.
 */
import { selectNodes } from '../pki/catalog/resolve.js';
import { KpkiError, PlanError, type PlanDiagnostic } from '../pki/errors.js';
import { parseIp } from '../pki/plan/net.js';
import { UNIT_COMPONENTS, type Plan, type PlanNode, type UnitComponent } from '../pki/plan/types.js';
import { CONFIG_PATHS } from './flags.js';
import { argsFor, ownFlags, renderContext, type RenderContext } from './render/context.js';
import { frontendAddress, HAPROXY_CA, HAPROXY_CONFIG, haproxyConfig } from './render/haproxy.js';
import { hostPrep, loadBalancerSysctl } from './render/host-prep.js';
import { KEEPALIVED_CONFIG, keepalivedConfig } from './render/keepalived.js';
import { kubeletConfig, kubeProxyConfig } from './render/kubelet.js';
import { RBAC_UNIT, rbacFiles } from './render/rbac.js';
import { componentUnit, UNIT_DIR } from './render/units.js';
import type { HostFiles, StagedFile, StoreFiles } from './types.js';

/** Names the stage directory keeps for itself (the sink's backups, the host list). */
export const RESERVED_HOST_NAMES = ['backup', 'hosts.txt'] as const;

export interface RenderResult {
  readonly hosts: readonly HostFiles[];
  /** `name address` per staged host, in plan order. */
  readonly hostsTxt: string;
  /** What the user should know about this file set (deploy: kubeadm). */
  readonly notes: readonly string[];
}

/** The components of a node's roles, in start order. */
function componentsOf(plan: Plan, node: PlanNode, etcdMembers: ReadonlySet<string>): UnitComponent[] {
  const has = (r: PlanNode['roles'][number]) => node.roles.includes(r);
  const wanted = new Set<UnitComponent>();
  if (etcdMembers.has(node.name)) wanted.add('etcd');
  if (has('control-plane')) for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const) wanted.add(c);
  if (has('control-plane') || has('worker')) for (const c of ['kubelet', 'kube-proxy'] as const) wanted.add(c);
  return UNIT_COMPONENTS.filter((c) => wanted.has(c));
}

/** extraFlags that repeat a flag kpki sets: the component would get it twice. */
function extraFlagProblems(ctx: RenderContext): PlanDiagnostic[] {
  const problems: PlanDiagnostic[] = [];
  for (const c of UNIT_COMPONENTS) {
    const own = ownFlags(ctx, c);
    ctx.settings.extraFlags[c].forEach((flag, i) => {
      const name = flag.slice(2).split('=')[0] ?? '';
      if (own.has(name)) {
        problems.push({ file: ctx.plan.source, line: 0, column: 0, field: `extraFlags.${c}[${i}]`, message: `--${name} is set by kpki install from the plan and the catalog; remove it here (or change the plan field it comes from)` });
      }
    });
  }
  return problems;
}

/**
 * A load balancer that is also a control plane cannot take the apiserver's port: the apiserver
 * listens on every address of its host (no --bind-address), the VIP included.
 */
function listenProblems(ctx: RenderContext): PlanDiagnostic[] {
  const problems: PlanDiagnostic[] = [];
  ctx.plan.nodes.forEach((n, i) => {
    if (!n.roles.includes('load-balancer') || !n.roles.includes('control-plane')) return;
    const port = ctx.plan.apiServer.bindPort;
    if (ctx.plan.controlPlaneEndpoint.port !== port) return;
    problems.push({
      file: ctx.plan.source, line: 0, column: 0, field: `nodes[${i}].roles`,
      message: `${n.name} is a load balancer and a control plane: HAProxy on ${frontendAddress(ctx, n)}:${port} and the apiserver on every address at ${port} cannot both listen; give controlPlaneEndpoint another port (e.g. :8443) or the load balancer a node of its own`,
    });
  });
  return problems;
}

/**
 * The file set of each host (all of the plan's, or those named), in plan order. Throws a
 * PlanError for plan values install cannot use, a KpkiError for a store that lacks a tree.
 */
export function renderHosts(plan: Plan, store: StoreFiles, only?: readonly string[]): RenderResult {
  const ctx = renderContext(plan);
  const problems = [...extraFlagProblems(ctx), ...listenProblems(ctx)];
  if (problems.length) throw new PlanError(problems);
  const known = new Set(plan.nodes.map((n) => n.name));
  const unknown = (only ?? []).filter((h) => !known.has(h));
  if (unknown.length) throw new KpkiError('ERR_BAD_ARGUMENT', `--hosts names ${unknown.join(', ')}, not in the plan (${plan.source}); its nodes are ${[...known].slice(0, 10).join(', ')}${known.size > 10 ? ', …' : ''}`);
  const chosen = only ? plan.nodes.filter((n) => only.includes(n.name)) : plan.nodes;
  const reserved = chosen.find((n) => (RESERVED_HOST_NAMES as readonly string[]).includes(n.name));
  if (reserved) throw new KpkiError('ERR_BAD_ARGUMENT', `a node named ${reserved.name} cannot be staged: the stage directory keeps ${reserved.name === 'backup' ? 'backups in backup/' : 'the host list in hosts.txt'}`);
  const etcdMembers = new Set(selectNodes(plan, 'etcd-member').map((n) => n.name));
  const lbs = plan.nodes.filter((n) => n.roles.includes('load-balancer'));
  const init = initNode(ctx, store);
  // The same on every kubelet host: rendered once (a thousand workers share them).
  const kubeletFiles = [{ path: CONFIG_PATHS['kubelet-config'], mode: 0o644, content: kubeletConfig(ctx) }, ...hostPrep(ctx)];
  const hosts = chosen.map((node) => renderHost(ctx, node, store, { etcdMembers, lbs, init, kubeletFiles }));
  const notes = plan.deploy === 'kubeadm'
    ? ['deploy: kubeadm — kubeadm runs the components: staged are the PKI, the kubeadm configurations and the load balancer; no component units.']
    : [];
  return { hosts, hostsTxt: chosen.map((n) => `${n.name} ${n.address}\n`).join(''), notes };
}

/** The control plane whose tree holds super-admin.conf (gen's init node), else the catalog's choice. */
function initNode(ctx: RenderContext, store: StoreFiles): string | undefined {
  const superAdmin = ctx.layout('super-admin.conf', 'kubeconfig');
  const holder = ctx.controlPlanes.find((n) => superAdmin !== undefined && store.nodes.get(n.name)?.some((f) => f.path === superAdmin));
  return (holder ?? selectNodes(ctx.plan, 'init-node')[0])?.name;
}

interface Shared {
  readonly etcdMembers: ReadonlySet<string>;
  readonly lbs: readonly PlanNode[];
  readonly init: string | undefined;
  /** kubelet's config and the host preparation files. */
  readonly kubeletFiles: readonly StagedFile[];
}

function renderHost(ctx: RenderContext, node: PlanNode, store: StoreFiles, shared: Shared): HostFiles {
  const tree = store.nodes.get(node.name);
  const needsTree = node.roles.some((r) => r !== 'load-balancer');
  if (!tree && needsTree) {
    throw new KpkiError('ERR_BAD_ARGUMENT', `the store has no tree for ${node.name} (nodes/${node.name}/); run kpki gen with this plan first`);
  }
  const files: StagedFile[] = [...(tree ?? [])];
  const units: string[] = [];
  const unit = (name: string, content: string) => {
    files.push({ path: `${UNIT_DIR}/${name}`, mode: 0o644, content });
    units.push(name);
  };
  if (ctx.plan.deploy === 'binary') {
    const components = componentsOf(ctx.plan, node, shared.etcdMembers);
    for (const c of components) unit(`${c}.service`, componentUnit(c, ctx.settings.binDir, argsFor(ctx, c, node)));
    if (components.includes('kubelet')) {
      files.push(...shared.kubeletFiles);
      files.push({ path: CONFIG_PATHS['kube-proxy-config'], mode: 0o644, content: kubeProxyConfig(ctx, node) });
    }
    if (node.name === shared.init && store.rbac) {
      const [rbacFile, rbacUnit] = rbacFiles(ctx, store.rbac);
      files.push(rbacFile!);
      unit(RBAC_UNIT, rbacUnit!.content);
    }
  }
  if (node.roles.includes('load-balancer')) {
    files.push({ path: HAPROXY_CONFIG, mode: 0o644, content: haproxyConfig(ctx, node) });
    files.push({ path: HAPROXY_CA, mode: 0o644, content: store.caCert });
    const vip = ctx.settings.loadBalancer;
    if (vip && shared.lbs.length >= 2) {
      files.push({ path: KEEPALIVED_CONFIG, mode: 0o644, content: keepalivedConfig(ctx, node, shared.lbs, vip) });
      files.push(loadBalancerSysctl(parseIp(vip.vip)?.family ?? 4));
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { host: node.name, address: node.address, roles: node.roles, files, units };
}
