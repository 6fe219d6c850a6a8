/**
 * TEST ORACLE, not product code: an independent encoder built on @peculiar/x509, used to
 * cross-check pki/x509/certificate.ts byte for byte. Builds certificates from a CertProfile, encoded the way kubeadm's Go
 * code does it: subject O before CN, random positive serial, critical basicConstraints and
 * keyUsage (digitalSignature, plus keyEncipherment for RSA subject keys only as RFC 5480 /
 * RFC 8813 require, keyCertSign on CAs), SKI on CAs only, AKI on leaves, EKU not critical,
 * SANs: DNS sorted then IPs. The key usage rule reads the subject key with node:crypto, not
 * with the code under test.
 */
import { createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import { x509 } from './peculiar-lib.js';
import type { CertProfile } from '../../pki/catalog/resolve.js';
import type { Usage } from '../../pki/catalog/types.js';

const EKU_OID: Record<Usage, string> = {
  serverAuth: x509.ExtendedKeyUsage.serverAuth,
  clientAuth: x509.ExtendedKeyUsage.clientAuth,
};

/** A CA ready to sign: its parsed certificate, signing key and key identifier. */
export interface Signer {
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
  readonly algorithm: Algorithm;
  /** Hex SKI of the CA, copied into each leaf's AKI. */
  readonly keyId: string;
}

export interface IssueParams {
  readonly profile: CertProfile;
  readonly spkiDer: Uint8Array<ArrayBuffer>;
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Subject in Go's DER order: C, ST, L, O, OU (CA extras), then CN. */
export function subjectOf(p: CertProfile): x509.JsonName {
  const name: x509.JsonName = [];
  const { C, ST, L, O, OU } = p.extras;
  if (C) name.push({ C: [C] });
  if (ST) name.push({ ST: [ST] });
  if (L) name.push({ L: [L] });
  const orgs = [...(O ? [O] : []), ...p.o];
  if (orgs.length) name.push({ O: orgs });
  if (OU) name.push({ OU: [OU] });
  name.push({ CN: [p.cn] });
  return name;
}

function sanExtension(p: CertProfile): x509.Extension[] {
  const names: x509.JsonGeneralNames = [
    ...p.dns.map((value) => ({ type: 'dns' as const, value })),
    ...p.ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  return names.length ? [new x509.SubjectAlternativeNameExtension(names, false)] : [];
}

/** digitalSignature, and keyEncipherment only when the subject key is RSA. */
function leafKeyUsage(spkiDer: Uint8Array<ArrayBuffer>): number {
  const type = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' }).asymmetricKeyType;
  const ds = x509.KeyUsageFlags.digitalSignature;
  return type === 'rsa' ? ds | x509.KeyUsageFlags.keyEncipherment : ds;
}

export async function issueCa(
  params: IssueParams,
  key: CryptoKey,
  algorithm: Algorithm,
  crypto: Crypto,
): Promise<x509.X509Certificate> {
  const ski = await x509.SubjectKeyIdentifierExtension.create(params.spkiDer, false, crypto);
  const name = subjectOf(params.profile);
  return x509.X509CertificateGenerator.create(
    {
      serialNumber: params.serialHex,
      subject: name,
      issuer: name,
      notBefore: params.notBefore,
      notAfter: params.notAfter,
      publicKey: params.spkiDer,
      signingKey: key,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.KeyUsagesExtension(leafKeyUsage(params.spkiDer) | x509.KeyUsageFlags.keyCertSign, true),
        new x509.BasicConstraintsExtension(true, undefined, true),
        ski,
        ...sanExtension(params.profile),
      ],
    },
    crypto,
  );
}

export async function issueLeaf(params: IssueParams, signer: Signer, crypto: Crypto): Promise<x509.X509Certificate> {
  const p = params.profile;
  return x509.X509CertificateGenerator.create(
    {
      serialNumber: params.serialHex,
      subject: subjectOf(p),
      issuer: signer.cert.subjectName,
      notBefore: params.notBefore,
      notAfter: params.notAfter,
      publicKey: params.spkiDer,
      signingKey: signer.key,
      signingAlgorithm: signer.algorithm,
      extensions: [
        new x509.KeyUsagesExtension(leafKeyUsage(params.spkiDer), true),
        ...(p.usages.length ? [new x509.ExtendedKeyUsageExtension(p.usages.map((u) => EKU_OID[u]), false)] : []),
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.AuthorityKeyIdentifierExtension(signer.keyId, false),
        ...sanExtension(p),
      ],
    },
    crypto,
  );
}

/** Web Crypto's name for each NIST curve (node:crypto reports OpenSSL's) and the hash Go pairs with it. */
const CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

export type SigningAlgorithm = RsaHashedImportParams | (EcKeyImportParams & { hash: string }) | { name: 'Ed25519' };

/**
 * The signature algorithm Go's x509 picks for a key: RSA PKCS#1 v1.5 with SHA-256; ECDSA
 * with SHA-256 / SHA-384 / SHA-512 on P-256 / P-384 / P-521; pure Ed25519.
 */
export function signingAlgorithmFor(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  if (key.asymmetricKeyType === 'ed25519') return { name: 'Ed25519' };
  const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (key.asymmetricKeyType !== 'ec' || !curve) throw new Error(`oracle: no signing algorithm for ${key.asymmetricKeyType}`);
  return { name: 'ECDSA', ...curve };
}

/** Imports a private key into Web Crypto for signing certificates. */
export async function toSigningKey(key: KeyObject): Promise<CryptoKey> {
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', pkcs8, signingAlgorithmFor(key), false, ['sign']) as Promise<CryptoKey>;
}
