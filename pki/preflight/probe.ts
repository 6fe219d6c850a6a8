/**
 * What preflight reads on a host, in one script (one round trip per host): identity
 * (hostname, MACs, product_uuid), swap, kernel modules and sysctls, listening TCP ports,
 * binaries, container runtime sockets. Read from /proc and /sys, so nothing has to be
 * installed on the host but a POSIX shell, awk and coreutils. Missing files are facts, never errors.
 */

/** Sockets kubelet can be pointed at (containerd, CRI-O, cri-dockerd). */
export const RUNTIME_SOCKETS = ['/run/containerd/containerd.sock', '/var/run/crio/crio.sock', '/run/crio/crio.sock', '/run/cri-dockerd.sock'] as const;

export const MODULES = ['br_netfilter', 'overlay'] as const;
/** The sysctls Kubernetes networking needs set to 1, as /proc/sys paths. */
export const SYSCTLS = ['net/bridge/bridge-nf-call-iptables', 'net/ipv4/ip_forward'] as const;

export interface HostFacts {
  readonly hostname: string;
  readonly productUuid?: string;
  /** Interface → MAC, loopback and all-zero addresses left out. */
  readonly macs: ReadonlyMap<string, string>;
  /** Active swap devices (/proc/swaps). */
  readonly swaps: readonly string[];
  readonly modules: ReadonlySet<string>;
  /** /proc/sys path → value; absent: the file does not exist (its module is not loaded). */
  readonly sysctls: ReadonlyMap<string, string>;
  readonly listening: ReadonlySet<number>;
  /** Binary name → where found: in binDir (`bin`) or only elsewhere on PATH (`path`). */
  readonly binaries: ReadonlyMap<string, { readonly where: 'bin' | 'path'; readonly path: string }>;
  readonly sockets: readonly string[];
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function factsScript(binDir: string, binaries: readonly string[]): string {
  return `
export LC_ALL=C
echo "hostname $(cat /proc/sys/kernel/hostname 2>/dev/null || hostname)"
[ -r /sys/class/dmi/id/product_uuid ] && echo "uuid $(cat /sys/class/dmi/id/product_uuid)"
for i in /sys/class/net/*; do [ -r "$i/address" ] && echo "mac \${i##*/} $(cat "$i/address")"; done
tail -n +2 /proc/swaps 2>/dev/null | while read -r dev rest; do [ -n "$dev" ] && echo "swap $dev"; done
for m in ${MODULES.join(' ')}; do if [ -d "/sys/module/$m" ] || grep -q "^$m " /proc/modules 2>/dev/null; then echo "module $m"; fi; done
# Built in (no /sys/module entry): br_netfilter shows by its sysctls, overlay as a file system.
[ -d /proc/sys/net/bridge ] && echo "module br_netfilter"
grep -qw overlay /proc/filesystems 2>/dev/null && echo "module overlay"
for s in ${SYSCTLS.join(' ')}; do [ -r "/proc/sys/$s" ] && echo "sysctl $s $(cat "/proc/sys/$s")"; done
awk '$4 == "0A" { n = split($2, a, ":"); print "listen " a[n] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
bindir=${q(binDir)}
for b in ${binaries.map(q).join(' ')}; do
  if [ -f "$bindir/$b" ] && [ -x "$bindir/$b" ]; then echo "bin $b $bindir/$b"
  elif p=$(command -v "$b" 2>/dev/null); then echo "path $b $p"; fi
done
for s in ${RUNTIME_SOCKETS.join(' ')}; do [ -S "$s" ] && echo "socket $s"; done
exit 0
`;
}

export function parseFacts(text: string): HostFacts {
  let hostname = '';
  let productUuid: string | undefined;
  const macs = new Map<string, string>();
  const swaps: string[] = [];
  const modules = new Set<string>();
  const sysctls = new Map<string, string>();
  const listening = new Set<number>();
  const binaries = new Map<string, { where: 'bin' | 'path'; path: string }>();
  const sockets: string[] = [];
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const key = line.slice(0, sp);
    const rest = line.slice(sp + 1).trim();
    const [a = '', ...more] = rest.split(/\s+/);
    const b = more.join(' ');
    switch (key) {
      case 'hostname': hostname = rest; break;
      case 'uuid': if (rest) productUuid = rest.toLowerCase(); break;
      case 'mac': if (a !== 'lo' && b && !/^(00:)+00$/.test(b)) macs.set(a, b.toLowerCase()); break;
      case 'swap': swaps.push(rest); break;
      case 'module': modules.add(rest); break;
      case 'sysctl': sysctls.set(a, b); break;
      case 'listen': { const port = parseInt(rest, 16); if (Number.isInteger(port)) listening.add(port); break; }
      case 'bin': case 'path': binaries.set(a, { where: key, path: b }); break;
      case 'socket': sockets.push(rest); break;
      default: break;
    }
  }
  return { hostname, ...(productUuid !== undefined ? { productUuid } : {}), macs, swaps, modules, sysctls, listening, binaries, sockets };
}
