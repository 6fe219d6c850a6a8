/**
 * The hand-rolled DER encoder and certificate builder: known encodings for the primitives,
 * then real certificates checked with openssl, Node's X509Certificate and @peculiar/x509, and
 * a byte-for-byte comparison of the TBSCertificate with the @peculiar/x509 path in issue.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPublicKey, generateKeyPairSync, randomBytes, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertProfile } from '../../pki/catalog/resolve.js';
import type { KeyAlgorithm } from '../../pki/plan/types.js';
import {
  bits, bool, explicit, ia5, implicitPrimitive, int, intSmall, nul, octets, oid, printable, readTlv, seq, set, time,
  toBytes, utf8, type Der,
} from '../../pki/x509/der.js';
import {
  createCertificate, encodeName, encodeTbs, keyIdentifier, signatureSchemeFor, type TbsParams,
} from '../../pki/x509/certificate.js';
import { KpkiError } from '../../pki/errors.js';
import { issueCa, issueLeaf, signingAlgorithmFor, toSigningKey, type Signer } from './peculiar-oracle.js';
import { x509 } from './peculiar-lib.js';
import { runSync } from '../support/proc.js';

// ---------------------------------------------------------------------------------------------
// Helpers

const hex = (b: Uint8Array | ArrayBuffer): string => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');
const enc = (d: Der): string => hex(toBytes(d));
const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
/** openssl's key id style: upper-case hex pairs joined by ':'. */
const colonHex = (b: Uint8Array): string => hex(b).toUpperCase().replace(/(..)(?!$)/g, '$1:');

const dir = mkdtempSync(join(tmpdir(), 'kpki-x509-'));

