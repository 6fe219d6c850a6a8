/**
 * `ca rotate` and `sa rotate`: gen's pipeline with the rotation phases as decisions
 * (rotate/phases.ts). One call carries out one phase and stops; the report says which files
 * changed on which node (the CLI turns them into restarts from the catalog's `readBy`), what
 * comes next, and for the Kubernetes CA the discovery hashes. `--status` reads the records only.
 */
import { CAS } from '../catalog/entries.js';
import { resolve } from '../catalog/resolve.js';
import { KpkiError } from '../errors.js';
import { caCertHash } from '../kubeadm/join.js';
import { fileSpecs, nodeRoot, signingCaPath } from '../layout/layout.js';
import type { Plan } from '../plan/types.js';
import { nextPhase } from '../rotate/phases.js';
import { readRotations, ROTATION_DIR, type Rotation, type RotationTarget } from '../rotate/state.js';
import { diskSink } from '../sinks/disk.js';
import { checkOutDir } from '../store/out-dir.js';
import { generate, type GenerateOptions, type GenerateReport } from './generate.js';

export const ROTATION_TARGETS: readonly RotationTarget[] = [...CAS.map((c) => c.id), 'sa'];

export interface RotateOptions extends Omit<GenerateOptions, 'renew' | 'extend' | 'prune' | 'rotate'> {
  readonly target: RotationTarget;
  readonly abort?: boolean;
  /** issue phase: re-sign each leaf's current key instead of a new one. */
  readonly reuseKeys?: boolean;
}

/** A credential whose file changed on a node (a leaf id, a CA id, `sa`): what restarts.ts reads. */
export interface ChangedOnNode {
  readonly node: string;
  readonly id: string;
}

export interface RotationSummary {
  readonly target: RotationTarget;
  /** The phase this run carried out (dry: would carry out). */
  readonly phase: Rotation['phase'];
  /** What the next call does; absent when the rotation ended. */
  readonly next?: Rotation['phase'];
  readonly started: string;
  /** The Kubernetes CA: discovery hashes (`sha256:` over the public key) of the old and new CA. */
  readonly oldCaCertHash?: string;
  readonly newCaCertHash?: string;
}

export interface RotateReport extends GenerateReport {
  readonly rotation: RotationSummary;
  readonly changedOnNodes: readonly ChangedOnNode[];
}

/** Which credential each node file belongs to, from the layout (and the signing-CA file). */
function owners(plan: Plan, initNode: string | undefined): Map<string, ChangedOnNode> {
  const pki = resolve({ ...plan, initNode });
  const leafById = new Map(pki.leaves.map((l) => [l.ref, l]));
  const out = new Map<string, ChangedOnNode>();
  for (const spec of fileSpecs(pki)) {
    const m = /^nodes\/([^/]+)\//.exec(spec.path);
    if (!m) continue;
    const s = spec.source;
    const id = s.from === 'leaf' ? leafById.get(s.ref)!.entry.id : s.from === 'config' ? undefined : s.ref;
    if (id !== undefined) out.set(spec.path, { node: m[1]!, id });
  }
  for (const n of plan.nodes) out.set(`${nodeRoot(n.name)}/${signingCaPath(plan)}`, { node: n.name, id: 'ca' });
  return out;
}

/** The credentials behind changed node files, once per node and credential, in file order. */
export function changedOnNodesOf(plan: Plan, initNode: string | undefined, paths: readonly string[]): ChangedOnNode[] {
  const byPath = owners(plan, initNode);
  const seen = new Set<string>();
  const out: ChangedOnNode[] = [];
  for (const p of paths) {
    const o = byPath.get(p);
    if (!o || seen.has(`${o.node} ${o.id}`)) continue;
    seen.add(`${o.node} ${o.id}`);
    out.push(o);
  }
  return out;
}

export async function rotate(plan: Plan, options: RotateOptions): Promise<RotateReport> {
  if (!ROTATION_TARGETS.includes(options.target)) throw new KpkiError('ERR_USAGE', `unknown rotation target '${options.target}'; the CAs are ${CAS.map((c) => c.id).join(', ')} (the SA key: kpki sa rotate)`);
  const { target, abort, reuseKeys, ...rest } = options;
  const report = await generate(plan, { ...rest, rotate: { target, action: abort ? 'abort' : 'next', ...(reuseKeys ? { reuseKeys } : {}) } });
  const r = report.rotated!;
  const changedOnNodes = changedOnNodesOf(plan, report.initNode, report.files.filter((f) => f.action !== 'chmod').map((f) => f.path));
  const hashes = r.target === 'ca' && r.oldCertPem !== undefined && r.newCertPem !== undefined ? { oldCaCertHash: caCertHash(r.oldCertPem), newCaCertHash: caCertHash(r.newCertPem) } : {};
  const after = r.phase === 'finalize' || r.phase === 'abort' ? undefined : nextPhase({ kind: r.target === 'sa' ? 'sa' : 'ca', phase: r.phase, done: true });
  return {
    ...report,
    rotation: { target: r.target, phase: r.phase, ...(after ? { next: after } : {}), started: r.started, ...hashes },
    changedOnNodes,
  };
}

export interface RotationStatus {
  readonly target: RotationTarget;
  readonly phase: Rotation['phase'];
  /** False: the phase was interrupted; the next call completes it. */
  readonly done: boolean;
  readonly started: string;
  readonly phaseStarted: string;
  /** What the next call of the command does. */
  readonly next?: Rotation['phase'];
  /** The files the recorded phase writes (output-relative): what the nodes must pick up. */
  readonly planned: readonly string[];
}

/** The rotations recorded in a store (read only, no lock): every one, or the target's. */
export async function rotationStatus(out: string, target?: RotationTarget): Promise<RotationStatus[]> {
  checkOutDir(out, { write: false });
  const observed = await diskSink(out).observe([ROTATION_DIR]);
  return [...readRotations(observed, out).values()]
    .filter((r) => target === undefined || r.target === target)
    .map((r) => {
      const next = nextPhase(r);
      return { target: r.target, phase: r.phase, done: r.done, started: r.started, phaseStarted: r.phaseStarted, ...(next ? { next } : {}), planned: r.planned ?? [] };
    });
}
