/**
 * What reading a leaf's files found, remembered in the store's record (record.ts) by the
 * SHA-256 of the files' exact texts (readingKey): the certificate's dates and profile, the kubeconfig's fields, and that
 * the key matched and the certificate verified against a CA (by that CA's digest). Reading is
 * a pure function of the texts, so a re-run whose files are byte for byte the same skips the
 * base64 decoding, the certificate parse and the key check (on a thousand-node cluster most
 * of a no-op run's CPU) and still judges the result against today's plan and clock.
 * Any changed byte in any of the files, or another CA, reads everything again.
 */
import { hash } from 'node:crypto';
import { KEY_ALGORITHMS, type KeyAlgorithm, type SubjectExtras } from '../plan/types.js';
import { isStrings, storeFacts, type StoredFacts } from '../x509/facts.js';
import type { ObservedCert, ObservedProfile } from '../x509/read.js';

/** A kubeconfig's fields as `reconcile` compares them. */
export interface KubeconfigReading {
  readonly server: string;
  readonly clusterName: string;
  readonly user: string;
  /** Digest of the embedded CA certificate. */
  readonly caDigest: string;
  /** Written by kpki's own template: it renders back to the same text. */
  readonly own: boolean;
}

export interface LeafReading {
  /** Digest of the CA certificate the key and signature checks passed against. */
  readonly caDigest: string;
  readonly algorithm?: KeyAlgorithm;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly profile: ObservedProfile;
  readonly kubeconfig?: KubeconfigReading;
}

/**
 * The key of one leaf's reading, from its files' digests (digest.ts): a kubeconfig's own
 * digest, or one digest over the certificate's and the key's. The disk sink vouches for
 * unchanged files' digests, so an unchanged leaf is recognised without reading its files.
 */
export function readingKey(digests: readonly string[]): string {
  return digests.length === 1 ? digests[0]! : hash('sha256', digests.join('\0'), 'base64url');
}

/** Remembered readings, by readingKey (the store's record). */
export interface LeafReadings {
  get(key: string): LeafReading | undefined;
}

type Stored = [string, string, number, number, string, string[], SubjectExtras, string[], string[], string[], number, [string, string, string, string, number] | 0];

const EXTRAS = ['C', 'ST', 'L', 'O', 'OU'] as const;

function extrasOf(v: unknown): SubjectExtras | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const out: { -readonly [K in keyof SubjectExtras]: string } = {};
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    const x: unknown = (v as Record<string, unknown>)[k];
    if (!(EXTRAS as readonly string[]).includes(k) || typeof x !== 'string') return undefined;
    out[k as (typeof EXTRAS)[number]] = x;
  }
  return out;
}


/** One stored reading, or undefined for anything not exactly the shape written (never trusted half-way). */
function fromStored(v: unknown): LeafReading | undefined {
  if (!Array.isArray(v) || v.length !== 12) return undefined;
  // Indexed, not destructured: thousands of readings per run, and destructuring goes through the iterator.
  const caDigest: unknown = v[0], alg: unknown = v[1], nb: unknown = v[2], na: unknown = v[3], cn: unknown = v[4];
  const o: unknown = v[5], ex: unknown = v[6], dns: unknown = v[7], ips: unknown = v[8], usages: unknown = v[9], isCa: unknown = v[10], kc: unknown = v[11];
  if (typeof caDigest !== 'string' || typeof alg !== 'string' || typeof cn !== 'string') return undefined;
  if (typeof nb !== 'number' || typeof na !== 'number' || !isStrings(o) || !isStrings(dns) || !isStrings(ips) || !isStrings(usages)) return undefined;
  const extras = extrasOf(ex);
  if (!extras || (isCa !== 0 && isCa !== 1)) return undefined;
  let kubeconfig: KubeconfigReading | undefined;
  if (kc !== 0) {
    if (!Array.isArray(kc) || kc.length !== 5) return undefined;
    const server: unknown = kc[0], clusterName: unknown = kc[1], user: unknown = kc[2], ca: unknown = kc[3], own: unknown = kc[4];
    if (typeof server !== 'string' || typeof clusterName !== 'string' || typeof user !== 'string' || typeof ca !== 'string' || (own !== 0 && own !== 1)) return undefined;
    kubeconfig = { server, clusterName, user, caDigest: ca, own: own === 1 };
  }
  // One object shape for every reading (thousands are built per run).
  return {
    caDigest,
    algorithm: (KEY_ALGORITHMS as readonly string[]).includes(alg) ? (alg as KeyAlgorithm) : undefined,
    notBefore: new Date(nb), notAfter: new Date(na),
    profile: { cn, o, extras, dns, ips, usages, isCa: isCa === 1 },
    kubeconfig,
  };
}

function toStored(r: LeafReading): Stored {
  const p = r.profile;
  const k = r.kubeconfig;
  return [
    r.caDigest, r.algorithm ?? '-', r.notBefore.getTime(), r.notAfter.getTime(),
    p.cn, [...p.o], { ...p.extras }, [...p.dns], [...p.ips], [...p.usages], p.isCa ? 1 : 0,
    k ? [k.server, k.clusterName, k.user, k.caDigest, k.own ? 1 : 0] : 0,
  ];
}

/** A reading as the record stores it (one JSON array). */
export function readingToJson(r: LeafReading): string {
  return JSON.stringify(toStored(r));
}

/** A stored reading, or undefined for anything not exactly the shape written (never trusted half-way). */
export function readingFromJson(json: string): LeafReading | undefined {
  try {
    return fromStored(JSON.parse(json));
  } catch {
    return undefined;
  }
}

/** A reading of a certificate known to be good: what the next run needs to skip reading it. */
export function leafReading(cert: ObservedCert, caDigest: string, algorithm: KeyAlgorithm | undefined, kubeconfig?: KubeconfigReading): LeafReading {
  return {
    caDigest, ...(algorithm ? { algorithm } : {}),
    notBefore: cert.notBefore, notAfter: cert.notAfter, profile: cert.profile,
    ...(kubeconfig ? { kubeconfig } : {}),
  };
}

const CERT_BEGIN = '-----BEGIN CERTIFICATE-----';

/** What `kpki check` needs to know of a certificate read in full (x509/facts.ts), and what its reading vouches for. */
export function certFacts(cert: ObservedCert, reading: LeafReading): StoredFacts {
  const k = reading.kubeconfig;
  return storeFacts(cert.parsed, hash('sha256', cert.der, 'hex'), cert.pem.indexOf(CERT_BEGIN) !== cert.pem.lastIndexOf(CERT_BEGIN), {
    ca: reading.caDigest, ...(k?.own ? { kca: k.caDigest } : {}),
  });
}