function openssl(args: readonly string[]): { code: number | null; out: string } {
  const r = runSync('openssl', args);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function mustOpenssl(args: readonly string[]): string {
  const r = openssl(args);
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} exited ${r.code}: ${r.out}`);
  return r.out;
}

function save(name: string, data: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

/** The plan's algorithms plus the two kpki only signs with, for CAs it adopts. */
type Alg = KeyAlgorithm | 'ecdsa-p521' | 'ed25519';

interface Key {
  readonly alg: Alg;
  readonly priv: KeyObject;
  readonly pub: KeyObject;
  readonly spki: Uint8Array<ArrayBuffer>;
}

const CURVE: Partial<Record<Alg, string>> = { 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384', 'ecdsa-p521': 'P-521' };

function newKey(alg: Alg): Key {
  const rsaBits = /^rsa-(\d+)$/.exec(alg)?.[1];
  const pair = rsaBits ? generateKeyPairSync('rsa', { modulusLength: Number(rsaBits) })
    : alg === 'ed25519' ? generateKeyPairSync('ed25519')
    : generateKeyPairSync('ec', { namedCurve: CURVE[alg]! });
  const spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
  return { alg, priv: pair.privateKey, pub: pair.publicKey, spki };
}

/** The TBSCertificate TLV inside a DER certificate. */
function tbsOf(der: Uint8Array): Uint8Array {
  const cert = readTlv(der, 0);
  return der.subarray(cert.start, readTlv(der, cert.start).end);
}

const profile = (p: Partial<CertProfile> & { cn: string }): CertProfile =>
  ({ o: [], extras: {}, dns: [], ips: [], usages: [], isCa: false, ...p });

const CA_PROFILE = profile({
  cn: 'kubernetes', dns: ['kubernetes'], isCa: true,
  extras: { C: 'US', ST: 'California', L: 'San Francisco', O: 'Acme, Inc.', OU: 'Platform_team' },
});
const SERVER_PROFILE = profile({
  cn: 'kube-apiserver', usages: ['serverAuth'],
  dns: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'localhost'],
  ips: ['10.96.0.1', '127.0.0.1', '::1', 'fd00::10'],
});
const CLIENT_PROFILE = profile({ cn: 'kubernetes-admin', o: ['kubeadm:cluster-admins'], usages: ['clientAuth'] });

// Whole seconds: certificates cannot carry more, and the cross-check compares dates.
const NOW = Math.floor(Date.now() / 1000) * 1000;
const NOT_BEFORE = new Date(NOW - 5 * 60_000);
const CA_NOT_AFTER = new Date(NOW + 10 * 365 * 86_400_000);
const NOT_AFTER = new Date(NOW + 365 * 86_400_000);

interface Chain {
  readonly caKey: Key;
  readonly leafKey: Key;
  readonly ski: Uint8Array;
  readonly ca: { der: Uint8Array; pem: string };
  readonly server: { der: Uint8Array; pem: string };
  readonly client: { der: Uint8Array; pem: string };
}

function tbsParams(p: CertProfile, key: Key, signer: Key, serialHex: string): TbsParams {
  const ca = p.isCa;
  return {
    profile: p, spkiDer: key.spki, serialHex, notBefore: NOT_BEFORE, notAfter: ca ? CA_NOT_AFTER : NOT_AFTER,
    issuerNameDer: encodeName(CA_PROFILE), scheme: signatureSchemeFor(signer.priv),
    ...(ca ? {} : { authorityKeyId: keyIdentifier(signer.spki) }),
  };
}

async function buildChain(caAlg: Alg, leafAlg: Alg): Promise<Chain> {
  const caKey = newKey(caAlg);
  const leafKey = newKey(leafAlg);
  const issue = (p: CertProfile, key: Key, serial: string) =>
    createCertificate({ ...tbsParams(p, key, caKey, serial), signingKey: caKey.priv });
  return {
    caKey, leafKey, ski: keyIdentifier(caKey.spki),
    ca: await issue(CA_PROFILE, caKey, '3f1e2d3c4b5a6978'),
    server: await issue(SERVER_PROFILE, leafKey, '00ff'),
    client: await issue(CLIENT_PROFILE, leafKey, '7fffffffffffffff'),
  };
}

const chains = new Map<string, Promise<Chain>>();
const chainFor = (caAlg: Alg, leafAlg: Alg): Promise<Chain> => {
  let c = chains.get(`${caAlg}/${leafAlg}`);
  if (!c) chains.set(`${caAlg}/${leafAlg}`, (c = buildChain(caAlg, leafAlg)));
  return c;
};

// ---------------------------------------------------------------------------------------------
// DER primitives

test('der: definite lengths, short and long form', () => {
  const body = (n: number) => new Uint8Array(n).fill(0xab);
  assert.is(enc(octets(body(0))), '0400');
  assert.is(enc(octets(body(127))).slice(0, 4), '047f');
  assert.is(enc(octets(body(128))).slice(0, 6), '048180');
  assert.is(enc(octets(body(255))).slice(0, 6), '0481ff');
  assert.is(enc(octets(body(256))).slice(0, 8), '04820100');
  assert.is(enc(octets(body(65535))).slice(0, 8), '0482ffff');
  assert.is(enc(octets(body(65536))).slice(0, 10), '0483010000');
  for (const n of [0, 127, 128, 256, 65536]) assert.is(toBytes(octets(body(n))).length, n + (n < 128 ? 2 : n < 256 ? 3 : n < 65536 ? 4 : 5));
  // Nesting: the outer length counts the inner header too.
  assert.is(enc(seq(octets(body(200)))).slice(0, 12), '3081cb0481c8');
  assert.is(enc(seq()), '3000');
});

test('der: INTEGER padding and minimal form', () => {
  const i = (...b: number[]) => enc(int(Uint8Array.from(b)));
  assert.is(i(0x7f), '02017f');
  assert.is(i(0x80), '02020080');
  assert.is(i(0x00, 0x00, 0x01), '020101');
  assert.is(i(0x00, 0x80), '02020080');
  assert.is(i(0x00, 0x00, 0xff, 0x01), '020300ff01');
  assert.is(i(), '020100');
  assert.is(i(0), '020100');
  assert.is(enc(intSmall(0)), '020100');
  assert.is(enc(intSmall(2)), '020102');
  assert.is(enc(intSmall(127)), '02017f');
  assert.is(enc(intSmall(128)), '02020080');
  assert.is(enc(intSmall(256)), '02020100');
  assert.throws(() => intSmall(-1), /non-negative/);
});

test('der: OBJECT IDENTIFIER', () => {
  assert.is(hex(oid('1.2.840.113549.1.1.11')), '06092a864886f70d01010b');
  assert.is(hex(oid('2.5.29.17')), '0603551d11');
  assert.is(hex(oid('2.5.4.3')), '0603550403');
  assert.is(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
  assert.is(hex(oid('1.3.6.1.5.5.7.3.1')), '06082b06010505070301');
  assert.is(hex(oid('2.999.3')), '0603883703'); // first subidentifier 2*40+999 = 1079 spans two bytes
  assert.ok(oid('2.5.29.17') === oid('2.5.29.17'), 'cached');
  for (const bad of ['1', '3.1', '1.40', '1.2.x', '1..2', '1.02']) assert.throws(() => oid(bad), /object identifier/);
});

test('der: BOOLEAN, NULL, BIT STRING, strings, tags', () => {
  assert.is(hex(bool(true)), '0101ff');
  assert.is(hex(bool(false)), '010100');
  assert.is(hex(nul()), '0500');
  assert.is(enc(bits(Uint8Array.of(0xa0), 5)), '030205a0');
  assert.is(enc(bits(new Uint8Array(0))), '030100');
  assert.throws(() => bits(Uint8Array.of(1), 8));
  assert.throws(() => bits(new Uint8Array(0), 1));
  assert.is(enc(utf8('é')), '0c02c3a9');
  assert.is(enc(printable('US')), '13025553');
  assert.throws(() => printable('a*b'), /PrintableString/);
  assert.throws(() => printable('a@b'), /PrintableString/);
  assert.is(enc(ia5('a@b')), `1603${ascii('a@b')}`);
  assert.throws(() => ia5('ü'), /IA5String/);
  assert.is(enc(explicit(0, intSmall(2))), 'a003020102');
  assert.is(enc(explicit(3, seq())), 'a3023000');
  assert.is(enc(implicitPrimitive(2, Buffer.from('a.b'))), `8203${ascii('a.b')}`);
  assert.is(enc(implicitPrimitive(7, Uint8Array.of(10, 0, 0, 1))), '87040a000001');
  assert.throws(() => explicit(31, seq()), /not supported/);
});

test('der: SET OF sorts element encodings (X.690 11.6, as Go)', () => {
  const a = utf8('bb');
  const b = utf8('a');
  assert.is(enc(set(a, b)), '31070c01610c026262');
  assert.is(enc(set(b, a)), '31070c01610c026262');
});

test('der: UTCTime until 2049, GeneralizedTime from 2050 and before 1950', () => {
  const t = (iso: string) => enc(time(new Date(iso)));
  assert.is(t('2049-12-31T23:59:59Z'), `170d${ascii('491231235959Z')}`);
  assert.is(t('2050-01-01T00:00:00Z'), `180f${ascii('20500101000000Z')}`);
  assert.is(t('1950-01-01T00:00:00Z'), `170d${ascii('500101000000Z')}`);
  assert.is(t('1949-12-31T23:59:59Z'), `180f${ascii('19491231235959Z')}`);
  assert.is(t('2000-02-29T01:02:03Z'), `170d${ascii('000229010203Z')}`);
  assert.is(t('2025-06-01T12:00:00.999Z'), `170d${ascii('250601120000Z')}`, 'fractions truncated');
  assert.is(t('2025-06-01T14:00:00+02:00'), `170d${ascii('250601120000Z')}`, 'always UTC');
  assert.throws(() => time(new Date(NaN)), /out of range/);
});

// ---------------------------------------------------------------------------------------------
// Names and key identifiers

test('encodeName: Go order, PrintableString when possible, one RDN per attribute type', () => {
  const name = toBytes(seq(
    set(seq(oid('2.5.4.6'), printable('US'))),
    set(seq(oid('2.5.4.8'), printable('California'))),
    set(seq(oid('2.5.4.7'), printable('San Francisco'))),
    set(seq(oid('2.5.4.10'), printable('Acme, Inc.'))),
    set(seq(oid('2.5.4.11'), utf8('Platform_team'))), // '_' is not PrintableString
    set(seq(oid('2.5.4.3'), printable('kubernetes'))),
  ));
  assert.is(hex(encodeName(CA_PROFILE)), hex(name));
  // ':' is PrintableString; '*', '&' and '@' are not (Go's marshaller rejects '*' and '&').
  const client = encodeName(profile({ cn: 'system:node:a*b', o: ['system:nodes'] }));
  assert.is(hex(client), enc(seq(
    set(seq(oid('2.5.4.10'), printable('system:nodes'))),
    set(seq(oid('2.5.4.3'), utf8('system:node:a*b'))),
  )));
  // Several O values share one RDN, sorted by encoding as Go's SET OF marshalling does.
  const multi = encodeName(profile({ cn: 'x', o: ['system:nodes', 'b'], extras: { O: 'Z org' } }));
  assert.is(hex(multi), enc(seq(
    set(seq(oid('2.5.4.10'), printable('b')), seq(oid('2.5.4.10'), printable('Z org')), seq(oid('2.5.4.10'), printable('system:nodes'))),
    set(seq(oid('2.5.4.3'), printable('x'))),
  )));
});

test('encodeName: values are literal, not DN-string syntax (as Go; @peculiar/x509 would unquote or hex-decode)', () => {
  for (const v of ['"quoted"', '#0101', 'a\\,b', 'a+b=c']) {
    const type = v === 'a+b=c' ? printable(v) : utf8(v);
    assert.is(hex(encodeName(profile({ cn: v }))), enc(seq(set(seq(oid('2.5.4.3'), type)))), v);
  }
});

for (const alg of ['ecdsa-p256', 'rsa-2048', 'ed25519'] as const) {
  test(`keyIdentifier (${alg}) equals the SKI openssl derives for the same key`, () => {
    const key = newKey(alg);
    const keyFile = save(`ski-${alg}.key`, key.priv.export({ type: 'pkcs8', format: 'pem' }));
    const certFile = join(dir, `ski-${alg}.pem`);
    mustOpenssl(['req', '-new', '-x509', '-key', keyFile, '-subj', '/CN=ski', '-days', '1', '-out', certFile]);
    const out = mustOpenssl(['x509', '-in', certFile, '-noout', '-ext', 'subjectKeyIdentifier']);
    assert.ok(out.includes(colonHex(keyIdentifier(key.spki))), out);
  });
}

test('keyIdentifier rejects what is not an SPKI', () => {
  assert.throws(() => keyIdentifier(Uint8Array.of(0x30, 0x00)));
  assert.throws(() => keyIdentifier(Uint8Array.of(0x04, 0x01, 0x00)));
});

// ---------------------------------------------------------------------------------------------
// Certificates, checked with real tools

const SIG_ALG: Partial<Record<Alg, string>> = {
  'ecdsa-p256': 'ecdsa-with-SHA256', 'ecdsa-p384': 'ecdsa-with-SHA384', 'ecdsa-p521': 'ecdsa-with-SHA512',
  'rsa-2048': 'sha256WithRSAEncryption', ed25519: 'ED25519',
};
/** openssl's keyUsage line by SUBJECT key: keyEncipherment for RSA only (RFC 5480 §3, RFC 8813 §3). */
const KU_TEXT = (alg: Alg, ca: boolean): string =>
  ['Digital Signature', ...(alg.startsWith('rsa') ? ['Key Encipherment'] : []), ...(ca ? ['Certificate Sign'] : [])].join(', ');
const SUBJECT_TEXT = 'C = US, ST = California, L = San Francisco, O = "Acme, Inc.", OU = Platform_team, CN = kubernetes';

/** CA key / leaf key: the plan's own pairs, adopted CAs kpki does not generate, and mixed pairs. */
const CHAINS: ReadonlyArray<readonly [Alg, Alg]> = [
  ['ecdsa-p256', 'ecdsa-p256'], ['rsa-2048', 'rsa-2048'], ['ecdsa-p384', 'ecdsa-p384'],
  ['ecdsa-p521', 'ecdsa-p256'], ['ed25519', 'ed25519'], ['ecdsa-p256', 'rsa-2048'], ['rsa-2048', 'ecdsa-p256'],
];

for (const [caAlg, leafAlg] of CHAINS) {
  const alg = `${caAlg}/${leafAlg}`;
  const files = async () => {
    const c = await chainFor(caAlg, leafAlg);
    const stem = alg.replace('/', '_');
    return {
      c,
      ca: save(`${stem}-ca.pem`, c.ca.pem),
      server: save(`${stem}-server.pem`, c.server.pem),
      client: save(`${stem}-client.pem`, c.client.pem),
    };
  };

  test(`${alg}: PEM is 64-column base64 with a trailing newline`, async () => {
    const { c } = await files();
    for (const { pem, der } of [c.ca, c.server, c.client]) {
      const lines = pem.split('\n');
      assert.is(lines[0], '-----BEGIN CERTIFICATE-----');
      assert.is(lines.at(-2), '-----END CERTIFICATE-----');
      assert.is(lines.at(-1), '');
      const body = lines.slice(1, -2);
      assert.ok(body.slice(0, -1).every((l) => l.length === 64) && (body.at(-1)?.length ?? 0) <= 64);
      assert.is(Buffer.from(body.join(''), 'base64').toString('hex'), hex(der));
    }
  });

  test(`${alg}: openssl verify accepts the chain for its purposes`, async () => {
    const f = await files();
    assert.match(mustOpenssl(['verify', '-x509_strict', '-CAfile', f.ca, '-purpose', 'sslserver', f.server]), /: OK/);
    assert.match(mustOpenssl(['verify', '-x509_strict', '-CAfile', f.ca, '-purpose', 'sslclient', f.client]), /: OK/);
    // The server certificate is not a client certificate, and a leaf is no CA.
    assert.is.not(openssl(['verify', '-CAfile', f.ca, '-purpose', 'sslclient', f.server]).code, 0);
    assert.is.not(openssl(['verify', '-CAfile', f.server, '-partial_chain', f.client]).code, 0);
  });

  test(`${alg}: openssl x509 -text shows the expected fields`, async () => {
    const f = await files();
    const ca = mustOpenssl(['x509', '-in', f.ca, '-noout', '-text']);
    const server = mustOpenssl(['x509', '-in', f.server, '-noout', '-text']);
    const client = mustOpenssl(['x509', '-in', f.client, '-noout', '-text']);
    const ski = colonHex(f.c.ski);
    for (const t of [ca, server, client]) {
      assert.match(t, 'Version: 3 (0x2)');
      assert.match(t, `Signature Algorithm: ${SIG_ALG[caAlg]}\n`);
      assert.is(t.split(`Signature Algorithm: ${SIG_ALG[caAlg]}\n`).length, 3, 'in the TBS and on the signature');
      assert.match(t, `Issuer: ${SUBJECT_TEXT}\n`);
      assert.match(t, /X509v3 Basic Constraints: critical\n/);
    }
    assert.match(ca, `Subject: ${SUBJECT_TEXT}\n`);
    assert.match(ca, `X509v3 Key Usage: critical\n                ${KU_TEXT(caAlg, true)}\n`);
    assert.match(server, `X509v3 Key Usage: critical\n                ${KU_TEXT(leafAlg, false)}\n`);
    assert.match(client, `X509v3 Key Usage: critical\n                ${KU_TEXT(leafAlg, false)}\n`);
    assert.match(ca, /Basic Constraints: critical\n\s+CA:TRUE\n/);
    assert.match(ca, new RegExp(`Subject Key Identifier: \\n\\s+${ski}\\n`));
    assert.not.match(ca, 'Authority Key Identifier');
    assert.not.match(ca, 'Extended Key Usage');
    assert.match(ca, /Subject Alternative Name: \n\s+DNS:kubernetes\n/);
    assert.match(ca, 'Serial Number: 4548122410676283768 (0x3f1e2d3c4b5a6978)');

    assert.match(server, 'Subject: CN = kube-apiserver\n');
    assert.match(server, /Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    assert.match(server, /Basic Constraints: critical\n\s+CA:FALSE\n/);
    assert.match(server, new RegExp(`Authority Key Identifier: \\n\\s+${ski}\\n`));
    assert.not.match(server, 'Subject Key Identifier');
    assert.match(server, 'DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:localhost, '
      + 'IP Address:10.96.0.1, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:0:10\n');
    assert.match(server, 'Serial Number: 255 (0xff)');

    assert.match(client, 'Subject: O = kubeadm:cluster-admins, CN = kubernetes-admin\n');
    assert.match(client, /Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
    assert.not.match(client, 'Subject Alternative Name');
    assert.match(client, /Serial Number:\s+9223372036854775807 \(0x7fffffffffffffff\)/);
  });

  test(`${alg}: openssl asn1parse reads every certificate without error`, async () => {
    const { c } = await files();
    for (const [name, { der }] of Object.entries({ ca: c.ca, server: c.server, client: c.client })) {
      const out = mustOpenssl(['asn1parse', '-inform', 'DER', '-in', save(`${alg.replace('/', '_')}-${name}.der`, der)]);
      assert.not.match(out, /error/i);
      assert.match(out, /UTCTIME/);
    }
  });

  test(`${alg}: Node's X509Certificate parses and verifies`, async () => {
    const c = await chainFor(caAlg, leafAlg);
    const ca = new X509Certificate(c.ca.pem);
    const server = new X509Certificate(c.server.pem);
    const client = new X509Certificate(c.client.pem);
    assert.ok(ca.ca);
    assert.not.ok(server.ca);
    assert.not.ok(client.ca);
    assert.ok(ca.verify(c.caKey.pub), 'self-signed');
    assert.ok(server.verify(c.caKey.pub));
    assert.ok(client.verify(c.caKey.pub));
    assert.not.ok(server.verify(newKey(caAlg).pub), 'another key of the same type');
    assert.ok(ca.checkIssued(ca));
    assert.ok(server.checkIssued(ca));
    assert.ok(client.checkIssued(ca));
    assert.is(server.subject, 'CN=kube-apiserver');
    assert.is(client.subject, 'O=kubeadm:cluster-admins\nCN=kubernetes-admin');
    assert.is(ca.subject, ca.issuer);
    assert.is(server.issuer, ca.subject);
    assert.is(server.subjectAltName, 'DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:localhost, '
      + 'IP Address:10.96.0.1, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:0:10');
    assert.is(ca.subjectAltName, 'DNS:kubernetes');
    assert.equal(server.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.equal(client.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.is(server.serialNumber, 'FF');
    assert.is(new Date(server.validFrom).getTime(), NOT_BEFORE.getTime());
    assert.is(new Date(server.validTo).getTime(), NOT_AFTER.getTime());
    assert.is(hex(server.publicKey.export({ type: 'spki', format: 'der' })), hex(c.leafKey.spki));
  });

  test(`${alg}: @peculiar/x509 parses and verifies`, async () => {
    const c = await chainFor(caAlg, leafAlg);
    const ca = new x509.X509Certificate(c.ca.pem);
    const server = new x509.X509Certificate(c.server.pem);
    assert.ok(await ca.isSelfSigned());
    assert.ok(await server.verify({ publicKey: ca.publicKey, signatureOnly: true }));
    assert.is(server.subject, 'CN=kube-apiserver');
    assert.is(ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, hex(c.ski));
    assert.is(server.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, hex(c.ski));
    assert.ok(ca.getExtension(x509.BasicConstraintsExtension)?.ca);
    const san = server.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON();
    assert.equal(san?.map((n) => n.value), [...SERVER_PROFILE.dns, ...SERVER_PROFILE.ips]);
  });

  // RSA PKCS#1 v1.5 and Ed25519 signatures are deterministic, so there the whole certificate
  // must match; ECDSA's are randomised, so there only the TBS can.
  const deterministic = caAlg.startsWith('rsa') || caAlg === 'ed25519';
  test(`${alg}: ${deterministic ? 'certificate' : 'TBS'} is byte for byte what @peculiar/x509 encodes`, async () => {
    const c = await chainFor(caAlg, leafAlg);
    const { caKey, leafKey, ski } = c;
    const crypto = webcrypto as unknown as Crypto;
    const key = await toSigningKey(caKey.priv);
    const algorithm = signingAlgorithmFor(caKey.priv);
    const caParams = tbsParams(CA_PROFILE, caKey, caKey, '3f1e2d3c4b5a6978');
    const peculiarCa = await issueCa({ ...caParams, spkiDer: caKey.spki }, key, algorithm, crypto);
    assert.is(hex(tbsOf(new Uint8Array(peculiarCa.rawData))), hex(encodeTbs(caParams)));
    if (deterministic) assert.is(hex(peculiarCa.rawData), hex(c.ca.der), 'whole CA certificate');

    const signer: Signer = { cert: peculiarCa, key, algorithm, keyId: hex(ski) };
    for (const [p, serial, ours] of [[SERVER_PROFILE, '00ff', c.server], [CLIENT_PROFILE, '7fffffffffffffff', c.client]] as const) {
      const params = tbsParams(p, leafKey, caKey, serial);
      const peculiarLeaf = await issueLeaf({ ...params, spkiDer: leafKey.spki }, signer, crypto);
      assert.is(hex(tbsOf(new Uint8Array(peculiarLeaf.rawData))), hex(encodeTbs(params)), p.cn);
      if (deterministic) assert.is(hex(peculiarLeaf.rawData), hex(ours.der), `whole ${p.cn} certificate`);
    }
  });
}

