/**
 * PKCS#10 certification requests (RFC 2986) for an external CA: the subject, public key and
 * requested extensions (keyUsage, extKeyUsage, subjectAltName in an extensionRequest, RFC 2985
 * §5.4.2) a certificate for the profile must carry, written with the same DER encoder and the
 * same extension bytes as kpki's own certificates, signed with the subject's key.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { CertProfile } from './profile.js';
import { encodeName, requestedExtensions, signatureSchemeFor, toPem } from './certificate.js';
import { bits, explicit, intSmall, oid, readTlv, seq, set, toBytes } from './der.js';
import { spkiOf } from './keys.js';
import { parsePem } from './pem.js';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

/** CertificationRequestInfo: version 0, subject, SPKI, [0] { extensionRequest }. */
export function encodeRequestInfo(profile: CertProfile, spkiDer: Uint8Array): Uint8Array {
  const attribute = seq(oid(EXTENSION_REQUEST), set(seq(...requestedExtensions(profile, spkiDer))));
  // attributes [0] IMPLICIT SET OF Attribute: one attribute, so the same bytes as [0] around it.
  return toBytes(seq(intSmall(0), encodeName(profile), spkiDer, explicit(0, attribute)));
}

export interface EncodedRequest {
  readonly der: Uint8Array;
  readonly pem: string;
}

/** A request for `profile`, signed by `key` (the key the certificate will certify). */
export function createRequest(profile: CertProfile, key: KeyObject): EncodedRequest {
  const scheme = signatureSchemeFor(key, 'request key');
  const info = encodeRequestInfo(profile, spkiOf(key));
  const der = toBytes(seq(info, scheme.algorithmId, bits(sign(scheme.hash, info, key))));
  return { der, pem: toPem(der, 'CERTIFICATE REQUEST') };
}

/**
 * Whether `pem` is a request kpki would write today for `profile` and `key`: the same request
 * info byte for byte (subject, key, extensions) and a valid signature by the key. The
 * signature itself may differ (ECDSA is randomised), so requests are compared this way.
 */
export function requestMatches(pem: string, profile: CertProfile, key: KeyObject): boolean {
  try {
    const block = parsePem(pem).find((b) => b.label === 'CERTIFICATE REQUEST');
    if (!block) return false;
    const der = block.der;
    const outer = readTlv(der, 0);
    const info = readTlv(der, outer.start);
    const alg = readTlv(der, info.end);
    const sig = readTlv(der, alg.end);
    if (outer.tag !== 0x30 || info.tag !== 0x30 || sig.tag !== 0x03 || sig.end !== outer.end || outer.end !== der.length) return false;
    const infoDer = der.subarray(outer.start, info.end);
    if (!Buffer.from(infoDer).equals(Buffer.from(encodeRequestInfo(profile, spkiOf(key))))) return false;
    const scheme = signatureSchemeFor(key, 'request key');
    if (!Buffer.from(der.subarray(info.end, alg.end)).equals(Buffer.from(scheme.algorithmId))) return false;
    return verify(scheme.hash, infoDer, createPublicKey(key), der.subarray(sig.start + 1, sig.end));
  } catch {
    return false;
  }
}
