/**
 * How kpki reaches a host: a `Transport` runs a shell script there as root, with bytes on its
 * stdin. The default is the system OpenSSH client (so ~/.ssh/config, the agent, ProxyJump and
 * known_hosts work as users expect), one multiplexed ControlMaster connection per host reused
 * by every step. An embedding program can pass its own Transport (an SSH library it already
 * uses). Scripts travel as a process argument and must hold no secret: key material goes over
 * stdin only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KpkiError } from '../errors.js';
import type { PlanNode } from '../plan/types.js';
import { isRunning } from '../process.js';

/** Where a host is reached; `name` is the plan's node name, for messages. */
export interface SshTarget {
  readonly name: string;
  /** Host name or address as ssh takes it (an alias of the ssh config works). */
  readonly host: string;
  /** Absent: the ssh config's (22). */
  readonly port?: number;
  /** Absent: root. Not root: the script runs through `sudo -n`. */
  readonly user?: string;
  readonly identityFile?: string;
}

/** Where a plan's node is reached: `nodes[].ssh`, the host defaulting to its address, the user to root. */
export function nodeTarget(n: PlanNode): SshTarget {
  const s = n.ssh ?? {};
  return {
    name: n.name,
    host: s.host ?? n.address,
    ...(s.port !== undefined ? { port: s.port } : {}),
    user: s.user ?? 'root',
    ...(s.identityFile !== undefined ? { identityFile: s.identityFile } : {}),
  };
}

export interface ExecResult {
  readonly stdout: Buffer;
  readonly stderr: string;
  /** The script's exit status. */
  readonly code: number;
}

export interface Transport {
  /** Runs `script` with /bin/sh as root on the target, `stdin` on its standard input. */
  exec(target: SshTarget, script: string, stdin?: Buffer | string): Promise<ExecResult>;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** A host that could not be reached or refused (unknown or changed host key, auth, network). */
export class TransportError extends KpkiError {
  readonly host: string;
  /** `SHA256:…` of the key the host offered, when the host key was the problem. */
  readonly fingerprint: string | undefined;
  constructor(host: string, message: string, fingerprint?: string) {
    super('ERR_IO', message);
    this.host = host;
    this.fingerprint = fingerprint;
  }
}

export interface OpenSshOptions {
  /** An OpenSSH client config used instead of ~/.ssh/config (`ssh -F`). */
  readonly configFile?: string;
  /** `StrictHostKeyChecking=accept-new` instead of `yes`: unknown hosts are added, changed keys still refused. */
  readonly acceptNewHostKeys?: boolean;
  /** Seconds for the TCP connection (ConnectTimeout); default 10. Logging in gets this plus 60 s. */
  readonly connectTimeoutS?: number;
  /** Seconds one script may run before its ssh client is stopped and the host reported; default 600. */
  readonly commandTimeoutS?: number;
  /** The ssh binary; default `ssh` from PATH. */
  readonly ssh?: string;
}

/** One word for a POSIX shell. */
export const shQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

const label = (t: SshTarget) => (t.host === t.name ? t.name : `${t.name} (${t.host})`);

/** The message for a master connection that failed, from ssh's `-v` output. */
export function connectError(t: SshTarget, stderr: string): TransportError {
  const offered = /Server host key: (\S+) (SHA256:[A-Za-z0-9+/=]+)/.exec(stderr);
  const fp = offered?.[2];
  const keyType = offered?.[1] ?? 'host';
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
    return new TransportError(t.name, `${label(t)}: its host key has CHANGED: it offered ${keyType} key ${fp ?? '(fingerprint not shown)'}, which is not the one known_hosts records; refusing to connect (if the host was reinstalled, remove its old entry with ssh-keygen -R)`, fp);
  }
  if (/Host key verification failed|host key is known for|No .* host key is known/.test(stderr)) {
    return new TransportError(t.name, `${label(t)}: its host key is not in known_hosts (it offered ${keyType} key ${fp ?? '(fingerprint not shown)'}); verify the fingerprint and add it, or pass --accept-new-host-keys`, fp);
  }
  const lines = stderr.split(/\r?\n/).filter((l) => l && !l.startsWith('debug') && !/^(OpenSSH_|Authenticated to|Transferred:|Warning: Permanently added)/.test(l));
  const why = lines.find((l) => /ssh: |Permission denied|Connection (refused|timed out|closed)|No route|Could not resolve|timed out/.test(l)) ?? lines.at(-1) ?? 'ssh exited without a message';
  return new TransportError(t.name, `${label(t)}: cannot connect: ${why.replace(/^ssh: /, '').trim()}`);
}

const CONTROL_PREFIX = 'kpki-ssh-';

/**
 * Control-socket directories that runs killed outright (SIGKILL: no cleanup ran) left in the
 * temp directory: this user's, whose process is gone. Their masters ended with them (a master
 * lives on its session, which lives on a pipe from the kpki process).
 */
