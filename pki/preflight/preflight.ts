/**
 * `kpki preflight`: what the seed guides check by hand on every host before a cluster is
 * installed, over the same SSH transport install uses. One facts script and one clock reading
 * per host, hosts in parallel; an unreachable host is a failed check of its own and the others
 * complete. Judging is pure (judge): facts × plan → results, so it is tested without hosts.
 */
import { KpkiError } from '../errors.js';
import type { Plan, PlanNode } from '../plan/types.js';
import { nodeTarget, TransportError, type Transport } from '../sinks/ssh-transport.js';
import { factsScript, MODULES, parseFacts, SYSCTLS, type HostFacts } from './probe.js';

/** Every check, in report order, with what it verifies. Check ids are a public contract (`--json`). */
export const PREFLIGHT_CHECKS = {
  reachable: 'kpki reaches the host over SSH (host key known, login works, root or sudo -n)',
  'unique-hostname': 'no two hosts share a hostname',
  'unique-mac': 'no two hosts share a MAC address',
  'unique-product-uuid': 'no two hosts share /sys/class/dmi/id/product_uuid (cloned VMs)',
  swap: 'swap is off (/proc/swaps lists no device)',
  modules: 'the kernel modules br_netfilter and overlay are loaded',
  sysctls: 'net.bridge.bridge-nf-call-iptables and net.ipv4.ip_forward are 1',
  ports: "the ports of the host's roles are free",
  clock: 'the clock is within 30 s of this machine (warning), 5 min (failure): certificates are time-sensitive',
  binaries: "the binaries of the host's roles are in binDir",
  'runtime-socket': 'a container runtime socket is present on kubelet nodes',
} as const;
export type PreflightCheck = keyof typeof PREFLIGHT_CHECKS;
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  readonly check: PreflightCheck;
  readonly status: CheckStatus;
  readonly message: string;
}

export interface HostReport {
  readonly node: string;
  /** Where kpki connected (`nodes[].ssh.host`, else the address). */
  readonly host: string;
  readonly roles: readonly string[];
  readonly checks: readonly CheckResult[];
}

export interface PreflightReport {
  readonly apiVersion: 'kpki/v1alpha1';
  readonly kind: 'PreflightReport';
  readonly generatedAt: string;
  readonly binDir: string;
  readonly status: CheckStatus;
  /** 0: nothing failed (warnings allowed); 1: a check failed on some host. */
  readonly exitCode: 0 | 1;
  readonly hosts: readonly HostReport[];
}

export const DEFAULT_BIN_DIR = '/usr/local/bin';
export const CLOCK_WARN_S = 30;
export const CLOCK_FAIL_S = 300;

/** What a host read: its facts and the clock offset (seconds, with the uncertainty of the reading). */
export interface HostReading {
  readonly facts: HostFacts;
  readonly clock: { readonly offsetS: number; readonly uncertaintyS: number } | undefined;
}

const isKubelet = (n: PlanNode) => n.roles.includes('control-plane') || n.roles.includes('worker');

/** The TCP ports a node's roles listen on. */
export function rolePorts(plan: Plan, n: PlanNode): Map<number, string> {
  const ports = new Map<number, string>();
  if (n.roles.includes('control-plane')) {
    ports.set(plan.apiServer.bindPort, 'kube-apiserver');
    ports.set(10257, 'kube-controller-manager');
    ports.set(10259, 'kube-scheduler');
    if (!plan.etcd.external) ports.set(2379, 'etcd client').set(2380, 'etcd peer');
  }
  if (n.roles.includes('etcd')) ports.set(2379, 'etcd client').set(2380, 'etcd peer');
  if (isKubelet(n)) ports.set(10250, 'kubelet');
  if (n.roles.includes('load-balancer') && !ports.has(plan.controlPlaneEndpoint.port)) ports.set(plan.controlPlaneEndpoint.port, 'load balancer (controlPlaneEndpoint)');
  return ports;
}

/** The binaries a node's roles run; `anywhere`: found on PATH is enough (kubeadm's packages, haproxy). */
export function roleBinaries(plan: Plan, n: PlanNode): { inBinDir: string[]; anywhere: string[] } {
  const inBinDir = new Set<string>();
  const anywhere = new Set<string>();
  if (plan.deploy === 'kubeadm') {
    if (isKubelet(n)) anywhere.add('kubeadm').add('kubelet');
  } else {
    if (n.roles.includes('control-plane')) {
      inBinDir.add('kube-apiserver').add('kube-controller-manager').add('kube-scheduler');
      if (!plan.etcd.external) inBinDir.add('etcd');
    }
    if (n.roles.includes('etcd')) inBinDir.add('etcd');
    if (isKubelet(n)) inBinDir.add('kubelet').add('kube-proxy');
  }
  if (n.roles.includes('load-balancer')) anywhere.add('haproxy');
  return { inBinDir: [...inBinDir], anywhere: [...anywhere] };
}

const list = (xs: readonly string[]) => xs.join(', ');

