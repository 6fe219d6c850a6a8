/** The only plan module that touches the file system. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { KpkiError } from '../errors.js';
import { KPKI_VERSION } from '../version.js';
import type { Plan } from './types.js';

/** The digest a parsed plan carries: this kpki's version and the exact text (a plan parsed by another version is parsed again). */
export function planDigest(text: string): string {
  return `sha256:${createHash('sha256').update(KPKI_VERSION).update('\0').update(text).digest('hex')}`;
}

/**
 * A plan parsed before, with the digest of what it was parsed from. The store keeps the last
 * one gen used (pki/state.json), so re-running an unchanged thousand-node plan skips the
 * YAML parse and validation (~0.2 s cold); any changed byte, or another kpki version, parses.
 */
export interface PlanMemo {
  readonly digest: string;
  readonly plan: Plan;
}

/**
 * Reads and validates cluster.yaml. A file that cannot be read is an I/O error (`ERR_IO`)
 * naming it; a file that reads but is not a valid plan is a PlanError.
 */
export async function loadPlan(path: string, options: { memo?: PlanMemo } = {}): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new KpkiError('ERR_IO', `${path}: cannot read the plan: ${reason}`, { cause: err });
  }
  const digest = planDigest(text);
  const memo = options.memo;
  if (memo && memo.digest === digest) return { ...memo.plan, source: path, digest };
  // The parser (yaml, the schema validator) loads only when there is something to parse.
  const { parsePlan } = await import('./parse.js');
  return { ...parsePlan(text, path), digest };
}
