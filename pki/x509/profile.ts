/**
 * What a certificate says, as kpki compares it: the shape the encoder writes from and the reader
 * reads back into. Lives with x509 so the encoder and reader need nothing from the catalog.
 */
import type { SubjectExtras } from '../plan/types.js';

/** Extended key usages kpki issues. */
export type Usage = 'serverAuth' | 'clientAuth';

/** The wanted contents of one certificate: what issue writes and audit compares. */
export interface CertProfile {
  readonly cn: string;
  readonly o: readonly string[];
  /** CA subjects only: the plan's extra attributes. */
  readonly extras: SubjectExtras;
  /** Deduplicated and sorted, as kubeadm does. */
  readonly dns: readonly string[];
  /** Canonical, deduplicated, in insertion order, as kubeadm does. */
  readonly ips: readonly string[];
  readonly usages: readonly Usage[];
  readonly isCa: boolean;
}