test('createCertificate picks the signature algorithm from the signing key when not told', async () => {
  const caKey = newKey('ecdsa-p384');
  const leaf = newKey('ecdsa-p256');
  const { scheme: _, ...params } = tbsParams(SERVER_PROFILE, leaf, caKey, '01');
  const cert = await createCertificate({ ...params, signingKey: caKey.priv });
  assert.match(mustOpenssl(['x509', '-in', save('p384-auto.pem', cert.pem), '-noout', '-text']), 'ecdsa-with-SHA384');
  assert.ok(new X509Certificate(cert.pem).verify(caKey.pub));
});

// ---------------------------------------------------------------------------------------------
// Which keys kpki signs with, and how

/** Hex of the whole AlgorithmIdentifier each scheme must write (OIDs from RFC 5754 / 5758 / 8410). */
const ALGORITHM_ID_HEX: Record<string, string> = {
  'rsa-2048': '300d06092a864886f70d01010b0500', // sha256WithRSAEncryption, NULL parameters
  'rsa-3072': '300d06092a864886f70d01010b0500',
  'rsa-4096': '300d06092a864886f70d01010b0500',
  'ecdsa-p256': '300a06082a8648ce3d040302', // ecdsa-with-SHA256, parameters absent
  'ecdsa-p384': '300a06082a8648ce3d040303', // ecdsa-with-SHA384
  'ecdsa-p521': '300a06082a8648ce3d040304', // ecdsa-with-SHA512
  ed25519: '300506032b6570', // id-Ed25519, parameters absent
};

