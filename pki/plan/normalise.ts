/**
 * A validated PlanInput → the Plan the rest of kpki reads: defaults filled in, addresses and
 * SANs canonical, durations in milliseconds. It trusts its input (parse.ts validates first), so
 * it needs no YAML: code that builds a plan from values (samples, tests) calls it directly.
 */
import { parseDuration } from './duration.js';
import { canonicalIp, formatIp, parseHostPort, parseIp } from './net.js';
import { parseSubnetList } from './rules.js';
import { PLAN_DEFAULTS } from './schema.js';
import { CFSSL_DEFAULT_DIRS, type Cidr, type Endpoint, type Layout, type LayoutDirs, type LayoutInput, type Plan, type PlanInput, type PlanNode } from './types.js';
import { parseKubernetesVersion } from './version.js';

function valid<T>(value: T | string | undefined, what: string): T {
  if (value === undefined || typeof value === 'string') throw new Error(`internal error: ${what} passed validation but does not parse`);
  return value;
}

function canonicalSans(sans: readonly string[] | undefined): string[] {
  return [...new Set((sans ?? []).map((s) => canonicalIp(s) ?? s))];
}

function subnets(value: string | undefined): Cidr[] {
  if (value === undefined) return [];
  const { cidrs, problems } = parseSubnetList(value);
  if (problems.length > 0) throw new Error(`internal error: subnet ${value} passed validation`);
  return cidrs;
}

export function normalise(input: PlanInput, source: string): Plan {
  const bindPort = input.apiServer?.bindPort ?? PLAN_DEFAULTS.bindPort;
  const nodes = input.nodes.map((n): PlanNode => {
    const ip = valid(parseIp(n.address), `address ${n.address}`);
    return {
      name: n.name,
      address: formatIp(ip),
      family: ip.family,
      roles: [...n.roles],
      extraSANs: canonicalSans(n.extraSANs),
      ...(n.ssh !== undefined && { ssh: { ...n.ssh } }),
    };
  });
  const pki = input.pki ?? {};
  const initNode = input.nodes.find((n) => n.init === true)?.name;
  return {
    source,
    clusterName: input.clusterName ?? PLAN_DEFAULTS.clusterName,
    ...(input.kubernetesVersion !== undefined && {
      kubernetesVersion: valid(parseKubernetesVersion(input.kubernetesVersion), `kubernetesVersion ${input.kubernetesVersion}`),
    }),
    deploy: input.deploy ?? PLAN_DEFAULTS.deploy,
    ...layoutOf(input.layout ?? PLAN_DEFAULTS.layout),
    ...(initNode !== undefined && { initNode }),
    controlPlaneEndpoint: endpointOf(input.controlPlaneEndpoint, nodes, bindPort),
    apiServer: { bindPort, certSANs: canonicalSans(input.apiServer?.certSANs) },
    networking: {
      serviceSubnets: subnets(input.networking?.serviceSubnet ?? PLAN_DEFAULTS.serviceSubnet),
      podSubnets: subnets(input.networking?.podSubnet),
      dnsDomain: input.networking?.dnsDomain ?? PLAN_DEFAULTS.dnsDomain,
    },
    etcd: { external: input.etcd?.external ?? PLAN_DEFAULTS.etcdExternal },
    pki: {
      keyAlgorithm: pki.keyAlgorithm ?? PLAN_DEFAULTS.keyAlgorithm,
      caValidityMs: parseDuration(pki.caValidity ?? PLAN_DEFAULTS.caValidity),
      certValidityMs: parseDuration(pki.certValidity ?? PLAN_DEFAULTS.certValidity),
      renewBeforeMs: parseDuration(pki.renewBefore ?? PLAN_DEFAULTS.renewBefore),
      subject: { ...pki.subject },
    },
    nodes,
  };
}

/** The layout's name, and for cfssl its directories (each without a trailing `/`; the guides' where unset). */
function layoutOf(input: LayoutInput): { layout: Layout; layoutDirs?: LayoutDirs } {
  const layout = typeof input === 'string' ? input : input.name;
  if (layout !== 'cfssl') return { layout };
  const dir = (field: keyof LayoutDirs) => {
    const value = typeof input === 'string' ? undefined : input[field];
    return value === undefined ? CFSSL_DEFAULT_DIRS[field] : value.replace(/\/$/, '');
  };
  return { layout, layoutDirs: { kubernetesDir: dir('kubernetesDir'), etcdDir: dir('etcdDir'), kubeconfigDir: dir('kubeconfigDir') } };
}

/** The explicit endpoint, or the single control plane at bindPort (rules guarantee there is one). */
function endpointOf(text: string | undefined, nodes: readonly PlanNode[], bindPort: number): Endpoint {
  if (text !== undefined) return valid(parseHostPort(text, bindPort), `controlPlaneEndpoint ${text}`);
  const cp = valid(
    nodes.find((n) => n.roles.includes('control-plane')),
    'control-plane node',
  );
  return { host: cp.address, port: bindPort, hostIsIp: true };
}
