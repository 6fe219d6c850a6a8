/**
 * The shape of `kpki check`: what goes in (options, thresholds) and what comes out (a
 * versioned report of every certificate found and every finding). The report is also the
 * `--json` output; schema/check-report.schema.json describes it and tests validate against it.
 */
import type { Finding, Severity } from '../findings.js';

export const CHECK_API_VERSION = 'kpki/v1alpha1';
export const CHECK_KIND = 'CheckReport';

export interface Thresholds {
  /** Leaves and CAs with less than this left are critical. */
  readonly critMs: number;
  /** ... and with less than this left, warnings. */
  readonly warnMs: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { critMs: 7 * 86_400_000, warnMs: 30 * 86_400_000 };

/** Monitoring-plugin states (Nagios, Icinga, Sensu): the exit code is the index. */
export type Status = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';
export const STATUS_EXIT: Record<Status, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

export interface NameFacts {
  readonly cn: string;
  readonly o: readonly string[];
  /** RFC 4514-style one-line form. */
  readonly text: string;
}

/** One certificate as found: a file, a kubeconfig's embedded client certificate, or a CA. */
export interface CertRecord {
  /** The file (a kubeconfig for embedded certificates), as given on the command line or store-relative. */
  readonly path: string;
  /** Where the certificate sits in the file. */
  readonly source: 'file' | 'kubeconfig';
  /** Catalog id of the role it plays (`apiserver`, `admin.conf`, `etcd-ca`), or `unknown`. */
  readonly role: string;
  /** `<id>@<node>` when a plan names this credential. */
  readonly ref?: string;
  readonly node?: string;
  readonly isCa: boolean;
  readonly subject: NameFacts;
  readonly issuer: NameFacts;
  /** Catalog id (or issuer CN) of the CA that signed it; `self` for self-signed. */
  readonly authority: string;
  readonly serial: string;
  readonly dns: readonly string[];
  readonly ips: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
  /** Seconds until NotAfter (negative once expired). */
  readonly residualSeconds: number;
  readonly keyAlgorithm: { readonly type: string; readonly bits?: number; readonly curve?: string };
  readonly signatureAlgorithm: string;
  /** SHA-256 of the DER, lower-case hex. */
  readonly fingerprint: string;
  /** The worst severity of the findings about this file, or `ok`. */
  readonly status: Severity | 'ok';
}

export interface ReportFinding extends Finding {
  readonly hint: string;
}

export interface CheckReport {
  readonly apiVersion: typeof CHECK_API_VERSION;
  readonly kind: typeof CHECK_KIND;
  readonly generatedAt: string;
  /** Directories read (`--out`, or the roots given). */
  readonly roots: readonly string[];
  /** The plan the files were compared with, if any. */
  readonly plan?: string;
  /** The Kubernetes release identities were judged for, and where it came from (a flag, the plan, a manifest). */
  readonly kubernetesVersion?: { readonly version: string; readonly source: string };
  readonly thresholds: { readonly critSeconds: number; readonly warnSeconds: number };
  readonly status: Status;
  readonly exitCode: number;
  readonly summary: { readonly certificates: number; readonly authorities: number; readonly critical: number; readonly warning: number; readonly info: number };
  readonly certificates: readonly CertRecord[];
  readonly authorities: readonly CertRecord[];
  readonly findings: readonly ReportFinding[];
  /**
   * `--out` only: whether the store's record (pki/record) was used to judge unchanged leaves
   * without reading them, and if not, why (`kpki check --no-cache` reads every file).
   */
  readonly record?: { readonly used: true } | { readonly used: false; readonly why: string };
  /** Every finding code kpki knows, its severity and hint: tools filter on these. */
  readonly codes: Readonly<Record<string, { readonly severity: Severity; readonly remedy: string; readonly hint: string }>>;
}
