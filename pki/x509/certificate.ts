/**
 * Encodes and signs certificates directly, field for field as Go's crypto/x509 writes them
 * for kubeadm (see issue.ts for the rules), with a small DER encoder and node:crypto. This
 * is the fast path: no ASN.1 schema library in the loop.
 */
import { hash, sign, type KeyObject } from 'node:crypto';
import type { CertProfile, Usage } from './profile.js';
import { KpkiError } from '../errors.js';
import { parseIp } from '../plan/net.js';
import { describeKey } from './keys.js';
import {
  bits, bool, explicit, ia5Bytes, implicitPrimitive, int, intSmall, isPrintable, nul, octets, oid, printable,
  readTlv, seq, set, time, toBytes, utf8, type Der,
} from './der.js';

/** Everything the TBSCertificate depends on. */
export interface TbsParams {
  readonly profile: CertProfile;
  /** The subject's public key as DER SubjectPublicKeyInfo; embedded verbatim. */
  readonly spkiDer: Uint8Array;
  /** Positive serial, big-endian hex. */
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The issuer's Name exactly as encoded in its certificate (our own subject when self-signed). */
  readonly issuerNameDer: Uint8Array;
  /** How the SIGNING (issuer's) key signs: `signatureSchemeFor(signingKey)`. */
  readonly scheme: SignatureScheme;
  /** SKI; when absent a CA gets `keyIdentifier(spkiDer)`, as Go does, and a leaf none. */
  readonly subjectKeyId?: Uint8Array;
  /** AKI (the issuer's SKI); leaves only, as Go omits it on self-signed certificates. */
  readonly authorityKeyId?: Uint8Array;
}

export interface CertificateParams extends Omit<TbsParams, 'scheme'> {
  readonly signingKey: KeyObject;
  /** Optional: `signatureSchemeFor(signingKey)` when absent (a little slower per call). */
  readonly scheme?: SignatureScheme;
}

export interface EncodedCertificate {
  readonly der: Uint8Array;
  readonly pem: string;
}

export interface SignatureScheme {
  /** OpenSSL's name for the signature algorithm (`openssl x509 -text`), for messages and tests. */
  readonly name: string;
  /** AlgorithmIdentifier, shared by the TBS and the outer certificate. */
  readonly algorithmId: Uint8Array;
  /** Digest name for node:crypto's `sign`; null for Ed25519, which hashes internally (RFC 8032). */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  /**
   * Sign on libuv's thread pool. Measured on 2 cores, 3,000 signatures: P-256 sync 70 ms
   * wall / 77 ms CPU vs pool 76–120 ms / 94–120 ms (the hand-off costs more than the
   * ~25 µs signature, and the pool is busy generating keys anyway); RSA-2048 sync 884 ms
   * wall vs pool 687 ms (a 250 µs signature is worth running in parallel). Per signature,
   * alone: Ed25519 30 µs (sync, like P-256), P-521 1.6 ms and RSA-4096 4.5 ms (pool).
   */
  readonly offload: boolean;
}

// One scheme per signing key type, built once. RSA: SHA-256 whatever the size, as Go does.
// ECDSA: the hash that matches the curve's strength (Go: SHA-384 for P-384, SHA-512 for
// P-521); its identifiers carry no parameters (RFC 5758 §3.2). RSA PKCS#1 v1.5 ones carry
// NULL (RFC 4055 §5). Ed25519's identifier has absent parameters (RFC 8410 §3).
const algorithmId = (id: string, ...params: Der[]): Uint8Array => toBytes(seq(oid(id), ...params));
const RSA_SHA256: SignatureScheme = {
  name: 'sha256WithRSAEncryption', algorithmId: algorithmId('1.2.840.113549.1.1.11', nul()), hash: 'sha256', offload: true,
};
const ECDSA_SHA256: SignatureScheme = { name: 'ecdsa-with-SHA256', algorithmId: algorithmId('1.2.840.10045.4.3.2'), hash: 'sha256', offload: false };
const ECDSA_SHA384: SignatureScheme = { name: 'ecdsa-with-SHA384', algorithmId: algorithmId('1.2.840.10045.4.3.3'), hash: 'sha384', offload: false };
const ECDSA_SHA512: SignatureScheme = { name: 'ecdsa-with-SHA512', algorithmId: algorithmId('1.2.840.10045.4.3.4'), hash: 'sha512', offload: true };
const ED25519: SignatureScheme = { name: 'ED25519', algorithmId: algorithmId('1.3.101.112'), hash: null, offload: false };

