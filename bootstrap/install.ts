/**
 * `kpki install --stage`: read the store's node trees (under its lock), render each host's file
 * set (stage.ts, pure), apply it to the stage directory (apply.ts). The report says what changed.
 */
import { statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { KpkiError } from '../pki/errors.js';
import type { Plan, Role } from '../pki/plan/types.js';
import type { Applied } from '../pki/sinks/types.js';
import { acquireStoreLock, type LockHolder } from '../pki/store/lock.js';
import { checkOutDir } from '../pki/store/out-dir.js';
import { applyStage, HOSTS_FILE } from './apply.js';
import { renderHosts } from './stage.js';
import { readStoreFiles } from './store-files.js';
import type { StoreFiles } from './types.js';

export interface InstallOptions {
  /** The store `kpki gen` wrote. */
  readonly out: string;
  /** The directory that receives `<host>/…` trees and hosts.txt. */
  readonly stage: string;
  /** Only these hosts (plan node names); all when absent. */
  readonly hosts?: readonly string[];
  readonly lockTimeoutMs?: number;
  readonly onLockWait?: (holder: LockHolder) => void;
  readonly now?: Date;
}

export interface InstallReport {
  readonly plan: string;
  readonly out: string;
  readonly stage: string;
  readonly deploy: Plan['deploy'];
  readonly notes: readonly string[];
  readonly hosts: ReadonlyArray<{ readonly name: string; readonly address: string; readonly roles: readonly Role[]; readonly files: number; readonly units: readonly string[] }>;
  readonly changed: boolean;
  readonly counts: { readonly created: number; readonly updated: number; readonly removed: number; readonly chmod: number; readonly unchanged: number };
  /** Every file that changed, with what happened (backups and reasons where there are). */
  readonly files: readonly Applied[];
}

function refuseOverlap(out: string, stage: string): void {
  const o = resolve(out);
  const s = resolve(stage);
  if (s === o || s.startsWith(o + sep) || o.startsWith(s + sep)) {
    throw new KpkiError('ERR_BAD_ARGUMENT', `--stage ${stage} and --out ${out} overlap; stage into a directory of its own (e.g. ./staged)`);
  }
}

export async function install(plan: Plan, o: InstallOptions): Promise<InstallReport> {
  refuseOverlap(o.out, o.stage);
  checkOutDir(o.out, { write: false });
  // Before the lock, which would create the directory: install reads a store, it never starts one.
  if (!statSync(o.out, { throwIfNoEntry: false })?.isDirectory()) {
    throw new KpkiError('ERR_BAD_ARGUMENT', `there is no store at ${o.out}: run kpki gen --plan ${plan.source} --out ${o.out} first`);
  }
  checkOutDir(o.stage, { write: true });
  const names = o.hosts ?? plan.nodes.map((n) => n.name);
  const release = await acquireStoreLock(o.out, { waitMs: o.lockTimeoutMs, onWait: o.onLockWait, command: 'kpki install' });
  let store: StoreFiles;
  try {
    store = await readStoreFiles(o.out, plan, names.filter((n) => plan.nodes.some((p) => p.name === n)));
  } finally {
    release();
  }
  const result = renderHosts(plan, store, o.hosts);
  const now = o.now ?? new Date();
  const applied = await applyStage(o.stage, result, now.toISOString().replace(/[:.]/g, '-'));
  const count = (a: Applied['action']) => applied.filter((x) => x.action === a).length;
  const total = result.hosts.reduce((n, h) => n + h.files.length, 0) + 1;
  const changedPaths = new Set(applied.filter((a) => a.action !== 'removed').map((a) => a.path));
  return {
    plan: plan.source,
    out: o.out,
    stage: o.stage,
    deploy: plan.deploy,
    notes: result.notes,
    hosts: result.hosts.map((h) => ({ name: h.host, address: h.address, roles: h.roles, files: h.files.length, units: h.units })),
    changed: applied.length > 0,
    counts: { created: count('created'), updated: count('updated'), removed: count('removed'), chmod: count('chmod'), unchanged: total - changedPaths.size },
    files: applied,
  };
}

export { HOSTS_FILE };
