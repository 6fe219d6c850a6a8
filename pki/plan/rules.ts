/**
 * Semantic rules over the raw plan (after YAML parsing, before normalisation). They run even
 * when the structural pass failed, so each reads its input defensively and skips values of the
 * wrong type: the schema pass already reports those. Every rule returns all its findings.
 */
import { parseDuration } from './duration.js';
import {
  canonicalIp,
  cidrContains,
  cidrsOverlap,
  dnsNameProblem,
  dnsSubdomainProblem,
  DNS_SUBDOMAIN_RULE,
  hostBits,
  isIp,
  parseCidr,
  parseHostPort,
} from './net.js';
import { CRI_ENDPOINT_PATTERN, EXTRA_FLAG_PATTERN, INTERFACE_PATTERN, PLAN_DEFAULTS, UNIT_SAFE_CHARS } from './schema.js';
import { CFSSL_DEFAULT_DIRS, LAYOUT_DIR_FIELDS, LAYOUTS, UNIT_COMPONENTS, type Cidr, type Layout } from './types.js';
import { parseKubernetesVersion } from './version.js';

export type PathSegment = string | number;
export type FieldPath = readonly PathSegment[];

export interface Finding {
  /** The field that is wrong. */
  readonly path: FieldPath;
  readonly message: string;
  /** Where to point in the file when that is not `path` itself. */
  readonly at?: FieldPath;
}

export type RawPlan = Readonly<Record<string, unknown>>;
export type Rule = (plan: RawPlan) => Finding[];

