/**
 * What kpki has already verified: certificate / key / CA triples whose key matched and whose
 * signature checked out, by SHA-256 of their PEM text. Kept in the store (`pki/verified.json`)
 * so a re-run of a thousand-node cluster hashes 6,000 small strings instead of parsing 3,000
 * private keys and checking 3,000 signatures (seconds of CPU). Any changed byte in any of
 * the three misses the record and takes the full check. Only hashes are stored.
 */
import { createHash } from 'node:crypto';
import type { KeyAlgorithm } from './plan/types.js';
import { KEY_ALGORITHMS } from './plan/types.js';

export const VERIFIED_PATH = 'pki/verified.json';

const sha = (s: string) => createHash('sha256').update(s).digest('base64url');

export interface VerifiedPairs {
  lookup(certPem: string, keyPem: string, caPem: string): { algorithm: KeyAlgorithm | undefined } | undefined;
  record(certPem: string, keyPem: string, caPem: string, algorithm: KeyAlgorithm | undefined): void;
  /** The records for the given certificates only (what is still in use), as file content. */
  serialise(keep: Iterable<string>): string;
}

/** Parses the stored records; an unreadable file is simply an empty record (all checks run). */
export function verifiedPairs(stored?: string): VerifiedPairs {
  const records = new Map<string, string>();
  try {
    const parsed = JSON.parse(stored ?? '{}') as { pairs?: Record<string, unknown> };
    for (const [k, v] of Object.entries(parsed.pairs ?? {})) if (typeof v === 'string') records.set(k, v);
  } catch {
    // fall through: nothing is trusted, everything is checked
  }
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
    serialise(keep) {
      const pairs: Record<string, string> = {};
      for (const k of [...new Set([...keep].map(sha))].sort()) {
        const v = records.get(k);
        if (v) pairs[k] = v;
      }
      return `${JSON.stringify({ apiVersion: 'kpki/v1alpha1', kind: 'VerifiedCredentials', pairs }, null, 1)}\n`;
    },
  };
}
