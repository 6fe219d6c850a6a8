/**
 * Content rules: what is wrong with a certificate whatever its role or plan. Each is a small
 * pure function from facts to findings; severities come from the one table (findings.ts).
 */
import { finding, type Finding, type FindingCode } from '../findings.js';
import type { CertFacts } from '../x509/facts.js';
import type { Thresholds } from './types.js';

const DAY = 86_400_000;
const day = (d: Date) => d.toISOString().slice(0, 10);
const inDays = (ms: number) => `${Math.max(0, Math.floor(ms / DAY))}d`;

/** Expiry and clock skew; CAs get their own codes (gen treats them differently). */
export function dateFindings(cert: { notBefore: Date; notAfter: Date }, isCa: boolean, file: string, now: Date, t: Thresholds, ref?: string): Finding[] {
  const left = cert.notAfter.getTime() - now.getTime();
  const code = (leaf: FindingCode, ca: FindingCode) => (isCa ? ca : leaf);
  const what = isCa ? 'CA ' : '';
  if (left <= 0) return [finding(code('expired', 'ca-expired'), file, `${what}expired on ${day(cert.notAfter)}`, ref)];
  if (cert.notBefore.getTime() > now.getTime()) {
    return [finding(code('not-yet-valid', 'ca-not-yet-valid'), file, `${what}not valid before ${cert.notBefore.toISOString()} (clock skew?)`, ref)];
  }
  if (left < t.critMs) return [finding(code('expiring-critical', 'ca-expiring-critical'), file, `${what}expires on ${day(cert.notAfter)} (in ${inDays(left)})`, ref)];
  if (left < t.warnMs) return [finding(code('expiring', 'ca-expiring'), file, `${what}expires on ${day(cert.notAfter)} (in ${inDays(left)})`, ref)];
  return [];
}

/** Weak keys and signatures clients refuse. A self-signed root's own SHA-1 signature is never checked by Go. */
export function cryptoFindings(c: CertFacts, selfSigned: boolean, file: string, ref?: string): Finding[] {
  const out: Finding[] = [];
  const bits = c.publicKey.bits;
  if (c.publicKey.type === 'rsa' && bits !== undefined) {
    if (bits < 1024) out.push(finding('broken-key', file, `RSA key of ${bits} bits`, ref));
    else if (bits < 2048) out.push(finding('weak-key', file, `RSA key of ${bits} bits`, ref));
  }
  if (!selfSigned && /sha1/i.test(c.signatureAlgorithm.name)) out.push(finding('sha1-signature', file, `signed with ${c.signatureAlgorithm.name}`, ref));
  return out;
}

/** Why a certificate cannot sign others (RFC 5280 §4.2.1.3, §4.2.1.9; Go's CheckSignatureFrom). */
export function caDefects(c: CertFacts): string[] {
  const out: string[] = [];
  if (!c.basicConstraints?.ca) out.push(c.basicConstraints ? 'basicConstraints CA:FALSE' : 'no basicConstraints CA:TRUE');
  if (c.keyUsage && !c.keyUsage.usages.includes('keyCertSign')) out.push('keyUsage without keyCertSign');
  return out;
}

/** EKUs and KU for a role's usages. */
export function usageFindings(c: CertFacts, want: readonly string[], file: string, ref?: string): Finding[] {
  const have = c.extKeyUsage ?? [];
  const missing = want.filter((u) => !have.includes(u) && !have.includes('anyExtendedKeyUsage'));
  const out: Finding[] = [];
  if (missing.length) out.push(finding('usage-mismatch', file, `extended key usage lacks ${missing.join(', ')} (has ${have.join(', ') || 'none'})`, ref));
  if (c.keyUsage && !c.keyUsage.usages.includes('digitalSignature')) out.push(finding('usage-mismatch', file, `keyUsage lacks digitalSignature (has ${c.keyUsage.usages.join(', ') || 'none'})`, ref));
  return out;
}

/** SANs the plan wants against those found: missing ones matter, extra ones are information. */
export function sanFindings(want: { dns: readonly string[]; ips: readonly string[] }, have: { dns: readonly string[]; ips: readonly string[] }, file: string, ref?: string): Finding[] {
  const missing = [...want.dns.filter((d) => !have.dns.includes(d)), ...want.ips.filter((i) => !have.ips.includes(i))];
  const extra = [...have.dns.filter((d) => !want.dns.includes(d)), ...have.ips.filter((i) => !want.ips.includes(i))];
  const out: Finding[] = [];
  if (missing.length) out.push(finding('san-missing', file, `SANs missing: ${missing.join(', ')}`, ref));
  if (extra.length) out.push(finding('san-extra', file, `SANs not in the plan: ${extra.join(', ')}`, ref));
  return out;
}