/**
 * Facts × plan → results per host. Duplicates are judged among the hosts read (an
 * unreachable host cannot be compared).
 */
export function judge(plan: Plan, nodes: readonly PlanNode[], readings: ReadonlyMap<string, HostReading | { readonly error: string }>, binDir: string): Map<string, CheckResult[]> {
  const out = new Map<string, CheckResult[]>();
  const read = nodes.flatMap((n) => {
    const r = readings.get(n.name);
    return r && 'facts' in r ? [{ node: n, facts: r.facts }] : [];
  });
  /** Other hosts with the same value. */
  const others = (key: (f: HostFacts) => readonly string[]) => {
    const by = new Map<string, string[]>();
    for (const { node, facts } of read) for (const v of new Set(key(facts))) by.set(v, [...(by.get(v) ?? []), node.name]);
    return (node: string, v: string) => (by.get(v) ?? []).filter((x) => x !== node);
  };
  const sameHostname = others((f) => (f.hostname ? [f.hostname] : []));
  const sameUuid = others((f) => (f.productUuid ? [f.productUuid] : []));
  const sameMac = others((f) => [...f.macs.values()]);

  for (const n of nodes) {
    const r = readings.get(n.name);
    const results: CheckResult[] = [];
    const add = (check: PreflightCheck, status: CheckStatus, message: string) => results.push({ check, status, message });
    out.set(n.name, results);
    if (!r || !('facts' in r)) {
      add('reachable', 'fail', r && 'error' in r ? r.error : 'not read');
      continue;
    }
    const f = r.facts;
    add('reachable', 'ok', 'connected');

    const dupHost = sameHostname(n.name, f.hostname);
    add('unique-hostname', dupHost.length ? 'fail' : 'ok', dupHost.length ? `hostname ${f.hostname} is also the hostname of ${list(dupHost)}` : f.hostname);

    const dupMacs = [...f.macs].flatMap(([iface, mac]) => sameMac(n.name, mac).map((o) => `${iface} ${mac} (also on ${o})`));
    add('unique-mac', dupMacs.length ? 'fail' : 'ok', dupMacs.length ? `shared MAC address: ${list(dupMacs)}` : `${f.macs.size} interface(s)`);

    if (f.productUuid === undefined) add('unique-product-uuid', 'warn', '/sys/class/dmi/id/product_uuid is not readable: uniqueness not checked');
    else {
      const dup = sameUuid(n.name, f.productUuid);
      add('unique-product-uuid', dup.length ? 'fail' : 'ok', dup.length ? `product_uuid ${f.productUuid} is also that of ${list(dup)} (a cloned machine?)` : f.productUuid);
    }

    add('swap', f.swaps.length ? 'fail' : 'ok', f.swaps.length ? `swap is on: ${list(f.swaps)} (swapoff -a, and remove it from /etc/fstab)` : 'off');

    const missing = MODULES.filter((m) => !f.modules.has(m));
    add('modules', missing.length ? 'warn' : 'ok', missing.length ? `not loaded: ${list(missing)} (modprobe ${missing.join(' ')}; list them in /etc/modules-load.d/)` : list(MODULES));

    const unset = SYSCTLS.filter((s) => f.sysctls.get(s) !== '1').map((s) => {
      const v = f.sysctls.get(s);
      return `${s.replace(/\//g, '.')} ${v === undefined ? 'absent' : `= ${v}`}`;
    });
    add('sysctls', unset.length ? 'warn' : 'ok', unset.length ? `not 1: ${list(unset)} (set them in /etc/sysctl.d/ and run sysctl --system)` : 'set');

    if (!isKubelet(n) && !n.roles.some((x) => x === 'etcd' || x === 'load-balancer')) add('ports', 'ok', 'no role ports');
    else {
      const busy = [...rolePorts(plan, n)].filter(([p]) => f.listening.has(p)).map(([p, what]) => `${p} (${what})`);
      add('ports', busy.length ? 'fail' : 'ok', busy.length ? `in use: ${list(busy)}` : `free: ${[...rolePorts(plan, n).keys()].join(', ')}`);
    }

    if (!r.clock) add('clock', 'warn', 'the clock could not be read');
    else {
      const { offsetS, uncertaintyS } = r.clock;
      const off = Math.max(0, Math.abs(offsetS) - uncertaintyS);
      const dir = offsetS > 0 ? 'ahead of' : 'behind';
      const text = `${Math.abs(offsetS).toFixed(1)} s ${dir} this machine`;
      add('clock', off >= CLOCK_FAIL_S ? 'fail' : off >= CLOCK_WARN_S ? 'warn' : 'ok', off >= CLOCK_WARN_S ? `${text} (certificates may be refused as not yet valid or expired; run NTP)` : text);
    }

    const { inBinDir, anywhere } = roleBinaries(plan, n);
    const problems = [
      ...inBinDir.flatMap((b) => {
        const found = f.binaries.get(b);
        if (found?.where === 'bin') return [];
        return [found ? `${b} is at ${found.path}, not in ${binDir}` : `${b} missing from ${binDir}`];
      }),
      ...anywhere.filter((b) => !f.binaries.has(b)).map((b) => `${b} not found`),
    ];
    const wanted = [...inBinDir, ...anywhere];
    add('binaries', problems.length ? 'fail' : 'ok', problems.length ? list(problems) : wanted.length ? `found: ${list(wanted)}` : 'none needed');

    if (isKubelet(n)) add('runtime-socket', f.sockets.length ? 'ok' : 'fail', f.sockets.length ? list(f.sockets) : 'no container runtime socket (containerd, CRI-O, cri-dockerd): install and start the runtime');
    else add('runtime-socket', 'ok', 'no kubelet on this node');
  }
  return out;
}

