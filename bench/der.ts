/**
 * Just enough DER to read the X.509 fields the bench checks (Node's X509Certificate does not
 * expose keyUsage bits, criticality, the signature algorithm or raw SAN bytes).
 */

export interface Tlv {
  readonly tag: number;
  /** Content bytes. */
  readonly value: Uint8Array;
  /** Offset just past this TLV in the buffer it was read from. */
  readonly end: number;
}

export function readTlv(buf: Uint8Array, offset: number): Tlv {
  const tag = byteAt(buf, offset);
  let len = byteAt(buf, offset + 1);
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + byteAt(buf, pos + i);
    pos += n;
  }
  if (pos + len > buf.length) throw new Error('DER: length past end of buffer');
  return { tag, value: buf.subarray(pos, pos + len), end: pos + len };
}

/** The TLVs directly inside a constructed value. */
export function children(value: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = 0; pos < value.length; ) {
    const t = readTlv(value, pos);
    out.push(t);
    pos = t.end;
  }
  return out;
}

function byteAt(buf: Uint8Array, i: number): number {
  const b = buf[i];
  if (b === undefined) throw new Error('DER: truncated');
  return b;
}

export function decodeOid(value: Uint8Array): string {
  const first = byteAt(value, 0);
  const parts = [Math.floor(first / 40), first % 40];
  let acc = 0;
  for (let i = 1; i < value.length; i++) {
    const b = byteAt(value, i);
    acc = acc * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(acc);
      acc = 0;
    }
  }
  return parts.join('.');
}

function decodeString(t: Tlv): string {
  if (t.tag === 0x1e) {
    let s = '';
    for (let i = 0; i + 1 < t.value.length; i += 2) s += String.fromCharCode(byteAt(t.value, i) * 256 + byteAt(t.value, i + 1));
    return s;
  }
  return Buffer.from(t.value).toString('utf8');
}

/** UTCTime / GeneralizedTime to epoch milliseconds. */
function decodeTime(t: Tlv): number {
  const s = Buffer.from(t.value).toString('ascii');
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) throw new Error(`DER: unsupported time ${s}`);
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

export const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

/** keyUsage bit names in DER bit order. */
const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

export interface NameFacts {
  readonly cn: string[];
  readonly o: string[];
}

export interface CertFacts {
  readonly signatureAlgorithm: string;
  readonly issuer: NameFacts;
  readonly subject: NameFacts;
  readonly notBefore: number;
  readonly notAfter: number;
  /** undefined when the extension is absent. */
  readonly keyUsage?: { readonly critical: boolean; readonly bits: string[] };
  readonly basicConstraints?: { readonly critical: boolean; readonly ca: boolean };
  readonly extKeyUsage: string[];
  readonly dns: string[];
  /** IP SANs as lower-case hex of the address bytes (see ipToHex). */
  readonly ipHex: string[];
  readonly hasAuthorityKeyId: boolean;
}

interface MutableFacts {
  keyUsage?: { critical: boolean; bits: string[] };
  basicConstraints?: { critical: boolean; ca: boolean };
  extKeyUsage: string[];
  dns: string[];
  ipHex: string[];
  hasAuthorityKeyId: boolean;
}

export function certFacts(der: Uint8Array): CertFacts {
  const [tbs, sigAlg] = children(readTlv(der, 0).value);
  if (!tbs || !sigAlg) throw new Error('DER: not a certificate');
  const fields = children(tbs.value);
  const rest = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields; // skip explicit version
  const [, , issuer, validity, subject] = rest;
  if (!issuer || !validity || !subject) throw new Error('DER: short TBSCertificate');
  const [nb, na] = children(validity.value);
  if (!nb || !na) throw new Error('DER: bad validity');
  const ext: MutableFacts = { extKeyUsage: [], dns: [], ipHex: [], hasAuthorityKeyId: false };
  const extWrapper = rest.find((t) => t.tag === 0xa3);
  if (extWrapper) {
    const seq = readTlv(extWrapper.value, 0);
    for (const e of children(seq.value)) readExtension(e, ext);
  }
  return {
    signatureAlgorithm: decodeOid(firstChild(sigAlg).value),
    issuer: readName(issuer),
    subject: readName(subject),
    notBefore: decodeTime(nb),
    notAfter: decodeTime(na),
    ...ext,
  };
}

function firstChild(t: Tlv): Tlv {
  const c = children(t.value)[0];
  if (!c) throw new Error('DER: empty sequence');
  return c;
}

function readName(name: Tlv): NameFacts {
  const out: NameFacts = { cn: [], o: [] };
  for (const rdn of children(name.value)) {
    for (const atv of children(rdn.value)) {
      const [type, value] = children(atv.value);
      if (!type || !value) continue;
      const oid = decodeOid(type.value);
      if (oid === OID.commonName) out.cn.push(decodeString(value));
      if (oid === OID.organization) out.o.push(decodeString(value));
    }
  }
  return out;
}

function readExtension(e: Tlv, out: MutableFacts): void {
  const parts = children(e.value);
  const id = parts[0];
  const valueTlv = parts[parts.length - 1];
  if (!id || !valueTlv) return;
  const critical = parts.length === 3 && parts[1]?.tag === 0x01 && parts[1].value[0] !== 0;
  const inner = readTlv(valueTlv.value, 0);
  switch (decodeOid(id.value)) {
    case OID.keyUsage:
      out.keyUsage = { critical, bits: keyUsageBits(inner.value) };
      break;
    case OID.basicConstraints: {
      const first = children(inner.value)[0];
      out.basicConstraints = { critical, ca: first?.tag === 0x01 && first.value[0] !== 0 };
      break;
    }
    case OID.extKeyUsage:
      out.extKeyUsage = children(inner.value).map((t) => decodeOid(t.value));
      break;
    case OID.subjectAltName:
      for (const gn of children(inner.value)) {
        if (gn.tag === 0x82) out.dns.push(Buffer.from(gn.value).toString('ascii'));
        if (gn.tag === 0x87) out.ipHex.push(Buffer.from(gn.value).toString('hex'));
      }
      break;
    case OID.authorityKeyId:
      out.hasAuthorityKeyId = true;
      break;
  }
}

function keyUsageBits(bitString: Uint8Array): string[] {
  const bits: string[] = [];
  KEY_USAGE_BITS.forEach((name, i) => {
    const byte = bitString[1 + Math.floor(i / 8)] ?? 0;
    if (byte & (0x80 >> i % 8)) bits.push(name);
  });
  return bits;
}

/** An IPv4 or IPv6 literal as lower-case hex of its address bytes (the SAN encoding). */
export function ipToHex(ip: string): string {
  if (!ip.includes(':')) {
    return ip
      .split('.')
      .map((p) => Number(p).toString(16).padStart(2, '0'))
      .join('');
  }
  const [head = '', tail] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0').toLowerCase()).join('');
}
