/**
 * Reads an existing certificate (PEM text) with the strict reader, and projects it onto the
 * CertProfile shape issue.ts writes, so a wanted certificate and a found one compare field
 * by field. A file that is not a well-formed certificate is a PemError naming the file.
 */
import type { CertProfile } from './profile.js';
import { PemError } from '../errors.js';
import { CertParseError, parseCertificate, type ParsedCert } from './parse.js';
import { parsePem, PemFormatError } from './pem.js';
import { readTlv } from './der.js';

/**
 * A found certificate's profile. Its usages are every EKU the certificate has (unknown ones by
 * dotted OID), not just the two the catalog asks for: serverAuth + codeSigning is not serverAuth.
 */
export type ObservedProfile = Omit<CertProfile, 'usages'> & { readonly usages: readonly string[] };

export interface ObservedCert {
  readonly pem: string;
  readonly der: Uint8Array;
  readonly parsed: ParsedCert;
  readonly profile: ObservedProfile;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

// Characters no PEM text file holds: the replacement character (a binary file read as UTF-8)
// and C0 controls other than whitespace.
const BINARY = /[\uFFFD\x00-\x08\x0e-\x1f]/;

/** The DER of the first CERTIFICATE block (kubeadm, too, reads only the first). */
function certificateDer(pem: string): Uint8Array {
  const blocks = parsePem(pem);
  const block = blocks.find((b) => b.label === 'CERTIFICATE');
  if (block) return block.der;
  if (blocks.length) throw new PemFormatError(`no CERTIFICATE block (found ${blocks.map((b) => b.label).join(', ')})`);
  if (BINARY.test(pem.slice(0, 64))) {
    throw new PemFormatError('binary data, not PEM (a DER file? convert it with `openssl x509 -inform der`)');
  }
  throw new PemFormatError(pem.trim() === '' ? 'empty file' : 'no CERTIFICATE block found');
}

/** Parses the first certificate of a PEM text; throws PemFormatError or CertParseError. */
/**
 * The SubjectPublicKeyInfo of a certificate's first CERTIFICATE block, by walking its DER to
 * the seventh field of the TBSCertificate (past the optional version) without parsing the rest:
 * what a renewal that keeps the key needs of a certificate the store already vouched for.
 * Equal to `parseCertPem(pem).publicKey.spkiDer` (test/x509/reader.test.ts holds it to that).
 */
export function certificateSpki(pem: string): Uint8Array {
  const der = certificateDer(pem);
  const tbs = readTlv(der, readTlv(der, 0).start);
  let off = tbs.start;
  if (readTlv(der, off).tag === 0xa0) off = readTlv(der, off).end; // [0] version
  for (let i = 0; i < 5; i++) off = readTlv(der, off).end; // serial, signature, issuer, validity, subject
  const spki = readTlv(der, off);
  if (spki.tag !== 0x30 || spki.end > tbs.end) throw new PemFormatError('no SubjectPublicKeyInfo where a certificate has one');
  return der.subarray(off, spki.end);
}

export function parseCertPem(pem: string): ParsedCert {
  return parseCertificate(certificateDer(pem));
}

export function observedProfile(c: ParsedCert): ObservedProfile {
  const san = c.subjectAltName;
  return {
    cn: c.subject.cn,
    o: c.subject.o,
    extras: c.subject.extras,
    dns: san ? [...san.dns].sort() : [],
    ips: san ? san.ips : [],
    usages: c.extKeyUsage ?? [],
    isCa: c.basicConstraints?.ca ?? false,
  };
}

export function readCert(pem: string, file: string): ObservedCert {
  let parsed: ParsedCert;
  try {
    parsed = parseCertPem(pem);
  } catch (cause) {
    if (!(cause instanceof PemFormatError || cause instanceof CertParseError)) throw cause;
    throw new PemError(file, `not a valid certificate: ${cause.message}`, { cause });
  }
  return { pem, der: parsed.der, parsed, profile: observedProfile(parsed), notBefore: parsed.notBefore, notAfter: parsed.notAfter };
}
