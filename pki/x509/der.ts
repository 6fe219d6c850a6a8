/**
 * A minimal DER encoder (X.690) for the one certificate shape kpki issues. It replaces the
 * generic asn1js/asn1-schema machinery, which costs far more than the signatures themselves.
 *
 * Constructors return a `Tlv` (a node not yet written) or, for constants such as OIDs,
 * shared encoded bytes; `toBytes` writes a tree out in one allocation. A `Uint8Array`
 * given as a part is copied verbatim. Treat every result as read-only.
 */

const enum Tag {
  Boolean = 0x01,
  Integer = 0x02,
  BitString = 0x03,
  OctetString = 0x04,
  Null = 0x05,
  Oid = 0x06,
  Utf8String = 0x0c,
  PrintableString = 0x13,
  Ia5String = 0x16,
  UtcTime = 0x17,
  GeneralizedTime = 0x18,
  Sequence = 0x30,
  Set = 0x31,
  ContextPrimitive = 0x80,
  ContextConstructed = 0xa0,
}

/** Bytes needed for the length octets of a content of `len` bytes (short or long form). */
function lengthSize(len: number): number {
  if (len < 0x80) return 1;
  let n = 1;
  for (let v = len; v > 0xff; v = Math.floor(v / 256)) n++;
  return 1 + n;
}

/**
 * A TLV not yet written out; its parts are referenced, not copied. Writing a whole tree once
 * (`toBytes`) copies each byte once into one buffer, where encoding each node eagerly copied
 * it once per nesting level into ~40 buffers per certificate (measured ~10% slower cold).
 */
export class Tlv {
  /** Encoded size: tag, length octets and content. */
  readonly size: number;

  constructor(readonly tag: number, readonly parts: readonly Der[], readonly contentLength: number) {
    if (contentLength > 0xffffffff) throw new RangeError('DER: content longer than 4 GiB');
    this.size = 1 + lengthSize(contentLength) + contentLength;
  }
}

/** Bytes copied verbatim (an encoded TLV such as an SPKI, or raw content octets), or a TLV. */
export type Der = Uint8Array | Tlv;

const sizeOf = (d: Der): number => (d instanceof Tlv ? d.size : d.length);

function tlv(tag: number, parts: readonly Der[]): Tlv {
  // Indexed loops: for-of's iterator protocol is costly while the code is still interpreted,
  // and a run of a few thousand certificates is largely over before the JIT has warmed up.
  let len = 0;
  for (let i = 0; i < parts.length; i++) len += sizeOf(parts[i] as Der);
  return new Tlv(tag, parts, len);
}

/** Writes `d` at `out[off..]`; returns the offset just past it. */
function write(out: Uint8Array, off: number, d: Der): number {
  if (!(d instanceof Tlv)) {
    out.set(d, off);
    return off + d.length;
  }
  out[off++] = d.tag;
  const len = d.contentLength;
  if (len < 0x80) {
    out[off++] = len;
  } else {
    const n = lengthSize(len) - 1;
    out[off++] = 0x80 | n;
    for (let i = n - 1; i >= 0; i--) out[off++] = Math.floor(len / 2 ** (8 * i)) & 0xff;
  }
  for (let i = 0; i < d.parts.length; i++) off = write(out, off, d.parts[i] as Der);
  return off;
}

/** The DER encoding of `d`, in one fresh buffer (or `d` itself when it is already bytes). */
export function toBytes(d: Der): Uint8Array {
  if (!(d instanceof Tlv)) return d;
  const out = new Uint8Array(d.size);
  write(out, 0, d);
  return out;
}

export function seq(...parts: Der[]): Tlv {
  return tlv(Tag.Sequence, parts);
}

/** Byte-wise comparison; a proper prefix sorts first (Go's bytes.Compare). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * SET OF: DER (X.690 §11.6) wants the element encodings in ascending order, which Go's
 * encoding/asn1 does too, so an RDN with several values matches kubeadm byte for byte.
 * For a SET of distinct types this is also the canonical tag order (§10.3).
 */
export function set(...parts: Der[]): Tlv {
  return tlv(Tag.Set, parts.length > 1 ? parts.map(toBytes).sort(compareBytes) : parts);
}

const ZERO = Uint8Array.of(0);

/**
 * INTEGER from a non-negative big-endian magnitude: redundant leading zeros are dropped,
 * and a 0x00 is prepended when the top bit is set so the value does not read as negative.
 */
export function int(bytes: Uint8Array): Tlv {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const mag = bytes.length === 0 ? ZERO : bytes.subarray(start);
  return tlv(Tag.Integer, ((mag[0] ?? 0) & 0x80) !== 0 ? [ZERO, mag] : [mag]);
}

/** INTEGER from a small non-negative JS number (versions, path lengths). */
export function intSmall(n: number): Tlv {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`DER: intSmall needs a non-negative safe integer, got ${n}`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return int(Uint8Array.from(bytes));
}

/** Base-128, big-endian, high bit set on all but the last byte (X.690 §8.19). */
function pushBase128(out: number[], n: number): void {
  const digits = [n % 128];
  for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) digits.unshift((v % 128) | 0x80);
  out.push(...digits);
}

function encodeOid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : NaN));
  const [a0, a1] = arcs;
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a)) || a0 === undefined || a1 === undefined
    || a0 > 2 || (a0 < 2 && a1 >= 40)) {
    throw new RangeError(`DER: bad object identifier '${dotted}'`);
  }
  const body: number[] = [];
  pushBase128(body, a0 * 40 + a1);
  for (const arc of arcs.slice(2)) pushBase128(body, arc);
  return toBytes(tlv(Tag.Oid, [Uint8Array.from(body)]));
}

