/**
 * `kpki install` over SSH: the same file sets `--stage` writes (stage.ts, pure), put on the
 * hosts by the install engine (pki/install), with systemd reloaded, units enabled and only the
 * units whose inputs changed restarted (restarts.ts), and optionally the binaries the units
 * start. Or, with `ansible`, the same sets and restart mapping handed to Ansible.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KpkiError } from '../pki/errors.js';
import { writeAnsible } from '../pki/install/ansible.js';
import type { LocalBinary } from '../pki/install/binaries.js';
import { installHosts, type HostInstall, type InstallReport as EngineReport } from '../pki/install/install.js';
import type { Plan } from '../pki/plan/types.js';
import { acquireStoreLock, type LockHolder } from '../pki/store/lock.js';
import { checkOutDir } from '../pki/store/out-dir.js';
import { nodeTarget, type Transport } from '../pki/sinks/ssh-transport.js';
import { renderContext } from './render/context.js';
import { binariesFor, restartsFor } from './restarts.js';
import { renderHosts, type RenderResult } from './stage.js';
import { readStoreFiles } from './store-files.js';

export interface RemoteInstallOptions {
  readonly out: string;
  readonly hosts?: readonly string[];
  readonly transport: Transport;
  readonly dryRun?: boolean;
  readonly parallel?: number;
  /** Place files only: no daemon-reload, enable or restart. */
  readonly noStart?: boolean;
  /** A directory of executables (etcd, kubelet, ...): each host gets the ones its units start. */
  readonly binaries?: string;
  /** Tests: the directory the trees land in on each host (default `/`). */
  readonly root?: string;
  readonly lockTimeoutMs?: number;
  readonly onLockWait?: (holder: LockHolder) => void;
  readonly onHost?: (h: HostInstall, done: number, total: number) => void;
}

export interface RemoteInstallReport extends EngineReport {
  readonly plan: string;
  readonly out: string;
  readonly notes: readonly string[];
}

/** Reads the store (under its lock) and renders the chosen hosts' file sets. */
export async function renderForInstall(plan: Plan, o: { out: string; hosts?: readonly string[]; lockTimeoutMs?: number; onLockWait?: (holder: LockHolder) => void }): Promise<RenderResult> {
  checkOutDir(o.out, { write: false });
  if (!statSync(o.out, { throwIfNoEntry: false })?.isDirectory()) {
    throw new KpkiError('ERR_BAD_ARGUMENT', `there is no store at ${o.out}: run kpki gen --plan ${plan.source} --out ${o.out} first`);
  }
  const names = o.hosts ?? plan.nodes.map((n) => n.name);
  const release = await acquireStoreLock(o.out, { waitMs: o.lockTimeoutMs, onWait: o.onLockWait, command: 'kpki install' });
  try {
    const store = await readStoreFiles(o.out, plan, names.filter((n) => plan.nodes.some((p) => p.name === n)));
    return renderHosts(plan, store, o.hosts);
  } finally {
    release();
  }
}

export async function installRemote(plan: Plan, o: RemoteInstallOptions): Promise<RemoteInstallReport> {
  const rendered = await renderForInstall(plan, o);
  const byName = new Map(rendered.hosts.map((h) => [h.host, h]));
  const nodes = new Map(plan.nodes.map((n) => [n.name, n]));
  const restarts = new Map(rendered.hosts.map((h) => [h.host, restartsFor(plan, h)]));
  const binDir = renderContext(plan).settings.binDir;
  if (o.binaries !== undefined && !statSync(o.binaries, { throwIfNoEntry: false })?.isDirectory()) {
    throw new KpkiError('ERR_BAD_ARGUMENT', `--binaries ${o.binaries} is not a directory`);
  }
  const report = await installHosts(rendered.hosts.map((h) => ({ host: h.host, files: h.files })), {
    transport: o.transport,
    target: (n) => nodeTarget(nodes.get(n)!),
    dryRun: o.dryRun === true,
    ...(o.parallel !== undefined ? { parallel: o.parallel } : {}),
    ...(o.root !== undefined ? { root: o.root } : {}),
    ...(o.onHost ? { onHost: o.onHost } : {}),
    ...(o.noStart ? {} : { restarts: (n: string, changed: readonly string[]) => restarts.get(n)!(changed) }),
    ...(o.binaries !== undefined
      ? {
          binaries: (n: string) => {
            const dir = o.binaries!;
            const files: LocalBinary[] = binariesFor(plan, byName.get(n)!).filter((b) => existsSync(join(dir, b))).map((b) => ({ name: b, source: join(dir, b) }));
            return { binDir: o.root && o.root !== '/' ? `${o.root}${binDir}` : binDir, files };
          },
        }
      : {}),
  });
  return { plan: plan.source, out: o.out, notes: rendered.notes, ...report };
}

/** `--ansible DIR`: the hand-off, with the restart mapping as per-host unit inputs. */
export async function writeAnsibleHandOff(plan: Plan, dir: string, o: { out: string; hosts?: readonly string[]; lockTimeoutMs?: number; onLockWait?: (holder: LockHolder) => void }): Promise<{ readonly hosts: number; readonly files: number }> {
  const rendered = await renderForInstall(plan, o);
  const nodes = new Map(plan.nodes.map((n) => [n.name, n]));
  const byName = new Map(rendered.hosts.map((h) => [h.host, h]));
  checkOutDir(dir, { write: true });
  writeAnsible(dir, rendered.hosts.map((h) => ({ host: h.host, files: h.files })), {
    target: (n) => nodeTarget(nodes.get(n)!),
    groups: (n) => nodes.get(n)!.roles,
    units: (n) => {
      const h = byName.get(n)!;
      const mapping = restartsFor(plan, h);
      // A unit's inputs: the paths of the set whose change alone restarts it.
      const paths = h.files.map((f) => f.path);
      // Every unit some file of the set restarts: the host's own and the packaged ones (haproxy).
      return mapping(paths).units.map((unit) => ({ unit, inputs: paths.filter((p) => mapping([p]).units.includes(unit)) }));
    },
  });
  return { hosts: rendered.hosts.length, files: rendered.hosts.reduce((n, h) => n + h.files.length, 0) };
}
