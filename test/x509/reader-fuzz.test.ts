/**
 * Fuzz test of the strict reader (pki/x509/pem.ts + parse.ts) over mutations of real kpki and
 * openssl certificates, with a fixed PRNG seed so a failure reproduces:
 *  - DER: bit flips, byte replacements, truncation, insertion, deletion, length-octet and tag
 *    tweaks at real TLV headers, duplicated TLVs;
 *  - PEM: base64 damage inside intact armor (changed, deleted, inserted characters, stray '=',
 *    dropped or swapped lines).
 * The only errors allowed are CertParseError and PemFormatError (never an internal one).
 * Differential check: for every input that both this reader and node:crypto's X509Certificate
 * (OpenSSL) accept, notBefore, notAfter, serial, subject CN and SAN DNS names must agree.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { CertParseError, parseCertificate, type ParsedCert } from '../../pki/x509/parse.js';
import { parsePem, PemFormatError } from '../../pki/x509/pem.js';
import { tlv } from './der-edit.js';
import { prng } from '../support/prng.js';

/**
 * Fixed seed certificates, so the whole run is reproducible: written once by reader-fixtures.ts
 * (allFixtures: kpki ECDSA and RSA sets, openssl root / many-extension / P-521 / Ed25519 / v1 /
 * RSASSA-PSS certificates); see fuzz-seeds/README.md.
 */
interface Seed {
  readonly name: string;
  readonly pem: string;
  readonly der: Uint8Array;
}

const seedDir = new URL('../../../test/x509/fuzz-seeds/', import.meta.url);
const seeds: Seed[] = readdirSync(seedDir).filter((f) => f.endsWith('.pem')).sort().map((f) => {
  const pem = readFileSync(new URL(f, seedDir), 'utf8');
  const der = new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----/g, ''), 'base64'));
  return { name: f.replace(/\.pem$/, ''), pem, der };
});

const DER_CASES = 12_000;
const PEM_CASES = 4_000;


const rand = prng(0x6b706b69);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <X>(xs: readonly X[]): X => xs[int(xs.length)] as X;

/** Offsets of every TLV header in `der` (tag byte), found by walking constructed values. */
function headers(der: Uint8Array): number[] {
  const out: number[] = [];
  const walk = (start: number, end: number): void => {
    for (let p = start; p < end; ) {
      out.push(p);
      const { tag, start: q, end: e } = tlv(der, p);
      const len = e - q;
      // Descend into constructed values and into OCTET / BIT STRINGs that wrap DER (extensions, keys).
      if (tag & 0x20) walk(q, q + len);
      else if ((tag === 0x04 || tag === 0x03) && der[q + (tag === 0x03 ? 1 : 0)] === 0x30) {
        try {
          walk(q + (tag === 0x03 ? 1 : 0), q + len);
        } catch { /* not DER inside after all */ }
      }
      p = q + len;
    }
  };
  walk(0, der.length);
  return out;
}

function splice(der: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  const tail = der.subarray(Math.min(der.length, at + remove));
  const out = new Uint8Array(at + insert.length + tail.length);
  out.set(der.subarray(0, at));
  out.set(insert, at);
  out.set(tail, at + insert.length);
  return out;
}

const randomBytes = (n: number): number[] => Array.from({ length: n }, () => int(256));

