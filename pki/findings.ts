/**
 * Findings: what is wrong (or worth knowing) about one credential or file, as typed data.
 * `gen` turns findings into decisions (reissue, rewrite, fix a mode, remove) and `check`
 * prints them; both read the same codes, so they can never disagree about a file.
 * Severity is a property of the code, kept in one table; a policy (gen's renewBefore,
 * check's --warn/--crit) only picks which expiry code applies.
 *
 * The severity rule (`kpki check` pages on it; every code below is set by it):
 *  - critical: it breaks something now: a component cannot load it, a client refuses it, a
 *    request is denied (the --crit window counts as now: the operator chose it);
 *  - warning: it will break (expiry, a CA that dies first) or it is unsafe (a key others can
 *    read, a group that grants more than the role needs), but works today;
 *  - info: nothing breaks and nothing is exposed: a difference from kubeadm's defaults that
 *    nothing reads, or a fact that could not be checked.
 * A difference is judged by what its consumer checks: clients' SANs for a serving certificate,
 * the user and groups the apiserver sees for its clients, the chain alone for etcd.
 */

import type { KpkiErrorCode } from './errors.js';

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
  /**
   * gen will not run on a store with this finding (a CA it must never replace is not usable):
   * it stops with this error code, so the exit status says why (2: a damaged file, 3: refused).
   */
  readonly refuses?: KpkiErrorCode;
}

