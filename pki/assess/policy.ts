/**
 * What the assessments weigh files against besides the plan's catalog: the clock and the plan's
 * validity rules, and the one issuing constant they must allow for (the backdating).
 */
import type { ResolvedPki } from '../catalog/resolve.js';
import type { KeyAlgorithm } from '../plan/types.js';

/** kubeadm backdates NotBefore by five minutes to absorb clock skew between hosts; so does kpki. */
export const BACKDATE_MS = 5 * 60_000;

export interface Policy {
  readonly now: Date;
  /** Leaves with less left than this are due. */
  readonly renewBeforeMs: number;
  /** Leaves valid for longer than this (plus the backdating) are reissued. */
  readonly certValidityMs: number;
  readonly keyAlgorithm: KeyAlgorithm;
}

export function policyOf(pki: ResolvedPki, now: Date): Policy {
  const p = pki.plan.pki;
  return { now, renewBeforeMs: p.renewBeforeMs, certValidityMs: p.certValidityMs, keyAlgorithm: p.keyAlgorithm };
}

export const DAY = 86_400_000;
/** A duration as whole days, as findings say it. */
export const days = (ms: number) => `${Math.floor(ms / DAY)}d`;

/** A crypto check that throws on malformed input counts as failed. */
export const safe = (fn: () => boolean): boolean => {
  try {
    return fn();
  } catch {
    return false;
  }
};
