/**
 * Real certificates for the reader tests: some encoded by kpki (pki/x509/certificate.ts), some
 * by openssl with the features kpki never writes (unknown EKU, a critical private extension,
 * e-mail / URI / otherName / dirName SANs, pathlen, UTF-8 and escaped names, GeneralizedTime
 * after 2049, v1, Ed25519, P-521, RSASSA-PSS, SHA-1 / SHA-512 signatures).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertProfile } from '../../pki/catalog/resolve.js';
import type { KeyAlgorithm } from '../../pki/plan/types.js';
import { createCertificate, encodeName, keyIdentifier } from '../../pki/x509/certificate.js';
import { runSync } from '../support/proc.js';

export interface Fixture {
  readonly name: string;
  readonly pem: string;
  readonly der: Uint8Array;
  /** A PEM file holding it, for openssl. */
  readonly file: string;
}

export const dir = mkdtempSync(join(tmpdir(), 'kpki-reader-'));

export function openssl(args: readonly string[], input?: string): string {
  const r = runSync('openssl', args, { cwd: dir, input });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function pemToDer(pem: string): Uint8Array {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

function fixture(name: string, pem: string): Fixture {
  const file = join(dir, `${name}.pem`);
  writeFileSync(file, pem);
  return { name, pem, der: pemToDer(pem), file };
}

const profile = (p: Partial<CertProfile> & { cn: string }): CertProfile =>
  ({ o: [], extras: {}, dns: [], ips: [], usages: [], isCa: false, ...p });

function spki(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
}

function keyPair(alg: KeyAlgorithm): { priv: KeyObject; pub: KeyObject } {
  const pair = alg.startsWith('rsa')
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: alg === 'ecdsa-p384' ? 'P-384' : 'P-256' });
  return { priv: pair.privateKey, pub: pair.publicKey };
}

// Whole seconds, as certificates carry.
export const KPKI_NOT_BEFORE = new Date(Date.UTC(2025, 0, 31, 23, 55, 0));
export const KPKI_NOT_AFTER = new Date(Date.UTC(2026, 1, 28, 12, 0, 59));
export const KPKI_CA_NOT_AFTER = new Date(Date.UTC(2035, 0, 29, 23, 55, 0));