/** Every finding code, its severity and its remedy. Codes are a public contract (`--json`). */
export const FINDINGS = {
  // live probes (check --probe): what a port serves, against the disk and the plan
  'probe-unreachable': { severity: 'warning', remedy: 'none', hint: 'no TLS handshake within the timeout: is the component running and the port reachable from here?' },
  // stale: what it serves still works (its expiry, SANs and CA have their own codes); it breaks when that expires
  'served-stale': { severity: 'warning', remedy: 'restart', hint: 'the file on disk was renewed but the running component still serves the old certificate: restart it (or copy the renewed file to that node)' },
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
  // longer than planned breaks nothing; expiry has its own codes
  'lifetime-exceeds-plan': { severity: 'info', remedy: 'reissue', hint: 'valid for longer than pki.certValidity; kpki gen reissues it' },
  // contents against the plan
  'identity-mismatch': { severity: 'critical', remedy: 'reissue', hint: 'CN/O are not what the role needs (for a client: the user or a group it is authorized as); reissue it' },
  // gen's verdict; check splits it into san-missing (critical) and san-extra (info)
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
  'store-permissions': { severity: 'warning', remedy: 'none', hint: 'another user could replace the CA (kpki gen refuses such a store): chmod go-w, or chown to the user that runs kpki' },
  'leftover-temp': { severity: 'warning', remedy: 'remove', hint: 'a kpki run was killed while writing; the file never went into use: the next kpki gen removes it (or delete it)' },
  // CAs: gen never replaces them, so these stop it (renewals are broken now: critical) or only inform
  // An external CA's store (kpki csr / import): nothing is wrong with the PKI, gen just cannot sign.
  'ca-external': { severity: 'info', remedy: 'none', refuses: 'ERR_STORE_CONFLICT', hint: 'its leaves are issued by the external CA: kpki csr writes the requests, kpki import places what it signs (gen, renew and ca extend need the key)' },
  'ca-incomplete': { severity: 'critical', remedy: 'none', refuses: 'ERR_STORE_CONFLICT', hint: 'kpki never replaces half of a CA: restore the missing file, or move the other one away' },
  'ca-unreadable': { severity: 'critical', remedy: 'none', refuses: 'ERR_PEM_INVALID', hint: 'the CA certificate or key is damaged: restore it from a backup' },
  'ca-damaged': { severity: 'critical', remedy: 'none', refuses: 'ERR_PEM_INVALID', hint: 'the CA certificate\'s self-signature does not verify: restore it from a backup' },
  'ca-key-mismatch': { severity: 'critical', remedy: 'none', refuses: 'ERR_STORE_CONFLICT', hint: 'the CA key does not belong to the CA certificate: restore the right pair (kpki never overwrites a CA)' },
  'ca-key-unsupported': { severity: 'critical', remedy: 'none', refuses: 'ERR_CA_UNUSABLE', hint: 'kpki cannot sign with this kind of CA key: use an RSA, ECDSA or Ed25519 CA' },
  'ca-expired': { severity: 'critical', remedy: 'none', refuses: 'ERR_CA_UNUSABLE', hint: 'extend the CA with its own key (see kpki gen --help), then run kpki gen' },
  'ca-not-yet-valid': { severity: 'critical', remedy: 'none', refuses: 'ERR_CA_UNUSABLE', hint: 'the CA starts in the future: check the clock of the host that made it' },
  'keypair-unreadable': { severity: 'critical', remedy: 'none', refuses: 'ERR_PEM_INVALID', hint: 'the service-account key is damaged: restore it from a backup (a new one invalidates every token)' },
  'ca-expiring': { severity: 'warning', remedy: 'none', hint: 'leaves are capped at the CA NotAfter; extend the CA with its own key' },
  'ca-plan-drift': { severity: 'info', remedy: 'none', hint: 'CAs are kept as they are; a CA change needs a CA rotation' },
  // audit (`kpki check`): facts about any PKI, kpki's or not; gen raises none of these itself
  'expiring-critical': { severity: 'critical', remedy: 'reissue', hint: 'renew it now: it expires within the --crit window' },
  'ca-expiring-critical': { severity: 'critical', remedy: 'none', hint: 'the CA expires within the --crit window: extend it with its own key today' },
  'san-missing': { severity: 'critical', remedy: 'reissue', hint: 'clients reaching it by that name or address refuse it now; reissue it with the plan\'s SANs' },
  'san-extra': { severity: 'info', remedy: 'reissue', hint: 'the certificate names more than the plan implies; harmless, gone at the next reissue' },
  'leaf-outlives-ca': { severity: 'warning', remedy: 'none', hint: 'the chain dies with the CA first; extend the CA (same key) before then' },
  // an issuer that was not among the files read is not a broken chain (a kubeadm worker has no ca.crt until join)
  'ca-missing': { severity: 'info', remedy: 'none', hint: 'chain not checked: its issuer was not among the files read; pass --ca FILE to check it' },
  'not-a-ca': { severity: 'critical', remedy: 'none', hint: 'clients reject chains through a certificate without CA:TRUE and keyCertSign; reissue the CA' },
  'legacy-identity': { severity: 'warning', remedy: 'reissue', hint: 'system:masters on a 1.29+ cluster: RBAC cannot revoke it; renew it (kubeadm certs renew, or kpki gen) to get the group the message names' },
  'older-release-identity': { severity: 'info', remedy: 'none', hint: 'the identity kubeadm gives this role before 1.29; right for that release, renewed into the new one by the upgrade to 1.29' },
  'identity-privileged': { severity: 'warning', remedy: 'reissue', hint: 'system:masters bypasses authorization and RBAC cannot revoke it: whoever holds this key is a superuser; reissue it without that O' },
  'identity-differs': { severity: 'info', remedy: 'reissue', hint: 'differs from kubeadm\'s identity for the role, but nothing that reads the certificate checks the difference; gone at the next reissue' },
  'sa-mismatch': { severity: 'critical', remedy: 'none', refuses: 'ERR_STORE_CONFLICT', hint: 'sa.pub is not the public half of sa.key: tokens signed with one fail against the other; restore the pair' },
  'weak-key': { severity: 'warning', remedy: 'reissue', hint: 'RSA under 2048 bits: reissue with rsa-2048 or larger, or ecdsa-p256' },
  'broken-key': { severity: 'critical', remedy: 'reissue', hint: 'RSA under 1024 bits is refused by Go TLS: reissue it now' },
  'sha1-signature': { severity: 'critical', remedy: 'reissue', hint: 'Go (every Kubernetes component) rejects SHA-1-signed chains; reissue with SHA-256' },
  'key-permissions': { severity: 'warning', remedy: 'chmod', hint: 'private keys must not be readable by group or others: chmod 600' },
  'ca-key-on-node': { severity: 'warning', remedy: 'remove', hint: 'this node does not need the CA key; remove it (keep it in the store)' },
  'ca-key-on-control-plane': { severity: 'info', remedy: 'none', hint: 'kubeadm keeps CA keys on control planes; kpki keeps only ca.key there' },
  // Go ignores it; NSS-based clients refuse a second certificate with a known issuer and serial
  'duplicate-serial': { severity: 'warning', remedy: 'reissue', hint: 'two certificates from one CA share a serial: revocation and audits confuse them; reissue one' },
  'unknown-role': { severity: 'info', remedy: 'none', hint: 'matches no role in the catalog; checked for dates, chain and key only' },
  'not-a-certificate': { severity: 'warning', remedy: 'none', hint: 'the file holds something else than its name says (a key where a certificate belongs, or the reverse)' },
  // what `kpki check <dir>` did not read: never a silent OK
  'walk-limit': { severity: 'warning', remedy: 'none', hint: 'kpki check stops reading at a limit so that it always ends: pass the directory named as a path of its own to check what it holds' },
  'link-outside': { severity: 'warning', remedy: 'none', hint: 'symbolic links out of the paths given are not followed: pass the link\'s target as a path too to check it' },
  'mount-skipped': { severity: 'info', remedy: 'none', hint: 'another file system is mounted inside the path: kpki check --cross-mounts (or the mount point as a path) reads it too' },
  // rotations (`kpki ca rotate`, `kpki sa rotate`): between phases, old and new are both trusted
  'rotation-in-progress': { severity: 'warning', remedy: 'none', hint: 'a CA or service-account key rotation is between phases: deploy the trees, restart what the last phase listed, then run the next phase (or --abort before finalize)' },
  'not-a-regular-file': { severity: 'critical', remedy: 'none', hint: 'a FIFO, socket or device where a certificate, key or kubeconfig belongs: software reading it blocks or fails; put the regular file back' },
  // check --remote: a host's copy of its node tree against the store
  'remote-unreachable': { severity: 'critical', remedy: 'none', hint: 'kpki could not read the host over SSH (host key, login, network): its row shows the store\'s copy, not what the host holds; fix the connection and check again' },
  'remote-missing': { severity: 'critical', remedy: 'none', hint: 'the store has the file but the host does not: copy the node tree to the host again (kpki install) and restart what reads it' },
  'remote-stale': { severity: 'warning', remedy: 'none', hint: 'the host holds other content than the store (an old copy, or replaced by hand): copy the node tree to the host again (kpki install) and restart what reads it' },
  'remote-mode': { severity: 'warning', remedy: 'chmod', hint: 'the host\'s file has another mode or owner than the store gives it: copy the node tree again, or chmod/chown it (root)' },
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

/** The error gen stops with for this finding, if it stops at all. */
export const refusalOf = (f: Finding): KpkiErrorCode | undefined => (FINDINGS[f.code] as FindingRule).refuses;
