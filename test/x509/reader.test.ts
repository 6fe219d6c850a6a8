/**
 * The strict certificate reader (pki/x509/parse.ts, pem.ts, read.ts), imported directly:
 *  - every field against openssl's own output, for kpki-made and openssl-made certificates;
 *  - hand-written expectations for the features kpki relies on;
 *  - each strictness rule with a hand-crafted bad DER;
 *  - PEM armor rules, and readCert's PemError naming the file.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { KpkiError, PemError } from '../../pki/errors.js';
import { profileDiff } from '../../pki/assess/leaf.js';
import { toPem } from '../../pki/x509/certificate.js';
import { CertParseError, parseCertificate, type ParsedCert } from '../../pki/x509/parse.js';
import { looksLikeDer, parsePem, PemFormatError } from '../../pki/x509/pem.js';
import { certificateSpki, readCert } from '../../pki/x509/read.js';
import { ascii, at, bytes, concat, decode, encode, type Node } from './der-edit.js';
import {
  allFixtures, dir, KPKI_CA_NOT_AFTER, KPKI_NOT_AFTER, KPKI_NOT_BEFORE, openssl, type Fixture,
} from './reader-fixtures.js';

const fixtures = await allFixtures();
const byName = (name: string): Fixture => {
  const f = fixtures.find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
};
const parsed = (name: string): ParsedCert => parseCertificate(byName(name).der);
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

// ---------------------------------------------------------------------------------------------
// Against openssl

const NAMEOPT = 'sep_comma_plus_space,esc_2253,esc_ctrl,utf8,sname';

const OPENSSL_EXT_OIDS: Record<string, string> = {
  'X509v3 Basic Constraints': '2.5.29.19', 'X509v3 Key Usage': '2.5.29.15', 'X509v3 Extended Key Usage': '2.5.29.37',
  'X509v3 Subject Alternative Name': '2.5.29.17', 'X509v3 Subject Key Identifier': '2.5.29.14',
  'X509v3 Authority Key Identifier': '2.5.29.35',
};
const OPENSSL_KU: Record<string, string> = {
  'Digital Signature': 'digitalSignature', 'Non Repudiation': 'contentCommitment', 'Key Encipherment': 'keyEncipherment',
  'Data Encipherment': 'dataEncipherment', 'Key Agreement': 'keyAgreement', 'Certificate Sign': 'keyCertSign',
  'CRL Sign': 'cRLSign', 'Encipher Only': 'encipherOnly', 'Decipher Only': 'decipherOnly',
};
const OPENSSL_EKU: Record<string, string> = {
  'TLS Web Server Authentication': 'serverAuth', 'TLS Web Client Authentication': 'clientAuth', 'Code Signing': 'codeSigning',
  'E-mail Protection': 'emailProtection', 'Time Stamping': 'timeStamping', 'OCSP Signing': 'OCSPSigning',
  'Any Extended Key Usage': 'anyExtendedKeyUsage',
};

/** The value lines under an extension heading of `openssl x509 -text`. */
function extBody(text: string, heading: string): string[] {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.trim().startsWith(`${heading}:`));
  if (i < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(i + 1)) {
    if (!l.startsWith('                ')) break;
    out.push(l.trim());
  }
  return out;
}

const colonHex = (b: Uint8Array | undefined): string => hex(b).toUpperCase().replace(/(..)(?!$)/g, '$1:');
const v6 = (ip: string): string => (ip.includes(':') ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip);

