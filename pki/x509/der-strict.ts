/**
 * The DER level of the certificate reader (parse.ts): one TLV at a time, strictly (X.690 DER:
 * one-byte tags, definite minimal lengths, minimal INTEGERs, BOOLEAN 00/ff, BIT STRING unused
 * bits, calendar-valid times, string alphabets), throwing CertParseError with the field's name.
 *
 * Speed: a re-run reads every certificate once, in a process whose JIT has not warmed up, so
 * the walk allocates almost nothing per TLV: `read` leaves the TLV it decoded in module-level
 * registers (`tag`, `start`, `end`, exported as live bindings) instead of returning an object,
 * and the input being parsed is module state too (`setInput`). Parsing is synchronous and not
 * re-entrant, so this is safe.
 */
import { knownOids } from './oids.js';

export class CertParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertParseError';
  }
}

/** Universal tags (X.680 §8.4); a const enum per module compiles to plain numbers. */
const enum T {
  Boolean = 0x01, Integer = 0x02, BitString = 0x03, OctetString = 0x04, Null = 0x05, Oid = 0x06,
  Utf8 = 0x0c, Numeric = 0x12, Printable = 0x13, T61 = 0x14, Ia5 = 0x16, UtcTime = 0x17,
  GeneralizedTime = 0x18, Visible = 0x1a, Universal = 0x1c, Bmp = 0x1e, Sequence = 0x30, Set = 0x31,
}

const EMPTY = new Uint8Array(0);
/** The certificate being parsed, and a Buffer view of it for Latin-1 strings. */
export let d: Uint8Array = EMPTY;
const EMPTY_BUF = Buffer.alloc(0);
let buf: Buffer = EMPTY_BUF;

/** Makes `der` the input of the reader (until `clearInput`). */
export function setInput(der: Uint8Array): void {
  d = der;
  buf = Buffer.isBuffer(der) ? der : Buffer.from(der.buffer, der.byteOffset, der.byteLength);
}

/** Drops the input, so the reader does not keep the last certificate alive. */
export function clearInput(): void {
  d = EMPTY;
  buf = EMPTY_BUF;
}

/** The TLV `read` decoded last: tag, first content byte, end of content. */
export let tag = 0;
export let start = 0;
export let end = 0;

/**
 * A view of bytes [s, e) of the input. Built with the Uint8Array constructor: `subarray` on a
 * Buffer goes through its species constructor, several times slower in a cold process.
 */
export function view(s: number, e: number): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset + s, e - s);
}

export function fail(where: string, what: string): never {
  throw new CertParseError(`${where}: ${what}`);
}

export const hexByte = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;

/**
 * Reads the TLV at `off`, which must end by `limit`, into the registers; with `want`, the tag
 * must be that one (one function rather than two: calls are the dearest thing in cold code).
 * DER: one-byte tags, definite minimal lengths.
 */
export function read(off: number, limit: number, where: string, want = -1): void {
  if (off >= limit) fail(where, 'missing');
  const t = d[off] as number;
  if ((t & 0x1f) === 0x1f) fail(where, `multi-byte tag ${hexByte(t)} (no certificate field uses one)`);
  if (off + 2 > limit) fail(where, 'truncated before its length');
  let len = d[off + 1] as number;
  let s = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) fail(where, 'indefinite length (BER, not DER)');
    if (n > 4) fail(where, `${n}-octet length field`);
    if (s + n > limit) fail(where, 'truncated inside its length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (d[s + i] as number);
    if (len < 0x80 || d[s] === 0) fail(where, `non-minimal length encoding (${n} octets for ${len})`);
    s += n;
  }
  if (len > limit - s) fail(where, `length ${len} runs past the end of its container (${limit - s} bytes left)`);
  if (want !== -1 && t !== want) wrongTag(where, want, t);
  tag = t;
  start = s;
  end = s + len;
}

const TAG_NAMES: Record<number, string> = {
  [T.Boolean]: 'BOOLEAN', [T.Integer]: 'INTEGER', [T.BitString]: 'BIT STRING', [T.OctetString]: 'OCTET STRING',
  [T.Null]: 'NULL', [T.Oid]: 'OBJECT IDENTIFIER', [T.Sequence]: 'SEQUENCE', [T.Set]: 'SET',
};
export const tagName = (t: number): string =>
  TAG_NAMES[t] ?? ((t & 0xc0) === 0x80 ? `[${t & 0x1f}]${t & 0x20 ? ' constructed' : ''}` : hexByte(t));

