/**
 * Putting per-host file sets on their hosts over SSH: the engine of `kpki install` (issue 18),
 * independent of what renders the sets (gen's node trees, the bootstrap renderer). Per host:
 * one observe of the directories the set touches, the same pure planner `gen` uses, one apply
 * (atomic, backed up, owner root; see sinks/ssh.ts). Hosts run in parallel; a host that fails
 * or cannot be reached is reported and the others complete. `dryRun` connects and reads, and
 * reports per file what would change, without writing. Files kpki does not name are never
 * removed: a host's directories hold other software's files too.
 */
import { X509Certificate } from 'node:crypto';
import { KpkiError } from '../errors.js';
import { planChanges } from '../sinks/changes.js';
import { coveringDirs, sshSink } from '../sinks/ssh.js';
import { shQuote, type SshTarget, type Transport } from '../sinks/ssh-transport.js';
import { installBinaries, type BinaryResult, type LocalBinary } from './binaries.js';

export interface HostFile {
  /** Root-relative: `etc/kubernetes/pki/ca.crt`. */
  readonly path: string;
  readonly mode: number;
  readonly content: string;
}

/** What one host gets: `host` is the plan's node name. */
export interface HostFileSet {
  readonly host: string;
  readonly files: readonly HostFile[];
}

export type FileAction = 'added' | 'changed' | 'mode' | 'unchanged';

export interface InstalledFile {
  readonly path: string;
  readonly action: FileAction;
  /** Where the host kept the previous content (`changed`), root-relative. */
  readonly backup?: string;
  /** A certificate's summary (never key material): subject and expiry of the first certificate. */
  readonly certificate?: { readonly subject: string; readonly notBefore: string; readonly notAfter: string };
}

export interface HostInstall {
  readonly node: string;
  readonly host: string;
  readonly status: 'changed' | 'unchanged' | 'failed';
  readonly counts: Readonly<Record<FileAction, number>>;
  readonly files: readonly InstalledFile[];
  /** Why the host failed (unreachable, host key, a write refused): one sentence naming it. */
  readonly error?: string;
  /** systemd units restarted after this run's changes (never on a run that changed nothing). */
  readonly restarted?: readonly string[];
  /** Whether `systemctl daemon-reload` ran. */
  readonly daemonReload?: boolean;
  /** Units `systemctl enable` ran for (their unit file was new or changed). */
  readonly enabled?: readonly string[];
  /** What --binaries did (or would do) per executable. */
  readonly binaries?: readonly BinaryResult[];
}

/** What to do on a host after its files changed: the caller knows which unit reads which file. */
export interface RestartPlan {
  readonly daemonReload?: boolean;
  /** Units to `systemctl enable` (before the restarts). */
  readonly enable?: readonly string[];
  readonly units: readonly string[];
}

export interface InstallReport {
  readonly dryRun: boolean;
  readonly hosts: readonly HostInstall[];
  /** 0: every host done (or would be); 1: some host failed. */
  readonly exitCode: 0 | 1;
}

export interface InstallOptions {
  readonly transport: Transport;
  /** How each node is reached (nodeTarget(planNode) for a plan). */
  readonly target: (node: string) => SshTarget;
  readonly dryRun?: boolean;
  /** Hosts at once (default 10). */
  readonly parallel?: number;
  /** Folder name for this run's backups on each host (default: the time, `20261207T013000Z`). */
  readonly backupStamp?: string;
  /** The directory the sets are relative to on each host (default `/`; tests use a subdirectory). */
  readonly root?: string;
  /** Where hosts keep replaced files (default `/var/backups/kpki`). */
  readonly backupDir?: string;
  readonly now?: () => Date;
  /**
   * The units to restart (and whether to reload systemd) given the paths that changed on a
   * host; absent (`--no-start`): files are placed, nothing restarts. Not called in a dry run or
   * when nothing changed.
   */
  readonly restarts?: (node: string, changed: readonly string[]) => RestartPlan | undefined;
  /** Executables to put in `binDir` on a host (skipped where the digest matches); changed ones count as changed paths. */
  readonly binaries?: (node: string) => { readonly binDir: string; readonly files: readonly LocalBinary[] } | undefined;
  /** Called as each host finishes (progress). */
  readonly onHost?: (h: HostInstall, done: number, total: number) => void;
}

const UNIT = /^[A-Za-z0-9@._:-]+\.(service|socket|target|timer|path|mount)$/;

function certificateOf(content: string): InstalledFile['certificate'] {
  const begin = content.indexOf('-----BEGIN CERTIFICATE-----');
  if (begin < 0) return undefined;
  const end = content.indexOf('-----END CERTIFICATE-----', begin);
  if (end < 0) return undefined;
  try {
    const c = new X509Certificate(content.slice(begin, end + 25));
    return { subject: c.subject.replace(/\n/g, ', '), notBefore: new Date(c.validFrom).toISOString(), notAfter: new Date(c.validTo).toISOString() };
  } catch {
    return undefined;
  }
}

const ZERO: Record<FileAction, number> = { added: 0, changed: 0, mode: 0, unchanged: 0 };

