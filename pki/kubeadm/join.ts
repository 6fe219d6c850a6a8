/**
 * The facts a node needs to join: the discovery CA hash, a bootstrap token, a certificate key.
 * Formats are kubeadm's, so the values paste straight into `kubeadm join`.
 */
import { createHash, randomBytes as nodeRandomBytes, X509Certificate } from 'node:crypto';
import type { Deps } from '../deps.js';
import { PemError } from '../errors.js';

/**
 * `sha256:<hex>` over the CA's DER SubjectPublicKeyInfo, as `--discovery-token-ca-cert-hash`
 * wants. Takes the SPKI DER, or the CA certificate as PEM text.
 */
export function caCertHash(ca: Uint8Array | string): string {
  let spki: Uint8Array = ca as Uint8Array;
  if (typeof ca === 'string') {
    try {
      spki = new X509Certificate(ca).publicKey.export({ type: 'spki', format: 'der' });
    } catch (cause) {
      throw new PemError('<CA certificate>', 'not a readable PEM certificate', { cause });
    }
  }
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Node's CSPRNG, the default source of every secret here. */
const cryptoRandom: Deps['randomBytes'] = (n) => new Uint8Array(nodeRandomBytes(n));

/** Unbiased draw from [a-z0-9] by rejection sampling (256 is not a multiple of 36). */
function randomString(length: number, randomBytes: Deps['randomBytes']): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 252 && out.length < length) out += TOKEN_ALPHABET[b % 36];
    }
  }
  return out;
}

/** A bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}`; pass `randomBytes` only to pin it in tests. */
export function bootstrapToken(randomBytes: Deps['randomBytes'] = cryptoRandom): string {
  return `${randomString(6, randomBytes)}.${randomString(16, randomBytes)}`;
}

/** 32 random bytes as 64 lowercase hex characters (`kubeadm certs certificate-key`). */
export function certificateKey(randomBytes: Deps['randomBytes'] = cryptoRandom): string {
  return Buffer.from(randomBytes(32)).toString('hex');
}
