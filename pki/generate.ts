/**
 * `generate`: plan in, PKI on disk out. Resolve the catalog against the plan, read what
 * exists, decide, issue, render, write what changed — and report all of it.
 */
import { randomBytes } from 'node:crypto';
import { resolve, type ResolvedPki } from './catalog/resolve.js';
import type { CaId } from './catalog/types.js';
import type { Deps } from './deps.js';
import { renderFiles } from './files.js';
import { issueAll, type Issued } from './issue.js';
import { caCertHash } from './join.js';
import type { Plan } from './plan/types.js';
import { pathsToObserve, reconcile, type Decisions } from './reconcile.js';
import { listDirs, readExisting, writeFiles, type WriteResult } from './store/fs.js';
import { join } from 'node:path';
import { generateKey } from './x509/keys.js';
import { createPublicKey } from 'node:crypto';
import { acquireStoreLock, describeHolder, storeLockHolder, type LockHolder } from './store/lock.js';
import { checkOutDir } from './store/out-dir.js';

export type Action = 'keep' | 'create' | 'issue' | 'rewrite';

export interface ReportItem {
  /** `ca`, `sa`, or `<id>@<node>`. */
  readonly ref: string;
  readonly id: string;
  readonly kind: 'ca' | 'keypair' | 'cert' | 'kubeconfig';
  readonly node?: string;
  readonly cn?: string;
  readonly o?: readonly string[];
  readonly signer?: CaId;
  /** ISO 8601; absent for key pairs and for certificates a dry run would create. */
  readonly notAfter?: string;
  readonly action: Action;
  readonly reasons: readonly string[];
}

export interface GenerateReport {
  readonly dryRun: boolean;
  readonly out: string;
  readonly items: readonly ReportItem[];
  readonly files: readonly WriteResult[];
  /** `sha256:<hex>` of the Kubernetes CA's public key, for `kubeadm join`; absent when not yet created. */
  readonly caCertHash?: string;
  readonly warnings: readonly string[];
  /** False when the run changed (or, dry, would change) nothing. */
  readonly changed: boolean;
}

export interface GenerateOptions {
  /** Output directory: the cluster store plus `nodes/<name>/` trees. */
  readonly out: string;
  readonly dryRun?: boolean;
  readonly deps?: Partial<Deps>;
  /** Called as certificates are signed (`issue`) and files written (`write`): done of total. */
  readonly onProgress?: (phase: 'issue' | 'write', done: number, total: number) => void;
  /** How long a real run waits for another process holding the store's lock; default 60 s. */
  readonly lockTimeoutMs?: number;
  /** Called once when the store is locked by a live process and this run starts waiting. */
  readonly onLockWait?: (holder: LockHolder) => void;
}

export function defaultDeps(): Deps {
  return {
    now: () => new Date(),
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    generateKey,
  };
}

function reportItems(pki: ResolvedPki, d: Decisions, issued?: Issued): ReportItem[] {
  const iso = (date?: Date) => date?.toISOString();
  const items: ReportItem[] = [];
  for (const c of d.cas) {
    const notAfter = issued?.cas.get(c.item.ref)?.notAfter ?? (c.action === 'keep' ? c.existing.cert.notAfter : undefined);
    items.push({
      ref: c.item.ref, id: c.item.ref, kind: 'ca', cn: c.item.profile.cn, o: [], notAfter: iso(notAfter),
      action: c.action, reasons: c.action === 'create' ? c.reasons : c.warnings,
    });
  }
  for (const k of d.keypairs) {
    items.push({ ref: k.item.ref, id: k.item.ref, kind: 'keypair', action: k.action, reasons: k.action === 'create' ? k.reasons : [] });
  }
  for (const l of d.leaves) {
    const notAfter = issued?.leaves.get(l.item.ref)?.notAfter ?? (l.action !== 'issue' ? l.existing.cert.notAfter : undefined);
    items.push({
      ref: l.item.ref, id: l.item.entry.id, kind: l.item.kind, node: l.item.node.name,
      cn: l.item.profile.cn, o: l.item.profile.o, signer: l.item.signer, notAfter: iso(notAfter),
      action: l.action, reasons: l.action === 'keep' ? [] : l.reasons,
    });
  }
  return items;
}

function hashOfCa(pem: string | undefined): string | undefined {
  if (pem === undefined) return undefined;
  return caCertHash(createPublicKey(pem).export({ type: 'spki', format: 'der' }));
}

/**
 * The store is checked first (an unusable `--out` is refused before anything is touched), and a
 * real run holds the store's lock for its whole read-decide-write cycle, so concurrent runs
 * take turns instead of replacing each other's CAs. A dry run only reads: it does not wait,
 * but says when another run holds the lock.
 */
export async function generate(plan: Plan, options: GenerateOptions): Promise<GenerateReport> {
  checkOutDir(options.out, { write: !options.dryRun });
  const notes: string[] = [];
  if (options.dryRun) {
    const holder = storeLockHolder(options.out);
    if (holder) notes.push(`the store is locked by ${describeHolder(holder)}; what it writes may change this plan`);
  }
  const release = options.dryRun
    ? undefined
    : await acquireStoreLock(options.out, {
        waitMs: options.lockTimeoutMs,
        onWait: options.onLockWait,
        command: 'kpki gen',
        onTakeover: (stale, why) =>
          notes.push(`took over a stale store lock${stale ? ` left by ${describeHolder(stale)}` : ''}: ${why}`),
      });
  try {
    const report = await generateLocked(plan, options);
    return notes.length ? { ...report, warnings: [...notes, ...report.warnings] } : report;
  } finally {
    release?.();
  }
}

async function generateLocked(plan: Plan, options: GenerateOptions): Promise<GenerateReport> {
  const deps: Deps = { ...defaultDeps(), ...options.deps };
  const pki = resolve(plan);
  const observed = await readExisting(options.out, pathsToObserve(pki));
  const decisions = reconcile(pki, observed, deps.now());
  const planned = new Set(plan.nodes.map((n) => n.name));
  const warnings = [
    ...decisions.cas.flatMap((c) => (c.action === 'keep' ? c.warnings : [])),
    // Never deleted automatically: the host may still run with these credentials.
    ...(await listDirs(join(options.out, 'nodes')))
      .filter((d) => !planned.has(d))
      .map((d) => `nodes/${d} is not in the plan any more; its files were left as they are`),
  ];

  if (options.dryRun) {
    const ca = decisions.cas.find((c) => c.item.ref === 'ca');
    const items = reportItems(pki, decisions);
    return {
      dryRun: true, out: options.out, items, files: [], warnings,
      caCertHash: hashOfCa(ca?.action === 'keep' ? ca.existing.cert.pem : undefined),
      changed: items.some((i) => i.action !== 'keep'),
    };
  }

  const progress = options.onProgress;
  const issued = await issueAll(pki, decisions, deps, progress && ((d, t) => progress('issue', d, t)));
  const entries = renderFiles(pki, issued);
  const files = await writeFiles(options.out, entries, {
    backupStamp: deps.now().toISOString().replace(/[:.]/g, '-'),
    onProgress: progress && ((d, t) => progress('write', d, t)),
    known: observed,
  });
  return {
    dryRun: false, out: options.out, items: reportItems(pki, decisions, issued), files, warnings,
    caCertHash: hashOfCa(issued.cas.get('ca')?.certPem),
    changed: files.some((f) => f.action !== 'unchanged'),
  };
}