test('signatureSchemeFor: the signing key alone picks the algorithm and its hash', () => {
  const want: Record<string, [string, string | null]> = {
    'rsa-2048': ['sha256WithRSAEncryption', 'sha256'], 'rsa-3072': ['sha256WithRSAEncryption', 'sha256'],
    'rsa-4096': ['sha256WithRSAEncryption', 'sha256'], 'ecdsa-p256': ['ecdsa-with-SHA256', 'sha256'],
    'ecdsa-p384': ['ecdsa-with-SHA384', 'sha384'], 'ecdsa-p521': ['ecdsa-with-SHA512', 'sha512'], ed25519: ['ED25519', null],
  };
  for (const [alg, [name, hash]] of Object.entries(want)) {
    const scheme = signatureSchemeFor(newKey(alg as Alg).priv);
    assert.is(scheme.name, name, alg);
    assert.is(scheme.hash, hash, alg);
    assert.is(hex(scheme.algorithmId), ALGORITHM_ID_HEX[alg], alg);
  }
  // A public key of the same kind gives the same answer (the planner may only have the certificate).
  assert.is(signatureSchemeFor(newKey('ecdsa-p521').pub).name, 'ecdsa-with-SHA512');
});

/** An RSA public key of any modulus size, without the cost of finding primes for it. */
function rsaPublicKeyOfBits(bitCount: number): KeyObject {
  const n = randomBytes(bitCount / 8);
  n[0] = (n[0] ?? 0) | 0x80;
  n[n.length - 1] = (n[n.length - 1] ?? 0) | 1;
  return createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' }, format: 'jwk' });
}

