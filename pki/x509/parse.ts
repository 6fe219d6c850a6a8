/**
 * The one certificate reader: strict DER (X.690) over the RFC 5280 Certificate structure.
 * It runs on every re-run (thousands of certificates) and on untrusted files found on hosts,
 * so every length, tag and value is checked, nothing is left unparsed at any level, and the
 * only thing it throws is CertParseError, whose message says where and what is wrong.
 *
 * Where DER and the real world disagree, it follows what Go's crypto/x509 (the parser that
 * Kubernetes itself runs) accepts: an explicit v1 version, an explicit `critical FALSE`,
 * GeneralizedTime before 2050 and '*' / '&' in PrintableString are read; a negative serial,
 * an attribute value that is not a string, or an RSA key without NULL parameters are not.
 *
 * Layers: der-strict.ts (TLVs, primitive values, strings), names.ts, extensions.ts, and here
 * the algorithms, the public key and the certificate itself.
 */
import {
  bitLength, bitString, CertParseError, checkInteger, clearInput, d, done, end, fail, hex, oid, oidText, read, sameBytes,
  setInput, smallUint, start, tag, tagName, time, view,
} from './der-strict.js';
import { extensions, type DecodedExtensions, type Extension } from './extensions.js';
import { ISSUER, name, SUBJECT, type Name } from './names.js';
import { CURVES, KEY_ALGS, SIG_ALGS } from './oids.js';

export { CertParseError } from './der-strict.js';
export type { DecodedExtensions, Extension, SubjectAltName } from './extensions.js';
export type { Name } from './names.js';
export type { KeyUsageName } from './oids.js';

/** The tags used here; a const enum per module compiles to plain numbers. */
const enum T { Integer = 0x02, BitString = 0x03, Null = 0x05, Oid = 0x06, Sequence = 0x30 }

export interface PublicKeyInfo {
  /** The SubjectPublicKeyInfo TLV. */
  readonly spkiDer: Uint8Array;
  readonly type: 'rsa' | 'ec' | 'ed25519' | 'ed448' | 'dsa' | 'unknown';
  /** RSA modulus bits; EC curve size. */
  readonly bits?: number;
  /** EC only: P-256, P-384, P-521, secp256k1, or the curve's dotted OID. */
  readonly curve?: string;
  readonly algorithmOid: string;
}

