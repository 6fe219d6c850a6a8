/**
 * The store's own state (`pki/state.json`, 0600, kpki's bookkeeping): which node is the
 * init node, and what kpki has already verified: certificate / key / CA triples whose key matched and whose
 * signature checked out, by SHA-256 of their PEM text. Kept a re-run of a thousand-node cluster hashes 6,000 small strings instead of parsing 3,000
 * private keys and checking 3,000 signatures (seconds of CPU). Any changed byte in any of
 * the three misses the record and takes the full check. Only hashes are stored.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanMemo } from './plan/load.js';
import type { KeyAlgorithm, Plan } from './plan/types.js';
import { KEY_ALGORITHMS } from './plan/types.js';

export const STATE_PATH = 'pki/state.json';

/**
 * SHA-256 of a PEM, memoised per text: every leaf of a CA hashes the same CA text, and the
 * state is written from the same certificate texts that were looked up.
 */
const digests = new Map<string, string>();
const sha = (s: string) => {
  let d = digests.get(s);
  if (d === undefined) digests.set(s, (d = createHash('sha256').update(s).digest('base64url')));
  return d;
};

export interface VerifiedPairs {
  lookup(certPem: string, keyPem: string, caPem: string): { algorithm: KeyAlgorithm | undefined } | undefined;
  record(certPem: string, keyPem: string, caPem: string, algorithm: KeyAlgorithm | undefined): void;
  /** The records for the given certificates only (what is still in use). */
  toJSON(keep: Iterable<string>): Record<string, string>;
}

export interface StoreState {
  /** The node holding super-admin.conf, recorded so it never moves on its own. */
  readonly initNode?: string;
  readonly verified: VerifiedPairs;
  /** The plan the last run used, parsed (see plan/load.ts). */
  readonly planMemo?: PlanMemo;
}

/** Parses the stored state; an unreadable file is an empty state (every check runs). */
export function readState(stored?: string): StoreState {
  let parsed: { initNode?: unknown; verified?: Record<string, unknown>; plan?: { digest?: unknown; value?: unknown } } = {};
  try {
    parsed = JSON.parse(stored ?? '{}') as typeof parsed;
  } catch {
    // fall through: nothing is trusted, everything is checked
  }
  return {
    ...(typeof parsed.initNode === 'string' ? { initNode: parsed.initNode } : {}),
    verified: verifiedPairs(parsed.verified ?? {}),
    ...(typeof parsed.plan?.digest === 'string' && typeof parsed.plan.value === 'object' && parsed.plan.value !== null
      ? { planMemo: { digest: parsed.plan.digest, plan: parsed.plan.value as Plan } }
      : {}),
  };
}

/** The plan memo of the store at `out`, if it has one; never throws (no memo: the plan is parsed). */
export function readPlanMemo(out: string): PlanMemo | undefined {
  try {
    return readState(readFileSync(join(out, STATE_PATH), 'utf8')).planMemo;
  } catch {
    return undefined;
  }
}

export function serialiseState(initNode: string | undefined, verified: VerifiedPairs, certs: Iterable<string>, plan?: Plan): string {
  const memo = plan?.digest ? { plan: { digest: plan.digest, value: { ...plan, source: undefined, digest: undefined } } } : {};
  const state = { apiVersion: 'kpki/v1alpha1', kind: 'StoreState', ...(initNode ? { initNode } : {}), ...memo, verified: verified.toJSON(certs) };
  return `${JSON.stringify(state, null, 1)}\n`;
}

function verifiedPairs(stored: Record<string, unknown>): VerifiedPairs {
  const records = new Map<string, string>();
  for (const [k, v] of Object.entries(stored)) if (typeof v === 'string') records.set(k, v);
  const value = (keyPem: string, caPem: string, alg: KeyAlgorithm | undefined) => `${sha(keyPem)} ${sha(caPem)} ${alg ?? '-'}`;
  return {
    lookup(certPem, keyPem, caPem) {
      const v = records.get(sha(certPem));
      if (!v || !v.startsWith(`${sha(keyPem)} ${sha(caPem)} `)) return undefined;
      const alg = v.slice(v.lastIndexOf(' ') + 1);
      return { algorithm: (KEY_ALGORITHMS as readonly string[]).includes(alg) ? (alg as KeyAlgorithm) : undefined };
    },
    record(certPem, keyPem, caPem, alg) {
      records.set(sha(certPem), value(keyPem, caPem, alg));
    },
    toJSON(keep) {
      const pairs: Record<string, string> = {};
      for (const k of [...new Set([...keep].map(sha))].sort()) {
        const v = records.get(k);
        if (v) pairs[k] = v;
      }
      return pairs;
    },
  };
}