async function installOne(set: HostFileSet, o: InstallOptions, stamp: string): Promise<HostInstall> {
  const target = o.target(set.host);
  const base = { node: set.host, host: target.host };
  const dup = set.files.find((f, i) => set.files.findIndex((g) => g.path === f.path) !== i);
  if (dup) throw new KpkiError('ERR_BAD_ARGUMENT', `${set.host}: ${dup.path} is in the file set twice`);
  try {
    const sink = sshSink(o.transport, target, { ...(o.root ? { root: o.root } : {}), ...(o.backupDir ? { backupDir: o.backupDir } : {}) });
    const wanted = set.files.map((f) => ({ path: f.path, mode: f.mode, content: f.content, protected: false }));
    const observed = await sink.observe(coveringDirs(wanted.map((w) => w.path)));
    const changes = planChanges(wanted, observed, { exact: [], whyRemoved: () => '', root: set.host });
    const action = new Map<string, FileAction>();
    for (const c of changes.changes) action.set(c.path, c.op === 'create' ? 'added' : c.op === 'update' ? 'changed' : 'mode');
    const backups = new Map<string, string>();
    if (!o.dryRun) {
      for (const a of await sink.apply(changes, { backupStamp: stamp })) if (a.backup) backups.set(a.path, a.backup);
    }
    const bin = o.binaries?.(set.host);
    const binaries = bin ? await installBinaries(o.transport, target, bin.binDir, bin.files, o.dryRun === true) : undefined;
    const binChanged = (binaries ?? []).filter((b) => b.action !== 'unchanged').map((b) => `${bin!.binDir.slice(1)}/${b.name}`);
    const withBins = binaries ? { binaries } : {};
    const counts = { ...ZERO };
    const files = set.files.map((f): InstalledFile => {
      const act = action.get(f.path) ?? 'unchanged';
      counts[act]++;
      const cert = act === 'added' || act === 'changed' ? certificateOf(f.content) : undefined;
      return { path: f.path, action: act, ...(backups.has(f.path) ? { backup: backups.get(f.path)! } : {}), ...(cert ? { certificate: cert } : {}) };
    });
    const status = counts.added + counts.changed + counts.mode + binChanged.length ? 'changed' : 'unchanged';
    const plan = !o.dryRun && status === 'changed' ? o.restarts?.(set.host, [...files.filter((f) => f.action !== 'unchanged').map((f) => f.path), ...binChanged]) : undefined;
    const enable = plan?.enable ?? [];
    if (!plan || (!plan.daemonReload && !plan.units.length && !enable.length)) return { ...base, status, counts, files, ...withBins };
    const bad = [...plan.units, ...enable].find((u) => !UNIT.test(u));
    if (bad) throw new KpkiError('ERR_BAD_ARGUMENT', `${set.host}: ${JSON.stringify(bad)} is not a systemd unit name`);
    const script = [
      ...(plan.daemonReload ? ['systemctl daemon-reload || exit 5'] : []),
      ...(enable.length ? [`systemctl enable ${enable.map(shQuote).join(' ')} || exit 7`] : []),
      // --no-block: etcd's first member waits for its peers, kpki-rbac for the apiserver; both are
      // started by the same run on other hosts, so waiting here could wait for ever.
      ...(plan.units.length ? [`systemctl restart --no-block ${plan.units.map(shQuote).join(' ')} || exit 6`] : []),
    ].join('\n');
    const r = await o.transport.exec(target, script);
    if (r.code !== 0) {
      const what = r.code === 5 ? 'systemctl daemon-reload' : r.code === 7 ? `systemctl enable ${enable.join(' ')}` : `systemctl restart ${plan.units.join(' ')}`;
      return { ...base, status: 'failed', counts, files, ...withBins, error: `${set.host}: the files are in place, but ${what} failed: ${r.stderr.trim().split('\n').at(-1) ?? `exit ${r.code}`}` };
    }
    return { ...base, status, counts, files, ...withBins, restarted: [...plan.units], daemonReload: plan.daemonReload === true, ...(enable.length ? { enabled: [...enable] } : {}) };
  } catch (err) {
    if (!(err instanceof KpkiError)) throw err;
    return { ...base, status: 'failed', counts: { ...ZERO }, files: [], error: err.message };
  }
}

export async function installHosts(sets: readonly HostFileSet[], o: InstallOptions): Promise<InstallReport> {
  const stamp = o.backupStamp ?? (o.now?.() ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const hosts: HostInstall[] = new Array(sets.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < sets.length) {
      const i = next++;
      hosts[i] = await installOne(sets[i]!, o, stamp);
      o.onHost?.(hosts[i]!, ++done, sets.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.parallel ?? 10, sets.length)) }, worker));
  return { dryRun: o.dryRun === true, hosts, exitCode: hosts.some((h) => h.status === 'failed') ? 1 : 0 };
}

/** One line per host, then each file that changes (or would), with certificates summarised. */
export function renderInstall(r: InstallReport): string {
  const lines: string[] = [];
  for (const h of r.hosts) {
    const c = h.counts;
    if (h.status === 'failed') lines.push(`${h.node}  FAILED  ${h.error ?? ''}`);
    else lines.push(`${h.node}  ${h.status === 'unchanged' ? 'unchanged' : r.dryRun ? 'would change' : 'changed'}  ${c.added} added, ${c.changed} changed, ${c.mode} mode, ${c.unchanged} unchanged`);
    for (const b of h.binaries ?? []) if (b.action !== 'unchanged') lines.push(`  ${b.action.padEnd(7)} binary ${b.name}`);
    if (h.daemonReload) lines.push('  systemctl daemon-reload');
    if (h.enabled?.length) lines.push(`  enabled ${h.enabled.join(' ')}`);
    if (h.restarted?.length) lines.push(`  restarted ${h.restarted.join(' ')}`);
    for (const f of h.files) {
      if (f.action === 'unchanged') continue;
      const cert = f.certificate ? ` (${f.certificate.subject}, ${f.certificate.notBefore.slice(0, 10)} to ${f.certificate.notAfter.slice(0, 10)})` : '';
      lines.push(`  ${f.action.padEnd(7)} /${f.path}${cert}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
