/**
 * CA signing behind one interface: a CA key is found by its key identifier (the SKI its
 * certificates' AKI names) and asked to sign bytes. gen, renew and rotate sign every
 * certificate through it, so a key held elsewhere (an HSM over PKCS#11) is one more
 * implementation of `CaSigner`, with no change to the pipeline. Only the file-backed one exists.
 */
import { createPrivateKey, sign } from 'node:crypto';
import { encodeTbs, resignedTbs, signatureSchemeFor, toPem, type EncodedCertificate, type SignatureScheme, type TbsParams } from '../x509/certificate.js';
import { bits, seq, toBytes } from '../x509/der.js';

export interface CaSigner {
  /** The key identifier (SKI) of the CA key: what leaves name in their AKI. */
  readonly keyId: Uint8Array;
  /** How this key signs (algorithm identifier, digest). */
  readonly scheme: SignatureScheme;
  /** A signature over `data` in X.509's encoding for `scheme`. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** Key id (hex) → signer: where the pipeline looks a CA key up. */
export interface SignerRegistry {
  get(keyIdHex: string): CaSigner | undefined;
}

export const keyIdHex = (keyId: Uint8Array): string => Buffer.from(keyId).toString('hex');

/** A CA key in a PEM file (text given). `keyFile` names it in the error for a key kpki cannot sign with. */
export function fileSigner(keyPem: string, keyId: Uint8Array, keyFile: string): CaSigner {
  const key = createPrivateKey(keyPem);
  const scheme = signatureSchemeFor(key, keyFile);
  return {
    keyId, scheme,
    // Offloaded schemes (RSA, P-521) sign on libuv's pool; P-256 and Ed25519 inline (see SignatureScheme).
    sign: (data) => scheme.offload
      ? new Promise((resolve, reject) => sign(scheme.hash, data, key, (err, sig) => (err ? reject(err) : resolve(sig))))
      : Promise.resolve(sign(scheme.hash, data, key)),
  };
}

/** A registry over the given signers, by key id. */
export function signerRegistry(signers: Iterable<CaSigner>): SignerRegistry {
  const byId = new Map<string, CaSigner>();
  for (const s of signers) byId.set(keyIdHex(s.keyId), s);
  return { get: (id) => byId.get(id) };
}

/** A certificate with the TBS `p`, signed by `signer` (its scheme goes into the TBS). */
export async function signCertificate(p: Omit<TbsParams, 'scheme'>, signer: CaSigner): Promise<EncodedCertificate> {
  return signed(encodeTbs({ ...p, scheme: signer.scheme }), signer);
}

/** `der` issued again by `signer` with a new serial and validity, every other field as it is (`ca extend`). */
export async function resignWith(der: Uint8Array, p: { serialHex: string; notBefore: Date; notAfter: Date }, signer: CaSigner): Promise<EncodedCertificate> {
  return signed(resignedTbs(der, { ...p, scheme: signer.scheme }), signer);
}

async function signed(tbs: Uint8Array, signer: CaSigner): Promise<EncodedCertificate> {
  const signature = await signer.sign(tbs);
  const der = toBytes(seq(tbs, signer.scheme.algorithmId, bits(signature)));
  return { der, pem: toPem(der) };
}