function mutateDer(der: Uint8Array, heads: readonly number[]): { kind: string; der: Uint8Array } {
  const out = Uint8Array.from(der);
  switch (int(8)) {
    case 0: {
      for (let i = 1 + int(3); i > 0; i--) {
        const p = int(out.length);
        out[p] = (out[p] as number) ^ (1 << int(8));
      }
      return { kind: 'bit flip', der: out };
    }
    case 1: {
      for (let i = 1 + int(4); i > 0; i--) out[int(out.length)] = int(256);
      return { kind: 'byte replacement', der: out };
    }
    case 2:
      return { kind: 'truncation', der: der.subarray(0, int(der.length)) };
    case 3:
      return { kind: 'insertion', der: splice(der, int(der.length + 1), 0, randomBytes(1 + int(4))) };
    case 4:
      return { kind: 'deletion', der: splice(der, int(der.length), 1 + int(4), []) };
    case 5: {
      // Length octets of a real TLV: off by one, indefinite, long form, huge, zero.
      const h = pick(heads);
      const first = der[h + 1] as number;
      const lenBytes = first & 0x80 ? 1 + (first & 0x7f) : 1;
      const len = first & 0x80 ? Number.parseInt(Buffer.from(der.subarray(h + 2, h + 1 + lenBytes)).toString('hex'), 16) : first;
      const choices: number[][] = [
        first & 0x80 ? [first, ...der.subarray(h + 2, h + lenBytes), ((der[h + lenBytes] as number) + 1) & 0xff] : [(first + 1) & 0x7f],
        first & 0x80 ? [first, ...der.subarray(h + 2, h + lenBytes), ((der[h + lenBytes] as number) + 255) & 0xff] : [(first + 127) & 0x7f],
        [0x80],
        [0x81, len & 0xff],
        [0x82, (len >> 8) & 0xff, len & 0xff],
        [0x84, 0xff, 0xff, 0xff, 0xff],
        [0x00],
        [int(256)],
      ];
      return { kind: 'length tweak', der: splice(der, h + 1, lenBytes, pick(choices)) };
    }
    case 6: {
      const h = pick(heads);
      out[h] = pick([int(256), (out[h] as number) ^ 0x20, (out[h] as number) + 1, 0x1f, 0x30, 0x31, 0x04, 0x05, 0xa0, 0xa3]) & 0xff;
      return { kind: 'tag tweak', der: out };
    }
    default: {
      // Copy one TLV next to another (duplicate fields, duplicate extensions, nested junk).
      const h = pick(heads);
      const first = der[h + 1] as number;
      const lenBytes = first & 0x80 ? 1 + (first & 0x7f) : 1;
      const len = first & 0x80 ? Number.parseInt(Buffer.from(der.subarray(h + 2, h + 1 + lenBytes)).toString('hex'), 16) : first;
      const tlv = der.slice(h, h + 1 + lenBytes + len);
      return { kind: 'duplicated TLV', der: splice(der, pick(heads), 0, tlv) };
    }
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function mutatePem(pem: string): { kind: string; pem: string } {
  const lines = pem.trimEnd().split('\n');
  const body = lines.slice(1, -1);
  const li = int(body.length);
  const line = body[li] as string;
  const ci = int(line.length);
  const setLine = (s: string): void => void body.splice(li, 1, s);
  let kind: string;
  switch (int(7)) {
    case 0:
      kind = 'base64 char changed';
      setLine(line.slice(0, ci) + pick([...B64]) + line.slice(ci + 1));
      break;
    case 1:
      kind = 'base64 chars changed';
      for (let i = 0; i < 2 + int(6); i++) {
        const l = int(body.length);
        const s = body[l] as string;
        const c = int(s.length);
        body[l] = s.slice(0, c) + pick([...B64]) + s.slice(c + 1);
      }
      break;
    case 2:
      kind = 'char deleted';
      setLine(line.slice(0, ci) + line.slice(ci + 1));
      break;
    case 3:
      kind = 'char inserted';
      setLine(line.slice(0, ci) + pick([...B64, '=', '-', '*', ' ', '\t', 'é']) + line.slice(ci));
      break;
    case 4:
      kind = "'=' in the middle";
      setLine(`${line.slice(0, ci)}==${line.slice(ci + 2)}`);
      break;
    case 5:
      kind = 'line dropped';
      body.splice(li, 1);
      break;
    default: {
      kind = 'lines swapped';
      const lj = int(body.length);
      [body[li], body[lj]] = [body[lj] as string, body[li] as string];
    }
  }
  return { kind, pem: [lines[0], ...body, lines.at(-1)].join('\n') + '\n' };
}

// -- node's view ---------------------------------------------------------------------------------

interface View {
  readonly notBefore: number;
  readonly notAfter: number;
  readonly serial: string;
  readonly cn: string;
  readonly dns: readonly string[];
}

/** Undoes OpenSSL's RFC 2253 + control-character escaping in one Name value. */
function unescape(v: string): string {
  const bytes: number[] = [];
  const utf8 = Buffer.from(v, 'utf8');
  for (let i = 0; i < utf8.length; i++) {
    const b = utf8[i] as number;
    if (b !== 0x5c) bytes.push(b);
    else if (/^[0-9A-F]{2}$/.test(String.fromCharCode(utf8[i + 1] ?? 0, utf8[i + 2] ?? 0))) {
      bytes.push(Number.parseInt(String.fromCharCode(utf8[i + 1] as number, utf8[i + 2] as number), 16));
      i += 2;
    } else bytes.push(utf8[++i] as number);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The last CN of node's multi-line subject (" + " joins the values of one RDN). */
function nodeCn(subject: string | undefined): string {
  let cn = '';
  for (const line of (subject ?? '').split('\n')) {
    for (const ava of line.split(/(?<!\\) \+ /)) if (ava.startsWith('CN=')) cn = unescape(ava.slice(3));
  }
  return cn;
}

/** DNS entries of node's subjectAltName text; values with separators come JSON-quoted. */
function nodeDns(san: string | undefined): string[] {
  const out: string[] = [];
  const re = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (const m of (san ?? '').matchAll(re)) {
    if (m[1] !== 'DNS') continue;
    const raw = m[2] as string;
    out.push(raw.startsWith('"') ? JSON.parse(raw) as string : raw);
  }
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** OpenSSL's "Jul 19 13:09:08 2051 GMT"; the year unpadded (Date.parse reads "51" as 1951). */
function nodeDate(text: string): number {
  const m = /^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d) (\d+) GMT$/.exec(text);
  if (!m) return NaN;
  const d = new Date(Date.UTC(2000, MONTHS.indexOf(m[1] as string), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
  d.setUTCFullYear(Number(m[6]));
  return d.getTime();
}

const serialOf = (hex: string): string => hex.toUpperCase().replace(/^0+(?=.)/, '');

function nodeView(input: string | Uint8Array): View | undefined {
  try {
    const x = new X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
    return {
      notBefore: nodeDate(x.validFrom), notAfter: nodeDate(x.validTo), serial: serialOf(x.serialNumber),
      cn: nodeCn(x.subject), dns: nodeDns(x.subjectAltName),
    };
  } catch {
    return undefined;
  }
}

function ourView(c: ParsedCert): View {
  return {
    notBefore: c.notBefore.getTime(), notAfter: c.notAfter.getTime(), serial: serialOf(c.serialHex),
    cn: c.subject.cn, dns: c.subjectAltName?.dns ?? [],
  };
}

// -- the run -------------------------------------------------------------------------------------

interface Tally {
  inputs: number;
  ours: number;
  node: number;
  both: number;
  oursOnly: string[];
  rejectedBy: Map<string, number>;
  /** Why inputs that OpenSSL (node) accepts were rejected here. */
  strictOnly: Map<string, number>;
  disagreements: string[];
  crashes: string[];
}

const tally = (): Tally => ({ inputs: 0, ours: 0, node: 0, both: 0, oursOnly: [], rejectedBy: new Map(), strictOnly: new Map(), disagreements: [], crashes: [] });

/** The start of a rejection reason, numbers blanked: which rule caught the input (for the summary). */
const rule = (err: unknown): string => (err as Error).message.replace(/0x[0-9a-f]{2}/g, '0xNN').replace(/\b\d+\b/g, 'N').replace(' (line N)', '').replace(/\s*\(.*$/, '').slice(0, 70);
const count = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
const top = (m: Map<string, number>, n: number): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([r, k]) => `${k}× ${r}`).join('; ');

function check(t: Tally, what: string, ours: () => ParsedCert, nodeInput: string | Uint8Array): void {
  t.inputs++;
  let c: ParsedCert | undefined;
  let caught: unknown;
  try {
    c = ours();
  } catch (err) {
    caught = err;
    const known = err instanceof CertParseError || err instanceof PemFormatError;
    if (!known || /internal/.test((err as Error).message)) t.crashes.push(`${what}: ${(err as Error)?.stack ?? String(err)}`);
    else count(t.rejectedBy, rule(err));
  }
  const node = nodeView(nodeInput);
  if (node && !c) count(t.strictOnly, rule(caught));
  if (c) t.ours++;
  if (node) t.node++;
  if (c && !node) t.oursOnly.push(what);
  if (c && node) {
    t.both++;
    const mine = ourView(c);
    for (const k of ['notBefore', 'notAfter', 'serial', 'cn', 'dns'] as const) {
      if (JSON.stringify(mine[k]) !== JSON.stringify(node[k])) {
        t.disagreements.push(`${what}: ${k} ours ${JSON.stringify(mine[k])} node ${JSON.stringify(node[k])}`);
      }
    }
  }
}

function report(name: string, t: Tally): void {
  console.log(`  ${name}: ${t.inputs} inputs; accepted by ours ${t.ours}, by node ${t.node}, by both ${t.both}; ours only ${t.oursOnly.length}`);
  console.log(`    top rejections: ${top(t.rejectedBy, 4)}`);
  console.log(`    rejected here, accepted by node: ${top(t.strictOnly, 4)}`);
}

test(`fuzz: ${DER_CASES} mutated DER certificates`, () => {
  const t = tally();
  const heads = new Map(seeds.map((s) => [s.name, headers(s.der)]));
  for (let i = 0; i < DER_CASES; i++) {
    const seed = seeds[i % seeds.length] as Seed;
    const m = mutateDer(seed.der, heads.get(seed.name) as number[]);
    check(t, `#${i} ${seed.name} ${m.kind} ${Buffer.from(m.der).toString('base64')}`, () => parseCertificate(m.der), m.der);
  }
  report('DER', t);
  assert.equal(t.crashes.slice(0, 3), [], 'only CertParseError');
  assert.equal(t.disagreements.slice(0, 5), [], 'differential check against node:crypto');
  assert.equal(t.oursOnly.slice(0, 3), [], 'nothing node rejects is accepted');
  // The mutations must exercise both sides: many rejected, a real share accepted by both.
  assert.ok(t.both > 200 && t.ours < t.inputs / 2, `both ${t.both}, ours ${t.ours}`);
});

test(`fuzz: ${PEM_CASES} certificates with base64 damage inside intact PEM armor`, () => {
  const t = tally();
  for (let i = 0; i < PEM_CASES; i++) {
    const seed = seeds[i % seeds.length] as Seed;
    const m = mutatePem(seed.pem);
    const ours = (): ParsedCert => {
      const block = parsePem(m.pem)[0];
      if (!block) throw new PemFormatError('no block');
      return parseCertificate(block.der);
    };
    check(t, `#${i} ${seed.name} ${m.kind} ${JSON.stringify(m.pem)}`, ours, m.pem);
  }
  report('PEM', t);
  assert.equal(t.crashes.slice(0, 3), [], 'only CertParseError / PemFormatError');
  assert.equal(t.disagreements.slice(0, 5), [], 'differential check against node:crypto');
  assert.equal(t.oursOnly.slice(0, 3), [], 'nothing node rejects is accepted');
  assert.ok(t.both > 100 && t.ours < t.inputs / 2, `both ${t.both}, ours ${t.ours}`);
});

test('fuzz: unmutated seeds are accepted by both', () => {
  assert.ok(seeds.length >= 10, `${seeds.length} seeds`);
  const t = tally();
  for (const s of seeds) check(t, s.name, () => parseCertificate(s.der), s.der);
  assert.is(t.both, seeds.length);
  assert.equal(t.disagreements, []);
});

test.run();
