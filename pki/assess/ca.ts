/**
 * Assessing the store's CAs and key pairs: credential × observation × plan × clock → findings.
 * A CA kpki must never replace and cannot sign with (half of it, damaged, its key another's)
 * is a finding whose rule refuses (findings.ts): gen stops on it, check reports it.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { ResolvedCa, ResolvedKeyPair, ResolvedPki } from '../catalog/resolve.js';
import { finding, type Finding } from '../findings.js';
import type { ObservedCa, ObservedKeyPair } from '../observe/ca.js';
import { signatureSchemeFor } from '../x509/certificate.js';
import { describeKey, keyAlgorithmOf } from '../x509/keys.js';
import type { ObservedCert } from '../x509/read.js';
import { BACKDATE_MS, DAY, days, safe, type Policy } from './policy.js';

const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Whether the CA files can be kept and signed with: both halves present and readable, its own
 * signature valid where it claims to be its own issuer, a key kpki can sign with, and that key
 * its certificate's. Empty when usable.
 */
export function caUsability(ca: ObservedCa, ref: string): Finding[] {
  switch (ca.state) {
    case 'absent':
      return [];
    case 'incomplete':
      if (ca.lacking === 'key') {
        return [finding('ca-external', ca.has, `${ca.has} without ${ca.lacks}: an external CA (its key kept elsewhere); kpki signs nothing with it`, ref)];
      }
      return [finding('ca-incomplete', ca.has, `${ca.has} exists but ${ca.lacks} does not; kpki never replaces half of a CA. Restore ${ca.lacks} or move ${ca.has} away.`, ref)];
    case 'unreadable':
      return [finding('ca-unreadable', ca.file, ca.reason, ref)];
    case 'present': {
      const { cert, native, key } = ca;
      // A CA that claims to be its own issuer (same name, or no other authority key named) must
      // carry its own valid signature: a damaged CA file must never sign. An intermediate from an
      // organisation's root names that root's key and is taken as it is.
      const { subjectKeyId: ski, authorityKeyId: aki, subject, issuer } = cert.parsed;
      const sameKeyId = (a?: Uint8Array, b?: Uint8Array) => !a || (b !== undefined && Buffer.from(a).equals(Buffer.from(b)));
      const selfIssued = Buffer.from(subject.der).equals(Buffer.from(issuer.der)) || sameKeyId(aki, ski);
      if (selfIssued && !safe(() => native.verify(native.publicKey))) {
        return [finding('ca-damaged', ca.crtFile, 'the CA certificate is damaged: its self-signature does not verify. Restore it from a backup', ref)];
      }
      try {
        signatureSchemeFor(key, ca.keyFile);
      } catch (e) {
        // The message names the key file: gen's error is this sentence as it stands.
        return [finding('ca-key-unsupported', ca.keyFile, (e as Error).message, ref)];
      }
      if (!safe(() => native.checkPrivateKey(key))) {
        return [finding('ca-key-mismatch', ca.keyFile, `${ca.keyFile} does not belong to ${ca.crtFile}; kpki will not overwrite a CA.`, ref)];
      }
      return [];
    }
  }
}

/** What is worth saying about a CA kpki keeps: validity, and plan changes it does not follow. */
export function assessCa(item: ResolvedCa, cert: ObservedCert, key: KeyObject | undefined, file: string, pki: ResolvedPki, policy: Policy): Finding[] {
  const out: Finding[] = [];
  const ref = item.ref;
  const left = cert.notAfter.getTime() - policy.now.getTime();
  if (left <= 0) out.push(finding('ca-expired', file, `CA ${ref} expired on ${day(cert.notAfter)}`, ref));
  else if (cert.notBefore > policy.now) out.push(finding('ca-not-yet-valid', file, `CA ${ref} is not valid before ${cert.notBefore.toISOString()}`, ref));
  else if (left < policy.renewBeforeMs) {
    out.push(finding('ca-expiring', file, `CA ${ref} expires on ${day(cert.notAfter)} (in ${days(left)}); leaves are capped at that date`, ref));
  }
  const drift = (what: string) => out.push(finding('ca-plan-drift', file, `CA ${ref} is kept: ${what}`, ref));
  const alg = key ? keyAlgorithmOf(key) : undefined;
  if (key && alg !== pki.plan.pki.keyAlgorithm) drift(`it keeps its ${alg ?? describeKey(key)} key (plan: ${pki.plan.pki.keyAlgorithm})`);
  const want = item.profile.extras;
  const have = cert.profile.extras;
  for (const attr of ['C', 'ST', 'L', 'O', 'OU'] as const) {
    // O is read back into the profile's organisations (a CA has only the plan's extra O).
    const found = attr === 'O' ? (have.O ?? cert.profile.o[0] ?? '') : (have[attr] ?? '');
    if ((want[attr] ?? '') !== found) drift(`its subject ${attr} is "${found}" (plan: "${want[attr] ?? ''}")`);
  }
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  if (Math.abs(lifetime - BACKDATE_MS - pki.plan.pki.caValidityMs) > DAY) {
    drift(`it is valid for ${Math.round(lifetime / 3_600_000)}h (plan caValidity: ${Math.round(pki.plan.pki.caValidityMs / 3_600_000)}h)`);
  }
  return out;
}

/** The service-account key pair: readable, and of the plan's algorithm (else kept, said plainly). */
/** The public half found beside a key pair's key, if it is not that key's (gen never replaces it: a refusal). */
function publicHalf(kp: Extract<ObservedKeyPair, { state: 'present' }>): Finding | undefined {
  if (!kp.pub) return undefined;
  if (kp.pub.pem === undefined) return finding('keypair-unreadable', kp.pubFile, `cannot be read (${kp.pub.error})`);
  let found: Buffer;
  try {
    found = createPublicKey(kp.pub.pem).export({ type: 'spki', format: 'der' });
  } catch {
    return finding('keypair-unreadable', kp.pubFile, 'not a readable public key');
  }
  const own = createPublicKey(kp.key).export({ type: 'spki', format: 'der' });
  return found.equals(own) ? undefined : finding('sa-mismatch', kp.pubFile, `not the public key of ${kp.keyFile}`);
}

export function assessKeyPair(item: ResolvedKeyPair, kp: ObservedKeyPair, pki: ResolvedPki): Finding[] {
  if (kp.state === 'absent') return [];
  if (kp.state === 'unreadable') return [finding('keypair-unreadable', kp.keyFile, kp.reason, item.ref)];
  const pub = publicHalf(kp);
  if (pub) return [pub];
  const alg = keyAlgorithmOf(kp.key);
  return alg === pki.plan.pki.keyAlgorithm
    ? []
    : [finding('ca-plan-drift', kp.keyFile, `${item.ref}.key is kept: it is ${alg ?? 'another kind of'} key (plan: ${pki.plan.pki.keyAlgorithm}); replacing it invalidates every service-account token`, item.ref)];
}