test('signatureSchemeFor refuses other keys with ERR_CA_UNUSABLE naming the source', () => {
  const refused: Array<[string, KeyObject, RegExp]> = [
    ['RSA-1024', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, /a 1024-bit RSA key; .*at least 2048 bits/],
    ['RSA-2047', rsaPublicKeyOfBits(2040), /a 2040-bit RSA key/],
    ['RSA-8192', rsaPublicKeyOfBits(8192), /an 8192-bit RSA key; .*RSA keys of 2048 to 4096 bits/],
    ['DSA', generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }).privateKey, /a 1024-bit DSA key;/],
    ['Ed448', generateKeyPairSync('ed448').privateKey, /an Ed448 key;/],
    ['X25519', generateKeyPairSync('x25519').privateKey, /an X25519 key;/],
    ['secp256k1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey, /an EC secp256k1 key;/],
    ['RSA-PSS', generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey, /a 2048-bit RSA-PSS key;/],
  ];
  for (const [label, key, message] of refused) {
    try {
      signatureSchemeFor(key, 'pki/etcd/ca.key');
      assert.unreachable(`${label} was accepted`);
    } catch (err) {
      assert.instance(err, KpkiError, label);
      assert.is((err as KpkiError).code, 'ERR_CA_UNUSABLE', label);
      assert.ok((err as KpkiError).message.startsWith('pki/etcd/ca.key: kpki cannot sign with '), (err as Error).message);
      assert.match((err as KpkiError).message, message, label);
    }
  }
});

