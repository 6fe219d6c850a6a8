/**
 * What kpki judges a certificate by, without the bytes only a signature check needs: a
 * ParsedCert is one, and so is a certificate remembered in the store's state (readings.ts),
 * whose DER and public key are read again only if something asks for them. `kpki check`
 * works on these, so an unchanged kpki store is audited without parsing its certificates.
 */
import { KEY_USAGE_NAMES, type KeyUsageName } from './oids.js';
import type { Name, ParsedCert, PublicKeyInfo } from './parse.js';

export type NameFacts = Pick<Name, 'der' | 'cn' | 'o' | 'text'> & {
  /** The DER as hex, when known without converting `der`. */
  readonly derHex?: string;
};

export interface CertFacts
  extends Pick<ParsedCert, 'serialHex' | 'notBefore' | 'notAfter' | 'basicConstraints' | 'keyUsage' | 'extKeyUsage' | 'subjectAltName' | 'subjectKeyId' | 'authorityKeyId'> {
  readonly der: Uint8Array;
  readonly signatureAlgorithm: { readonly name: string };
  readonly subject: NameFacts;
  readonly issuer: NameFacts;
  readonly publicKey: Pick<PublicKeyInfo, 'type' | 'bits' | 'curve' | 'spkiDer'>;
}

/** The checks gen made of a leaf, which `kpki check` need not make again (readings.ts holds the same). */
export interface Vouched {
  /** Digest of the CA certificate the key and signature checks passed against. */
  readonly ca: string;
  /** A kubeconfig kpki wrote: the digest of the CA it embeds. */
  readonly kca?: string;
}

/** CertFacts as JSON (byte strings in base64), plus the certificate's SHA-256 fingerprint and what gen vouched for. */
export interface StoredFacts extends Vouched {
  readonly fp: string;
  /** The text held more certificates after this one (a chain), which check reads as well. */
  readonly chain: boolean;
  readonly serial: string;
  readonly sig: string;
  readonly subject: StoredName;
  readonly issuer: StoredName;
  readonly nb: number;
  readonly na: number;
  readonly key: { readonly type: PublicKeyInfo['type']; readonly bits?: number; readonly curve?: string };
  readonly bc?: { readonly ca: boolean; readonly pathLen?: number; readonly critical: boolean };
  readonly ku?: { readonly usages: readonly KeyUsageName[]; readonly critical: boolean };
  readonly eku?: readonly string[];
  readonly san?: { readonly dns: readonly string[]; readonly ips: readonly string[]; readonly emails: readonly string[]; readonly uris: readonly string[]; readonly otherCount: number };
  readonly ski?: string;
  readonly aki?: string;
}

interface StoredName {
  /** Hex. */
  readonly der: string;
  readonly cn: string;
  readonly o: readonly string[];
  readonly text: string;
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const bytes = (s: string): Uint8Array => Buffer.from(s, 'base64');
const hexText = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export function storeFacts(p: ParsedCert, fingerprint: string, chain: boolean, vouched: Vouched): StoredFacts {
  const name = (n: Name): StoredName => ({ der: hexText(n.der), cn: n.cn, o: [...n.o], text: n.text });
  return {
    ca: vouched.ca, ...(vouched.kca !== undefined ? { kca: vouched.kca } : {}),
    fp: fingerprint, chain, serial: p.serialHex, sig: p.signatureAlgorithm.name, subject: name(p.subject), issuer: name(p.issuer),
    nb: p.notBefore.getTime(), na: p.notAfter.getTime(),
    key: { type: p.publicKey.type, ...(p.publicKey.bits !== undefined ? { bits: p.publicKey.bits } : {}), ...(p.publicKey.curve !== undefined ? { curve: p.publicKey.curve } : {}) },
    ...(p.basicConstraints ? { bc: { ...p.basicConstraints } } : {}),
    ...(p.keyUsage ? { ku: { usages: [...p.keyUsage.usages], critical: p.keyUsage.critical } } : {}),
    ...(p.extKeyUsage ? { eku: [...p.extKeyUsage] } : {}),
    ...(p.subjectAltName ? { san: { ...p.subjectAltName } } : {}),
    ...(p.subjectKeyId ? { ski: b64(p.subjectKeyId) } : {}),
    ...(p.authorityKeyId ? { aki: b64(p.authorityKeyId) } : {}),
  };
}

/** An array of strings (stored bookkeeping is checked field by field before use). */
export function isStrings(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
  return true;
}
const isName = (v: unknown): v is StoredName => {
  const n = v as StoredName;
  return typeof v === 'object' && v !== null && typeof n.der === 'string' && typeof n.cn === 'string' && isStrings(n.o) && typeof n.text === 'string';
};

/** The stored facts, or undefined for anything not exactly the shape storeFacts writes. */
export function asStoredFacts(v: unknown): StoredFacts | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const f = v as StoredFacts;
  const ok =
    typeof f.ca === 'string' && (f.kca === undefined || typeof f.kca === 'string') &&
    typeof f.fp === 'string' && typeof f.chain === 'boolean' && typeof f.serial === 'string' && typeof f.sig === 'string' && isName(f.subject) && isName(f.issuer) &&
    typeof f.nb === 'number' && typeof f.na === 'number' && typeof f.key === 'object' && f.key !== null && typeof f.key.type === 'string' &&
    (f.bc === undefined || (typeof f.bc === 'object' && typeof f.bc.ca === 'boolean')) &&
    (f.ku === undefined || (typeof f.ku === 'object' && isStrings(f.ku.usages) && f.ku.usages.every((u) => (KEY_USAGE_NAMES as readonly string[]).includes(u)))) &&
    (f.eku === undefined || isStrings(f.eku)) &&
    (f.san === undefined || (typeof f.san === 'object' && isStrings(f.san.dns) && isStrings(f.san.ips) && isStrings(f.san.emails) && isStrings(f.san.uris))) &&
    (f.ski === undefined || typeof f.ski === 'string') && (f.aki === undefined || typeof f.aki === 'string');
  return ok ? f : undefined;
}