export function wrongTag(where: string, want: number, found: number): never {
  return fail(where, `expected ${tagName(want)}, found tag ${hexByte(found)}`);
}

/** Nothing may follow the last element of a constructed value. */
export function done(at: number, limit: number, where: string): void {
  if (at !== limit) fail(where, `${limit - at} unexpected trailing byte(s)`);
}

// ---------------------------------------------------------------------------------------------
// Primitive values (content in [s, e))

export function checkInteger(s: number, e: number, where: string): void {
  if (e === s) fail(where, 'empty INTEGER');
  if (e - s > 1) {
    const a = d[s] as number;
    const b = d[s + 1] as number;
    if ((a === 0 && b < 0x80) || (a === 0xff && b >= 0x80)) fail(where, 'INTEGER not minimally encoded');
  }
}

/** A non-negative INTEGER that fits a JS number comfortably (versions, path lengths). */
export function smallUint(s: number, e: number, where: string): number {
  checkInteger(s, e, where);
  if ((d[s] as number) & 0x80) fail(where, 'negative INTEGER');
  if (e - s > 4) fail(where, 'INTEGER too large');
  let v = 0;
  for (let i = s; i < e; i++) v = v * 256 + (d[i] as number);
  return v;
}

export function boolean(s: number, e: number, where: string): boolean {
  if (e - s !== 1) fail(where, `BOOLEAN of ${e - s} bytes`);
  const v = d[s] as number;
  if (v !== 0 && v !== 0xff) fail(where, `BOOLEAN ${hexByte(v)} (DER allows only 0x00 and 0xff)`);
  return v === 0xff;
}

/** Known OIDs by a hash of their content octets, so the common ones are not decoded each time. */
const KNOWN_OIDS = new Map<number, Array<{ readonly bytes: Uint8Array; readonly text: string }>>();

function oidHash(bytes: Uint8Array, s: number, e: number): number {
  let h = e - s;
  for (let i = s; i < e; i++) h = (Math.imul(h, 31) + (bytes[i] as number)) | 0;
  return h;
}

for (const [bytes, text] of knownOids()) {
  const h = oidHash(bytes, 0, bytes.length);
  KNOWN_OIDS.set(h, [...(KNOWN_OIDS.get(h) ?? []), { bytes, text }]);
}

/** The 2.5.4.x (name attributes) and 2.5.29.x (extensions) OIDs by their last two octets: no loop at all. */
const SHORT_OIDS = new Map<number, string>();
for (const [bytes, text] of knownOids()) if (bytes.length === 3 && bytes[0] === 0x55) SHORT_OIDS.set(((bytes[1] as number) << 8) | (bytes[2] as number), text);

function knownOid(s: number, e: number): string | undefined {
  if (e - s === 3 && d[s] === 0x55) return SHORT_OIDS.get(((d[s + 1] as number) << 8) | (d[s + 2] as number));
  const candidates = KNOWN_OIDS.get(oidHash(d, s, e));
  if (candidates === undefined) return undefined;
  for (let c = 0; c < candidates.length; c++) {
    const { bytes, text } = candidates[c] as { bytes: Uint8Array; text: string };
    if (bytes.length !== e - s) continue;
    let i = 0;
    while (i < bytes.length && bytes[i] === d[s + i]) i++;
    if (i === bytes.length) return text;
  }
  return undefined;
}

/** Dotted text of an OBJECT IDENTIFIER's content; subidentifiers minimal and complete. */
export function oidText(s: number, e: number, where: string): string {
  const known = knownOid(s, e);
  if (known !== undefined) return known;
  if (s === e) fail(where, 'empty OBJECT IDENTIFIER');
  if (((d[e - 1] as number) & 0x80) !== 0) fail(where, 'OBJECT IDENTIFIER ends inside a subidentifier');
  let out = '';
  for (let i = s; i < e; ) {
    if (d[i] === 0x80) fail(where, 'OBJECT IDENTIFIER subidentifier not minimally encoded');
    const from = i;
    while (((d[i] as number) & 0x80) !== 0) i++;
    i++;
    // Up to 7 base-128 digits (49 bits) fit a double exactly; longer arcs (UUID OIDs) use BigInt.
    let arc: number | bigint;
    if (i - from <= 7) {
      let v = 0;
      for (let k = from; k < i; k++) v = v * 128 + ((d[k] as number) & 0x7f);
      arc = v;
    } else {
      let v = 0n;
      for (let k = from; k < i; k++) v = v * 128n + BigInt((d[k] as number) & 0x7f);
      arc = v;
    }
    if (from === s) {
      // The first subidentifier packs two arcs: 40 * a0 + a1, a0 in 0..2.
      if (typeof arc === 'number' && arc < 80) out = `${Math.floor(arc / 40)}.${arc % 40}`;
      else out = `2.${typeof arc === 'number' ? arc - 80 : (arc - 80n).toString()}`;
    } else {
      out += `.${arc}`;
    }
  }
  return out;
}