/** A CA and leaves from kpki's own encoder, for one key algorithm. */
export async function kpkiCerts(alg: KeyAlgorithm): Promise<Fixture[]> {
  const ca = keyPair(alg);
  const leaf = keyPair(alg);
  const caProfile = profile({ cn: 'kubernetes', dns: ['kubernetes'], isCa: true, extras: { C: 'US', O: 'Example' } });
  const issuerNameDer = encodeName(caProfile);
  const caKeyId = keyIdentifier(spki(ca.pub));
  const issue = async (name: string, p: CertProfile, serialHex: string): Promise<Fixture> => {
    const { pem } = await createCertificate({
      profile: p, spkiDer: spki(p.isCa ? ca.pub : leaf.pub), serialHex,
      notBefore: KPKI_NOT_BEFORE, notAfter: p.isCa ? KPKI_CA_NOT_AFTER : KPKI_NOT_AFTER,
      issuerNameDer, signingKey: ca.priv, ...(p.isCa ? {} : { authorityKeyId: caKeyId }),
    });
    return fixture(`kpki-${alg}-${name}`, pem);
  };
  return [
    await issue('ca', caProfile, '3f1e2d3c4b5a6978'),
    await issue('apiserver', profile({
      cn: 'kube-apiserver', usages: ['serverAuth'],
      dns: ['cp-1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
      ips: ['10.96.0.1', '192.0.2.11', 'fd00:10:96::1'],
    }), 'ff00000000000001'),
    await issue('kubelet-client', profile({ cn: 'system:node:w1', o: ['system:nodes'], usages: ['clientAuth'] }), '01'),
    await issue('etcd-peer', profile({ cn: 'cp-1', usages: ['serverAuth', 'clientAuth'], dns: ['cp-1', 'localhost'], ips: ['192.0.2.11', '127.0.0.1', '::1'] }), '7fffffffffffffff'),
  ];
}

const MANY_EXT = `
[ext]
basicConstraints=critical,CA:TRUE,pathlen:2
keyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment,keyAgreement,keyCertSign,cRLSign,encipherOnly
extendedKeyUsage=serverAuth,clientAuth,codeSigning,1.3.6.1.4.1.55555.1
subjectAltName=DNS:b.example,DNS:a.example,IP:192.0.2.7,IP:2001:db8::7,email:ops@example.org,URI:spiffe://cluster.local/ns/x,otherName:1.2.3.4;UTF8:hello,dirName:dir_sect
1.3.6.1.4.1.55555.2=critical,ASN1:UTF8String:must-understand
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always,issuer:always
[dir_sect]
CN=Dir Name
[leaf]
basicConstraints=CA:FALSE
keyUsage=digitalSignature
extendedKeyUsage=serverAuth,emailProtection,timeStamping,OCSPSigning,anyExtendedKeyUsage
subjectAltName=DNS:only.example
`;

/** Certificates made by openssl, with the features listed at the top of this file. */
export function opensslCerts(): Fixture[] {
  writeFileSync(join(dir, 'ext.cnf'), MANY_EXT);
  const out: Fixture[] = [];
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  // An RSA root, and a CA:TRUE "everything" certificate it signs with SHA-512, valid past 2049.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-subj', '/CN=Openssl Root', '-days', '3650']);
  out.push(fixture('openssl-root', read('root.pem')));
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'many.key', '-out', 'many.csr', '-utf8',
    '-subj', '/C=DE/ST=Bayern/L=München/O=Ops Org/O=Second Org/OU=Unit/CN=#weird, name\\+plus;']);
  openssl(['x509', '-req', '-in', 'many.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', '0xF1E2D3C4B5A69788',
    '-days', '9000', '-extfile', 'ext.cnf', '-extensions', 'ext', '-sha512', '-out', 'many.pem']);
  out.push(fixture('openssl-many', read('many.pem')));
  // A P-521 leaf with every named EKU, signed by the root with SHA-1.
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521', '-nodes', '-keyout', 'p521.key', '-out', 'p521.csr', '-subj', '/O=a/O=b/CN=p521 leaf']);
  openssl(['x509', '-req', '-in', 'p521.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', '0', '-days', '30',
    '-extfile', 'ext.cnf', '-extensions', 'leaf', '-sha1', '-out', 'p521.pem']);
  out.push(fixture('openssl-p521', read('p521.pem')));
  // Ed25519, self-signed, UTF-8 names, GeneralizedTime notAfter.
  openssl(['req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', 'ed.key', '-out', 'ed.pem', '-utf8', '-subj', '/CN=Zürich 日本/O=Örg', '-days', '10000']);
  out.push(fixture('openssl-ed25519', read('ed.pem')));
  // A v1 certificate (no extensions): openssl x509 -req without an extension file.
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'v1.key', '-out', 'v1.csr', '-subj', '/CN=version one']);
  openssl(['x509', '-req', '-in', 'v1.csr', '-signkey', 'v1.key', '-days', '5', '-set_serial', '1234567', '-out', 'v1.pem']);
  out.push(fixture('openssl-v1', read('v1.pem')));
  // RSASSA-PSS key and signature.
  openssl(['req', '-x509', '-newkey', 'rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048', '-nodes', '-keyout', 'pss.key', '-out', 'pss.pem', '-subj', '/CN=pss', '-days', '20']);
  out.push(fixture('openssl-pss', read('pss.pem')));
  return out;
}

/** kpki's ECDSA and RSA sets plus the openssl ones. */
export async function allFixtures(): Promise<Fixture[]> {
  return [...(await kpkiCerts('ecdsa-p256')), ...(await kpkiCerts('rsa-2048')), ...opensslCerts()];
}
