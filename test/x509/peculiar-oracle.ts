/**
 * TEST ORACLE, not product code: an independent encoder built on @peculiar/x509, used to
 * cross-check pki/x509/certificate.ts byte for byte. Builds certificates from a CertProfile, encoded the way kubeadm's Go
 * code does it: subject O before CN, random positive serial, critical basicConstraints and
 * keyUsage (digitalSignature + keyEncipherment, keyCertSign on CAs), SKI on CAs only,
 * AKI on leaves, EKU not critical, SANs: DNS sorted then IPs.
 */
import { webcrypto, type KeyObject } from 'node:crypto';
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

const LEAF_KU = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;

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
        new x509.KeyUsagesExtension(LEAF_KU | x509.KeyUsageFlags.keyCertSign, true),
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
        new x509.KeyUsagesExtension(LEAF_KU, true),
        ...(p.usages.length ? [new x509.ExtendedKeyUsageExtension(p.usages.map((u) => EKU_OID[u]), false)] : []),
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.AuthorityKeyIdentifierExtension(signer.keyId, false),
        ...sanExtension(p),
      ],
    },
    crypto,
  );
}

/** The signature algorithm Go's x509 picks for a key: SHA-256, or SHA-384 on P-384. */
export function signingAlgorithmFor(key: KeyObject): RsaHashedImportParams | EcKeyImportParams & { hash: string } {
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const p384 = key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
  return { name: 'ECDSA', namedCurve: p384 ? 'P-384' : 'P-256', hash: p384 ? 'SHA-384' : 'SHA-256' };
}

/** Imports a private key into Web Crypto for signing certificates. */
export async function toSigningKey(key: KeyObject): Promise<CryptoKey> {
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', pkcs8, signingAlgorithmFor(key), false, ['sign']) as Promise<CryptoKey>;
}
