/**
 * SHA-256 of a text (base64url), the one digest kpki remembers files by: the state's verified
 * records and readings, check's facts, and the disk sink's tree index, which vouches for a
 * file's digest without reading it.
 */
import { hash } from 'node:crypto';
import type { ObservedFile } from './types.js';

// Memoised per text: every leaf of a CA hashes the same CA text, and a thousand node trees
// compare the same ca.crt text with what they hold.
const digests = new Map<string, string>();

export function textDigest(text: string): string {
  let d = digests.get(text);
  if (d === undefined) digests.set(text, (d = hash('sha256', text, 'base64url')));
  return d;
}

/** The digest of a file's content: vouched for by the sink, or hashed from the text read; undefined if unreadable. */
export function fileDigest(f: ObservedFile): string | undefined {
  if (f.digest !== undefined) return f.digest;
  return f.content === undefined ? undefined : textDigest(f.content);
}