/** The OBJECT IDENTIFIER at `off`; leaves its TLV in the registers. */
export function oid(off: number, limit: number, where: string): string {
  read(off, limit, where, T.Oid);
  const s = start;
  const e = end;
  const text = oidText(s, e, where);
  start = s;
  end = e;
  return text;
}

/**
 * Checks a BIT STRING's content [s, e) (first octet: unused bits) and returns the unused count.
 * `aligned`: it must hold whole octets (keys, signatures).
 */
export function bitString(s: number, e: number, where: string, aligned: boolean): number {
  if (e === s) fail(where, 'BIT STRING without its unused-bits octet');
  const unused = d[s] as number;
  if (unused > 7) fail(where, `BIT STRING claims ${unused} unused bits (at most 7)`);
  if (unused !== 0 && e - s === 1) fail(where, 'empty BIT STRING with unused bits');
  if (aligned && unused !== 0) fail(where, `${unused} unused bits where whole octets are required`);
  if (unused !== 0 && ((d[e - 1] as number) & ((1 << unused) - 1)) !== 0) fail(where, 'BIT STRING unused bits are not zero');
  return unused;
}

function daysIn(y: number, m: number): number {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function digits(at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 10 + (d[at + i] as number) - 0x30;
  return v;
}

/** UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280 §4.1.2.5), calendar-checked. */
export function time(off: number, limit: number, where: string): Date {
  read(off, limit, where);
  const len = end - start;
  let y: number;
  let p: number;
  if (tag === T.UtcTime) {
    if (len !== 13) fail(where, `UTCTime of ${len} characters (YYMMDDHHMMSSZ is 13)`);
    p = start + 2;
  } else if (tag === T.GeneralizedTime) {
    if (len !== 15) fail(where, `GeneralizedTime of ${len} characters (YYYYMMDDHHMMSSZ is 15)`);
    p = start + 4;
  } else {
    fail(where, `expected UTCTime or GeneralizedTime, found tag ${hexByte(tag)}`);
  }
  for (let i = start; i < end - 1; i++) {
    const b = d[i] as number;
    if (b < 0x30 || b > 0x39) fail(where, `time has a non-digit ${JSON.stringify(String.fromCharCode(b))}`);
  }
  if (d[end - 1] !== 0x5a) fail(where, "time does not end in 'Z' (UTC)");
  if (tag === T.UtcTime) {
    const yy = digits(start, 2);
    y = yy < 50 ? 2000 + yy : 1900 + yy; // RFC 5280: UTCTime covers 1950-2049
  } else {
    y = digits(start, 4);
  }
  const mo = digits(p, 2);
  const day = digits(p + 2, 2);
  const h = digits(p + 4, 2);
  const mi = digits(p + 6, 2);
  const s = digits(p + 8, 2);
  if (mo < 1 || mo > 12) fail(where, `month ${mo}`);
  if (day < 1 || day > daysIn(y, mo)) fail(where, `day ${day} of ${y}-${String(mo).padStart(2, '0')}`);
  if (h > 23) fail(where, `hour ${h}`);
  if (mi > 59) fail(where, `minute ${mi}`);
  if (s > 59) fail(where, `second ${s}`);
  const date = new Date(Date.UTC(y, mo - 1, day, h, mi, s));
  if (y < 100) date.setUTCFullYear(y); // Date.UTC maps years 0-99 to 1900-1999
  return date;
}

// ---------------------------------------------------------------------------------------------
// Strings and names

let utf8Decoder: TextDecoder | undefined;

/**
 * Bytes [s, e) as Latin-1 text. Buffer's own latin1Slice, when present, skips toString's
 * argument handling, which in a cold process cost twice the slicing itself (measured). The
 * alphabet checks below are regular expressions for the same reason: native, not interpreted.
 */
type Latin1Slicer = { latin1Slice?: (s: number, e: number) => string };
const NATIVE_LATIN1 = typeof (Buffer.prototype as Latin1Slicer).latin1Slice === 'function';

export function latin1(s: number, e: number): string {
  return NATIVE_LATIN1 ? (buf as Latin1Slicer).latin1Slice!(s, e) : buf.toString('latin1', s, e);
}

// PrintableString (X.680 §41.4) plus '*' and '&', which Go accepts because real CAs use them.
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?*&]*$/;
const ASCII = /^[\x00-\x7f]*$/;
const NUMERIC = /^[0-9 ]*$/;
const VISIBLE = /^[\x20-\x7e]*$/;