/** Byte arrays are views into `der`. */
export interface ParsedCert extends Readonly<DecodedExtensions> {
  readonly der: Uint8Array;
  readonly tbsDer: Uint8Array;
  readonly version: 1 | 2 | 3;
  /** Lower-case hex of the serial INTEGER's content octets. */
  readonly serialHex: string;
  readonly signatureAlgorithm: { readonly oid: string; readonly name: string };
  readonly issuer: Name;
  readonly subject: Name;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: PublicKeyInfo;
  /** Every extension, in order, the decoded ones included. */
  readonly extensions: readonly Extension[];
  readonly signature: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// AlgorithmIdentifier and SubjectPublicKeyInfo

interface AlgorithmId {
  /** Offset of the AlgorithmIdentifier's tag, and the end of its content. */
  readonly at: number;
  readonly end: number;
  readonly oid: string;
  /** The parameters' tag, or -1 when absent; content in [pStart, pEnd). */
  readonly pTag: number;
  readonly pStart: number;
  readonly pEnd: number;
}

function algorithmId(off: number, limit: number, where: string): AlgorithmId {
  read(off, limit, where, T.Sequence);
  const aEnd = end;
  const id = oid(start, aEnd, where);
  if (end === aEnd) return { at: off, end: aEnd, oid: id, pTag: -1, pStart: 0, pEnd: 0 };
  read(end, aEnd, where);
  done(end, aEnd, where);
  return { at: off, end: aEnd, oid: id, pTag: tag, pStart: start, pEnd: end };
}

function signatureAlgorithm(alg: AlgorithmId, where: string): { oid: string; name: string } {
  const known = SIG_ALGS[alg.oid];
  if (!known) return { oid: alg.oid, name: alg.oid };
  // RFC 4055: PKCS#1 v1.5 carries NULL (absent is seen in the wild and read by Go); RFC 5758 /
  // RFC 8410: ECDSA and EdDSA carry none; RSASSA-PSS always carries its parameter SEQUENCE.
  const p = alg.pTag;
  if (known.params === 'null' && p !== -1 && (p !== T.Null || alg.pEnd !== alg.pStart)) fail(where, `${known.name} parameters must be NULL`);
  if (known.params === 'none' && p !== -1) fail(where, `${known.name} must have no parameters`);
  if (known.params === 'seq' && p !== T.Sequence) fail(where, `${known.name} needs its parameter SEQUENCE`);
  return { oid: alg.oid, name: known.name };
}

// Error contexts are constants: a template literal per call would cost an allocation per
// field on the success path, which is the only path that matters for speed.
const SPKI = 'subjectPublicKeyInfo';
const SPKI_ALG = 'subjectPublicKeyInfo algorithm';
const SPKI_KEY = 'subjectPublicKeyInfo key';
const SPKI_CURVE = 'subjectPublicKeyInfo curve';
const RSA_KEY = 'subjectPublicKeyInfo RSA key';
const RSA_MODULUS = 'subjectPublicKeyInfo RSA key modulus';
const RSA_EXPONENT = 'subjectPublicKeyInfo RSA key exponent';

/** RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }, in [s, e); returns the modulus bits. */
function rsaBits(s: number, e: number): number {
  read(s, e, RSA_KEY, T.Sequence);
  done(end, e, RSA_KEY);
  const seqEnd = end;
  read(start, seqEnd, RSA_MODULUS, T.Integer);
  const ms = start;
  const me = end;
  read(me, seqEnd, RSA_EXPONENT, T.Integer);
  const es = start;
  const ee = end;
  done(ee, seqEnd, RSA_KEY);
  checkInteger(ms, me, RSA_MODULUS);
  checkInteger(es, ee, RSA_EXPONENT);
  if ((d[ms] as number) & 0x80 || bitLength(ms, me) === 0) fail(RSA_KEY, 'modulus is not positive');
  if ((d[es] as number) & 0x80 || bitLength(es, ee) === 0) fail(RSA_KEY, 'exponent is not positive');
  return bitLength(ms, me);
}

function publicKey(off: number, limit: number): PublicKeyInfo {
  read(off, limit, SPKI, T.Sequence);
  const sEnd = end;
  const alg = algorithmId(start, sEnd, SPKI_ALG);
  read(alg.end, sEnd, SPKI_KEY, T.BitString);
  bitString(start, end, SPKI_KEY, true);
  const ks = start + 1;
  const ke = end;
  done(end, sEnd, SPKI);
  const spkiDer = view(off, sEnd);
  const type: PublicKeyInfo['type'] = KEY_ALGS[alg.oid] ?? 'unknown';
  const algorithmOid = alg.oid;
  const p = alg.pTag;
  switch (type) {
    case 'rsa':
      // Go insists on the NULL for rsaEncryption (RFC 3279 §2.3.1); RSASSA-PSS keys may carry a SEQUENCE.
      if (alg.oid === '1.2.840.113549.1.1.1' && (p !== T.Null || alg.pEnd !== alg.pStart)) fail(SPKI, 'RSA key without NULL parameters');
      return { spkiDer, type, bits: rsaBits(ks, ke), algorithmOid };
    case 'ec': {
      if (p !== T.Oid) fail(SPKI, 'EC key parameters are not a named curve');
      const curveOid = oidText(alg.pStart, alg.pEnd, SPKI_CURVE);
      const known = CURVES[curveOid];
      if (!known) return { spkiDer, type, curve: curveOid, algorithmOid };
      const c = Math.ceil(known.bits / 8);
      const len = ke - ks;
      const first = d[ks];
      if (!((len === 1 + 2 * c && first === 4) || (len === 1 + c && (first === 2 || first === 3)))) {
        fail(SPKI, `not a ${known.name} point (${len} bytes)`);
      }
      return { spkiDer, type, bits: known.bits, curve: known.name, algorithmOid };
    }
    case 'ed25519':
    case 'ed448': {
      if (p !== -1) fail(SPKI, `${type} key must have no parameters`);
      const size = type === 'ed25519' ? 32 : 57;
      if (ke - ks !== size) fail(SPKI, `${type} key of ${ke - ks} bytes (want ${size})`);
      return { spkiDer, type, algorithmOid };
    }
    default:
      return { spkiDer, type, algorithmOid };
  }
}

// ---------------------------------------------------------------------------------------------
// Certificate

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 * TBSCertificate ::= SEQUENCE { [0] version DEFAULT v1, serialNumber, signature, issuer, validity,
 *   subject, subjectPublicKeyInfo, [1] issuerUniqueID, [2] subjectUniqueID, [3] extensions }
 */
function parse(): ParsedCert {
  read(0, d.length, 'certificate', T.Sequence);
  done(end, d.length, 'certificate: data after the certificate');
  const certEnd = end;
  const tbsAt = start;
  read(tbsAt, certEnd, 'tbsCertificate', T.Sequence);
  const tbsStart = start;
  const tbsEnd = end;
  const outerAlg = algorithmId(tbsEnd, certEnd, 'signatureAlgorithm');
  read(outerAlg.end, certEnd, 'signatureValue', T.BitString);
  bitString(start, end, 'signatureValue', true);
  const signature = view(start + 1, end);
  done(end, certEnd, 'certificate');

  const out = {} as { -readonly [K in keyof ParsedCert]: ParsedCert[K] };
  let p = tbsStart;
  let version: 1 | 2 | 3 = 1;
  if (p < tbsEnd && d[p] === 0xa0) {
    read(p, tbsEnd, 'version');
    const vEnd = end;
    read(start, vEnd, 'version', T.Integer);
    done(end, vEnd, 'version');
    const value = smallUint(start, end, 'version');
    if (value > 2) fail('version', `v${value + 1} is not a certificate version (v1, v2 or v3)`);
    version = (value + 1) as 1 | 2 | 3;
    p = vEnd;
  }
  read(p, tbsEnd, 'serialNumber', T.Integer);
  const ss = start;
  const se = end;
  checkInteger(ss, se, 'serialNumber');
  if ((d[ss] as number) & 0x80) fail('serialNumber', 'negative (RFC 5280 §4.1.2.2 wants a positive integer)');
  const innerAlg = algorithmId(se, tbsEnd, 'tbsCertificate signature');
  const algLen = innerAlg.end - innerAlg.at;
  if (algLen !== outerAlg.end - outerAlg.at || !sameBytes(innerAlg.at, outerAlg.at, algLen)) {
    fail('signatureAlgorithm', `differs from the tbsCertificate's (${innerAlg.oid} vs ${outerAlg.oid})`);
  }
  const issuer = name(innerAlg.end, tbsEnd, ISSUER);
  p = innerAlg.end + issuer.der.length;
  read(p, tbsEnd, 'validity', T.Sequence);
  const vEnd = end;
  const notBefore = time(start, vEnd, 'validity notBefore');
  const notAfter = time(end, vEnd, 'validity notAfter');
  done(end, vEnd, 'validity');
  const subject = name(vEnd, tbsEnd, SUBJECT);
  p = vEnd + subject.der.length;
  const publicKeyInfo = publicKey(p, tbsEnd);
  p += publicKeyInfo.spkiDer.length;
  let extList: Extension[] = [];
  let lastOptional = 0;
  while (p < tbsEnd) {
    read(p, tbsEnd, 'tbsCertificate');
    const n = tag & 0x1f;
    if (tag !== 0x81 && tag !== 0x82 && tag !== 0xa3) fail('tbsCertificate', `unexpected ${tagName(tag)} after subjectPublicKeyInfo`);
    if (n <= lastOptional) fail('tbsCertificate', `${tagName(tag)} out of order or repeated`);
    lastOptional = n;
    const fieldEnd = end;
    if (tag === 0xa3) {
      if (version !== 3) fail('extensions', `present in a v${version} certificate (v3 only)`);
      extList = extensions(start, fieldEnd, out);
    } else {
      const field = n === 1 ? 'issuerUniqueID' : 'subjectUniqueID';
      if (version === 1) fail(field, 'present in a v1 certificate');
      bitString(start, fieldEnd, field, false);
    }
    p = fieldEnd;
  }

  out.der = d;
  out.tbsDer = view(tbsAt, tbsEnd);
  out.version = version;
  out.serialHex = hex(ss, se);
  out.signatureAlgorithm = signatureAlgorithm(outerAlg, 'signatureAlgorithm');
  out.issuer = issuer;
  out.subject = subject;
  out.notBefore = notBefore;
  out.notAfter = notAfter;
  out.publicKey = publicKeyInfo;
  out.extensions = extList;
  out.signature = signature;
  return out;
}

/**
 * Parses one DER certificate (nothing may follow it). Throws CertParseError, and nothing else,
 * for any input that is not a strictly encoded X.509 certificate.
 */
export function parseCertificate(der: Uint8Array): ParsedCert {
  setInput(der);
  try {
    return parse();
  } catch (err) {
    if (err instanceof CertParseError) throw err;
    // Not expected (the fuzz test looks for this prefix), but a bad file must never escape as a crash.
    throw new CertParseError(`unreadable certificate (internal: ${(err as Error)?.message ?? String(err)})`);
  } finally {
    clearInput();
  }
}