function removeStaleControlDirs(): void {
  const tmp = tmpdir();
  let names: string[];
  try {
    names = readdirSync(tmp);
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${CONTROL_PREFIX}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid || isRunning(Number(m[1]))) continue;
    try {
      if (statSync(join(tmp, name)).uid === process.getuid?.()) rmSync(join(tmp, name), { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove
    }
  }
}

interface Master {
  readonly ready: Promise<void>;
  readonly child: ChildProcess;
}

/** The system OpenSSH client, one ControlMaster connection per target. */
export function openSshTransport(options: OpenSshOptions = {}): Transport {
  const ssh = options.ssh ?? 'ssh';
  // Control sockets: private to this process (0700, named with its pid), short paths (sun_path is 108 bytes).
  let controlDir: string | undefined;
  const masters = new Map<string, Master>();
  const keyOf = (t: SshTarget) => `${t.user ?? ''}@${t.host}:${t.port ?? ''}:${t.identityFile ?? ''}`;
  const controlPath = (t: SshTarget) => {
    if (controlDir === undefined) {
      removeStaleControlDirs();
      controlDir = mkdtempSync(join(tmpdir(), `${CONTROL_PREFIX}${process.pid}-`));
    }
    return join(controlDir, createHash('sha256').update(keyOf(t)).digest('hex').slice(0, 16));
  };
  const common = (t: SshTarget): string[] => [
    ...(options.configFile ? ['-F', options.configFile] : []),
    '-o', 'BatchMode=yes',
    '-o', `StrictHostKeyChecking=${options.acceptNewHostKeys ? 'accept-new' : 'yes'}`,
    '-o', `ConnectTimeout=${options.connectTimeoutS ?? 10}`,
    '-o', 'ServerAliveInterval=15',
    '-o', `ControlPath=${controlPath(t)}`,
    ...(t.port !== undefined ? ['-p', String(t.port)] : []),
    ...(t.user !== undefined ? ['-l', t.user] : ['-l', 'root']),
    ...(t.identityFile !== undefined ? ['-i', t.identityFile] : []),
  ];

  /** The master: its session prints a line, then waits on stdin, which we hold open. */
  const connect = (t: SshTarget): Promise<void> => {
    const key = keyOf(t);
    const known = masters.get(key);
    if (known) return known.ready;
    const child = spawn(ssh, [...common(t), '-v', '-o', 'ControlMaster=yes', '-o', 'ControlPersist=no', '--', t.host, 'echo kpki-ready; exec cat >/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    const loginS = (options.connectTimeoutS ?? 10) + 60;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, loginS * 1000);
    const ready = new Promise<void>((resolve, reject) => {
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < 256 * 1024) stderr += d;
      });
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (stdout.includes('kpki-ready')) resolve();
      });
      child.on('error', (err) => reject(new TransportError(t.name, `${label(t)}: cannot run ${ssh}: ${err.message}`)));
      child.on('exit', () => {
        clearTimeout(timer);
        if (masters.get(key)?.child === child) masters.delete(key);
        reject(timedOut ? new TransportError(t.name, `${label(t)}: cannot connect: no login within ${loginS} s`) : connectError(t, stderr));
      });
    });
    child.stdin!.on('error', () => {});
    ready.then(() => {
      clearTimeout(timer);
      stderr = ''; // connected: later chatter is not kept
    }, () => {});
    masters.set(key, { ready, child });
    return ready;
  };

  return {
    async exec(t, script, stdin) {
      await connect(t);
      const user = t.user ?? 'root';
      const remote = `${user === 'root' ? '' : 'sudo -n '}sh -c ${shQuote(script)}`;
      const child = spawn(ssh, [...common(t), '-o', 'ControlMaster=no', '-o', 'LogLevel=ERROR', '--', t.host, remote], { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let err = '';
      child.stdout!.on('data', (d: Buffer) => out.push(d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        if (err.length < 1024 * 1024) err += d;
      });
      child.stdin!.on('error', () => {});
      child.stdin!.end(stdin ?? '');
      const limitS = options.commandTimeoutS ?? 600;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
      }, limitS * 1000);
      const code = await new Promise<number>((resolve, reject) => {
        child.on('error', (e) => reject(new TransportError(t.name, `${label(t)}: cannot run ${ssh}: ${e.message}`)));
        child.on('close', (status, signal) => resolve(status ?? (signal ? 128 : 1)));
        // A multiplexed client hands its pipes to the master, which holds them until the remote
        // command ends: once it is stopped, its exit is the end.
        child.on('exit', () => {
          if (!timedOut) return;
          child.stdout!.destroy();
          child.stderr!.destroy();
          resolve(-1);
        });
      }).finally(() => clearTimeout(timer));
      if (timedOut) throw new TransportError(t.name, `${label(t)}: a command did not finish within ${limitS} s; its ssh client was stopped (the command may still be running there)`);
      if (code === 255) throw new TransportError(t.name, `${label(t)}: the connection failed: ${err.trim().split('\n').at(-1) ?? 'no message'}`);
      if (user !== 'root' && code === 1 && /sudo: (a password is required|a terminal is required)/.test(err)) {
        throw new TransportError(t.name, `${label(t)}: ${user} cannot run commands as root without a password (sudo -n)`);
      }
      return { stdout: Buffer.concat(out), stderr: err, code };
    },
    async close() {
      const all = [...masters.values()];
      masters.clear();
      await Promise.all(all.map(async (m) => {
        if (m.child.exitCode !== null || m.child.signalCode !== null) return;
        const gone = new Promise<void>((resolve) => m.child.once('exit', () => resolve()));
        m.child.stdin!.end();
        // Every exec has settled: a session still open is one a timeout gave up on.
        const timer = setTimeout(() => m.child.kill('SIGTERM'), 2_000);
        await gone;
        clearTimeout(timer);
      }));
      if (controlDir) rmSync(controlDir, { recursive: true, force: true });
      controlDir = undefined;
    },
  };
}