export interface PreflightOptions {
  readonly transport: Transport;
  /** Node names; default every node of the plan. */
  readonly hosts?: readonly string[];
  /** Where units run binaries from; default the plan's binDir, else /usr/local/bin. */
  readonly binDir?: string;
  /** Hosts read at once (default 10). */
  readonly parallel?: number;
  readonly now?: () => number;
}

/** The nodes named (all when none), in plan order; an unknown name is a usage error naming it. */
export function selectNodes(plan: Plan, names: readonly string[] | undefined): PlanNode[] {
  if (!names?.length) return [...plan.nodes];
  const known = new Set(plan.nodes.map((n) => n.name));
  const unknown = names.filter((x) => !known.has(x));
  if (unknown.length) throw new KpkiError('ERR_BAD_ARGUMENT', `--hosts: ${list(unknown)} ${unknown.length > 1 ? 'are' : 'is'} not a node of ${plan.source} (nodes: ${list([...known])})`);
  const want = new Set(names);
  return plan.nodes.filter((n) => want.has(n.name));
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

async function readHost(plan: Plan, n: PlanNode, o: PreflightOptions, binDir: string): Promise<HostReading | { error: string }> {
  const target = nodeTarget(n);
  const now = o.now ?? Date.now;
  try {
    const { inBinDir, anywhere } = roleBinaries(plan, n);
    const r = await o.transport.exec(target, factsScript(binDir, [...inBinDir, ...anywhere]));
    if (r.code !== 0) return { error: `the facts script failed (exit ${r.code}): ${r.stderr.trim().split('\n').at(-1) ?? ''}` };
    const facts = parseFacts(r.stdout.toString('utf8'));
    // The clock: one short command on the open connection, bracketed by this machine's clock.
    const t0 = now();
    const c = await o.transport.exec(target, 'date +%s.%N');
    const t1 = now();
    const remote = Number.parseFloat(c.stdout.toString('utf8').trim());
    const clock = c.code === 0 && Number.isFinite(remote) ? { offsetS: remote - (t0 + t1) / 2000, uncertaintyS: (t1 - t0) / 2000 } : undefined;
    return { facts, clock };
  } catch (err) {
    if (err instanceof TransportError) return { error: err.message };
    throw err;
  }
}

export async function preflight(plan: Plan, o: PreflightOptions): Promise<PreflightReport> {
  const nodes = selectNodes(plan, o.hosts);
  const binDir = o.binDir ?? (plan as { readonly binDir?: string }).binDir ?? DEFAULT_BIN_DIR;
  const read = await pool(nodes, o.parallel ?? 10, (n) => readHost(plan, n, o, binDir));
  const readings = new Map(nodes.map((n, i) => [n.name, read[i]!]));
  const judged = judge(plan, nodes, readings, binDir);
  const hosts = nodes.map((n): HostReport => ({ node: n.name, host: nodeTarget(n).host, roles: [...n.roles], checks: judged.get(n.name)! }));
  const all = hosts.flatMap((h) => h.checks);
  const status: CheckStatus = all.some((c) => c.status === 'fail') ? 'fail' : all.some((c) => c.status === 'warn') ? 'warn' : 'ok';
  return {
    apiVersion: 'kpki/v1alpha1', kind: 'PreflightReport', generatedAt: new Date((o.now ?? Date.now)()).toISOString(),
    binDir, status, exitCode: status === 'fail' ? 1 : 0, hosts,
  };
}

/** The report as a table: one row per host and check, problems first within each host. */
export function renderPreflight(r: PreflightReport): string {
  const rows = r.hosts.flatMap((h) => h.checks.map((c) => [h.node, c.check, c.status.toUpperCase(), c.message]));
  const head = ['NODE', 'CHECK', 'RESULT', 'DETAIL'];
  const widths = [0, 1, 2].map((i) => Math.max(head[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) => row.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
  const count = (s: CheckStatus) => r.hosts.flatMap((h) => h.checks).filter((c) => c.status === s).length;
  return `${[line(head), ...rows.map(line)].join('\n')}\n\n${r.hosts.length} host(s): ${count('fail')} failed, ${count('warn')} warning(s), ${count('ok')} ok — ${r.status === 'fail' ? 'NOT READY' : 'ready'}\n`;
}