/** node:crypto's curve names (OpenSSL's) for the NIST curves kpki signs with. */
const EC_SCHEMES: ReadonlyMap<string, SignatureScheme> = new Map([
  ['prime256v1', ECDSA_SHA256], ['secp384r1', ECDSA_SHA384], ['secp521r1', ECDSA_SHA512],
]);
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 4096;

const SUPPORTED = 'kpki signs with RSA keys of 2048 to 4096 bits, ECDSA P-256, P-384 or P-521 keys, and Ed25519 keys';

/** What to do about a key kpki will not sign with, beyond naming it. */
function advice(key: KeyObject): string {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType === 'rsa' && bits !== undefined && bits < RSA_MIN_BITS) {
    return `a key under ${RSA_MIN_BITS} bits is too weak to trust (NIST SP 800-131A); replace this CA with one of at least ${RSA_MIN_BITS} bits`;
  }
  return `${SUPPORTED}; replace this CA with one whose key is among those`;
}

// Reading asymmetricKeyDetails builds a fresh object each time: remember each key's answer.
const schemeCache = new WeakMap<KeyObject, SignatureScheme>();

/**
 * The signature scheme a signing key calls for, read from the key itself (never from the
 * plan, whose key algorithm says nothing about a CA kpki adopted). A key kpki will not sign
 * with is refused with ERR_CA_UNUSABLE naming `source` (the key's file or the CA), so a
 * caller can check a CA before anything is generated or written.
 */
export function signatureSchemeFor(key: KeyObject, source = 'signing key'): SignatureScheme {
  let scheme = schemeCache.get(key);
  if (scheme) return scheme;
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') {
    const bits = d?.modulusLength ?? 0;
    if (bits >= RSA_MIN_BITS && bits <= RSA_MAX_BITS) scheme = RSA_SHA256;
  } else if (key.asymmetricKeyType === 'ec') {
    scheme = EC_SCHEMES.get(d?.namedCurve ?? '');
  } else if (key.asymmetricKeyType === 'ed25519') {
    scheme = ED25519;
  }
  if (!scheme) {
    const what = describeKey(key);
    // "an 8192-bit", "an EC", "an RSA-PSS", "a 1024-bit": by how the first letter or number sounds.
    const article = /^(8|11|18|[AEFHILMNORSX])/.test(what) ? 'an' : 'a';
    throw new KpkiError('ERR_CA_UNUSABLE', `${source}: kpki cannot sign with ${article} ${what} key; ${advice(key)}`);
  }
  schemeCache.set(key, scheme);
  return scheme;
}

const OID = {
  C: '2.5.4.6', ST: '2.5.4.8', L: '2.5.4.7', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3',
  keyUsage: '2.5.29.15', extKeyUsage: '2.5.29.37', basicConstraints: '2.5.29.19',
  subjectKeyId: '2.5.29.14', authorityKeyId: '2.5.29.35', subjectAltName: '2.5.29.17',
} as const;

const EKU_OID: Record<Usage, string> = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' };

const VERSION_V3 = toBytes(explicit(0, intSmall(2)));

/** Go's encoding/asn1 string choice: PrintableString when the alphabet allows, else UTF8String. */
function directoryString(value: string): Der {
  return isPrintable(value) ? printable(value) : utf8(value);
}

/** One RDN holding every value of one attribute type, as Go's pkix.Name.appendRDNs does. */
function rdn(type: string, values: readonly string[]): Der {
  const attrOid = oid(type);
  return set(...values.map((v) => seq(attrOid, directoryString(v))));
}

function name(profile: CertProfile): Der {
  const { C, ST, L, O, OU } = profile.extras;
  const rdns: Der[] = [];
  // Empty extras are "not set" (as in issue.ts); Go likewise skips an empty CommonName.
  if (C) rdns.push(rdn(OID.C, [C]));
  if (ST) rdns.push(rdn(OID.ST, [ST]));
  if (L) rdns.push(rdn(OID.L, [L]));
  const orgs = O ? [O, ...profile.o] : profile.o;
  if (orgs.length) rdns.push(rdn(OID.O, orgs));
  if (OU) rdns.push(rdn(OID.OU, [OU]));
  if (profile.cn) rdns.push(rdn(OID.CN, [profile.cn]));
  return seq(...rdns);
}

