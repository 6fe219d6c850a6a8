/**
 * A test bed of SSH hosts on this machine, made and removed by the test itself (needs root).
 *
 * Each host is a network namespace with one veth onto a bridge in the root namespace
 * (10.231.<n>.0/24, a private range the bed owns: the bridge is .1, hosts .2 and up; nothing
 * else is routed there), plus a mount and UTS namespace with its own hostname and private
 * /etc (an overlay of the machine's), /root (Debian's default dotfiles), /var/lib, /var/backups,
 * /usr/local/bin and /run. In it runs Debian's real sshd with the host's own ED25519 host key,
 * accepting one key the bed made. `sshConfig` is an OpenSSH client config (`ssh -F`) with the
 * bed's known_hosts and identity.
 *
 * Names carry the creating process's pid (`kpkibed-<pid>-<i>`, bridge `kpb<pid>`), so a bed
 * whose creator is gone (a crashed run) is found and removed by `startTestBed`, and two test
 * processes never touch each other's beds.
 */
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning } from '../../pki/process.js';
import { run, runSync, start, SERVER_BOUND_MS, type BoundedChild, type RunResult } from './proc.js';
import type { Test } from 'uvu';

const NS_PREFIX = 'kpkibed-';
const DIR_PREFIX = 'kpki-bed-';
const BRIDGE_PREFIX = 'kpb';

export interface BedHostSpec {
  readonly name: string;
  /** Planted as /sys/class/dmi/id/product_uuid (default: a random UUID). */
  readonly productUuid?: string;
  /** Planted over /proc/swaps (default: the machine's own). */
  readonly swaps?: string;
  /** A `date` wrapper in /usr/local/bin shifting the host's clock by this many seconds (faketime). */
  readonly clockOffsetS?: number;
}

export interface BedHost {
  readonly name: string;
  readonly address: string;
  readonly netns: string;
  /** The host's private directories on this machine: `etc-upper`, `varlib`, `bin`, `backups`, `root`. */
  readonly dir: string;
  readonly productUuid: string;
  /** `SHA256:…` of the host key known_hosts records. */
  hostKeyFingerprint: string;
  /** sshd's log (LogLevel VERBOSE). */
  readonly log: string;
  sshd: BoundedChild | undefined;
}

export interface TestBed {
  readonly hosts: readonly BedHost[];
  readonly dir: string;
  /** The OpenSSH client config for `ssh -F`: known_hosts and identity of the bed. */
  readonly sshConfig: string;
  readonly knownHosts: string;
  /** An address in the bed's range that no host answers on (nothing listens there). */
  readonly unusedAddress: string;
  host(name: string): BedHost;
  /** Runs a command inside a host's namespaces (network, mount, UTS). */
  exec(name: string, argv: readonly string[], input?: string): Promise<RunResult>;
  /** Starts a long-running command inside a host's namespaces; the caller kills it (teardown does too). */
  startIn(name: string, argv: readonly string[]): BoundedChild;
  /** Gives a host a new host key (restarting its sshd); known_hosts keeps the old one. */
  rekey(name: string): Promise<string>;
  /** Stops a host's sshd (the address stays; connections are refused). */
  stop(name: string): Promise<void>;
  teardown(): void;
}

