/**
 * A validated PlanInput → the Plan the rest of kpki reads: defaults filled in, addresses and
 * SANs canonical, durations in milliseconds. It trusts its input (parse.ts validates first), so
 * it needs no YAML: code that builds a plan from values (samples, tests) calls it directly.
 */
import { parseDuration } from './duration.js';
import { canonicalIp, formatIp, nthHost, parseHostPort, parseIp } from './net.js';
import { parseSubnetList } from './rules.js';
import { PLAN_DEFAULTS } from './schema.js';
import { CFSSL_DEFAULT_DIRS, UNIT_COMPONENTS, type Cidr, type HostSettings, type Endpoint, type Layout, type LayoutDirs, type LayoutInput, type Plan, type PlanInput, type PlanNode } from './types.js';
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
    host: hostSettings(input),
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

/** `kpki install`'s settings, defaults filled in (directories without a trailing `/`). */
function hostSettings(input: PlanInput): HostSettings {
  const dir = (value: string | undefined, fallback: string) => (value ?? fallback).replace(/(.)\/$/, '$1');
  const service = subnets(input.networking?.serviceSubnet ?? PLAN_DEFAULTS.serviceSubnet)[0];
  const dns = input.kubelet?.clusterDNS;
  const lb = input.loadBalancer;
  return {
    binDir: dir(input.binDir, PLAN_DEFAULTS.binDir),
    etcdDataDir: dir(input.etcd?.dataDir, PLAN_DEFAULTS.etcdDataDir),
    containerRuntimeEndpoint: input.kubelet?.containerRuntimeEndpoint ?? PLAN_DEFAULTS.containerRuntimeEndpoint,
    cgroupDriver: input.kubelet?.cgroupDriver ?? PLAN_DEFAULTS.cgroupDriver,
    clusterDNS: dns !== undefined ? (canonicalIp(dns) ?? dns) : service ? nthHost(service, 10) : '',
    ...(lb && { loadBalancer: { vip: canonicalIp(lb.vip) ?? lb.vip, interface: lb.interface } }),
    extraFlags: extraFlagsOf(input),
  };
}

function extraFlagsOf(input: PlanInput): HostSettings['extraFlags'] {
  const flags = (c: (typeof UNIT_COMPONENTS)[number]) => [...(input.extraFlags?.[c] ?? [])];
  return {
    etcd: flags('etcd'), 'kube-apiserver': flags('kube-apiserver'), 'kube-controller-manager': flags('kube-controller-manager'),
    'kube-scheduler': flags('kube-scheduler'), kubelet: flags('kubelet'), 'kube-proxy': flags('kube-proxy'),
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