/** Subject Name in Go's order: C, ST, L, O (extras.O first, then profile.o), OU, CN. */
export function encodeName(profile: CertProfile): Uint8Array {
  return toBytes(name(profile));
}

/**
 * RFC 5280 §4.2.1.2 method 1 (as Go and openssl compute it): SHA-1 of the subjectPublicKey
 * BIT STRING's value, i.e. without tag, length and unused-bits octet.
 */
export function keyIdentifier(spkiDer: Uint8Array): Uint8Array {
  const spki = readTlv(spkiDer, 0);
  const algId = readTlv(spkiDer, spki.start);
  const key = readTlv(spkiDer, algId.end);
  if (spki.tag !== 0x30 || algId.tag !== 0x30 || key.tag !== 0x03 || key.end !== spki.end || key.start >= key.end) {
    throw new RangeError('keyIdentifier: not a DER SubjectPublicKeyInfo');
  }
  return new Uint8Array(hash('sha1', spkiDer.subarray(key.start + 1, key.end), 'buffer'));
}

function extension(id: string, critical: boolean, value: Der): Der {
  // `critical` is DEFAULT FALSE, so DER omits it when false.
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/**
 * keyUsage as Go's marshalKeyUsage: bit 0 is the MSB of the first octet, trailing zero bits
 * are not counted, and the unused-bits octet says how many were dropped.
 */
function keyUsageBits(bitNumbers: readonly number[]): Der {
  const bytes = new Uint8Array(Math.max(...bitNumbers.map((b) => (b >> 3) + 1), 1));
  for (const b of bitNumbers) bytes[b >> 3] = (bytes[b >> 3] ?? 0) | (0x80 >> (b & 7));
  const last = bytes[bytes.length - 1] ?? 0;
  let unused = 0;
  while (unused < 8 && last !== 0 && ((last >> unused) & 1) === 0) unused++;
  return bits(bytes, last === 0 ? 0 : unused);
}

const KU_DIGITAL_SIGNATURE = 0;
const KU_KEY_ENCIPHERMENT = 2;
const KU_KEY_CERT_SIGN = 5;

const keyUsage = (...bitNumbers: number[]): Uint8Array => toBytes(extension(OID.keyUsage, true, keyUsageBits(bitNumbers)));

/**
 * keyUsage by the SUBJECT key's type, each encoded once. An RSA key can also encrypt (TLS
 * RSA key exchange), so it keeps keyEncipherment as kubeadm sets it; an EC or Ed25519 key
 * cannot, and RFC 5480 §3 / RFC 8813 §3 forbid the bit for it (as the kubelet's own CSRs
 * leave it out). CAs add keyCertSign.
 */
const KEY_USAGES = {
  rsa: {
    leaf: keyUsage(KU_DIGITAL_SIGNATURE, KU_KEY_ENCIPHERMENT),
    ca: keyUsage(KU_DIGITAL_SIGNATURE, KU_KEY_ENCIPHERMENT, KU_KEY_CERT_SIGN),
  },
  signatureOnly: {
    leaf: keyUsage(KU_DIGITAL_SIGNATURE),
    ca: keyUsage(KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN),
  },
} as const;

// Content octets of the SPKI algorithm OIDs kpki issues certificates for.
const RSA_ENCRYPTION = Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01); // 1.2.840.113549.1.1.1
const EC_PUBLIC_KEY = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01); // 1.2.840.10045.2.1
const ID_ED25519 = Uint8Array.of(0x2b, 0x65, 0x70); // 1.3.101.112

