/**
 * The store's own state (`pki/state.json`, 0600, kpki's bookkeeping): which node is the
 * init node, the plan last used, and what kpki has already verified: certificate / key / CA
 * triples whose key matched and whose signature checked out, by SHA-256 of their PEM text
 * (`kpki check` trusts these too), and each leaf's reading by the digest of its files
 * (readings.ts). So a re-run of a thousand-node cluster hashes its files instead of parsing
 * 3,000 certificates and keys and checking 3,000 signatures (seconds of CPU). Any changed
 * byte misses the record and takes the full check. No secret is stored, only digests and
 * certificate facts.
 */
import { textDigest } from '../sinks/digest.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanMemo } from '../plan/load.js';
import type { KeyAlgorithm, Plan } from '../plan/types.js';
import { KEY_ALGORITHMS } from '../plan/types.js';
import { holdsExactly, leafReadings, type LeafReadings } from './readings.js';
import { KPKI_VERSION } from '../version.js';

export const STATE_PATH = 'pki/state.json';
/**
 * The plan the last run used, parsed: a file of its own, small, read before the store is
 * walked (the CLI needs the plan first) without reading the state's thousands of records.
 */
export const PLAN_MEMO_PATH = 'pki/plan.json';

/** SHA-256 of a PEM (memoised per text: every leaf of a CA hashes the same CA text). */
export const pemDigest = textDigest;
const sha = textDigest;

export interface VerifiedPairs {
  lookup(certPem: string, keyPem: string, caPem: string): { algorithm: KeyAlgorithm | undefined } | undefined;
  record(certPem: string, keyPem: string, caPem: string, algorithm: KeyAlgorithm | undefined): void;
  /** The records for the given certificates only (what is still in use), by pemDigest. */
  toJSON(keepDigests: Iterable<string>): Record<string, string>;
  /** Whether toJSON(keep) would give back what was stored. */
  unchangedFor(keepDigests: Iterable<string>): boolean;
}

export interface StoreState {
  /** The node holding super-admin.conf, recorded so it never moves on its own. */
  readonly initNode?: string;
  readonly verified: VerifiedPairs;
  /** What reading each leaf's files found (readings.ts); empty when another kpki version wrote the state. */
  readonly readings: LeafReadings;
  /** The file was written by this kpki version, as serialiseState writes it. */
  readonly current: boolean;
}

interface StoredState {
  apiVersion?: unknown;
  kind?: unknown;
  initNode?: unknown;
  verified?: Record<string, unknown>;
  version?: unknown;
  readings?: Record<string, unknown>;
}

function parseStored(text: string): StoredState {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null) return value as StoredState;
  } catch {
    // fall through: nothing is trusted, everything is checked
  }
  return {};
}

/** Parses the stored state; an unreadable file is an empty state (every check runs). */
export function readState(stored?: string): StoreState {
  const parsed = parseStored(stored ?? '{}');
  return {
    ...(typeof parsed.initNode === 'string' ? { initNode: parsed.initNode } : {}),
    verified: verifiedPairs(parsed.verified ?? {}),
    current: parsed.apiVersion === 'kpki/v1alpha1' && parsed.kind === 'StoreState' && parsed.version === KPKI_VERSION &&
      typeof parsed.verified === 'object' && typeof parsed.readings === 'object',
    // Readings depend on how this version reads files: another version's are read again.
    readings: leafReadings(parsed.version === KPKI_VERSION && KPKI_VERSION !== '' && typeof parsed.readings === 'object' && parsed.readings !== null ? parsed.readings : {}),
  };
}

/** The plan memo of the store at `out`, if it has one; never throws (no memo: the plan is parsed). */
export function readPlanMemo(out: string): PlanMemo | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(out, PLAN_MEMO_PATH), 'utf8')) as { digest?: unknown; value?: unknown };
    return typeof parsed.digest === 'string' && typeof parsed.value === 'object' && parsed.value !== null
      ? { digest: parsed.digest, plan: parsed.value as Plan }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The plan memo file's text: the plan as parsed, under the digest of what it was parsed from. */
export function serialisePlanMemo(plan: Plan): string | undefined {
  if (!plan.digest) return undefined;
  return `${JSON.stringify({ apiVersion: 'kpki/v1alpha1', kind: 'PlanMemo', digest: plan.digest, value: { ...plan, source: undefined, digest: undefined } })}\n`;
}

export interface StateInUse {
  /** pemDigest of every certificate in use: their verified records are kept. */
  readonly certDigests: Iterable<string>;
  /** readingKey of every leaf's files as written: their readings are kept. */
  readonly readingKeys: Iterable<string>;
}

/**
 * Whether serialiseState would write the state as it is: this version's file, the same init
 * node, nothing recorded, and the same leaves in use (a no-op re-run: then the state is not
 * serialised at all).
 */
export function stateUnchanged(state: StoreState, initNode: string | undefined, inUse: StateInUse): boolean {
  return state.current && (state.initNode ?? undefined) === (initNode || undefined) &&
    state.verified.unchangedFor(inUse.certDigests) && state.readings.unchangedFor(inUse.readingKeys);
}

export function serialiseState(initNode: string | undefined, memory: Pick<StoreState, 'verified' | 'readings'>, inUse: StateInUse): string {
  const state = {
    apiVersion: 'kpki/v1alpha1', kind: 'StoreState', version: KPKI_VERSION, ...(initNode ? { initNode } : {}),
    verified: memory.verified.toJSON(inUse.certDigests),
    readings: memory.readings.toJSON(inUse.readingKeys),
  };
  // One line: bookkeeping for programs, rewritten on every run that changes something.
  return `${JSON.stringify(state)}\n`;
}

/** Verified records read only when first consulted (`kpki check` without a plan rarely needs them). */
export function lazyVerified(get: () => VerifiedPairs): VerifiedPairs {
  return {
    lookup: (certPem, keyPem, caPem) => get().lookup(certPem, keyPem, caPem),
    record: (certPem, keyPem, caPem, alg) => get().record(certPem, keyPem, caPem, alg),
    toJSON: (keep) => get().toJSON(keep),
    unchangedFor: (keep) => get().unchangedFor(keep),
  };
}

function verifiedPairs(stored: Record<string, unknown>): VerifiedPairs {
  // New records here; stored ones are looked up where they are (no copy of thousands of entries).
  const records = new Map<string, string>();
  const get = (k: string) => {
    const v = records.get(k) ?? (Object.hasOwn(stored, k) ? stored[k] : undefined);
    return typeof v === 'string' ? v : undefined;
  };
  const value = (keyPem: string, caPem: string, alg: KeyAlgorithm | undefined) => `${sha(keyPem)} ${sha(caPem)} ${alg ?? '-'}`;
  return {
    lookup(certPem, keyPem, caPem) {
      const v = get(sha(certPem));
      if (!v || !v.startsWith(`${sha(keyPem)} ${sha(caPem)} `)) return undefined;
      const alg = v.slice(v.lastIndexOf(' ') + 1);
      return { algorithm: (KEY_ALGORITHMS as readonly string[]).includes(alg) ? (alg as KeyAlgorithm) : undefined };
    },
    record(certPem, keyPem, caPem, alg) {
      records.set(sha(certPem), value(keyPem, caPem, alg));
    },
    unchangedFor: (keep) => records.size === 0 && holdsExactly(stored, keep),
    toJSON(keep) {
      const pairs: Record<string, string> = {};
      for (const k of [...new Set(keep)].sort()) {
        const v = get(k);
        if (v) pairs[k] = v;
      }
      return pairs;
    },
  };
}