function sh(cmd: string, args: readonly string[], input?: string): string {
  const r = runSync(cmd, args, { input, boundMs: 30_000 });
  if (r.status !== 0) throw new Error(`test bed: \`${cmd} ${args.join(' ')}\` exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}
const quiet = (cmd: string, args: readonly string[]) => runSync(cmd, args, { boundMs: 30_000 });

/** Kills every process in a network namespace (by pid, as `ip netns pids` lists them). */
function killNamespace(ns: string): void {
  const pids = quiet('ip', ['netns', 'pids', ns]).stdout.split('\n').map(Number).filter((p) => p > 0);
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Removes beds (namespaces, bridges, temp dirs) whose creating process is gone. */
export function removeStaleBeds(): void {
  for (const line of quiet('ip', ['netns', 'list']).stdout.split('\n')) {
    const m = new RegExp(`^(${NS_PREFIX}(\\d+)-\\d+)\\b`).exec(line);
    if (!m || isRunning(Number(m[2]))) continue;
    killNamespace(m[1]!);
    quiet('ip', ['netns', 'del', m[1]!]);
  }
  for (const line of quiet('ip', ['-o', 'link', 'show', 'type', 'bridge']).stdout.split('\n')) {
    const m = new RegExp(`^\\d+: (${BRIDGE_PREFIX}(\\d+))[:@]`).exec(line);
    if (m && !isRunning(Number(m[2]))) quiet('ip', ['link', 'del', m[1]!]);
  }
  for (const name of readdirSync(tmpdir())) {
    const m = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name);
    if (m && !isRunning(Number(m[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/** A /24 in 10.231.0.0/16 that no interface on this machine uses. */
function freeSubnet(): number {
  const used = sh('ip', ['-o', '-4', 'addr', 'show']);
  for (let i = 0; i < 250; i++) {
    const n = ((process.pid + i) % 250) + 1;
    if (!used.includes(` 10.231.${n}.`)) return n;
  }
  throw new Error('test bed: no free /24 in 10.231.0.0/16');
}

/** Whether this machine can host a bed (root, ip netns, sshd); the reason if not. */
export function bedUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the test bed needs root';
  if (!existsSync('/usr/sbin/sshd')) return '/usr/sbin/sshd is not installed (openssh-server)';
  if (quiet('ip', ['netns', 'list']).status !== 0) return '`ip netns` does not work here';
  if (!/\boverlay$/m.test(readFileSync('/proc/filesystems', 'utf8'))) return 'the kernel has no overlay file system (each host\'s private /etc)';
  if (quiet('unshare', ['--mount', '--uts', 'true']).status !== 0) return '`unshare --mount --uts` does not work here';
  return undefined;
}

const UUID = () => {
  const h = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`.toUpperCase();
};

/**
 * Runs inside `ip netns exec <ns> unshare --mount --uts`: private mounts, then sshd in the
 * foreground (the same pid as the child the bed started, so nsenter can find its namespaces).
 */
function setupScript(h: BedHost, spec: BedHostSpec, sshdConfig: string): string {
  const d = h.dir;
  return [
    'set -e',
    'mount --make-rprivate /',
    `hostname ${h.name}`,
    `mount -t overlay overlay -o lowerdir=/etc,upperdir=${d}/etc-upper,workdir=${d}/etc-work /etc`,
    // Readable by any login user (sshd reads it as the user), in the host's own /etc.
    `mkdir -p /etc/ssh && cp ${d}/authorized_keys /etc/ssh/kpki-bed-authorized_keys && chmod 644 /etc/ssh/kpki-bed-authorized_keys`,
    `mount --bind ${d}/varlib /var/lib`,
    `mount --bind ${d}/bin /usr/local/bin`,
    // Backups of replaced files (kpki's /var/backups/kpki) stay in the host, not on this machine.
    `mount --bind ${d}/backups /var/backups`,
    // A fresh host's root home (Debian's own dotfiles), not this machine's: its rc files would
    // run in every SSH command and make the bed slower than a real host.
    `mount --bind ${d}/root /root`,
    `mount -t tmpfs -o mode=755 tmpfs /run`,
    'mkdir -m 755 /run/sshd',
    // product_uuid: over the real file where the machine has DMI, else a private /sys/class
    // holding the namespace's own net class and a planted dmi/id.
    `if [ -e /sys/class/dmi/id/product_uuid ]; then mount --bind ${d}/product_uuid /sys/class/dmi/id/product_uuid; else`,
    `  mkdir -p ${d}/sysclass/net ${d}/sysclass/dmi/id && cp ${d}/product_uuid ${d}/sysclass/dmi/id/product_uuid`,
    `  mount --bind /sys/class/net ${d}/sysclass/net && mount --rbind ${d}/sysclass /sys/class; fi`,
    spec.swaps !== undefined ? `mount --bind ${d}/swaps /proc/swaps` : ':',
    `exec /usr/sbin/sshd -D -e -f ${sshdConfig}`,
  ].join('\n');
}

export async function startTestBed(specs: readonly BedHostSpec[]): Promise<TestBed> {
  removeStaleBeds();
  const pid = process.pid;
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${pid}-`));
  chmodSync(dir, 0o700);
  const net = freeSubnet();
  const bridge = `${BRIDGE_PREFIX}${pid}`;
  const hosts: BedHost[] = [];
  const knownHosts = join(dir, 'known_hosts');
  const sshConfig = join(dir, 'ssh_config');
  const clientKey = join(dir, 'id_ed25519');
  let tornDown = false;

  const teardown = () => {
    if (tornDown) return;
    tornDown = true;
    for (const h of hosts) {
      h.sshd?.kill('SIGKILL');
      killNamespace(h.netns);
      quiet('ip', ['netns', 'del', h.netns]);
    }
    quiet('ip', ['link', 'del', bridge]);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', teardown);
  // Interrupted (Ctrl-C, a CI timeout): remove the bed, then end as the signal would have.
  const onSignal = (sig: NodeJS.Signals) => {
    teardown();
    process.kill(process.pid, sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const startSshd = async (h: BedHost, spec: BedHostSpec) => {
    const config = join(h.dir, 'sshd_config');
    const fd = openSync(h.log, 'a');
    const child = start('ip', ['netns', 'exec', h.netns, 'unshare', '--mount', '--uts', 'sh', '-c', setupScript(h, spec, config)], {
      stdio: ['ignore', fd, fd], boundMs: SERVER_BOUND_MS,
    });
    closeSync(fd);
    h.sshd = child;
    // Ready when sshd says it listens (bounded; a failed setup ends the child first).
    for (let i = 0; i < 200; i++) {
      const log = readFileSync(h.log, 'utf8');
      if (/Server listening on/.test(log.split('--- restart ---').pop()!)) return;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`test bed: sshd on ${h.name} did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`test bed: sshd on ${h.name} did not report listening within 5 s:\n${readFileSync(h.log, 'utf8')}`);
  };
  const hostKey = (h: BedHost) => {
    const key = join(h.dir, 'ssh_host_ed25519_key');
    rmSync(key, { force: true });
    rmSync(`${key}.pub`, { force: true });
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', h.name, '-f', key]);
    const pub = readFileSync(`${key}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const fp = sh('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${key}.pub`]).split(' ')[1]!;
    return { pub, fp };
  };

  try {
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kpki-test-bed', '-f', clientKey]);
    sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `10.231.${net}.1/24`, 'dev', bridge]);
    sh('ip', ['link', 'set', bridge, 'up']);
    const known: string[] = [];
    for (const [i, spec] of specs.entries()) {
      const address = `10.231.${net}.${i + 2}`;
      const netns = `${NS_PREFIX}${pid}-${i}`;
      const hdir = join(dir, `host-${i}`);
      for (const sub of ['etc-upper', 'etc-work', 'varlib', 'bin', 'backups', 'root']) mkdirSync(join(hdir, sub), { recursive: true });
      chmodSync(join(hdir, 'root'), 0o700);
      for (const f of ['bashrc', 'profile']) {
        const skel = `/usr/share/base-files/dot.${f}`;
        if (existsSync(skel)) writeFileSync(join(hdir, 'root', `.${f}`), readFileSync(skel));
      }
      const h: BedHost = { name: spec.name, address, netns, dir: hdir, productUuid: spec.productUuid ?? UUID(), hostKeyFingerprint: '', log: join(hdir, 'sshd.log'), sshd: undefined };
      hosts.push(h);
      writeFileSync(join(hdir, 'product_uuid'), `${h.productUuid}\n`);
      if (spec.swaps !== undefined) writeFileSync(join(hdir, 'swaps'), spec.swaps);
      if (spec.clockOffsetS !== undefined) {
        const off = spec.clockOffsetS >= 0 ? `+${spec.clockOffsetS}` : `${spec.clockOffsetS}`;
        writeFileSync(join(hdir, 'bin', 'date'), `#!/bin/sh\nexec faketime -f '${off}s' /usr/bin/date "$@"\n`, { mode: 0o755 });
      }
      const { pub, fp } = hostKey(h);
      h.hostKeyFingerprint = fp;
      known.push(`${address} ${pub}`);
      writeFileSync(join(hdir, 'authorized_keys'), readFileSync(`${clientKey}.pub`));
      writeFileSync(join(hdir, 'sshd_config'), [
        `ListenAddress ${address}:22`,
        `HostKey ${join(hdir, 'ssh_host_ed25519_key')}`,
        'AuthorizedKeysFile /etc/ssh/kpki-bed-authorized_keys',
        'PidFile none', 'UsePAM no', 'StrictModes no', 'PermitRootLogin prohibit-password',
        'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'LogLevel VERBOSE',
        'MaxSessions 64', 'MaxStartups 64', 'UseDNS no', '',
      ].join('\n'));
      const veth = `kpv${pid}-${i}`;
      sh('ip', ['netns', 'add', netns]);
      sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', `kpp${pid}-${i}`]);
      sh('ip', ['link', 'set', `kpp${pid}-${i}`, 'netns', netns]);
      sh('ip', ['link', 'set', veth, 'master', bridge]);
      sh('ip', ['link', 'set', veth, 'up']);
      const inNs = (...a: string[]) => sh('ip', ['netns', 'exec', netns, ...a]);
      inNs('ip', 'link', 'set', `kpp${pid}-${i}`, 'name', 'eth0');
      inNs('ip', 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      inNs('ip', 'link', 'set', 'eth0', 'up');
      inNs('ip', 'link', 'set', 'lo', 'up');
    }
    writeFileSync(knownHosts, `${known.join('\n')}\n`);
    writeFileSync(sshConfig, [
      'Host *',
      `  UserKnownHostsFile ${knownHosts}`,
      '  GlobalKnownHostsFile /dev/null',
      `  IdentityFile ${clientKey}`,
      '  IdentitiesOnly yes',
      '  User root',
      '  ConnectTimeout 5',
      '',
    ].join('\n'));
    await Promise.all(hosts.map((h, i) => startSshd(h, specs[i]!)));
  } catch (err) {
    teardown();
    throw err;
  }

  const host = (name: string) => {
    const h = hosts.find((x) => x.name === name);
    if (!h) throw new Error(`test bed: no host ${name}`);
    return h;
  };
  const nsenter = (h: BedHost) => ['-t', String(h.sshd!.pid), '-n', '-m', '-u', '--'];
  return {
    hosts, dir, sshConfig, knownHosts,
    unusedAddress: `10.231.${net}.${specs.length + 2}`,
    host,
    exec: (name, argv, input) => run('nsenter', [...nsenter(host(name)), ...argv], input === undefined ? {} : { input }),
    startIn: (name, argv) => start('nsenter', [...nsenter(host(name)), ...argv], { stdio: 'ignore', boundMs: SERVER_BOUND_MS }),
    async rekey(name) {
      const h = host(name);
      const old = h.sshd!;
      old.kill('SIGKILL');
      await old.exited;
      killNamespace(h.netns); // sessions of the old sshd
      const { fp } = hostKey(h);
      h.hostKeyFingerprint = fp;
      writeFileSync(h.log, '--- restart ---\n', { flag: 'a' });
      await startSshd(h, specs.find((s) => s.name === name)!);
      return fp;
    },
    async stop(name) {
      const h = host(name);
      h.sshd?.kill('SIGKILL');
      await h.sshd?.exited;
      killNamespace(h.netns);
    },
    teardown() {
      teardown();
      process.removeListener('exit', teardown);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

/**
 * A suite's test that runs only where a bed can start: elsewhere it says why and passes, so the
 * one reason (bedUnavailable) is printed instead of every test failing on it.
 */
export function bedTest(t: Test, unavailable: string | undefined) {
  return (name: string, fn: () => Promise<void> | void) => t(name, async () => {
    if (unavailable) {
      console.log(`skipped: ${unavailable}`);
      return;
    }
    await fn();
  });
}
