/**
 * `kpki csr`: for a cluster whose CAs sign elsewhere (the store holds their certificates, or
 * nothing at all), a key and a PKCS#10 request for every leaf of every selected node, written
 * into the node trees: `<name>.csr` beside where the certificate will go, the key where it
 * will stay (a kubeconfig's key as `<file>.conf.key` until `kpki import` renders the file).
 * A key and request that still fit the plan are kept, so a re-run changes nothing.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { resolve, type ResolvedLeaf, type ResolvedPki } from '../catalog/resolve.js';
import type { CaId } from '../catalog/types.js';
import type { Deps } from '../deps.js';
import { KpkiError } from '../errors.js';
import { defaultDeps } from '../gen/generate.js';
import { chooseInitNode, leafPaths } from '../layout/layout.js';
import type { Plan } from '../plan/types.js';
import { planChanges } from '../sinks/changes.js';
import { diskSink } from '../sinks/disk.js';
import type { Applied, Observation, Sink, WantedFile } from '../sinks/types.js';
import { acquireStoreLock, type LockHolder } from '../store/lock.js';
import { checkOutDir } from '../store/out-dir.js';
import { readRecord, RECORD_PATH } from '../store/record.js';
import { createRequest, requestMatches } from '../x509/csr.js';
import { keyAlgorithmOf } from '../x509/keys.js';
import type { Usage } from '../x509/profile.js';

export interface StoreRunOptions {
  /** The store (`kpki gen`'s output directory): node trees under `nodes/<name>/`. */
  readonly out: string;
  /** Where the files go instead of `out` on disk (e.g. a memory sink). */
  readonly sink?: Sink;
  readonly deps?: Partial<Deps>;
  /** How long to wait while another kpki run holds the store's lock; default 60 s. */
  readonly lockTimeoutMs?: number;
  readonly onLockWait?: (holder: LockHolder) => void;
}

export interface CsrOptions extends StoreRunOptions {
  /** Only these nodes (default: every node of the plan). */
  readonly nodes?: readonly string[];
}

export interface CsrItem {
  /** `<id>@<node>`. */
  readonly ref: string;
  readonly id: string;
  readonly node: string;
  readonly kind: 'cert' | 'kubeconfig';
  /** The CA that must sign it: its certificate is `pki/<ca>.crt` in the store. */
  readonly signer: CaId;
  readonly cn: string;
  readonly o: readonly string[];
  readonly dns: readonly string[];
  readonly ips: readonly string[];
  readonly usages: readonly Usage[];
  /** Paths relative to `out`. */
  readonly csr: string;
  readonly key: string;
  /** `kept`: key and request already fit the plan; `new-request`: the key kept, the request written again. */
  readonly action: 'created' | 'kept' | 'new-request';
}

export interface CsrReport {
  readonly out: string;
  readonly items: readonly CsrItem[];
  readonly files: readonly Applied[];
  readonly changed: boolean;
}

/** Where a leaf's pending key and its request live, relative to the store. */
export function requestPaths(leaf: ResolvedLeaf): { readonly csr: string; readonly key: string } {
  const p = leafPaths(leaf);
  if ('kubeconfig' in p) return { csr: `${p.kubeconfig}.csr`, key: `${p.kubeconfig}.key` };
  return { csr: p.crt.replace(/(\.crt|\.pem)?$/, '.csr'), key: p.key };
}

/** Node names not in the plan, as one usage error. */
export function checkNodes(plan: Plan, nodes: readonly string[] | undefined): void {
  const unknown = (nodes ?? []).filter((n) => !plan.nodes.some((p) => p.name === n));
  if (unknown.length) throw new KpkiError('ERR_USAGE', unknown.map((n) => `node '${n}' is not in the plan`).join('\n'));
}

/**
 * Runs `work` on the store: on disk with `--out` checked and the store's lock held (so it
 * takes turns with gen, renew and import), or on the caller's sink.
 */
export async function onStore<T>(o: StoreRunOptions, command: string, work: (sink: Sink) => Promise<T>): Promise<T> {
  if (o.sink) return work(o.sink);
  checkOutDir(o.out, { write: true });
  const release = await acquireStoreLock(o.out, { waitMs: o.lockTimeoutMs, onWait: o.onLockWait, command });
  try {
    return await work(diskSink(o.out));
  } finally {
    release();
  }
}

/** The plan resolved as gen resolves it for this store (the same init node). */
export function resolveFor(plan: Plan, observed: Observation): ResolvedPki {
  const record = readRecord(observed.files.get(RECORD_PATH));
  return resolve({ ...plan, initNode: chooseInitNode(plan, record.initNode, (p) => observed.files.has(p)) });
}

/** A pending key kpki keeps: readable, and of the plan's algorithm. */
function keptKey(pem: string | undefined, plan: Plan): KeyObject | undefined {
  if (pem === undefined) return undefined;
  try {
    const key = createPrivateKey(pem);
    return keyAlgorithmOf(key) === plan.pki.keyAlgorithm ? key : undefined;
  } catch {
    return undefined;
  }
}

export async function csr(plan: Plan, options: CsrOptions): Promise<CsrReport> {
  checkNodes(plan, options.nodes);
  const deps: Deps = { ...defaultDeps(), ...options.deps };
  return onStore(options, 'kpki csr', async (sink) => {
    const observed = await sink.observe(['pki', 'nodes']);
    const pki = resolveFor(plan, observed);
    const leaves = pki.leaves.filter((l) => !options.nodes?.length || options.nodes.includes(l.node.name));
    const items: CsrItem[] = [];
    const wanted: WantedFile[] = [];
    await Promise.all(leaves.map(async (leaf) => {
      const paths = requestPaths(leaf);
      const found = keptKey(observed.files.get(paths.key)?.content, plan);
      const key = found ?? createPrivateKey((await deps.generateKey(plan.pki.keyAlgorithm)).privatePem);
      const foundCsr = observed.files.get(paths.csr)?.content;
      const keepCsr = found !== undefined && foundCsr !== undefined && requestMatches(foundCsr, leaf.profile, key);
      const keyPem = found ? observed.files.get(paths.key)!.content! : key.export({ type: 'pkcs8', format: 'pem' }).toString();
      wanted.push({ path: paths.key, mode: 0o600, content: keyPem, protected: false });
      wanted.push({ path: paths.csr, mode: 0o644, content: keepCsr ? foundCsr : createRequest(leaf.profile, key).pem, protected: false });
      const p = leaf.profile;
      items.push({
        ref: leaf.ref, id: leaf.entry.id, node: leaf.node.name, kind: leaf.kind, signer: leaf.signer,
        cn: p.cn, o: p.o, dns: p.dns, ips: p.ips, usages: p.usages, csr: paths.csr, key: paths.key,
        action: keepCsr ? 'kept' : found ? 'new-request' : 'created',
      });
    }));
    const order = new Map(leaves.map((l, i) => [l.ref, i]));
    items.sort((a, b) => order.get(a.ref)! - order.get(b.ref)!);
    const changes = planChanges(wanted, observed, { exact: [], whyRemoved: () => '', root: sink.name });
    const files = await sink.apply(changes, { backupStamp: deps.now().toISOString().replace(/[:.]/g, '-') });
    return { out: sink.name, items, files, changed: files.length > 0 || changes.dirs.size > 0 };
  });
}