test('createCertificate refuses to sign with an unusable key instead of mislabelling', async () => {
  const leaf = newKey('ecdsa-p256');
  const { scheme: _, ...params } = tbsParams(SERVER_PROFILE, leaf, leaf, '01');
  const dsa = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }).privateKey;
  try {
    await createCertificate({ ...params, signingKey: dsa });
    assert.unreachable('signed with DSA');
  } catch (err) {
    assert.is((err as KpkiError).code, 'ERR_CA_UNUSABLE');
  }
});

/** The whole keyUsage extension as it must appear in the TBS (critical; BIT STRING as Go writes it). */
const KU_EXT_HEX = {
  // digitalSignature: bit 0 → 0x80, 7 unused bits
  signatureOnlyLeaf: '300e0603551d0f0101ff040403020780',
  // digitalSignature + keyEncipherment: bits 0, 2 → 0xa0, 5 unused bits
  rsaLeaf: '300e0603551d0f0101ff0404030205a0',
  // digitalSignature + keyCertSign: bits 0, 5 → 0x84, 2 unused bits
  signatureOnlyCa: '300e0603551d0f0101ff040403020284',
  // digitalSignature + keyEncipherment + keyCertSign: bits 0, 2, 5 → 0xa4, 2 unused bits
  rsaCa: '300e0603551d0f0101ff0404030202a4',
};