/** A remembered name: its DER as hex, the bytes made only if asked for. */
class RememberedName implements NameFacts {
  readonly derHex: string;
  readonly cn: string;
  readonly o: readonly string[];
  readonly text: string;
  #der?: Uint8Array;
  constructor(n: StoredName) {
    this.derHex = n.der;
    this.cn = n.cn;
    this.o = n.o;
    this.text = n.text;
  }

  get der(): Uint8Array {
    return (this.#der ??= Buffer.from(this.derHex, 'hex'));
  }
}

/** A remembered public key: type and size as stored, its DER read again only if asked for. */
class RememberedKey {
  readonly type: PublicKeyInfo['type'];
  readonly bits?: number;
  readonly curve?: string;
  constructor(k: StoredFacts['key'], private readonly cert: RememberedFacts) {
    this.type = k.type;
    if (k.bits !== undefined) this.bits = k.bits;
    if (k.curve !== undefined) this.curve = k.curve;
  }

  get spkiDer(): Uint8Array {
    return this.cert.parsed().publicKey.spkiDer;
  }
}

/**
 * A certificate's facts as remembered; `read` gives its parse (from the file's text) for the
 * two things the facts do not hold, the DER and the public key.
 */
export class RememberedFacts implements CertFacts {
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly signatureAlgorithm: { readonly name: string };
  readonly subject: NameFacts;
  readonly issuer: NameFacts;
  readonly basicConstraints?: NonNullable<CertFacts['basicConstraints']>;
  readonly keyUsage?: NonNullable<CertFacts['keyUsage']>;
  readonly extKeyUsage?: readonly string[];
  readonly subjectAltName?: NonNullable<CertFacts['subjectAltName']>;
  readonly publicKey: RememberedKey;
  #parsed?: ParsedCert;
  #ski?: Uint8Array;
  #aki?: Uint8Array;

  constructor(f: StoredFacts, private readonly read: () => ParsedCert) {
    const name = (n: StoredName): NameFacts => new RememberedName(n);
    this.serialHex = f.serial;
    this.notBefore = new Date(f.nb);
    this.notAfter = new Date(f.na);
    this.signatureAlgorithm = { name: f.sig };
    this.subject = name(f.subject);
    this.issuer = name(f.issuer);
    if (f.bc) this.basicConstraints = f.bc;
    if (f.ku) this.keyUsage = f.ku;
    if (f.eku) this.extKeyUsage = f.eku;
    if (f.san) this.subjectAltName = f.san;
    this.publicKey = new RememberedKey(f.key, this);
    this.stored = f;
  }

  private readonly stored: StoredFacts;

  get subjectKeyId(): Uint8Array | undefined {
    return this.stored.ski === undefined ? undefined : (this.#ski ??= bytes(this.stored.ski));
  }

  get authorityKeyId(): Uint8Array | undefined {
    return this.stored.aki === undefined ? undefined : (this.#aki ??= bytes(this.stored.aki));
  }

  parsed(): ParsedCert {
    return (this.#parsed ??= this.read());
  }

  get der(): Uint8Array {
    return this.parsed().der;
  }
}
