/**
 * SHA-256 of a text (base64url), the one digest kpki remembers files by: the store's record,
 * check's facts, and the disk sink's tree index, which vouches for a file's digest without
 * reading it.
 */
import { hash } from 'node:crypto';
import type { ObservedFile } from './types.js';

// Every leaf of a CA hashes the same CA text, and a thousand node trees compare the same ca.crt
// text with what they hold: a few certificates' digests are memoised. Certificates only (public
// texts, never a key or a kubeconfig), and a bounded few: in a long-running program that embeds
// kpki the memo neither grows nor keeps a secret.
const MEMO_LIMIT = 16;
const CERT = '-----BEGIN CERTIFICATE-----';
const memo = new Map<string, string>();

export function textDigest(text: string): string {
  const known = memo.get(text);
  if (known !== undefined) return known;
  const d = hash('sha256', text, 'base64url');
  if (text.length <= 8192 && text.startsWith(CERT) && text.indexOf('-----BEGIN', CERT.length) === -1) {
    if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value!);
    memo.set(text, d);
  }
  return d;
}

/** What the memo holds (for the test that holds it to its bounds). */
export function memoisedTexts(): readonly string[] {
  return [...memo.keys()];
}

/** The digest of a file's content: vouched for by the sink, or hashed from the text read; undefined if unreadable. */
export function fileDigest(f: ObservedFile): string | undefined {
  if (f.digest !== undefined) return f.digest;
  return f.content === undefined ? undefined : textDigest(f.content);
}
