/**
 * What every template reads: the plan with install's defaults filled in, the node layout, and
 * the values the flag table asks for (facts, file paths). Pure.
 */
import { selectNodes } from '../../pki/catalog/resolve.js';
import { nodeLayout, type NodeLayout } from '../../pki/layout/layout.js';
import type { CatalogId } from '../../pki/layout/cfssl-names.js';
import type { Part } from '../../pki/layout/layout.js';
import { formatHostPort, nthHost } from '../../pki/plan/net.js';
import { PLAN_DEFAULTS } from '../../pki/plan/schema.js';
import type { HostSettings, Plan, PlanNode, UnitComponent } from '../../pki/plan/types.js';
import { CONFIG_PATHS, COMPONENT_FLAGS, inRange, type Fact, type FlagValue } from '../flags.js';

export interface RenderContext {
  readonly plan: Plan;
  readonly settings: HostSettings;
  readonly layout: NodeLayout;
  /** The plan's Kubernetes minor; undefined: the newest rules. */
  readonly minor: number | undefined;
  readonly etcdMembers: readonly PlanNode[];
  readonly controlPlanes: readonly PlanNode[];
}

/** install's settings of a plan built without the normaliser (the defaults). */
function defaults(plan: Plan): HostSettings {
  const service = plan.networking.serviceSubnets[0];
  return {
    binDir: PLAN_DEFAULTS.binDir, etcdDataDir: PLAN_DEFAULTS.etcdDataDir, containerRuntimeEndpoint: PLAN_DEFAULTS.containerRuntimeEndpoint,
    cgroupDriver: PLAN_DEFAULTS.cgroupDriver, clusterDNS: service ? nthHost(service, 10) : '',
    extraFlags: { etcd: [], 'kube-apiserver': [], 'kube-controller-manager': [], 'kube-scheduler': [], kubelet: [], 'kube-proxy': [] },
  };
}

export function renderContext(plan: Plan): RenderContext {
  return {
    plan,
    settings: plan.host ?? defaults(plan),
    layout: nodeLayout(plan.layout, plan.layoutDirs),
    minor: plan.kubernetesVersion?.minor,
    etcdMembers: selectNodes(plan, 'etcd-member'),
    controlPlanes: selectNodes(plan, 'control-plane'),
  };
}

/** The absolute path of a credential's file on a node, from the layout. */
export function filePath(ctx: RenderContext, id: CatalogId, part: Part): string {
  const path = ctx.layout(id, part);
  if (path === undefined) throw new Error(`internal error: the ${ctx.plan.layout} layout has no ${part} for ${id}`);
  return `/${path}`;
}

const url = (address: string, port: number) => `https://${formatHostPort(address, port)}`;

function factValue(ctx: RenderContext, node: PlanNode, fact: Fact): string {
  const { plan, settings } = ctx;
  switch (fact) {
    case 'node-name': return node.name;
    case 'node-address': return node.address;
    case 'bind-port': return String(plan.apiServer.bindPort);
    case 'etcd-data-dir': return settings.etcdDataDir;
    case 'etcd-client-url': return url(node.address, 2379);
    case 'etcd-peer-url': return url(node.address, 2380);
    case 'etcd-initial-cluster': return ctx.etcdMembers.map((m) => `${m.name}=${url(m.address, 2380)}`).join(',');
    case 'etcd-servers': return ctx.etcdMembers.map((m) => url(m.address, 2379)).join(',');
    case 'service-cidr': return plan.networking.serviceSubnets.map((c) => c.text).join(',');
    case 'pod-cidr': return plan.networking.podSubnets.map((c) => c.text).join(',');
    case 'sa-issuer': return `https://kubernetes.default.svc.${plan.networking.dnsDomain}`;
    case 'kubelet-config': return `/${CONFIG_PATHS['kubelet-config']}`;
    case 'kube-proxy-config': return `/${CONFIG_PATHS['kube-proxy-config']}`;
    case 'cri-endpoint': return settings.containerRuntimeEndpoint;
  }
}

export function flagValue(ctx: RenderContext, node: PlanNode, value: FlagValue): string {
  if ('file' in value) return filePath(ctx, value.file, value.part);
  if ('fact' in value) return factValue(ctx, node, value.fact);
  return value.literal;
}

/**
 * Characters a value from the plan may bring into a unit: validation already held every field
 * to these; this is the last guard before a file is written (an internal error if it fires).
 */
const UNIT_SAFE = /^[A-Za-z0-9._,:/=@+[\]-]*$/;

/** The component's command-line arguments on `node`: the table's, then the plan's extra flags. */
export function argsFor(ctx: RenderContext, component: UnitComponent, node: PlanNode): string[] {
  const hasPods = ctx.plan.networking.podSubnets.length > 0;
  const args: string[] = [];
  for (const spec of COMPONENT_FLAGS[component]) {
    if (!inRange(spec, ctx.minor) || (spec.needs === 'pod-subnet' && !hasPods)) continue;
    const value = flagValue(ctx, node, spec.value);
    if (!('literal' in spec.value) && !UNIT_SAFE.test(value)) {
      throw new Error(`internal error: ${component} --${spec.flag} on ${node.name} would get ${JSON.stringify(value)}`);
    }
    args.push(`--${spec.flag}=${value}`);
  }
  return [...args, ...ctx.settings.extraFlags[component]];
}

/** The flags kpki sets for a component (under the plan's release), for conflicts with extraFlags. */
export function ownFlags(ctx: RenderContext, component: UnitComponent): Set<string> {
  return new Set(COMPONENT_FLAGS[component].filter((s) => inRange(s, ctx.minor)).map((s) => s.flag));
}
