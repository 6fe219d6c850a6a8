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

/** No clock before this is right: kpki did not exist yet (its first release is from 2026). */
const EARLIEST_PLAUSIBLE = Date.UTC(2026, 0, 1);
/** Nor one this many years after it: certificates issued then are wrong for every other host today. */
const PLAUSIBLE_YEARS = 30;

/**
 * A sentence when the clock issuing certificates cannot be right (a dead RTC battery reads
 * 1970 or 2000; a typo'd faketime, 2150): everything issued would be not yet valid, or already
 * expired, on every host whose clock is right.
 */
export function clockWarning(now: Date): string | undefined {
  const t = now.getTime();
  const latest = EARLIEST_PLAUSIBLE + PLAUSIBLE_YEARS * 365.25 * DAY;
  if (t >= EARLIEST_PLAUSIBLE && t <= latest) return undefined;
  const when = Number.isFinite(t) ? now.toISOString() : String(now);
  return `the system clock reads ${when}, ${t < EARLIEST_PLAUSIBLE ? 'before kpki existed' : `more than ${PLAUSIBLE_YEARS} years after 2026`}: what is issued now carries that time (NotBefore/NotAfter); set the clock (NTP) and run again`;
}
