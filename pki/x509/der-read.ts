/**
 * Just enough DER reading to sign with an existing CA without a full ASN.1 library: the exact
 * subject bytes (a leaf's issuer must match them byte for byte) and the SubjectKeyIdentifier
 * (a leaf's AKI must equal it, or openssl refuses the chain).
 */

interface Tlv {
  readonly tag: number;
  /** Offset of the first content byte. */
  readonly start: number;
  /** Offset just past the content. */
  readonly end: number;
  /** Offset of the tag byte. */
  readonly at: number;
}

function readTlv(der: Uint8Array, at: number): Tlv {
  const tag = der[at];
  let len = der[at + 1];
  if (tag === undefined || len === undefined) throw new RangeError('DER truncated');
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new RangeError('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? 0);
    start += n;
  }
  const end = start + len;
  if (end > der.length) throw new RangeError('DER truncated');
  return { tag, start, end, at };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.start; p < parent.end; ) {
    const t = readTlv(der, p);
    out.push(t);
    p = t.end;
  }
  return out;
}

const SKI_OID = Uint8Array.of(0x55, 0x1d, 0x0e); // 2.5.29.14

export interface CertFields {
  /** The subject Name, as encoded (tag and length included). */
  readonly subjectDer: Uint8Array;
  /** The SubjectKeyIdentifier value, if the certificate has one. */
  readonly subjectKeyId?: Uint8Array;
}

/** Certificate ::= SEQUENCE { tbs SEQUENCE { [0] version, serial, sigAlg, issuer, validity, subject, spki, ..., [3] exts } ... } */
export function certFields(der: Uint8Array): CertFields {
  const tbs = readTlv(der, readTlv(der, 0).start);
  const fields = children(der, tbs);
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0; // v1 certificates have no version field
  const subject = fields[offset + 4];
  if (!subject) throw new RangeError('certificate has no subject');
  const exts = fields.find((f) => f.tag === 0xa3);
  let subjectKeyId: Uint8Array | undefined;
  if (exts) {
    for (const ext of children(der, readTlv(der, exts.start))) {
      const [oid, ...rest] = children(der, ext);
      if (!oid || oid.end - oid.start !== 3 || !SKI_OID.every((b, i) => der[oid.start + i] === b)) continue;
      const value = rest[rest.length - 1]!; // OCTET STRING wrapping OCTET STRING keyId
      const keyId = readTlv(der, value.start);
      subjectKeyId = der.slice(keyId.start, keyId.end);
    }
  }
  return { subjectDer: der.slice(subject.at, subject.end), subjectKeyId };
}

/** The DER bytes of the first CERTIFICATE block of a PEM. */
export function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new RangeError('no CERTIFICATE block');
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}
