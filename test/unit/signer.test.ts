/**
 * The CA signer interface (pki/issue/signer.ts): a certificate signed through a signer that
 * exposes nothing but a key id and sign(bytes), as a key held in an HSM would, verifies with
 * Node's X509 (OpenSSL) against the CA; the registry finds signers by key id only.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { encodeName, keyIdentifier, signatureSchemeFor } from '../../pki/x509/certificate.js';
import { keyIdHex, signCertificate, signerRegistry, type CaSigner } from '../../pki/issue/signer.js';
import { spkiOf } from '../../pki/x509/keys.js';

test('a signer that only signs bytes issues a CA and a leaf that verify; the registry finds it by key id', async () => {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyId = keyIdentifier(spkiOf(ca.privateKey));
  let calls = 0;
  // No key material leaves this closure: what a PKCS#11 token would offer.
  const hsm: CaSigner = { keyId, scheme: signatureSchemeFor(ca.privateKey), sign: async (data) => (calls++, sign('sha256', data, ca.privateKey)) };
  const registry = signerRegistry([hsm]);
  assert.is(registry.get(keyIdHex(keyId)), hsm);
  assert.is(registry.get('00'), undefined);
  const profile = { cn: 'hsm-ca', o: [], extras: {}, dns: [], ips: [], usages: [], isCa: true } as const;
  const now = new Date();
  const later = new Date(now.getTime() + 86_400_000);
  const caCert = await signCertificate({ profile, spkiDer: spkiOf(ca.privateKey), serialHex: '01', notBefore: now, notAfter: later, issuerNameDer: encodeName(profile), subjectKeyId: keyId }, registry.get(keyIdHex(keyId))!);
  const leafProfile = { cn: 'leaf', o: ['group'], extras: {}, dns: ['leaf.example.internal'], ips: ['127.0.0.1'], usages: ['serverAuth'], isCa: false } as const;
  const leafCert = await signCertificate({ profile: leafProfile, spkiDer: spkiOf(leaf.privateKey), serialHex: '02', notBefore: now, notAfter: later, issuerNameDer: encodeName(profile), authorityKeyId: keyId }, hsm);
  assert.is(calls, 2);
  const caX = new X509Certificate(caCert.pem);
  const leafX = new X509Certificate(leafCert.pem);
  assert.ok(caX.verify(ca.publicKey), 'the CA is self-signed by the HSM key');
  assert.ok(leafX.checkIssued(caX) && leafX.verify(caX.publicKey), 'the leaf chains to it');
  assert.not.ok(leafX.verify(leaf.publicKey));
});

test.run();