function record(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function list(value: unknown): readonly unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function section(plan: RawPlan, key: string): Readonly<Record<string, unknown>> {
  return record(plan[key]) ?? {};
}

interface RawNode {
  readonly index: number;
  readonly name: string | undefined;
  /** Undefined when the roles are missing or not a list (a schema error). */
  readonly roles: readonly string[] | undefined;
}

function rawNodes(plan: RawPlan): RawNode[] {
  return (list(plan['nodes']) ?? []).map((n, index) => {
    const node = record(n) ?? {};
    const roles = list(node['roles'])?.filter((r): r is string => typeof r === 'string');
    return { index, name: text(node['name']), roles };
  });
}

function nodeLabel(node: RawNode): string {
  return node.name ?? `nodes[${node.index}]`;
}

/** Parses a comma-separated list of at most two CIDRs of different families. */
export function parseSubnetList(value: string): { cidrs: Cidr[]; problems: string[] } {
  const parts = value.split(',').map((p) => p.trim());
  const cidrs: Cidr[] = [];
  const problems: string[] = [];
  if (parts.length > 2) problems.push(`has ${parts.length} CIDRs; at most two are allowed (one IPv4 and one IPv6, for dual stack)`);
  for (const part of parts) {
    if (part === '') {
      problems.push(value.trim() === '' ? 'is empty' : 'has an empty entry between commas');
      continue;
    }
    const cidr = parseCidr(part);
    if (typeof cidr === 'string') problems.push(cidr);
    else cidrs.push(cidr);
  }
  const [a, b] = cidrs;
  if (a && b && a.family === b.family) {
    problems.push(`lists two IPv${a.family} CIDRs; dual stack needs one IPv4 and one IPv6 CIDR`);
  }
  return { cidrs, problems };
}

export function checkClusterName(plan: RawPlan): Finding[] {
  const name = text(plan['clusterName']);
  if (name === undefined) return [];
  if (name === '') return [{ path: ['clusterName'], message: 'must not be empty; omit it to use "kubernetes"' }];
  if (/\s/.test(name)) {
    return [{ path: ['clusterName'], message: `"${name}" contains whitespace; use a single word such as "prod-eu1"` }];
  }
  return [];
}

/** Service and pod subnets: valid CIDRs, dual-stack shape, room for a service IP, no overlap. */
export function checkSubnets(plan: RawPlan): Finding[] {
  const networking = section(plan, 'networking');
  const findings: Finding[] = [];
  const parsed: Partial<Record<'serviceSubnet' | 'podSubnet', Cidr[]>> = {};
  for (const key of ['serviceSubnet', 'podSubnet'] as const) {
    const value = text(networking[key]);
    if (value === undefined) continue;
    const { cidrs, problems } = parseSubnetList(value);
    for (const p of problems) findings.push({ path: ['networking', key], message: p });
    if (problems.length === 0) parsed[key] = cidrs;
  }
  for (const cidr of parsed.serviceSubnet ?? []) {
    // kube-apiserver reserves the network address, and the broadcast address for IPv4.
    const needed = cidr.family === 4 ? 2 : 1;
    if (hostBits(cidr) < needed) {
      const max = cidr.family === 4 ? 30 : 127;
      findings.push({
        path: ['networking', 'serviceSubnet'],
        message: `${cidr.text} is too small to hold any service IP; use a prefix of /${max} or shorter (e.g. ${cidr.family === 4 ? '10.96.0.0/12' : 'fd00:10:96::/112'})`,
      });
    }
  }
  for (const pod of parsed.podSubnet ?? []) {
    for (const svc of parsed.serviceSubnet ?? []) {
      if (cidrsOverlap(pod, svc)) {
        findings.push({ path: ['networking', 'podSubnet'], message: `${pod.text} overlaps the service subnet ${svc.text}` });
      }
    }
  }
  return findings;
}

export function checkDnsDomain(plan: RawPlan): Finding[] {
  const domain = text(section(plan, 'networking')['dnsDomain']);
  if (domain === undefined) return [];
  const problem = dnsNameProblem(domain);
  return problem
    ? [{ path: ['networking', 'dnsDomain'], message: `"${domain}" is not a DNS name: ${problem}; expected something like cluster.local` }]
    : [];
}

/** The endpoint parses; it may only be left out when there is a single control plane. */
export function checkEndpoint(plan: RawPlan): Finding[] {
  const value = plan['controlPlaneEndpoint'];
  const bindPort = section(plan, 'apiServer')['bindPort'];
  const defaultPort = typeof bindPort === 'number' ? bindPort : PLAN_DEFAULTS.bindPort;
  if (typeof value === 'string') {
    const endpoint = parseHostPort(value, defaultPort);
    return typeof endpoint === 'string' ? [{ path: ['controlPlaneEndpoint'], message: endpoint }] : [];
  }
  if (value !== undefined) return [];
  const controlPlanes = rawNodes(plan).filter((n) => n.roles?.includes('control-plane'));
  if (controlPlanes.length <= 1) return [];
  return [
    {
      path: ['controlPlaneEndpoint'],
      message: `is required with more than one control-plane node (${controlPlanes.map(nodeLabel).join(', ')}); set it to the load balancer's address, e.g. k8s-api.example.internal:${defaultPort}`,
    },
  ];
}

function checkSanList(value: unknown, path: FieldPath): Finding[] {
  return (list(value) ?? []).flatMap((san, i): Finding[] => {
    if (typeof san !== 'string' || canonicalIp(san) !== undefined) return [];
    const problem = dnsNameProblem(san, { allowWildcard: true });
    return problem
      ? [{ path: [...path, i], message: `"${san}" is neither an IP address nor a DNS name (${problem}); wildcards like *.example.com are allowed` }]
      : [];
  });
}

export function checkSans(plan: RawPlan): Finding[] {
  const nodeSans = (list(plan['nodes']) ?? []).flatMap((n, i) => checkSanList(record(n)?.['extraSANs'], ['nodes', i, 'extraSANs']));
  return [...checkSanList(section(plan, 'apiServer')['certSANs'], ['apiServer', 'certSANs']), ...nodeSans];
}

/** Why `name` cannot be a node name, or undefined. */
function nodeNameProblem(name: string): string | undefined {
  // An IP is a valid subdomain, but kpki writes the node name into certificates as a DNS name.
  if (isIp(name)) return 'is an IP address; name the node by its host name (e.g. node-10-0-0-1), the address goes in address';
  const problem = dnsSubdomainProblem(name);
  return problem && `${problem}; a node name must be an RFC 1123 DNS subdomain (${DNS_SUBDOMAIN_RULE})`;
}

/** Names are DNS subdomains, addresses are IPs, and neither repeats (addresses compared canonically). */
export function checkNodeIdentity(plan: RawPlan): Finding[] {
  const findings: Finding[] = [];
  const names = new Map<string, number>();
  const addresses = new Map<string, number>();
  (list(plan['nodes']) ?? []).forEach((n, i) => {
    const node = record(n) ?? {};
    const name = text(node['name']);
    if (name !== undefined) {
      const problem = nodeNameProblem(name);
      if (problem) findings.push({ path: ['nodes', i, 'name'], message: `"${name}" is not a valid node name: it ${problem}` });
      const first = names.get(name);
      if (first !== undefined) findings.push({ path: ['nodes', i, 'name'], message: `duplicate node name "${name}" (also nodes[${first}].name)` });
      else names.set(name, i);
    }
    const address = text(node['address']);
    if (address === undefined) return;
    const canonical = canonicalIp(address);
    if (canonical === undefined) {
      findings.push({ path: ['nodes', i, 'address'], message: `"${address}" is not an IP address; expected IPv4 like 192.0.2.11 or IPv6 like fd00::11` });
      return;
    }
    const first = addresses.get(canonical);
    if (first !== undefined) {
      findings.push({ path: ['nodes', i, 'address'], message: `duplicate address ${canonical} (also nodes[${first}].address)` });
    } else addresses.set(canonical, i);
  });
  return findings;
}

/** A control plane exists, and etcd roles match the etcd topology. */
export function checkTopology(plan: RawPlan): Finding[] {
  const nodes = rawNodes(plan);
  if (nodes.length === 0) return [];
  const findings: Finding[] = [];
  // A role-less node might be the missing one; its own error is enough.
  const allKnown = nodes.every((n) => n.roles !== undefined);
  const has = (role: string): boolean => nodes.some((n) => n.roles?.includes(role));
  if (allKnown && !has('control-plane')) {
    findings.push({ path: ['nodes'], message: 'no control plane: at least one node needs the control-plane role' });
  }
  const externalValue = section(plan, 'etcd')['external'];
  // A non-boolean is a schema error already; guessing the topology would only add noise.
  if (externalValue !== undefined && typeof externalValue !== 'boolean') return findings;
  const external = externalValue ?? PLAN_DEFAULTS.etcdExternal;
  if (external && allKnown && !has('etcd')) {
    findings.push({ path: ['etcd', 'external'], message: 'external etcd needs at least one node with the etcd role' });
  }
  if (!external) {
    for (const n of nodes) {
      if (n.roles?.includes('etcd') && !n.roles.includes('control-plane')) {
        findings.push({
          path: ['nodes', n.index, 'roles'],
          message: `${nodeLabel(n)} has the etcd role without control-plane: stacked etcd (etcd.external: false) runs on the control-plane nodes; set etcd.external: true for dedicated etcd nodes`,
        });
      }
    }
  }
  return findings;
}

type DurationKey = 'caValidity' | 'certValidity' | 'renewBefore';

/** Durations parse, validities are positive, and each fits inside the one it depends on. */
export function checkValidity(plan: RawPlan): Finding[] {
  const pki = section(plan, 'pki');
  const findings: Finding[] = [];
  const ms: Partial<Record<DurationKey, number>> = {};
  const shown: Record<DurationKey, string> = {
    caValidity: PLAN_DEFAULTS.caValidity,
    certValidity: PLAN_DEFAULTS.certValidity,
    renewBefore: PLAN_DEFAULTS.renewBefore,
  };
  for (const key of ['caValidity', 'certValidity', 'renewBefore'] as const) {
    const raw = pki[key];
    if (raw !== undefined && typeof raw !== 'string') continue;
    const value = raw ?? PLAN_DEFAULTS[key];
    shown[key] = raw === undefined ? `${value} (the default)` : value;
    try {
      ms[key] = parseDuration(value);
    } catch (err) {
      findings.push({ path: ['pki', key], message: (err as Error).message });
      continue;
    }
    if (ms[key] === 0 && key !== 'renewBefore') findings.push({ path: ['pki', key], message: 'must be greater than zero' });
  }
  const { caValidity: ca, certValidity: cert, renewBefore: renew } = ms;
  if (ca !== undefined && cert !== undefined && cert > ca) {
    // Point at whichever of the two the user wrote; certValidity when both.
    const key: DurationKey = pki['certValidity'] !== undefined || pki['caValidity'] === undefined ? 'certValidity' : 'caValidity';
    findings.push({
      path: ['pki', key],
      message: `certValidity ${shown.certValidity} is longer than caValidity ${shown.caValidity}: a leaf validity longer than its CA's would outlive the CA`,
    });
  }
  if (cert !== undefined && renew !== undefined && cert > 0 && renew >= cert) {
    const key: DurationKey = pki['renewBefore'] !== undefined || pki['certValidity'] === undefined ? 'renewBefore' : 'certValidity';
    findings.push({
      path: ['pki', key],
      message: `renewBefore ${shown.renewBefore} must be less than certValidity ${shown.certValidity}, or every certificate would be due for renewal as soon as it is issued`,
    });
  }
  return findings;
}

/** The version parses, is a 1.x release and is one kpki writes identities for. */
export function checkKubernetesVersion(plan: RawPlan): Finding[] {
  const value = plan['kubernetesVersion'];
  if (typeof value === 'number') {
    // YAML reads 1.30 as the number 1.3: the minor version is lost, so say so rather than guess.
    return [{ path: ['kubernetesVersion'], message: `must be a string (got number ${value}); quote it, e.g. kubernetesVersion: "v1.31.2" (YAML reads 1.30 as the number 1.3)` }];
  }
  if (typeof value !== 'string') return [];
  const version = parseKubernetesVersion(value);
  return typeof version === 'string' ? [{ path: ['kubernetesVersion'], message: version }] : [];
}

/** The layout's name, from either form (`layout: cfssl`, `layout: { name: cfssl, ... }`); undefined when it has none. */
export function layoutName(value: unknown): Layout | undefined {
  const name = typeof value === 'string' ? value : text(record(value)?.['name']);
  return (LAYOUTS as readonly string[]).includes(name ?? '') ? (name as Layout) : undefined;
}

/** Why `value` cannot be a layout directory, or undefined. */
function layoutDirProblem(value: string, example = '/k8s/kubernetes/ssl'): string | undefined {
  if (!value.startsWith('/')) return `is not an absolute path; write it from the root, e.g. ${example}`;
  const body = value.replace(/\/$/, '');
  if (body === '') return `is the root directory; name a directory below it, e.g. ${example}`;
  const segments = body.split('/').slice(1);
  if (segments.some((s) => s === '..' || s === '.')) return `has a "." or ".." segment; write the directory itself, e.g. ${example}`;
  if (segments.some((s) => s === '')) return 'has an empty segment ("//")';
  const odd = segments.join('').match(/[^A-Za-z0-9._+@-]/);
  if (odd) return `has ${JSON.stringify(odd[0])} in it; use letters, digits and . _ - + @ only (systemd units and shells take these unquoted)`;
  return undefined;
}

/** `layout: { name, kubernetesDir, etcdDir, kubeconfigDir }`: absolute directories, cfssl only, Kubernetes and etcd apart. */
export function checkLayoutDirs(plan: RawPlan): Finding[] {
  const value = plan['layout'];
  const layout = record(value);
  if (!layout) {
    if (value === undefined || typeof value === 'string') return [];
    const got = value === null ? 'an empty value' : Array.isArray(value) ? 'a list' : `${typeof value} ${String(value)}`;
    return [{ path: ['layout'], message: `must be a layout name (kubeadm or cfssl) or a mapping such as { name: cfssl, kubernetesDir: /k8s/kubernetes/ssl } (got ${got})` }];
  }
  const findings: Finding[] = [];
  const dirs = new Map<string, string>();
  for (const field of LAYOUT_DIR_FIELDS) {
    const value = layout[field];
    if (value === undefined) continue;
    const path = ['layout', field];
    if (typeof value !== 'string') {
      findings.push({ path, message: `must be an absolute directory such as ${CFSSL_DEFAULT_DIRS[field]} (got ${value === null ? 'an empty value' : typeof value})` });
      continue;
    }
    const problem = layoutDirProblem(value);
    if (problem) findings.push({ path, message: `${JSON.stringify(value)} ${problem}` });
    else dirs.set(field, value.replace(/\/$/, ''));
  }
  if (layoutName(layout) === 'kubeadm') {
    for (const field of LAYOUT_DIR_FIELDS.filter((f) => layout[f] !== undefined)) {
      findings.push({ path: ['layout', field], message: "kubeadm's layout has fixed directories (/etc/kubernetes/pki, kubeconfigs in /etc/kubernetes), as kubeadm reads them; directories are set with name: cfssl" });
    }
    return findings;
  }
  // The two directories hold files of the same names (ca.pem, server.pem, server-key.pem).
  const k8s = dirs.get('kubernetesDir') ?? CFSSL_DEFAULT_DIRS.kubernetesDir;
  const etcd = dirs.get('etcdDir') ?? CFSSL_DEFAULT_DIRS.etcdDir;
  if (k8s === etcd && (dirs.has('kubernetesDir') || dirs.has('etcdDir'))) {
    findings.push({
      path: ['layout', dirs.has('etcdDir') ? 'etcdDir' : 'kubernetesDir'],
      message: `etcdDir and kubernetesDir are both ${k8s}; they need directories of their own, since both hold a ca.pem and a server.pem`,
    });
  }
  return findings;
}

/** The cfssl layout is for binary installs: kubeadm only reads its own file names. */
export function checkDeployLayout(plan: RawPlan): Finding[] {
  const deploy = plan['deploy'] ?? PLAN_DEFAULTS.deploy;
  if (layoutName(plan['layout']) !== 'cfssl' || deploy !== 'kubeadm') return [];
  return [
    {
      path: ['layout'],
      message: 'layout cfssl only works with deploy: binary; kubeadm reads /etc/kubernetes/pki with its own file names, so use layout: kubeadm (the default) with deploy: kubeadm',
    },
  ];
}

/** At most one node is kubeadm's init node, and it is a control plane. */
export function checkInitNode(plan: RawPlan): Finding[] {
  const findings: Finding[] = [];
  let first: RawNode | undefined;
  for (const node of rawNodes(plan)) {
    if (record((list(plan['nodes']) ?? [])[node.index])?.['init'] !== true) continue;
    const path = ['nodes', node.index, 'init'];
    if (node.roles !== undefined && !node.roles.includes('control-plane')) {
      findings.push({ path, message: `${nodeLabel(node)} is not a control plane; kubeadm init runs on a control-plane node, so mark one of those with init: true` });
    }
    if (first) {
      findings.push({ path, message: `only one node can be the init node; ${nodeLabel(first)} (nodes[${first.index}]) is marked too` });
    } else first = node;
  }
  return findings;
}

/** The first character of `value` that may not go unquoted into a unit or config file, described. */
function unsafeChar(value: string): string | undefined {
  const odd = value.match(new RegExp(`[^${UNIT_SAFE_CHARS}]`));
  if (!odd) return undefined;
  const c = odd[0];
  return c === '\n' ? 'a line break' : /\s/.test(c) ? 'white space' : JSON.stringify(c);
}

/**
 * What `kpki install` writes into systemd units and config files: every value strictly shaped,
 * since a newline, `$`, `%`, `;` or a quote would change what systemd or a shell runs.
 */
export function checkHostSettings(plan: RawPlan): Finding[] {
  const findings: Finding[] = [];
  const absolute = (path: FieldPath, value: unknown, example: string) => {
    if (typeof value !== 'string') return;
    const problem = layoutDirProblem(value, example);
    if (problem) findings.push({ path, message: `${JSON.stringify(value)} ${problem}` });
  };
  absolute(['binDir'], plan['binDir'], '/usr/local/bin');
  absolute(['etcd', 'dataDir'], section(plan, 'etcd')['dataDir'], '/var/lib/etcd');
  const kubelet = section(plan, 'kubelet');
  const cri = text(kubelet['containerRuntimeEndpoint']);
  if (cri !== undefined && !new RegExp(CRI_ENDPOINT_PATTERN).test(cri)) {
    const odd = unsafeChar(cri.replace(/^unix:\/\//, ''));
    findings.push({
      path: ['kubelet', 'containerRuntimeEndpoint'],
      message: `${JSON.stringify(cri)} is not unix:///absolute/path of a socket${odd ? ` (it has ${odd} in it)` : ''}, e.g. ${PLAN_DEFAULTS.containerRuntimeEndpoint}`,
    });
  }
  const dns = text(kubelet['clusterDNS']);
  if (dns !== undefined) {
    const ip = canonicalIp(dns);
    if (ip === undefined) findings.push({ path: ['kubelet', 'clusterDNS'], message: `${JSON.stringify(dns)} is not an IP address; name the DNS service IP, e.g. 10.96.0.10` });
    else {
      const services = parseSubnetList(text(section(plan, 'networking')['serviceSubnet']) ?? PLAN_DEFAULTS.serviceSubnet).cidrs;
      if (services.length && !services.some((c) => cidrContains(c, ip))) {
        findings.push({ path: ['kubelet', 'clusterDNS'], message: `${ip} is outside the service subnet ${services.map((c) => c.text).join(',')}; the DNS service IP is a service IP` });
      }
    }
  }
  const lb = record(plan['loadBalancer']);
  const vip = text(lb?.['vip']);
  if (vip !== undefined && !isIp(vip)) findings.push({ path: ['loadBalancer', 'vip'], message: `${JSON.stringify(vip)} is not an IP address; keepalived holds an address, e.g. 192.0.2.100` });
  const iface = text(lb?.['interface']);
  if (iface !== undefined && !new RegExp(INTERFACE_PATTERN).test(iface)) {
    const odd = unsafeChar(iface);
    findings.push({ path: ['loadBalancer', 'interface'], message: `${JSON.stringify(iface)} is not an interface name (letters, digits, _ . - only, at most 15)${odd ? `; it has ${odd} in it` : ''}` });
  }
  const extra = section(plan, 'extraFlags');
  for (const component of UNIT_COMPONENTS) {
    const flags = list(extra[component]);
    flags?.forEach((flag, i) => {
      if (typeof flag !== 'string' || new RegExp(EXTRA_FLAG_PATTERN).test(flag)) return;
      const eq = flag.indexOf('=');
      const odd = unsafeChar(eq < 0 ? flag : flag.slice(eq + 1));
      const why = !flag.startsWith('--') || !/^--[a-z0-9][a-z0-9-]*(=|$)/.test(flag)
        ? 'is not --name=value with a lower-case flag name'
        : `has ${odd ?? 'a character'} in it; values may hold letters, digits and . _ , : / = @ + - only (systemd and shells read the rest)`;
      findings.push({ path: ['extraFlags', component, i], message: `${JSON.stringify(flag)} ${why}` });
    });
  }
  return findings;
}

/** Every rule, in the order they are documented; all run and all findings are kept. */
export const RULES: readonly Rule[] = [
  checkClusterName,
  checkSubnets,
  checkDnsDomain,
  checkEndpoint,
  checkSans,
  checkNodeIdentity,
  checkTopology,
  checkValidity,
  checkKubernetesVersion,
  checkDeployLayout,
  checkLayoutDirs,
  checkInitNode,
  checkHostSettings,
];

export function runRules(plan: RawPlan): Finding[] {
  return RULES.flatMap((rule) => rule(plan));
}
