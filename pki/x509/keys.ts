/**
 * Key generation and conversion on Node's crypto. Keys are generated with the async
 * `generateKeyPair`, which runs on libuv's thread pool and encodes the PEM there too, so
 * many keys in flight keep every core busy while the main thread signs.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import type { KeyMaterial } from '../deps.js';
import type { KeyAlgorithm } from '../plan/types.js';
import { PemError } from '../errors.js';

type KeySpec =
  | { type: 'rsa'; modulusLength: number }
  | { type: 'ec'; namedCurve: 'P-256' | 'P-384' };

const SPECS: Record<KeyAlgorithm, KeySpec> = {
  'rsa-2048': { type: 'rsa', modulusLength: 2048 },
  'rsa-3072': { type: 'rsa', modulusLength: 3072 },
  'rsa-4096': { type: 'rsa', modulusLength: 4096 },
  'ecdsa-p256': { type: 'ec', namedCurve: 'P-256' },
  'ecdsa-p384': { type: 'ec', namedCurve: 'P-384' },
};

export async function generateKey(algorithm: KeyAlgorithm): Promise<KeyMaterial> {
  const spec = SPECS[algorithm];
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  const done = (resolve: (k: KeyMaterial) => void, reject: (e: Error) => void) => (err: Error | null, pub: Buffer, priv: string) =>
    err ? reject(err) : resolve({ algorithm, privatePem: priv, spkiDer: new Uint8Array(pub) });
  return new Promise((resolve, reject) => {
    if (spec.type === 'rsa') {
      generateKeyPair('rsa', {
          modulusLength: spec.modulusLength, publicExponent: 65537, publicKeyEncoding,
          privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
        }, done(resolve, reject));
    } else {
      generateKeyPair('ec', {
          namedCurve: spec.namedCurve, publicKeyEncoding, privateKeyEncoding: { type: 'sec1', format: 'pem' },
        }, done(resolve, reject));
    }
  });
}

/** The algorithm of a key as the plan names it; undefined for key types kpki does not issue. */
export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm | undefined {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa' && d?.modulusLength) {
    const alg = `rsa-${d.modulusLength}`;
    return alg in SPECS ? (alg as KeyAlgorithm) : undefined;
  }
  if (key.asymmetricKeyType === 'ec') {
    if (d?.namedCurve === 'prime256v1') return 'ecdsa-p256';
    if (d?.namedCurve === 'secp384r1') return 'ecdsa-p384';
  }
  return undefined;
}

/** NIST names for the curves people know by them; others keep OpenSSL's name. */
const CURVE_NAMES: ReadonlyMap<string, string> = new Map([['prime256v1', 'P-256'], ['secp384r1', 'P-384'], ['secp521r1', 'P-521']]);

/** A key's type and size as a person names it, for messages: "1024-bit RSA", "EC secp256k1", "DSA". */
export function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return d?.modulusLength ? `${d.modulusLength}-bit RSA` : 'RSA';
    case 'rsa-pss':
      return d?.modulusLength ? `${d.modulusLength}-bit RSA-PSS` : 'RSA-PSS';
    case 'dsa':
      return d?.modulusLength ? `${d.modulusLength}-bit DSA` : 'DSA';
    case 'ec':
      return `EC ${CURVE_NAMES.get(d?.namedCurve ?? '') ?? d?.namedCurve ?? 'unknown-curve'}`;
    case 'ed25519': case 'ed448': case 'x25519': case 'x448':
      return key.asymmetricKeyType.replace(/^ed/, 'Ed').replace(/^x/, 'X');
    default:
      return key.asymmetricKeyType ?? 'unknown';
  }
}

/** Parses a private key PEM (PKCS#1, SEC1 or PKCS#8); a bad one is an error naming the file. */
export function readPrivateKey(pem: string, file: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (cause) {
    throw new PemError(file, 'not a readable private key PEM', { cause });
  }
}

export function spkiOf(key: KeyObject): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
}

export function publicKeyPem(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
}