test('keyUsage follows the SUBJECT key, whatever signs it', () => {
  const signers = [newKey('rsa-2048'), newKey('ecdsa-p256'), newKey('ed25519')];
  const subjects: Array<[Alg, 'rsa' | 'signatureOnly']> = [
    ['rsa-2048', 'rsa'], ['ecdsa-p256', 'signatureOnly'], ['ecdsa-p384', 'signatureOnly'],
    ['ecdsa-p521', 'signatureOnly'], ['ed25519', 'signatureOnly'],
  ];
  for (const signer of signers) {
    for (const [alg, kind] of subjects) {
      const subject = newKey(alg);
      const leaf = hex(encodeTbs(tbsParams(SERVER_PROFILE, subject, signer, '01')));
      const ca = hex(encodeTbs(tbsParams(CA_PROFILE, subject, signer, '01')));
      const label = `${alg} signed by ${signer.alg}`;
      assert.ok(leaf.includes(KU_EXT_HEX[`${kind}Leaf`]), `${label}: leaf keyUsage`);
      assert.ok(ca.includes(KU_EXT_HEX[`${kind}Ca`]), `${label}: CA keyUsage`);
      assert.ok(leaf.includes(ALGORITHM_ID_HEX[signer.alg]!), `${label}: signature algorithm from the signer`);
    }
  }
});