function contentIs(der: Uint8Array, start: number, end: number, want: Uint8Array): boolean {
  if (end - start !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (der[start + i] !== want[i]) return false;
  return true;
}

/** The key usage set for a subject key, from the algorithm OID at the head of its SPKI. */
function keyUsagesFor(spkiDer: Uint8Array): { readonly leaf: Uint8Array; readonly ca: Uint8Array } {
  const spki = readTlv(spkiDer, 0);
  const algId = readTlv(spkiDer, spki.start);
  const id = readTlv(spkiDer, algId.start);
  if (spki.tag === 0x30 && algId.tag === 0x30 && id.tag === 0x06) {
    if (contentIs(spkiDer, id.start, id.end, RSA_ENCRYPTION)) return KEY_USAGES.rsa;
    if (contentIs(spkiDer, id.start, id.end, EC_PUBLIC_KEY) || contentIs(spkiDer, id.start, id.end, ID_ED25519)) {
      return KEY_USAGES.signatureOnly;
    }
    throw new RangeError(`subject key: algorithm ${Buffer.from(spkiDer.subarray(id.start, id.end)).toString('hex')} is not RSA, EC or Ed25519`);
  }
  throw new RangeError('subject key: not a DER SubjectPublicKeyInfo');
}

// The extensions that only depend on "CA or not" are the same bytes in every certificate.
// DER drops cA = FALSE (DEFAULT FALSE), so a leaf's basicConstraints is an empty SEQUENCE.
const LEAF_BC = toBytes(extension(OID.basicConstraints, true, seq()));
const CA_BC = toBytes(extension(OID.basicConstraints, true, seq(bool(true))));

// Every leaf has one of a handful of usage lists: encode each once.
const ekuCache = new Map<string, Uint8Array>();

function extKeyUsage(usages: readonly Usage[]): Uint8Array[] {
  if (!usages.length) return [];
  const key = usages.join(',');
  let ext = ekuCache.get(key);
  if (!ext) {
    ext = toBytes(extension(OID.extKeyUsage, false, seq(...usages.map((u) => oid(EKU_OID[u])))));
    ekuCache.set(key, ext);
  }
  return [ext];
}

// The same few IPs (service IP, loopbacks, control-plane addresses) recur in many
// certificates, and parsing IPv6 text is comparatively slow: keep each entry once.
const ipNameCache = new Map<string, Uint8Array>();

/** SAN iPAddress [7]: 4 octets for IPv4 (also IPv4-mapped IPv6, as Go's To4), else 16. */
function ipName(text: string): Uint8Array {
  let entry = ipNameCache.get(text);
  if (!entry) {
    const ip = parseIp(text);
    if (!ip) throw new RangeError(`subjectAltName: '${text}' is not an IP address`);
    entry = toBytes(implicitPrimitive(7, ip.bytes));
    if (ipNameCache.size >= 4096) ipNameCache.clear();
    ipNameCache.set(text, entry);
  }
  return entry;
}

/** DNS names ([2] IA5String) then IPs ([7] 4 or 16 octets), in profile order, as Go writes them. */
function subjectAltName(profile: CertProfile): Der[] {
  if (!profile.dns.length && !profile.ips.length) return [];
  const names = [
    ...profile.dns.map((d) => implicitPrimitive(2, ia5Bytes(d))),
    ...profile.ips.map(ipName),
  ];
  return [extension(OID.subjectAltName, false, seq(...names))];
}

// All leaves of one CA carry the same AKI; callers pass the same key id array each time.
const akiCache = new WeakMap<Uint8Array, Uint8Array>();

function authorityKeyIdExtension(keyId: Uint8Array): Uint8Array {
  let ext = akiCache.get(keyId);
  if (!ext) {
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING, ... }
    ext = toBytes(extension(OID.authorityKeyId, false, seq(implicitPrimitive(0, keyId))));
    akiCache.set(keyId, ext);
  }
  return ext;
}

function keyIdExtensions(p: TbsParams): Der[] {
  const ski = p.subjectKeyId ?? (p.profile.isCa ? keyIdentifier(p.spkiDer) : undefined);
  const exts: Der[] = [];
  if (ski) exts.push(extension(OID.subjectKeyId, false, octets(ski)));
  if (p.authorityKeyId) exts.push(authorityKeyIdExtension(p.authorityKeyId));
  return exts;
}

/** Extensions in Go's order: KU, EKU, basicConstraints, SKI, AKI, SAN. */
function extensions(p: TbsParams): Der {
  const ca = p.profile.isCa;
  const ku = keyUsagesFor(p.spkiDer);
  return explicit(3, seq(
    ca ? ku.ca : ku.leaf,
    ...extKeyUsage(p.profile.usages),
    ca ? CA_BC : LEAF_BC,
    ...keyIdExtensions(p),
    ...subjectAltName(p.profile),
  ));
}