/** The first byte of [s, e) outside `alphabet`, as hex, for the message. */
function firstBad(s: number, e: number, alphabet: RegExp): string {
  return hexByte(d[firstBadIndex(s, e, alphabet)] as number);
}

function firstBadIndex(s: number, e: number, alphabet: RegExp): number {
  let i = s;
  while (i < e && alphabet.test(String.fromCharCode(d[i] as number))) i++;
  return i;
}

/** `fail` for a context in two parts, joined only when there is an error. */
export function failIn(outer: string, sub: string | undefined, what: string): never {
  return fail(sub === undefined ? outer : `${outer} ${sub}`, what);
}

/**
 * Text of a string-typed value [s, e) with tag `t`, alphabet checked; undefined for a non-string
 * tag. Errors name `where` and `sub` (joined only when there is an error).
 */
export function stringValue(t: number, s: number, e: number, outer: string, sub?: string): string | undefined {
  switch (t) {
    case T.Utf8: {
      const text = latin1(s, e);
      if (ASCII.test(text)) return text;
      try {
        utf8Decoder ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
        return utf8Decoder.decode(view(s, e));
      } catch {
        return failIn(outer, sub, 'UTF8String is not valid UTF-8');
      }
    }
    case T.Printable: {
      const text = latin1(s, e);
      if (!PRINTABLE.test(text)) failIn(outer, sub, `PrintableString holds ${firstBad(s, e, PRINTABLE)}`);
      return text;
    }
    case T.Ia5: {
      const text = latin1(s, e);
      if (!ASCII.test(text)) failIn(outer, sub, `IA5String holds ${firstBad(s, e, ASCII)}`);
      return text;
    }
    case T.Numeric: {
      const text = latin1(s, e);
      if (!NUMERIC.test(text)) failIn(outer, sub, 'NumericString holds a non-digit');
      return text;
    }
    case T.Visible: {
      const text = latin1(s, e);
      if (!VISIBLE.test(text)) failIn(outer, sub, 'VisibleString holds a non-printable byte');
      return text;
    }
    case T.T61: // Teletex: read as Latin-1, as Go and OpenSSL do
      return latin1(s, e);
    case T.Bmp: {
      if ((e - s) % 2) failIn(outer, sub, 'BMPString of odd length');
      let out = '';
      for (let i = s; i < e; i += 2) out += String.fromCharCode(((d[i] as number) << 8) | (d[i + 1] as number));
      return out;
    }
    case T.Universal: {
      if ((e - s) % 4) failIn(outer, sub, 'UniversalString length not a multiple of 4');
      let out = '';
      for (let i = s; i < e; i += 4) {
        const cp = (((d[i] as number) << 24) >>> 0) + ((d[i + 1] as number) << 16) + ((d[i + 2] as number) << 8) + (d[i + 3] as number);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) failIn(outer, sub, 'UniversalString holds an invalid code point');
        out += String.fromCodePoint(cp);
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** Lower-case hex of bytes [s, e). */
export function hex(s: number, e: number): string {
  return buf.toString('hex', s, e);
}

export function sameBytes(a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (d[a + i] !== d[b + i]) return false;
  return true;
}

/** Bit length of a non-negative big-endian magnitude in [s, e). */
export function bitLength(s: number, e: number): number {
  let i = s;
  while (i < e && d[i] === 0) i++;
  if (i === e) return 0;
  return (e - i - 1) * 8 + (32 - Math.clz32(d[i] as number));
}