for (const name of ['kpki-ecdsa-p256-ca', 'kpki-ecdsa-p256-apiserver', 'kpki-ecdsa-p256-kubelet-client', 'kpki-ecdsa-p256-etcd-peer',
  'kpki-rsa-2048-ca', 'kpki-rsa-2048-apiserver', 'openssl-root', 'openssl-many', 'openssl-p521', 'openssl-ed25519',
  'openssl-v1', 'openssl-pss']) {
  test(`openssl agrees: ${name}`, () => {
    const f = byName(name);
    const c = parseCertificate(f.der);
    const text = openssl(['x509', '-in', f.file, '-noout', '-text', '-nameopt', NAMEOPT]);
    const fields = openssl(['x509', '-in', f.file, '-noout', '-serial', '-startdate', '-enddate', '-subject', '-issuer', '-nameopt', NAMEOPT]);
    const one = (key: string): string => fields.split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1) ?? '(missing)';

    assert.is(c.version, Number(/Version: (\d)/.exec(text)?.[1]));
    // openssl prints the magnitude: no 0x00 sign octet.
    assert.is(c.serialHex.replace(/^00(?=[89a-f])/, '').toUpperCase(), one('serial'));
    assert.is(c.signatureAlgorithm.name, /Signature Algorithm: (\S+)/.exec(text)?.[1]);
    assert.is(c.notBefore.getTime(), Date.parse(one('notBefore')));
    assert.is(c.notAfter.getTime(), Date.parse(one('notAfter')));
    assert.is(c.subject.text, one('subject'));
    assert.is(c.issuer.text, one('issuer'));

    const bits = /Public-Key: \((\d+) bit\)/.exec(text)?.[1];
    assert.is(c.publicKey.bits, bits === undefined ? undefined : Number(bits));
    const curve = /NIST CURVE: (\S+)/.exec(text)?.[1];
    assert.is(c.publicKey.curve, curve);
    assert.is(c.publicKey.type, {
      rsaEncryption: 'rsa', rsassaPss: 'rsa', 'id-ecPublicKey': 'ec', ED25519: 'ed25519',
    }[/Public Key Algorithm: (\S+)/.exec(text)?.[1] ?? ''] ?? 'unknown');

    // Every extension, in order, with its criticality.
    const heads = [...text.matchAll(/^ {12}([^ :][^:]*): ?(critical)?$/gm)].map((m) => [OPENSSL_EXT_OIDS[m[1] ?? ''] ?? m[1], m[2] === 'critical']);
    assert.equal(c.extensions.map((e) => [e.oid, e.critical]), heads);

    const ku = extBody(text, 'X509v3 Key Usage')[0];
    assert.equal(c.keyUsage?.usages, ku?.split(', ').map((u) => OPENSSL_KU[u]));
    const eku = extBody(text, 'X509v3 Extended Key Usage')[0];
    assert.equal(c.extKeyUsage, eku?.split(', ').map((u) => OPENSSL_EKU[u] ?? u));
    const bc = extBody(text, 'X509v3 Basic Constraints')[0];
    assert.is(bc === undefined ? undefined : `CA:${c.basicConstraints?.ca ? 'TRUE' : 'FALSE'}${c.basicConstraints?.pathLen === undefined ? '' : `, pathlen:${c.basicConstraints.pathLen}`}`, bc);
    assert.is(c.subjectKeyId && colonHex(c.subjectKeyId), extBody(text, 'X509v3 Subject Key Identifier')[0]);
    assert.is(c.authorityKeyId && colonHex(c.authorityKeyId), extBody(text, 'X509v3 Authority Key Identifier')[0]?.replace(/^keyid:/, ''));

    const san = extBody(text, 'X509v3 Subject Alternative Name')[0];
    if (san === undefined) assert.is(c.subjectAltName, undefined);
    else {
      const entries = san.split(', ');
      const of = (prefix: string) => entries.filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length));
      assert.equal(c.subjectAltName?.dns, of('DNS:'));
      assert.equal(c.subjectAltName?.ips, of('IP Address:').map(v6));
      assert.equal(c.subjectAltName?.emails, of('email:'));
      assert.equal(c.subjectAltName?.uris, of('URI:'));
      assert.is(c.subjectAltName?.otherCount, of('othername:').length + of('DirName:').length);
    }
    // The key bytes are the ones node:crypto sees.
    const native = new X509Certificate(f.der);
    assert.is(hex(c.publicKey.spkiDer), hex(native.publicKey.export({ type: 'spki', format: 'der' })));
  });
}

// ---------------------------------------------------------------------------------------------
// Hand-written expectations