function serialBytes(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]+$/.test(hex)) throw new RangeError(`serial '${hex}' is not hex`);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

export function encodeTbs(p: TbsParams): Uint8Array {
  return toBytes(seq(
    VERSION_V3,
    int(serialBytes(p.serialHex)),
    p.scheme.algorithmId,
    p.issuerNameDer,
    seq(time(p.notBefore), time(p.notAfter)),
    name(p.profile),
    p.spkiDer,
    extensions(p),
  ));
}

/** PEM with 64-character lines and a trailing newline (RFC 7468, as Go's pem.Encode). */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** The callback form of `sign` runs on libuv's thread pool. */
function signAsync(hash: string | null, data: Uint8Array, key: KeyObject): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    sign(hash, data, key, (err, sig) => (err ? reject(err) : resolve(sig)));
  });
}

export async function createCertificate(params: CertificateParams): Promise<EncodedCertificate> {
  const scheme = params.scheme ?? signatureSchemeFor(params.signingKey);
  const tbs = encodeTbs({ ...params, scheme });
  // ECDSA signatures come out DER-encoded (Node's default dsaEncoding), as X.509 wants;
  // Ed25519's are the raw 64 bytes RFC 8410 §6 puts in the BIT STRING.
  const signature = scheme.offload ? await signAsync(scheme.hash, tbs, params.signingKey) : sign(scheme.hash, tbs, params.signingKey);
  const der = toBytes(seq(tbs, scheme.algorithmId, bits(signature)));
  return { der, pem: toPem(der) };
}

/**
 * The same certificate with a new serial and validity, signed again by `signingKey`: version,
 * issuer, subject, public key and every extension (the SKI too) kept byte for byte. For a
 * self-signed CA re-signed with its own key (`kpki ca extend`), every certificate it issued
 * still verifies and the discovery hash (over the public key) does not change.
 */
export async function resignCertificate(der: Uint8Array, p: { serialHex: string; notBefore: Date; notAfter: Date; signingKey: KeyObject }): Promise<EncodedCertificate> {
  const scheme = signatureSchemeFor(p.signingKey);
  const tbsDer = resignedTbs(der, { ...p, scheme });
  const signature = scheme.offload ? await signAsync(scheme.hash, tbsDer, p.signingKey) : sign(scheme.hash, tbsDer, p.signingKey);
  const out = toBytes(seq(tbsDer, scheme.algorithmId, bits(signature)));
  return { der: out, pem: toPem(out) };
}

/** The TBS of `der` with a new serial, validity and signature algorithm, the rest byte for byte: to be signed by a signer of `scheme`. */
export function resignedTbs(der: Uint8Array, p: { serialHex: string; notBefore: Date; notAfter: Date; scheme: SignatureScheme }): Uint8Array {
  const scheme = p.scheme;
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.start);
  const fields: Uint8Array[] = [];
  for (let off = tbs.start; off < tbs.end; ) {
    const t = readTlv(der, off);
    fields.push(der.subarray(off, t.end));
    off = t.end;
  }
  // [0] version (absent in v1), serial, signature algorithm, issuer, validity, subject, spki, [1]/[2]/[3]...
  const version = fields[0]?.[0] === 0xa0 ? fields.slice(0, 1) : [];
  const [, , issuer, , subject, spki, ...rest] = fields.slice(version.length);
  if (!issuer || !subject || !spki) throw new RangeError('DER: not a certificate');
  return toBytes(seq(...version, int(serialBytes(p.serialHex)), scheme.algorithmId, issuer, seq(time(p.notBefore), time(p.notAfter)), subject, spki, ...rest));
}

/**
 * The extensions a PKCS#10 request asks for (x509/csr.ts): keyUsage, extKeyUsage and
 * subjectAltName, encoded exactly as a certificate issued for `profile` would carry them.
 */
export function requestedExtensions(profile: CertProfile, spkiDer: Uint8Array): Uint8Array[] {
  const ku = keyUsagesFor(spkiDer);
  return [profile.isCa ? ku.ca : ku.leaf, ...extKeyUsage(profile.usages), ...subjectAltName(profile).map(toBytes)];
}