// The same dozen OIDs recur in every certificate; parsing the dotted text each time is waste.
const oidCache = new Map<string, Uint8Array>();

/** OBJECT IDENTIFIER from dotted text, already encoded. Cached and shared: do not modify it. */
export function oid(dotted: string): Uint8Array {
  let der = oidCache.get(dotted);
  if (!der) {
    der = encodeOid(dotted);
    oidCache.set(dotted, der);
  }
  return der;
}

const TRUE = Uint8Array.of(Tag.Boolean, 1, 0xff);
const FALSE = Uint8Array.of(Tag.Boolean, 1, 0x00);

/** BOOLEAN; DER requires 0xFF for TRUE. Shared bytes: do not modify. */
export function bool(b: boolean): Uint8Array {
  return b ? TRUE : FALSE;
}

/** OCTET STRING whose content is `content` (raw bytes, or the encoding of a nested TLV). */
export function octets(content: Der): Tlv {
  return tlv(Tag.OctetString, [content]);
}

const UNUSED_BITS = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => Uint8Array.of(n));

/** BIT STRING: one leading octet counts the unused (zero) bits at the end of `bytes`. */
export function bits(bytes: Uint8Array, unusedBits = 0): Tlv {
  const prefix = UNUSED_BITS[unusedBits];
  if (!prefix || (bytes.length === 0 && unusedBits !== 0)) {
    throw new RangeError(`DER: bad unused bit count ${unusedBits} for ${bytes.length} bytes`);
  }
  return tlv(Tag.BitString, [prefix, bytes]);
}

const utf8Encoder = new TextEncoder();

export function utf8(s: string): Tlv {
  return tlv(Tag.Utf8String, [utf8Encoder.encode(s)]);
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const IA5 = /^[\x00-\x7f]*$/;

/** The PrintableString alphabet of X.680 §41.4 (no '*' or '&', as Go's marshaller). */
export function isPrintable(s: string): boolean {
  return PRINTABLE.test(s);
}

/** Bytes of an ASCII-only string. A plain loop: TextEncoder costs ~3x more for short strings. */
function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** ASCII bytes of `s`, or an error naming the string type that cannot hold it. */
function ascii(s: string, type: string, alphabet: RegExp): Uint8Array {
  if (!alphabet.test(s)) throw new RangeError(`DER: ${JSON.stringify(s)} is not a valid ${type}`);
  return asciiBytes(s);
}

export function printable(s: string): Tlv {
  return tlv(Tag.PrintableString, [ascii(s, 'PrintableString', PRINTABLE)]);
}

export function ia5(s: string): Tlv {
  return tlv(Tag.Ia5String, [ia5Bytes(s)]);
}

/** The content bytes of an IA5String, for implicitly tagged uses such as SAN dNSName. */
export function ia5Bytes(s: string): Uint8Array {
  return ascii(s, 'IA5String', IA5);
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/**
 * Certificate validity time (RFC 5280 §4.1.2.5): UTCTime for 1950–2049, GeneralizedTime
 * otherwise; always UTC with 'Z' and whole seconds (fractions are truncated, as Go does).
 */
export function time(date: Date): Tlv {
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) throw new RangeError(`DER: time out of range: ${String(date)}`);
  const rest = pad2(date.getUTCMonth() + 1) + pad2(date.getUTCDate())
    + pad2(date.getUTCHours()) + pad2(date.getUTCMinutes()) + pad2(date.getUTCSeconds()) + 'Z';
  const utc = year >= 1950 && year < 2050;
  const text = utc ? pad2(year % 100) + rest : String(year).padStart(4, '0') + rest;
  return tlv(utc ? Tag.UtcTime : Tag.GeneralizedTime, [asciiBytes(text)]);
}

function checkTagNumber(n: number): void {
  // Numbers ≥ 31 need the multi-byte tag form, which no certificate field uses.
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new RangeError(`DER: context tag [${n}] not supported`);
}

/** [n] EXPLICIT: context-specific, constructed, wrapping the complete inner TLV. */
export function explicit(tagNumber: number, inner: Der): Tlv {
  checkTagNumber(tagNumber);
  return tlv(Tag.ContextConstructed | tagNumber, [inner]);
}

/** [n] IMPLICIT on a primitive type: `content` is the content of the replaced type. */
export function implicitPrimitive(tagNumber: number, content: Uint8Array): Tlv {
  checkTagNumber(tagNumber);
  return tlv(Tag.ContextPrimitive | tagNumber, [content]);
}

const NULL = Uint8Array.of(Tag.Null, 0);

/** NULL. Shared bytes: do not modify. */
export function nul(): Uint8Array {
  return NULL;
}

/** Where one TLV's content lies within `der`, for the few places that must read DER back. */
export interface DerSpan {
  readonly tag: number;
  /** Offset of the first content byte. */
  readonly start: number;
  /** Offset just past the content. */
  readonly end: number;
}

/** Reads the TLV header at `off` (definite lengths only, as DER requires). */
export function readTlv(der: Uint8Array, off: number): DerSpan {
  const tag = der[off];
  const first = der[off + 1];
  if (tag === undefined || first === undefined || (tag & 0x1f) === 0x1f) throw new RangeError('DER: truncated or unsupported header');
  let len = first;
  let start = off + 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4) throw new RangeError('DER: unsupported length form');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? NaN);
    start += n;
  }
  const end = start + len;
  if (!Number.isFinite(len) || end > der.length) throw new RangeError('DER: length runs past the end of the data');
  return { tag, start, end };
}