test('kpki apiserver certificate: every field', () => {
  const c = parsed('kpki-ecdsa-p256-apiserver');
  assert.is(c.version, 3);
  assert.is(c.serialHex, '00ff00000000000001');
  assert.equal(c.signatureAlgorithm, { oid: '1.2.840.10045.4.3.2', name: 'ecdsa-with-SHA256' });
  assert.is(c.issuer.text, 'C=US, O=Example, CN=kubernetes');
  assert.equal(c.issuer.extras, { C: 'US', O: 'Example' });
  assert.is(c.subject.text, 'CN=kube-apiserver');
  assert.is(c.notBefore.toISOString(), KPKI_NOT_BEFORE.toISOString());
  assert.is(c.notAfter.toISOString(), KPKI_NOT_AFTER.toISOString());
  assert.equal({ ...c.publicKey, spkiDer: undefined }, { spkiDer: undefined, type: 'ec', bits: 256, curve: 'P-256', algorithmOid: '1.2.840.10045.2.1' });
  assert.equal(c.keyUsage, { usages: ['digitalSignature'], critical: true }); // EC key: no keyEncipherment (RFC 5480)
  assert.equal(c.basicConstraints, { ca: false, critical: true });
  assert.equal(c.extKeyUsage, ['serverAuth']);
  assert.equal(c.subjectAltName, {
    dns: ['cp-1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ips: ['10.96.0.1', '192.0.2.11', 'fd00:10:96::1'], emails: [], uris: [], otherCount: 0,
  });
  assert.is(c.subjectKeyId, undefined);
  assert.is(hex(c.authorityKeyId), hex(parsed('kpki-ecdsa-p256-ca').subjectKeyId));
  assert.equal(c.extensions.map((e) => e.oid), ['2.5.29.15', '2.5.29.37', '2.5.29.19', '2.5.29.35', '2.5.29.17']);
  assert.is(hex(c.tbsDer), hex(byName('kpki-ecdsa-p256-apiserver').der.subarray(4, 4 + c.tbsDer.length)));
});

test('kpki CA and client certificates', () => {
  const ca = parsed('kpki-rsa-2048-ca');
  assert.is(ca.serialHex, '3f1e2d3c4b5a6978');
  assert.is(ca.signatureAlgorithm.name, 'sha256WithRSAEncryption');
  assert.equal(ca.basicConstraints, { ca: true, critical: true });
  assert.equal(ca.keyUsage?.usages, ['digitalSignature', 'keyEncipherment', 'keyCertSign']);
  assert.is(ca.publicKey.type, 'rsa');
  assert.is(ca.publicKey.bits, 2048);
  assert.is(ca.notAfter.toISOString(), KPKI_CA_NOT_AFTER.toISOString());
  assert.is(hex(ca.subject.der), hex(ca.issuer.der));
  const client = parsed('kpki-ecdsa-p256-kubelet-client');
  assert.is(client.subject.text, 'O=system:nodes, CN=system:node:w1');
  assert.is(client.subject.cn, 'system:node:w1');
  assert.equal(client.subject.o, ['system:nodes']);
  assert.is(client.serialHex, '01');
  assert.equal(client.extKeyUsage, ['clientAuth']);
  assert.is(client.subjectAltName, undefined);
});

test('openssl certificate with many extensions', () => {
  const c = parsed('openssl-many');
  assert.is(c.serialHex, '00f1e2d3c4b5a69788');
  assert.is(c.signatureAlgorithm.name, 'sha512WithRSAEncryption');
  assert.is(c.subject.cn, '#weird, name+plus;');
  assert.equal(c.subject.o, ['Ops Org', 'Second Org']);
  assert.equal(c.subject.extras, { C: 'DE', ST: 'Bayern', L: 'München', O: 'Ops Org', OU: 'Unit' });
  assert.is(c.subject.text, 'C=DE, ST=Bayern, L=München, O=Ops Org, O=Second Org, OU=Unit, CN=\\#weird\\, name\\+plus\\;');
  assert.ok(c.notAfter.getUTCFullYear() >= 2050, 'GeneralizedTime after 2049');
  assert.equal(c.basicConstraints, { ca: true, pathLen: 2, critical: true });
  assert.equal(c.extKeyUsage, ['serverAuth', 'clientAuth', 'codeSigning', '1.3.6.1.4.1.55555.1']);
  assert.equal(c.keyUsage?.usages, ['digitalSignature', 'contentCommitment', 'keyEncipherment', 'dataEncipherment',
    'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly']);
  assert.equal(c.subjectAltName, {
    dns: ['b.example', 'a.example'], ips: ['192.0.2.7', '2001:db8::7'], emails: ['ops@example.org'],
    uris: ['spiffe://cluster.local/ns/x'], otherCount: 2,
  });
  const unknown = c.extensions.find((e) => e.oid === '1.3.6.1.4.1.55555.2');
  assert.equal(unknown && { critical: unknown.critical, value: Buffer.from(unknown.value).toString('latin1') },
    { critical: true, value: '\x0c\x0fmust-understand' });
  assert.ok(c.authorityKeyId && c.authorityKeyId.length === 20);
});

test('openssl v1, Ed25519, P-521, RSASSA-PSS certificates', () => {
  const v1 = parsed('openssl-v1');
  assert.is(v1.version, 1);
  assert.equal(v1.extensions, []);
  assert.is(v1.serialHex, '12d687');
  assert.is(v1.basicConstraints, undefined);
  const ed = parsed('openssl-ed25519');
  assert.equal([ed.publicKey.type, ed.signatureAlgorithm.name, ed.subject.cn, ed.subject.o], ['ed25519', 'ED25519', 'Zürich 日本', ['Örg']]);
  assert.ok(ed.notAfter.getUTCFullYear() >= 2050);
  const p521 = parsed('openssl-p521');
  assert.equal([p521.publicKey.curve, p521.publicKey.bits, p521.signatureAlgorithm.name, p521.serialHex], ['P-521', 521, 'sha1WithRSAEncryption', '00']);
  assert.equal(p521.extKeyUsage, ['serverAuth', 'emailProtection', 'timeStamping', 'OCSPSigning', 'anyExtendedKeyUsage']);
  assert.equal(p521.basicConstraints, { ca: false, critical: false });
  assert.equal(p521.subject.o, ['a', 'b']);
  const pss = parsed('openssl-pss');
  assert.equal([pss.publicKey.type, pss.publicKey.bits, pss.signatureAlgorithm.name], ['rsa', 2048, 'rsassaPss']);
});

test('certificateSpki (the walk to the public key a key-keeping renewal uses) equals the full parse and openssl, for every fixture (v1 without a version field too)', () => {
  let n = 0;
  for (const f of fixtures) {
    const pem = toPem(f.der);
    const spki = certificateSpki(pem);
    assert.is(hex(spki), hex(parseCertificate(f.der).publicKey.spkiDer), f.name);
    // openssl's view of the same key, as DER.
    const der = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
    assert.is(hex(spki), der.toString('hex'), `${f.name}: openssl`);
    n++;
  }
  assert.ok(n >= 6 && fixtures.some((f) => f.name === 'openssl-v1'));
});

// ---------------------------------------------------------------------------------------------
// Strictness: one hand-crafted bad DER per rule

const BASE = byName('kpki-ecdsa-p256-apiserver').der;
const tree = (): Node => decode(BASE);
// Certificate: [tbs, sigAlg, sig]; tbs: [version, serial, sigAlg, issuer, validity, subject, spki, [3]];
// extensions (kpki leaf order): keyUsage, extKeyUsage, basicConstraints, authorityKeyId, subjectAltName.
const TBS = [0] as const;
const tbsField = (t: Node, i: number): Node => at(t, ...TBS, i);
const ext = (t: Node, i: number): Node => at(t, ...TBS, 7, 0, i);
const extValue = (t: Node, i: number): Node => {
  const e = ext(t, i);
  return e.children![e.children!.length - 1]!;
};
const notAfter = (t: Node): Node => at(t, ...TBS, 4, 1);
const cnValue = (t: Node): Node => at(t, ...TBS, 5, 0, 0, 1);

function rejects(der: Uint8Array, message: RegExp): void {
  try {
    parseCertificate(der);
  } catch (err) {
    assert.instance(err, CertParseError);
    assert.match((err as Error).message, message);
    return;
  }
  assert.unreachable(`accepted; expected ${message}`);
}

function edited(edit: (t: Node) => void): Uint8Array {
  const t = tree();
  edit(t);
  return encode(t);
}

test('the DER editor re-encodes the base certificate byte for byte', () => {
  assert.is(hex(encode(tree())), hex(BASE));
  parseCertificate(edited(() => {}));
});

test('strict: trailing bytes, after and inside', () => {
  rejects(concat([BASE, bytes(0)]), /^certificate: data after the certificate: 1 unexpected trailing byte/);
  rejects(edited((t) => t.children!.push({ tag: 0x05, content: bytes() })), /^certificate: 2 unexpected trailing byte/);
  rejects(edited((t) => tbsField(t, 0).children!.push({ tag: 0x05, content: bytes() })), /^version: 2 unexpected trailing/);
  rejects(edited((t) => at(t, ...TBS).children!.push({ tag: 0x05, content: bytes() })), /^tbsCertificate: unexpected NULL after subjectPublicKeyInfo/);
  rejects(edited((t) => at(t, ...TBS, 4).children!.push({ tag: 0x05, content: bytes() })), /^validity: 2 unexpected trailing/);
  rejects(edited((t) => { extValue(t, 0).content = concat([extValue(t, 0).content!, bytes(0)]); }), /^extension keyUsage: 1 unexpected trailing byte/);
  rejects(edited((t) => { extValue(t, 4).content = concat([extValue(t, 4).content!, bytes(5, 0)]); }), /^extension subjectAltName: 2 unexpected trailing/);
  rejects(edited((t) => at(t, ...TBS, 6).children!.push({ tag: 0x05, content: bytes() })), /^subjectPublicKeyInfo: 2 unexpected trailing/);
});

test('strict: lengths must be definite, minimal and inside their container', () => {
  rejects(edited((t) => { tbsField(t, 1).lengthOctets = [0x81, 9]; }), /^serialNumber: non-minimal length encoding/);
  rejects(edited((t) => {
    const len = encode(at(t, ...TBS)).length - 4;
    at(t, ...TBS).lengthOctets = [0x83, 0, len >> 8, len & 0xff];
  }), /^tbsCertificate: non-minimal length encoding/);
  rejects(edited((t) => { t.lengthOctets = [0x80]; }), /^certificate: indefinite length/);
  rejects(edited((t) => { t.lengthOctets = [0x85, 0, 0, 0, 1, 0]; }), /^certificate: 5-octet length field/);
  rejects(BASE.subarray(0, BASE.length - 1), /^certificate: length \d+ runs past the end/);
  rejects(edited((t) => { at(t, ...TBS, 3).lengthOctets = [0x82, 0x10, 0x00]; }), /^issuer: length 4096 runs past the end of its container/);
  rejects(bytes(), /^certificate: missing/);
  rejects(bytes(0x30), /^certificate: truncated before its length/);
});

test('strict: tags in every position', () => {
  rejects(edited((t) => { at(t, ...TBS, 3).tag = 0x31; }), /^issuer: expected SEQUENCE, found tag 0x31/);
  rejects(edited((t) => { tbsField(t, 1).tag = 0x04; }), /^serialNumber: expected INTEGER, found tag 0x04/);
  rejects(edited((t) => { at(t, 2).tag = 0x04; }), /^signatureValue: expected BIT STRING/);
  rejects(edited((t) => { at(t, ...TBS, 5, 0).tag = 0x30; }), /^subject RDN: expected SET/);
  rejects(edited((t) => { at(t, ...TBS, 7).tag = 0xa4; }), /^tbsCertificate: unexpected \[4\] constructed after subjectPublicKeyInfo/);
  rejects(edited((t) => { at(t, ...TBS, 3).tag = 0x3f; }), /^issuer: multi-byte tag 0x3f/);
  rejects(concat([bytes(0xff), BASE.subarray(1)]), /^certificate: multi-byte tag 0xff/);
  rejects(edited((t) => { extValue(t, 4).content![3] = 0x83; /* the first GeneralName, after 30 81 nn */ }), /^extension subjectAltName: tag 0x83 is not a GeneralName/);
});

test('strict: validity times must be calendar dates in the DER forms', () => {
  const withNotAfter = (text: string, tag = 0x17): Uint8Array => edited((t) => { Object.assign(notAfter(t), { tag, content: ascii(text) }); });
  rejects(withNotAfter('261301120059Z'), /^validity notAfter: month 13$/);
  rejects(withNotAfter('260001120059Z'), /^validity notAfter: month 0$/);
  rejects(withNotAfter('260230120059Z'), /^validity notAfter: day 30 of 2026-02$/);
  rejects(withNotAfter('260229120059Z'), /^validity notAfter: day 29 of 2026-02$/);
  rejects(withNotAfter('21000229120059Z', 0x18), /^validity notAfter: day 29 of 2100-02$/);
  rejects(withNotAfter('260431120059Z'), /^validity notAfter: day 31 of 2026-04$/);
  rejects(withNotAfter('260228240000Z'), /^validity notAfter: hour 24$/);
  rejects(withNotAfter('260228126000Z'), /^validity notAfter: minute 60$/);
  rejects(withNotAfter('260228120060Z'), /^validity notAfter: second 60$/);
  rejects(withNotAfter('2602281200AAZ'), /^validity notAfter: time has a non-digit "A"$/);
  rejects(withNotAfter('2602281200590'), /^validity notAfter: time does not end in 'Z'/);
  rejects(withNotAfter('260228120059+0100'), /^validity notAfter: UTCTime of 17 characters/);
  rejects(withNotAfter('2602281200Z'), /^validity notAfter: UTCTime of 11 characters/);
  rejects(withNotAfter('20260228120059.5Z', 0x18), /^validity notAfter: GeneralizedTime of 17 characters/);
  rejects(withNotAfter('260228120059Z', 0x04), /^validity notAfter: expected UTCTime or GeneralizedTime, found tag 0x04/);
  // The RFC 5280 windows: UTCTime 50..99 is 19xx, 00..49 is 20xx; leap days where they exist.
  const read = (text: string, tag = 0x17): string => parseCertificate(withNotAfter(text, tag)).notAfter.toISOString();
  assert.is(read('491231235959Z'), '2049-12-31T23:59:59.000Z');
  assert.is(read('500101000000Z'), '1950-01-01T00:00:00.000Z');
  assert.is(read('280229000000Z'), '2028-02-29T00:00:00.000Z');
  assert.is(read('20000229000000Z', 0x18), '2000-02-29T00:00:00.000Z');
  assert.is(read('20510719130530Z', 0x18), '2051-07-19T13:05:30.000Z');
  assert.is(read('00500101000000Z', 0x18), '0050-01-01T00:00:00.000Z');
});

test('strict: extensions are unique, decoded and in a v3 certificate', () => {
  rejects(edited((t) => at(t, ...TBS, 7, 0).children!.push(structuredClone(ext(t, 0)))), /^extension keyUsage: appears twice$/);
  rejects(edited((t) => { at(t, ...TBS, 7, 0).children = []; }), /^extensions: empty list$/);
  rejects(edited((t) => { tbsField(t, 0).children![0]!.content = bytes(0); }), /^extensions: present in a v1 certificate/);
  rejects(edited((t) => { tbsField(t, 0).children![0]!.content = bytes(1); }), /^extensions: present in a v2 certificate/);
  rejects(edited((t) => at(t, ...TBS).children!.shift()), /^extensions: present in a v1 certificate/);
  rejects(edited((t) => { tbsField(t, 0).children![0]!.content = bytes(3); }), /^version: v4 is not a certificate version/);
  rejects(edited((t) => { extValue(t, 1).content = bytes(0x30, 0); }), /^extension extKeyUsage: empty list$/);
  rejects(edited((t) => { extValue(t, 4).content = bytes(0x30, 0); }), /^extension subjectAltName: empty list$/);
  rejects(edited((t) => { extValue(t, 4).content = bytes(0x30, 7, 0x87, 5, 10, 0, 0, 1, 1); }), /^extension subjectAltName: IP address of 5 bytes$/);
  rejects(edited((t) => { extValue(t, 4).content = bytes(0x30, 4, 0x82, 2, 0xc3, 0xa9); }), /^extension subjectAltName DNS name: IA5String holds 0xc3$/);
  rejects(edited((t) => { extValue(t, 0).content = bytes(0x03, 2, 8, 0x80); }), /^extension keyUsage: BIT STRING claims 8 unused bits/);
  rejects(edited((t) => { extValue(t, 0).content = bytes(0x03, 2, 5, 0xa1); }), /^extension keyUsage: BIT STRING unused bits are not zero$/);
  rejects(edited((t) => { extValue(t, 0).content = bytes(0x03, 3, 0, 0x80, 0x40); }), /^extension keyUsage: bit 9 is not a defined key usage$/);
  rejects(edited((t) => { extValue(t, 2).content = bytes(0x30, 3, 0x01, 1, 0x01); }), /^extension basicConstraints cA: BOOLEAN 0x01/);
  rejects(edited((t) => { extValue(t, 2).content = bytes(0x30, 3, 0x02, 1, 0xff); }), /^extension basicConstraints pathLenConstraint: negative INTEGER/);
  rejects(edited((t) => { ext(t, 2).children![1]!.content = bytes(0x7f); }), /^extension basicConstraints critical: BOOLEAN 0x7f/);
  rejects(edited((t) => { extValue(t, 3).content = bytes(0x30, 3, 0x81, 1, 0); }), /^extension authorityKeyId: unexpected \[1\]$/);
  rejects(edited((t) => { extValue(t, 3).content = bytes(0x05, 0x00, 0x00); }), /^extension authorityKeyId: expected SEQUENCE/);
  // An unknown critical extension is not a parse error: it is kept for the caller to judge.
  const unknown = parseCertificate(edited((t) => at(t, ...TBS, 7, 0).children!.push({
    tag: 0x30, children: [{ tag: 0x06, content: bytes(0x2a, 0x03, 0x04) }, { tag: 0x01, content: bytes(0xff) }, { tag: 0x04, content: bytes(0x05, 0) }],
  })));
  assert.equal(unknown.extensions.at(-1), { oid: '1.2.3.4', critical: true, value: bytes(0x05, 0) });
  rejects(edited((t) => at(t, ...TBS, 7, 0).children!.push({
    tag: 0x30, children: [{ tag: 0x06, content: bytes(0x2a, 0x03, 0x04) }, { tag: 0x04, content: bytes(0x05, 0, 0) }],
  })), /^extension 1.2.3.4: 1 unexpected trailing byte/);
});

test('strict: INTEGER, BOOLEAN, BIT STRING, OID and string encodings', () => {
  rejects(edited((t) => { tbsField(t, 1).content = bytes(0, 1); }), /^serialNumber: INTEGER not minimally encoded$/);
  rejects(edited((t) => { tbsField(t, 1).content = bytes(0xff, 0x80); }), /^serialNumber: INTEGER not minimally encoded$/);
  rejects(edited((t) => { tbsField(t, 1).content = bytes(0x80); }), /^serialNumber: negative/);
  rejects(edited((t) => { tbsField(t, 1).content = bytes(); }), /^serialNumber: empty INTEGER$/);
  rejects(edited((t) => { at(t, 2).content![0] = 8; }), /^signatureValue: BIT STRING claims 8 unused bits/);
  rejects(edited((t) => { at(t, 2).content![0] = 1; }), /^signatureValue: 1 unused bits where whole octets are required/);
  rejects(edited((t) => { at(t, ...TBS, 3, 0, 0, 0).content = bytes(0x55, 0x04, 0x83); }), /^issuer attribute type: OBJECT IDENTIFIER ends inside a subidentifier$/);
  rejects(edited((t) => { at(t, ...TBS, 3, 0, 0, 0).content = bytes(0x55, 0x80, 0x04); }), /^issuer attribute type: OBJECT IDENTIFIER subidentifier not minimally encoded$/);
  rejects(edited((t) => { Object.assign(cnValue(t), { tag: 0x0c, content: bytes(0x61, 0xc3, 0x28) }); }), /^subject CN: UTF8String is not valid UTF-8$/);
  rejects(edited((t) => { Object.assign(cnValue(t), { tag: 0x13, content: ascii('a@b') }); }), /^subject CN: PrintableString holds 0x40$/);
  rejects(edited((t) => { Object.assign(cnValue(t), { tag: 0x02, content: bytes(1) }); }), /^subject CN: value of type 0x02 is not a string$/);
  rejects(edited((t) => { Object.assign(cnValue(t), { tag: 0x1e, content: bytes(0, 0x41, 0) }); }), /^subject CN: BMPString of odd length$/);
  rejects(edited((t) => { at(t, ...TBS, 5, 0).children = []; }), /^subject: empty RDN$/);
  // A BMPString CN reads as text, a '*' in a PrintableString is tolerated (as Go does).
  assert.is(parseCertificate(edited((t) => { Object.assign(cnValue(t), { tag: 0x1e, content: bytes(0, 0x41, 0x00, 0xe9) }); })).subject.cn, 'Aé');
  assert.is(parseCertificate(edited((t) => { Object.assign(cnValue(t), { tag: 0x13, content: ascii('*.example') }); })).subject.cn, '*.example');
});

test('strict: algorithms and keys', () => {
  const sha256WithRsa = (): Node => ({ tag: 0x30, children: [{ tag: 0x06, content: bytes(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b) }, { tag: 0x05, content: bytes() }] });
  rejects(edited((t) => { at(t, ...TBS).children![2] = sha256WithRsa(); }), /^signatureAlgorithm: differs from the tbsCertificate's \(1.2.840.113549.1.1.11 vs 1.2.840.10045.4.3.2\)$/);
  rejects(edited((t) => { at(t, ...TBS, 2).children!.push({ tag: 0x05, content: bytes() }); at(t, 1).children!.push({ tag: 0x05, content: bytes() }); }),
    /^signatureAlgorithm: ecdsa-with-SHA256 must have no parameters$/);
  rejects(edited((t) => { const k = at(t, ...TBS, 6, 1); k.content = k.content!.subarray(0, 40); }), /^subjectPublicKeyInfo: not a P-256 point \(39 bytes\)$/);
  rejects(edited((t) => { at(t, ...TBS, 6, 0).children!.pop(); }), /^subjectPublicKeyInfo: EC key parameters are not a named curve$/);
  const rsa = byName('kpki-rsa-2048-apiserver').der;
  rejects((() => { const t = decode(rsa); at(t, ...TBS, 6, 0).children!.pop(); return encode(t); })(), /^subjectPublicKeyInfo: RSA key without NULL parameters$/);
  rejects((() => { const t = decode(rsa); const k = at(t, ...TBS, 6, 1); k.content = concat([k.content!, bytes(0)]); return encode(t); })(),
    /^subjectPublicKeyInfo RSA key: 1 unexpected trailing byte/);
});

test('tolerated as Go and OpenSSL do: explicit v1, explicit critical FALSE; names in every string type', () => {
  const v1 = byName('openssl-v1').der;
  const explicitV1 = (() => {
    const t = decode(v1);
    at(t, ...TBS).children!.unshift({ tag: 0xa0, children: [{ tag: 0x02, content: bytes(0) }] });
    return encode(t);
  })();
  assert.is(parseCertificate(explicitV1).version, 1);
  const falseCritical = parseCertificate(edited((t) => { ext(t, 1).children!.splice(1, 0, { tag: 0x01, content: bytes(0) }); }));
  assert.equal(falseCritical.extensions[1]!.critical, false);
  assert.equal(falseCritical.extKeyUsage, ['serverAuth']);

  // One RDN holding two values, an unknown attribute type, characters RFC 4514 escapes.
  const oidCn = { tag: 0x06, content: bytes(0x55, 0x04, 0x03) };
  const multi = parseCertificate(edited((t) => {
    at(t, ...TBS, 5).children = [
      { tag: 0x31, children: [
        { tag: 0x30, children: [{ tag: 0x06, content: bytes(0x55, 0x04, 0x0a) }, { tag: 0x0c, content: ascii('a,b') }] },
        { tag: 0x30, children: [{ tag: 0x06, content: bytes(0x2a, 0x03, 0x04) }, { tag: 0x13, content: ascii(' x') }] },
      ] },
      { tag: 0x31, children: [{ tag: 0x30, children: [oidCn, { tag: 0x1c, content: bytes(0, 0, 0, 0x41, 0, 1, 0xf6, 0x00) }] }] },
    ];
  }));
  assert.is(multi.subject.text, 'O=a\\,b + 1.2.3.4=\\ x, CN=A\u{1f600}');
  assert.is(multi.subject.cn, 'A\u{1f600}');
  assert.equal(multi.subject.o, ['a,b']);
  rejects(edited((t) => { Object.assign(cnValue(t), { tag: 0x1c, content: bytes(0, 0x11, 0, 0) }); }), /^subject CN: UniversalString holds an invalid code point$/);
});

test('every failure is a CertParseError, also for non-certificates', () => {
  for (const input of [bytes(0x30, 0), bytes(0x30, 3, 0x30, 1, 0), bytes(0x04, 0), new Uint8Array(1000), new Uint8Array(64).fill(0xff),
    ascii('-----BEGIN CERTIFICATE-----'), bytes(0x30, 0x84, 0xff, 0xff, 0xff, 0xff)]) {
    assert.throws(() => parseCertificate(input), (e: unknown) => e instanceof CertParseError && !/internal/.test((e as Error).message));
  }
});

// ---------------------------------------------------------------------------------------------
// PEM

const CERT_PEM = byName('kpki-ecdsa-p256-kubelet-client').pem;

function pemRejects(text: string, message: RegExp): void {
  try {
    parsePem(text);
  } catch (err) {
    assert.instance(err, PemFormatError);
    assert.match((err as Error).message, message);
    return;
  }
  assert.unreachable(`accepted; expected ${message}`);
}

test('PEM: blocks, labels, line numbers; text outside ignored; CRLF and trailing blanks', () => {
  const text = `subject=CN = x\n${CERT_PEM}# a comment\n\n${toPem(bytes(1, 2, 3), 'EC PRIVATE KEY').replace(/\n/g, '  \r\n')}trailer`;
  const blocks = parsePem(text);
  assert.equal(blocks.map((b) => [b.label, b.line]), [['CERTIFICATE', 2], ['EC PRIVATE KEY', CERT_PEM.split('\n').length + 3]]);
  assert.is(hex(blocks[0]!.der), hex(byName('kpki-ecdsa-p256-kubelet-client').der));
  assert.is(hex(blocks[1]!.der), '010203');
  assert.equal(parsePem('no pem here\n'), []);
  // Base64 lines of any width (and blanks between them) are fine.
  const oneLine = `-----BEGIN CERTIFICATE-----\n${Buffer.from(byName('kpki-ecdsa-p256-kubelet-client').der).toString('base64')}\n\n-----END CERTIFICATE-----`;
  assert.is(hex(parsePem(oneLine)[0]!.der), hex(byName('kpki-ecdsa-p256-kubelet-client').der));
});

test('PEM: broken armor and base64 are PemFormatErrors with a reason', () => {
  const lines = CERT_PEM.trimEnd().split('\n');
  const body = lines.slice(1, -1);
  const wrap = (b: string[], begin = lines[0]!, end = lines.at(-1)!): string => [begin, ...b, end].join('\n');
  pemRejects(wrap(body, '-----BEGIN CERTIFICATE-----', '-----END X509 CRL-----'), /^line \d+: END X509 CRL closes BEGIN CERTIFICATE of line 1$/);
  pemRejects(lines.slice(0, -1).join('\n'), /^PEM block CERTIFICATE \(line 1\) has no END line/);
  pemRejects(`junk\n${lines.at(-1)}`, /^line 2: END CERTIFICATE without a BEGIN$/);
  pemRejects(wrap([body[0]!.replace(/./, '!'), ...body.slice(1)]), /^PEM block CERTIFICATE \(line 1\) line 2 has characters outside the base64 alphabet$/);
  pemRejects(wrap([body[0]!.slice(1), ...body.slice(1)]), /base64 length \d+ is not a multiple of 4/);
  pemRejects(wrap([body[0]!.replace(/^..../, 'AA=='), ...body.slice(1)]), /'=' padding in the middle/);
  pemRejects(wrap([]), /^PEM block CERTIFICATE \(line 1\) is empty$/);
  pemRejects(wrap(['Proc-Type: 4,ENCRYPTED', ...body]), /RFC 1421 headers/);
  pemRejects(`${lines[0]}\n${lines[0]}\n`, /^line 2: BEGIN CERTIFICATE inside the CERTIFICATE block of line 1/);
  pemRejects(wrap(body, '-----BEGIN CERTIFICATE----'), /^line 1: malformed BEGIN line/);
  pemRejects(wrap(body, lines[0], '-----END CERTIFICATE'), /^line \d+: malformed END line/);
});

test('looksLikeDer: a certificate saved without armor, not text or a truncated file', () => {
  const der = byName('kpki-ecdsa-p256-apiserver').der;
  assert.ok(looksLikeDer(der));
  assert.ok(looksLikeDer(bytes(0x30, 2, 5, 0)));
  assert.not.ok(looksLikeDer(der.subarray(0, der.length - 1)));
  assert.not.ok(looksLikeDer(ascii(CERT_PEM)));
  assert.not.ok(looksLikeDer(bytes(0x30, 0x81, 2, 5, 0)), 'non-minimal length');
  assert.not.ok(looksLikeDer(bytes()));
});

// ---------------------------------------------------------------------------------------------
// readCert: the product's entry point

function pemError(pem: string, file: string): PemError {
  try {
    readCert(pem, file);
  } catch (err) {
    assert.instance(err, PemError);
    assert.instance(err, KpkiError);
    return err as PemError;
  }
  throw new Error('readCert accepted it');
}

test('readCert: profile carries every EKU, so extra usages are a difference', () => {
  const many = readCert(byName('openssl-many').pem, 'many.crt');
  assert.equal(many.profile.usages, ['serverAuth', 'clientAuth', 'codeSigning', '1.3.6.1.4.1.55555.1']);
  assert.equal(many.profile.dns, ['a.example', 'b.example']);
  assert.equal(many.profile.ips, ['192.0.2.7', '2001:db8::7']);
  assert.is(many.profile.isCa, true);
  const want = { cn: '#weird, name+plus;', o: ['Ops Org', 'Second Org'], extras: {}, dns: ['a.example', 'b.example'],
    ips: ['192.0.2.7', '2001:db8::7'], usages: ['serverAuth', 'clientAuth'] as const, isCa: true };
  assert.equal(profileDiff({ ...want, usages: [...want.usages] }, many.profile), ['usages changed: -codeSigning -1.3.6.1.4.1.55555.1']);

  const api = readCert(byName('kpki-ecdsa-p256-apiserver').pem, 'apiserver.crt');
  assert.is(api.notAfter.toISOString(), KPKI_NOT_AFTER.toISOString());
  assert.is(api.parsed.serialHex, '00ff00000000000001');
  assert.is(hex(api.der), hex(byName('kpki-ecdsa-p256-apiserver').der));
  assert.equal(api.profile.usages, ['serverAuth']);
  assert.equal(profileDiff({ ...api.profile, usages: ['serverAuth'] }, api.profile), []);
});

test('readCert: a bad file is a PemError naming the file and the reason', () => {
  const badTime = edited((t) => { notAfter(t).content = ascii('261301120059Z'); });
  const e = pemError(toPem(badTime), 'pki/ca.crt');
  assert.is(e.code, 'ERR_PEM_INVALID');
  assert.is(e.file, 'pki/ca.crt');
  assert.is(e.message, 'pki/ca.crt: not a valid certificate: validity notAfter: month 13');
  assert.match(pemError('', 'a.crt').message, /^a.crt: not a valid certificate: empty file$/);
  assert.match(pemError(Buffer.from(BASE).toString('utf8'), 'b.crt').message, /binary data, not PEM \(a DER file\?/);
  assert.match(pemError(toPem(bytes(1), 'EC PRIVATE KEY'), 'c.crt').message, /no CERTIFICATE block \(found EC PRIVATE KEY\)/);
  assert.match(pemError(CERT_PEM.replace(/\n[A-Za-z0-9+/]{10}/, '\n'), 'd.crt').message, /^d.crt: not a valid certificate: PEM block CERTIFICATE/);
  assert.match(pemError(toPem(concat([BASE, bytes(0)])), 'e.crt').message, /data after the certificate/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
