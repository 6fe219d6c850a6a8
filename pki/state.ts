/**
 * The store's own state (`pki/state.json`, 0600, kpki's bookkeeping): which node is the
 * init node, and what kpki has already verified: certificate / key / CA triples whose key matched and whose
 * signature checked out, by SHA-256 of their PEM text. Kept a re-run of a thousand-node cluster hashes 6,000 small strings instead of parsing 3,000
 * private keys and checking 3,000 signatures (seconds of CPU). Any changed byte in any of
 * the three misses the record and takes the full check. Only hashes are stored.
 */
import { createHash } from 'node:crypto';
import type { KeyAlgorithm } from './plan/types.js';
import { KEY_ALGORITHMS } from './plan/types.js';

export const STATE_PATH = 'pki/state.json';

const sha = (s: string) => createHash('sha256').update(s).digest('base64url');

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
}

/** Parses the stored state; an unreadable file is an empty state (every check runs). */
export function readState(stored?: string): StoreState {
  let parsed: { initNode?: unknown; verified?: Record<string, unknown> } = {};
  try {
    parsed = JSON.parse(stored ?? '{}') as typeof parsed;
  } catch {
    // fall through: nothing is trusted, everything is checked
  }
  return {
    ...(typeof parsed.initNode === 'string' ? { initNode: parsed.initNode } : {}),
    verified: verifiedPairs(parsed.verified ?? {}),
  };
}

export function serialiseState(initNode: string | undefined, verified: VerifiedPairs, certs: Iterable<string>): string {
  const state = { apiVersion: 'kpki/v1alpha1', kind: 'StoreState', ...(initNode ? { initNode } : {}), verified: verified.toJSON(certs) };
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
