/**
 * Findings: what is wrong (or worth knowing) about one credential or file, as typed data.
 * `gen` turns findings into decisions (reissue, rewrite, fix a mode, remove) and `check`
 * prints them; both read the same codes, so they can never disagree about a file.
 * Severity is a property of the code, kept in one table; a policy (gen's renewBefore,
 * check's --warn/--crit) only picks which expiry code applies.
 */

export type Severity = 'critical' | 'warning' | 'info';

/** What gen does about a finding on a leaf it manages. */
export type Remedy =
  /** a new key and certificate */
  | 'reissue'
  /** the certificate is fine; the kubeconfig around it is stale */
  | 'rewrite'
  /** the bytes are fine; the permissions are not */
  | 'chmod'
  /** the file does not belong where it is */
  | 'remove'
  /** the files are right; the program serving them has not loaded them (live probes) */
  | 'restart'
  /** gen cannot fix it: stop (CAs) or tell the user (plan changes CAs do not follow) */
  | 'none';

export interface FindingRule {
  readonly severity: Severity;
  readonly remedy: Remedy;
  /** One line: how an operator fixes it. */
  readonly hint: string;
}

/** Every finding code, its severity and its remedy. Codes are a public contract (`--json`). */
export const FINDINGS = {
  // live probes (check --probe): what a port serves, against the disk and the plan
  'probe-unreachable': { severity: 'warning', remedy: 'none', hint: 'no TLS handshake within the timeout: is the component running and the port reachable from here?' },
  'served-stale': { severity: 'critical', remedy: 'restart', hint: 'the file on disk was renewed but the running component still serves the old certificate: restart it (or copy the renewed file to that node)' },
  'served-expired': { severity: 'critical', remedy: 'restart', hint: 'clients refuse it: renew the certificate on disk if needed, then restart the component serving it' },
  'served-not-yet-valid': { severity: 'critical', remedy: 'none', hint: 'NotBefore is in the future for this host: check the clocks' },
  'served-wrong-host': { severity: 'critical', remedy: 'reissue', hint: 'clients reaching it by that name refuse it: add the name to the SANs (plan), run kpki gen, restart the component' },
  'served-untrusted': { severity: 'critical', remedy: 'reissue', hint: 'not signed by the CA its clients trust for this role: serve a certificate from the right CA' },
  // presence and readability
  'missing': { severity: 'critical', remedy: 'reissue', hint: 'run kpki gen to issue it' },
  'unreadable': { severity: 'critical', remedy: 'reissue', hint: 'the file is damaged; kpki gen backs it up and reissues it' },
  'key-missing': { severity: 'critical', remedy: 'reissue', hint: 'the private key is gone; kpki gen issues a new pair' },
  'key-mismatch': { severity: 'critical', remedy: 'reissue', hint: 'the private key does not belong to the certificate; reissue the pair' },
  // chain
  'wrong-signer': { severity: 'critical', remedy: 'reissue', hint: 'not signed by the CA this role needs; reissue from the right CA' },
  'signer-new': { severity: 'info', remedy: 'reissue', hint: 'its CA is being created in this run' },
  // validity
  'expired': { severity: 'critical', remedy: 'reissue', hint: 'renew it: kpki gen reissues certificates inside renewBefore' },
  'not-yet-valid': { severity: 'critical', remedy: 'reissue', hint: 'NotBefore is in the future: check the clocks, then reissue' },
  'expiring': { severity: 'warning', remedy: 'reissue', hint: 'renew it: kpki gen reissues certificates inside renewBefore' },
  'lifetime-exceeds-plan': { severity: 'warning', remedy: 'reissue', hint: 'valid for longer than pki.certValidity; kpki gen reissues it' },
  // contents against the plan
  'identity-mismatch': { severity: 'critical', remedy: 'reissue', hint: 'CN/O are not what the role needs; reissue it' },
  'san-mismatch': { severity: 'warning', remedy: 'reissue', hint: 'SANs differ from what the plan implies; reissue it' },
  'usage-mismatch': { severity: 'critical', remedy: 'reissue', hint: 'extended key usages are wrong for the role; reissue it' },
  'key-algorithm': { severity: 'info', remedy: 'reissue', hint: 'the key type differs from pki.keyAlgorithm; kpki gen reissues it' },
  // kubeconfigs
  'kubeconfig-server': { severity: 'warning', remedy: 'rewrite', hint: 'the server URL is not the one the plan says' },
  'kubeconfig-ca': { severity: 'critical', remedy: 'rewrite', hint: 'certificate-authority-data is not the current CA' },
  'kubeconfig-names': { severity: 'info', remedy: 'rewrite', hint: 'cluster or user name differs from the plan' },
  // files on a node
  'mode': { severity: 'warning', remedy: 'chmod', hint: 'private keys must be 0600 in 0700 directories' },
  'not-needed': { severity: 'warning', remedy: 'remove', hint: 'this node does not need the file any more (its role changed)' },
  // CAs: gen never replaces them, so these stop it or only inform
  'ca-expired': { severity: 'critical', remedy: 'none', hint: 'extend the CA with its own key (see kpki gen --help), then run kpki gen' },
  'ca-not-yet-valid': { severity: 'critical', remedy: 'none', hint: 'the CA starts in the future: check the clock of the host that made it' },
  'ca-expiring': { severity: 'warning', remedy: 'none', hint: 'leaves are capped at the CA NotAfter; extend the CA with its own key' },
  'ca-plan-drift': { severity: 'info', remedy: 'none', hint: 'CAs are kept as they are; a CA change needs a CA rotation' },
} as const satisfies Record<string, FindingRule>;

export type FindingCode = keyof typeof FINDINGS;

export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** Output-relative path of the file the finding is about. */
  readonly file: string;
  /** The credential (`apiserver@cp-1`, `ca`), when the file is one of the catalog's. */
  readonly ref?: string;
  /** One line, for people: what is wrong, with the values. */
  readonly message: string;
}

export function finding(code: FindingCode, file: string, message: string, ref?: string): Finding {
  return { code, severity: FINDINGS[code].severity, file, message, ...(ref === undefined ? {} : { ref }) };
}

export const remedyOf = (f: Finding): Remedy => FINDINGS[f.code].remedy;
