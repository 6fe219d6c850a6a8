/**
 * The rotation's new credentials, made once (trust / overlap) and recorded before use: a new
 * CA key and self-signed certificate with the same subject as the plan's CA, and the same
 * certificate issued by the old CA (the cross-signature k3s also uses), so that a client that
 * trusts only the old CA still verifies a chain ending in a leaf of the new one.
 */
import type { ResolvedCa } from '../catalog/resolve.js';
import { BACKDATE_MS } from '../assess/policy.js';
import type { Deps } from '../deps.js';
import { issuerFrom, serialFrom } from '../issue/credentials.js';
import { fileSigner, signCertificate } from '../issue/signer.js';
import type { KeyAlgorithm } from '../plan/types.js';
import { encodeName, keyIdentifier } from '../x509/certificate.js';
import { publicKeyPem } from '../x509/keys.js';
import { createPrivateKey } from 'node:crypto';

export interface NewCa {
  readonly certPem: string;
  readonly keyPem: string;
  readonly crossPem: string;
}

export async function newCa(
  item: ResolvedCa, old: { certPem: string; keyPem: string; keyFile: string }, alg: KeyAlgorithm, validityMs: number,
  deps: Pick<Deps, 'now' | 'randomBytes' | 'generateKey'>,
): Promise<NewCa> {
  const key = await deps.generateKey(alg);
  const now = deps.now().getTime();
  const notBefore = new Date(now - BACKDATE_MS);
  const notAfter = new Date(now + validityMs);
  const keyId = keyIdentifier(key.spkiDer);
  const serial = () => serialFrom(deps.randomBytes(8));
  const self = fileSigner(key.privatePem, keyId, 'the new CA key');
  const { pem } = await signCertificate({
    profile: item.profile, spkiDer: key.spkiDer, serialHex: serial(), notBefore, notAfter, issuerNameDer: encodeName(item.profile), subjectKeyId: keyId,
  }, self);
  // Issued by the old CA: its subject as encoded, its key id as AKI, never past its NotAfter.
  const parent = issuerFrom(old.certPem, old.keyPem, old.keyFile);
  const cross = await signCertificate({
    profile: item.profile, spkiDer: key.spkiDer, serialHex: serial(), notBefore,
    notAfter: new Date(Math.min(notAfter.getTime(), parent.issuer.notAfter.getTime())),
    issuerNameDer: parent.issuer.subjectDer, subjectKeyId: keyId, authorityKeyId: parent.issuer.keyId,
  }, parent.signer);
  return { certPem: pem, keyPem: key.privatePem, crossPem: cross.pem };
}

/** A new service-account key pair. */
export async function newSaKey(alg: KeyAlgorithm, deps: Pick<Deps, 'generateKey'>): Promise<{ keyPem: string; pubPem: string }> {
  const key = await deps.generateKey(alg);
  return { keyPem: key.privatePem, pubPem: publicKeyPem(createPrivateKey(key.privatePem)) };
}