test('a subject key that is not RSA, EC or Ed25519 is an error, not a guessed keyUsage', () => {
  const x25519 = new Uint8Array(generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }));
  const signer = newKey('ecdsa-p256');
  const params = { ...tbsParams(SERVER_PROFILE, signer, signer, '01'), spkiDer: x25519 };
  assert.throws(() => encodeTbs(params), /subject key: algorithm 2b656e is not RSA, EC or Ed25519/);
});

test('validity after 2049 is GeneralizedTime and openssl reads it', async () => {
  const key = newKey('ecdsa-p256');
  const ca = { ...tbsParams(CA_PROFILE, key, key, '01'), notAfter: new Date('2055-03-04T05:06:07Z') };
  const cert = await createCertificate({ ...ca, signingKey: key.priv });
  const out = mustOpenssl(['asn1parse', '-inform', 'DER', '-in', save('gt.der', cert.der)]);
  assert.match(out, /GENERALIZEDTIME\s*:20550304050607Z/);
  assert.match(out, /UTCTIME\s*:/);
  assert.match(mustOpenssl(['x509', '-in', save('gt.pem', cert.pem), '-noout', '-enddate']), 'notAfter=Mar  4 05:06:07 2055 GMT');
});

test('bad SAN input is an error, not a silently wrong certificate', () => {
  const key = newKey('ecdsa-p256');
  const base = tbsParams(SERVER_PROFILE, key, key, '01');
  assert.throws(() => encodeTbs({ ...base, profile: { ...SERVER_PROFILE, ips: ['10.0.0.256'] } }), /not an IP/);
  assert.throws(() => encodeTbs({ ...base, profile: { ...SERVER_PROFILE, dns: ['bücher.example'] } }), /IA5String/);
  assert.throws(() => encodeTbs({ ...base, serialHex: 'xyz' }), /not hex/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
