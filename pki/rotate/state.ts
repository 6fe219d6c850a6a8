/**
 * The rotation record: one file per rotation in progress, `pki/rotation/<id>.json` (0600: it
 * holds the new key until finalize moves it into the store). It is written atomically, with
 * the phase about to run, BEFORE any other file of that phase, so a run killed at any point
 * leaves a record saying which phase to complete; the same command again completes it, and
 * every run (gen and renew too) renders the trees as the recorded phase wants them.
 */
import type { CaId } from '../catalog/types.js';
import { KpkiError } from '../errors.js';
import type { Observation } from '../sinks/types.js';

export const ROTATION_DIR = 'pki/rotation';

/** What can be rotated: a CA of the catalog, or the service-account key pair. */
export type RotationTarget = CaId | 'sa';

/**
 * CA phases (the manual procedure's order): `trust` (old + new trusted, leaves unchanged),
 * `issue` (every leaf re-signed by the new CA; both still trusted), `finalize` (the new CA
 * alone, the old one to backup/). `abort`: back to the old CA alone (before finalize).
 */
export type CaPhase = 'trust' | 'issue' | 'finalize' | 'abort';
/** Service-account phases: `overlap` (sa.pub = old + new, signing with the new key), `finalize` (new alone). */
export type SaPhase = 'overlap' | 'finalize' | 'abort';

interface Common {
  /** ISO 8601: when the rotation began (its first phase). */
  readonly started: string;
  /** ISO 8601: when the recorded phase began. */
  readonly phaseStarted: string;
  /** False while the phase's files may not all be written: the next run completes it. */
  readonly done: boolean;
  /** Every file the phase writes or removes (output-relative), recorded before the first is touched. */
  readonly planned?: readonly string[];
}

export interface CaRotation extends Common {
  readonly kind: 'ca';
  readonly target: CaId;
  readonly phase: CaPhase;
  /** Re-sign leaves with their current keys in the issue phase. */
  readonly reuseKeys: boolean;
  /** The CA certificate being replaced, as the store held it when the rotation began. */
  readonly oldCertPem: string;
  readonly newCertPem: string;
  readonly newKeyPem: string;
  /** The new CA certificate issued by the old CA (same subject and key): offered in serving chains. */
  readonly crossPem: string;
}

export interface SaRotation extends Common {
  readonly kind: 'sa';
  readonly target: 'sa';
  readonly phase: SaPhase;
  /** The public key being retired, as the store held it. */
  readonly oldPubPem: string;
  readonly newKeyPem: string;
  readonly newPubPem: string;
}

export type Rotation = CaRotation | SaRotation;

export const rotationPath = (target: RotationTarget): string => `${ROTATION_DIR}/${target}.json`;

const CA_TARGETS: readonly string[] = ['ca', 'front-proxy-ca', 'etcd-ca'];
const PHASES: Record<Rotation['kind'], readonly string[]> = { ca: ['trust', 'issue', 'finalize', 'abort'], sa: ['overlap', 'finalize', 'abort'] };

export function serialiseRotation(r: Rotation): string {
  // `kind` is the record's own (Rotation); a CA's or the SA pair's follows from `target`.
  const { kind: _kind, ...fields } = r;
  return `${JSON.stringify({ apiVersion: 'kpki/v1alpha1', kind: 'Rotation', ...fields }, null, 2)}\n`;
}

/** Reads one record; a damaged one is an error naming the file and the field, never guessed at. */
export function parseRotation(text: string, file: string): Rotation {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new KpkiError('ERR_STORE_CONFLICT', `${file}: the rotation record is not valid JSON (${(e as Error).message}); restore it from backup/ or remove it and run --abort`);
  }
  const o = raw as Record<string, unknown>;
  const bad = (field: string) => new KpkiError('ERR_STORE_CONFLICT', `${file}: the rotation record's field '${field}' is missing or invalid; restore it from backup/`);
  if (typeof o !== 'object' || o === null || o['kind'] !== 'Rotation') throw bad('kind');
  const kind = o['target'] === 'sa' ? 'sa' : 'ca';
  if (kind === 'ca' && !CA_TARGETS.includes(String(o['target']))) throw bad('target');
  if (!PHASES[kind].includes(String(o['phase']))) throw bad('phase');
  const strings = ['started', 'phaseStarted', ...(kind === 'ca' ? ['oldCertPem', 'newCertPem', 'newKeyPem', 'crossPem'] : ['oldPubPem', 'newKeyPem', 'newPubPem'])];
  for (const f of strings) if (typeof o[f] !== 'string' || o[f] === '') throw bad(f);
  if (typeof o['done'] !== 'boolean') throw bad('done');
  if (o['planned'] !== undefined && !(Array.isArray(o['planned']) && o['planned'].every((p) => typeof p === 'string'))) throw bad('planned');
  const { apiVersion: _v, kind: _k, ...rest } = o;
  return kind === 'ca'
    ? { ...(rest as Omit<CaRotation, 'kind'>), kind: 'ca', reuseKeys: o['reuseKeys'] === true }
    : { ...(rest as Omit<SaRotation, 'kind'>), kind: 'sa' };
}

/** Every rotation record in the store, by target. */
export function readRotations(observed: Observation, where: string): Map<RotationTarget, Rotation> {
  const out = new Map<RotationTarget, Rotation>();
  for (const target of [...CA_TARGETS, 'sa'] as RotationTarget[]) {
    const path = rotationPath(target);
    const f = observed.files.get(path);
    if (!f) continue;
    if (f.content === undefined) throw new KpkiError('ERR_IO', `${where}/${path}: cannot be read (${f.error ?? 'not a regular file'})`);
    const r = parseRotation(f.content, `${where}/${path}`);
    if (r.target !== target) throw new KpkiError('ERR_STORE_CONFLICT', `${where}/${path}: the record is for ${r.target}, not ${target}; restore it from backup/`);
    out.set(target, r);
  }
  return out;
}
