/**
 * Checks that a tool's output directory holds the full, correct certificate set for a plan, so a
 * fast wrong answer cannot win. Layout-agnostic: every PEM certificate/key in any file is
 * collected, plus the base64 certificates and keys embedded in kubeconfigs; duplicates (the same
 * CA copied into many node trees) count once.
 *
 * Hard checks (any failure makes the run INVALID):
 *  - the three CAs exist exactly once each (by subject CN), are CA:TRUE and verify as roots;
 *  - every expected leaf is present, matched on issuer CN + subject CN + O + EKU + DNS/IP SANs;
 *  - each of those leaves passes `openssl verify -CAfile <its CA>` (batched, one call per CA);
 *  - each certificate has the plan's key type and its private key is in the output;
 *  - the service-account key pair exists (a private key without a certificate + its public key);
 *  - distinct private keys >= the plan's key count.
 * Soft checks (reported as profile deviations): keyUsage bits and criticality, basicConstraints
 * criticality, authorityKeyIdentifier, SHA-256 signature, validity (1 y leaves, 10 y CAs).
 *
 * Fields are read with kpki's own strict reader (pki/x509/parse.ts), the one the product uses:
 * the bench no longer keeps a second DER walker. That reader is checked against openssl's output
 * and differentially against node:crypto over 16,000 fuzzed inputs (test/x509/reader*.test.ts);
 * the hard checks that decide validity (openssl verify, key types, key matching) stay independent.
 */
import { createHash, createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalIp } from '../pki/plan/net.js';
import { parseCertificate, type ParsedCert } from '../pki/x509/parse.js';
import { parsePem } from '../pki/x509/pem.js';
import {
  CA_COMMON_NAMES,
  expectedCertCount,
  expectedKeyCount,
  expectedLeaves,
  type Alg,
  type BenchPlan,
  type CaName,
  type ExpectedLeaf,
} from './plans.js';
import { timedRun } from './proc.js';

export interface VerifyResult {
  readonly valid: boolean;
  readonly expectedCerts: number;
  /** Distinct expected certificates that passed every hard check. */
  readonly verifiedCerts: number;
  readonly distinctCerts: number;
  readonly expectedKeys: number;
  readonly distinctKeys: number;
  readonly certFiles: number;
  readonly keyFiles: number;
  readonly kubeconfigs: number;
  readonly problems: string[];
  readonly warnings: string[];
  readonly verifyMs: number;
}

interface FoundCert {
  readonly der: Buffer;
  readonly facts: CertFacts;
  readonly spki: string;
  readonly key: KeyObject;
  readonly source: string;
}

interface Collection {
  readonly certs: Map<string, FoundCert>;
  /** SPKI hash of each distinct private key -> file it came from. */
  readonly privateKeys: Map<string, string>;
  readonly publicKeys: Set<string>;
  certFiles: number;
  keyFiles: number;
  kubeconfigs: number;
  readonly unreadable: string[];
}

const DAY_MS = 86_400_000;
const MAX_FILE_BYTES = 8 * 1024 * 1024;

export function verifyOutput(outDir: string, plan: BenchPlan, alg: Alg, scratchDir: string): VerifyResult {
  const start = process.hrtime.bigint();
  const problems: string[] = [];
  const warnings: string[] = [];
  const found = collect(outDir);
  if (found.unreadable.length > 0) problems.push(`unparseable PEM in ${found.unreadable.slice(0, 3).join(', ')}`);

  const cas = findCas(found, problems, warnings);
  const leaves = [...found.certs.values()].filter((c) => !c.facts.basicConstraints?.ca);
  const opensslOk = opensslVerifyAll(cas, leaves, scratchDir, problems);
  const passes = (c: FoundCert): boolean =>
    opensslOk.has(c) && keyTypeOk(c.key, alg) && found.privateKeys.has(c.spki);
  reportPerCertFailures([...cas.values(), ...leaves], alg, found, opensslOk, problems);

  let verified = [...cas.values()].filter(passes).length;
  verified += matchLeaves(leaves, expectedLeaves(plan), passes, problems, warnings);
  checkServiceAccount(found, problems);
  profileWarnings([...cas.values()], leaves, alg, warnings);

  const expectedCerts = expectedCertCount(plan);
  const expectedKeys = expectedKeyCount(plan);
  if (verified < expectedCerts) problems.unshift(`only ${verified} of ${expectedCerts} certificates verified`);
  if (found.privateKeys.size < expectedKeys) {
    problems.push(`only ${found.privateKeys.size} distinct private keys, expected ${expectedKeys}`);
  }
  return {
    valid: problems.length === 0,
    expectedCerts,
    verifiedCerts: verified,
    distinctCerts: found.certs.size,
    expectedKeys,
    distinctKeys: found.privateKeys.size,
    certFiles: found.certFiles,
    keyFiles: found.keyFiles,
    kubeconfigs: found.kubeconfigs,
    problems,
    warnings,
    verifyMs: Number(process.hrtime.bigint() - start) / 1e6,
  };
}

// ---------------------------------------------------------------- collection

function collect(dir: string): Collection {
  const c: Collection = {
    certs: new Map(),
    privateKeys: new Map(),
    publicKeys: new Set(),
    certFiles: 0,
    keyFiles: 0,
    kubeconfigs: 0,
    unreadable: [],
  };
  for (const file of walk(dir)) {
    if (statSync(file).size > MAX_FILE_BYTES) continue;
    const text = readFileSync(file, 'utf8');
    const pems = extractPems(text);
    const embedded = kubeconfigPayloads(text);
    if (embedded.length > 0) c.kubeconfigs++;
    for (const payload of embedded) pems.push(...extractPems(payload));
    const labels = pems.map((p) => p.label);
    if (labels.includes('CERTIFICATE')) c.certFiles++;
    if (labels.some((l) => l.endsWith('PRIVATE KEY'))) c.keyFiles++;
    for (const pem of pems) addPem(c, pem, file);
  }
  return c;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

interface Pem {
  readonly label: string;
  readonly text: string;
}

function extractPems(text: string): Pem[] {
  const out: Pem[] = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)) {
    out.push({ label: m[1] ?? '', text: m[0] });
  }
  return out;
}

/** Decoded `*-data:` values of a kubeconfig (certificate-authority-data, client-certificate-data, client-key-data). */
function kubeconfigPayloads(text: string): string[] {
  if (!text.includes('-data:')) return [];
  const re = /^\s*(?:certificate-authority-data|client-certificate-data|client-key-data):\s*["']?([A-Za-z0-9+/=]+)["']?\s*$/gm;
  return [...text.matchAll(re)].map((m) => Buffer.from(m[1] ?? '', 'base64').toString('utf8'));
}

function addPem(c: Collection, pem: Pem, file: string): void {
  try {
    if (pem.label === 'CERTIFICATE') {
      const der = pemBody(pem.text);
      const parsed = parseCertificate(der);
      const fp = sha256(der);
      if (c.certs.has(fp)) return;
      const key = new X509Certificate(der).publicKey;
      c.certs.set(fp, { der, facts: factsOf(parsed), spki: spkiHash(key), key, source: file });
    } else if (pem.label.endsWith('PRIVATE KEY')) {
      const spki = spkiHash(createPublicKey(createPrivateKey(pem.text)));
      if (!c.privateKeys.has(spki)) c.privateKeys.set(spki, file);
    } else if (pem.label === 'PUBLIC KEY') {
      c.publicKeys.add(spkiHash(createPublicKey(pem.text)));
    }
  } catch {
    c.unreadable.push(file);
  }
}

/** The DER of a single-block PEM text, strictly decoded (a damaged block is unreadable). */
function pemBody(pem: string): Buffer {
  const block = parsePem(pem)[0];
  if (!block) throw new Error('no PEM block');
  return Buffer.from(block.der);
}

/** The fields the checks below compare, from the product's reader. */
interface CertFacts {
  /** Signature algorithm name (sha256WithRSAEncryption, ecdsa-with-SHA256, ...). */
  readonly signatureAlgorithm: string;
  readonly issuer: { readonly cn: string[]; readonly o: readonly string[] };
  readonly subject: { readonly cn: string[]; readonly o: readonly string[] };
  readonly notBefore: number;
  readonly notAfter: number;
  /** undefined when the extension is absent. */
  readonly keyUsage?: { readonly critical: boolean; readonly bits: readonly string[] };
  readonly basicConstraints?: { readonly critical: boolean; readonly ca: boolean };
  /** Every EKU, by name (serverAuth, clientAuth, ...) or dotted OID. */
  readonly extKeyUsage: readonly string[];
  readonly dns: readonly string[];
  /** Canonical IP text. */
  readonly ips: readonly string[];
  readonly hasAuthorityKeyId: boolean;
}

function factsOf(c: ParsedCert): CertFacts {
  const name = (n: ParsedCert['subject']) => ({ cn: n.cn === '' ? [] : [n.cn], o: n.o });
  return {
    signatureAlgorithm: c.signatureAlgorithm.name,
    issuer: name(c.issuer),
    subject: name(c.subject),
    notBefore: c.notBefore.getTime(),
    notAfter: c.notAfter.getTime(),
    ...(c.keyUsage ? { keyUsage: { critical: c.keyUsage.critical, bits: c.keyUsage.usages } } : {}),
    ...(c.basicConstraints ? { basicConstraints: { critical: c.basicConstraints.critical, ca: c.basicConstraints.ca } } : {}),
    extKeyUsage: c.extKeyUsage ?? [],
    dns: c.subjectAltName?.dns ?? [],
    ips: c.subjectAltName?.ips ?? [],
    hasAuthorityKeyId: c.authorityKeyId !== undefined,
  };
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function spkiHash(key: KeyObject): string {
  return sha256(key.export({ type: 'spki', format: 'der' }));
}

// ---------------------------------------------------------------- CAs and openssl verify

function findCas(found: Collection, problems: string[], warnings: string[]): Map<CaName, FoundCert> {
  const cas = new Map<CaName, FoundCert>();
  const caCerts = [...found.certs.values()].filter((c) => c.facts.basicConstraints?.ca);
  for (const [name, cn] of Object.entries(CA_COMMON_NAMES) as [CaName, string][]) {
    const matching = caCerts.filter((c) => c.facts.subject.cn.includes(cn));
    const first = matching[0];
    if (!first) problems.push(`CA ${name} (CN ${cn}) missing`);
    else cas.set(name, first);
    if (matching.length > 1) problems.push(`${matching.length} different CA certificates with CN ${cn}`);
  }
  const known = new Set(Object.values(CA_COMMON_NAMES));
  const others = caCerts.filter((c) => !c.facts.subject.cn.some((cn) => known.has(cn)));
  if (others.length > 0) warnings.push(`${others.length} unexpected CA certificate(s)`);
  return cas;
}

/** Runs openssl verify for every CA (against itself) and every leaf (against the CA its issuer CN names). */
function opensslVerifyAll(
  cas: Map<CaName, FoundCert>,
  leaves: readonly FoundCert[],
  scratchDir: string,
  problems: string[],
): Set<FoundCert> {
  mkdirSync(scratchDir, { recursive: true }); // a fresh directory per run, removed at the end
  const ok = new Set<FoundCert>();
  let orphans = 0;
  for (const [name, ca] of cas) {
    const cn = CA_COMMON_NAMES[name];
    const caFile = join(scratchDir, `${name}.pem`);
    writeFileSync(caFile, toPem(ca.der));
    const group = leaves.filter((l) => l.facts.issuer.cn.includes(cn));
    const files = new Map<string, FoundCert>([[caFile, ca]]);
    group.forEach((l, i) => {
      const f = join(scratchDir, `${name}-${i}.pem`);
      writeFileSync(f, toPem(l.der));
      files.set(f, l);
    });
    for (const passed of opensslVerify(caFile, [...files.keys()])) {
      const cert = files.get(passed);
      if (cert) ok.add(cert);
    }
  }
  const caCns = new Set([...cas.keys()].map((n) => CA_COMMON_NAMES[n]));
  for (const l of leaves) if (!l.facts.issuer.cn.some((cn) => caCns.has(cn))) orphans++;
  if (orphans > 0) problems.push(`${orphans} certificate(s) issued by an unknown CA`);
  return ok;
}

/** Files that openssl reports as OK. */
function opensslVerify(caFile: string, files: readonly string[]): Set<string> {
  const passed = new Set<string>();
  for (let i = 0; i < files.length; i += 500) {
    const r = timedRun('openssl', ['verify', '-CAfile', caFile, ...files.slice(i, i + 500)]);
    for (const line of r.stdout.split('\n')) {
      if (line.endsWith(': OK')) passed.add(line.slice(0, -': OK'.length));
    }
  }
  return passed;
}

function toPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64.trimEnd()}\n-----END CERTIFICATE-----\n`;
}

function keyTypeOk(key: KeyObject, alg: Alg): boolean {
  const d = key.asymmetricKeyDetails;
  if (alg === 'ecdsa-p256') return key.asymmetricKeyType === 'ec' && d?.namedCurve === 'prime256v1';
  return key.asymmetricKeyType === 'rsa' && d?.modulusLength === 2048;
}

function reportPerCertFailures(
  certs: readonly FoundCert[],
  alg: Alg,
  found: Collection,
  opensslOk: Set<FoundCert>,
  problems: string[],
): void {
  const failed = (pred: (c: FoundCert) => boolean, what: string): void => {
    const bad = certs.filter(pred);
    if (bad.length > 0) problems.push(`${bad.length} certificate(s) ${what} (e.g. ${describe(bad[0])})`);
  };
  failed((c) => !opensslOk.has(c), 'failed openssl verify');
  failed((c) => !keyTypeOk(c.key, alg), `without a ${alg} key`);
  failed((c) => !found.privateKeys.has(c.spki), 'without their private key in the output');
}

function describe(c: FoundCert | undefined): string {
  return c ? `CN ${c.facts.subject.cn.join('+')} in ${c.source}` : '?';
}

// ---------------------------------------------------------------- leaf set matching

function expectedIdentity(e: ExpectedLeaf): string {
  const eku = e.usage === 'server' ? ['serverAuth'] : e.usage === 'client' ? ['clientAuth'] : ['serverAuth', 'clientAuth'];
  return identity(CA_COMMON_NAMES[e.issuer], e.cn, e.orgs, eku, e.dns, e.ips.map((ip) => canonicalIp(ip) ?? ip));
}

function foundIdentity(f: CertFacts): string {
  return identity(f.issuer.cn.join('+'), f.subject.cn.join('+'), f.subject.o, f.extKeyUsage, f.dns, f.ips);
}

function identity(
  issuer: string,
  cn: string,
  orgs: readonly string[],
  eku: readonly string[],
  dns: readonly string[],
  ips: readonly string[],
): string {
  const set = (xs: readonly string[]): string => [...new Set(xs)].sort().join(',');
  return [issuer, cn, set(orgs), set(eku), set(dns.map((d) => d.toLowerCase())), set(ips)].join('|');
}

/** Number of expected leaves covered by a passing certificate; records what is missing or extra. */
function matchLeaves(
  leaves: readonly FoundCert[],
  expected: readonly ExpectedLeaf[],
  passes: (c: FoundCert) => boolean,
  problems: string[],
  warnings: string[],
): number {
  const available = new Map<string, FoundCert[]>();
  for (const l of leaves) {
    const k = foundIdentity(l.facts);
    available.set(k, [...(available.get(k) ?? []), l]);
  }
  const missing: string[] = [];
  const notPassing: string[] = [];
  let verified = 0;
  for (const e of expected) {
    const pool = available.get(expectedIdentity(e)) ?? [];
    const i = pool.findIndex(passes);
    const hit = i >= 0 ? pool.splice(i, 1)[0] : pool.shift();
    if (!hit) missing.push(e.what);
    else if (passes(hit)) verified++;
    else notPassing.push(e.what);
  }
  if (missing.length > 0) problems.push(`${missing.length} expected certificate(s) missing or wrong (e.g. ${missing.slice(0, 4).join(', ')})`);
  if (notPassing.length > 0) problems.push(`${notPassing.length} expected certificate(s) failed checks (e.g. ${notPassing.slice(0, 4).join(', ')})`);
  const extra = [...available.values()].flat();
  if (extra.length > 0) warnings.push(`${extra.length} unexpected leaf certificate(s) (e.g. ${describe(extra[0])})`);
  return verified;
}

function checkServiceAccount(found: Collection, problems: string[]): void {
  const certKeys = new Set([...found.certs.values()].map((c) => c.spki));
  const saLike = [...found.privateKeys.keys()].filter((k) => !certKeys.has(k));
  if (saLike.length === 0) problems.push('no service-account private key (a key without a certificate)');
  else if (!saLike.some((k) => found.publicKeys.has(k))) problems.push('no service-account public key matching sa.key');
}

// ---------------------------------------------------------------- profile (soft) checks

function profileWarnings(cas: readonly FoundCert[], leaves: readonly FoundCert[], alg: Alg, warnings: string[]): void {
  const counts = new Map<string, number>();
  const note = (msg: string): void => void counts.set(msg, (counts.get(msg) ?? 0) + 1);
  const sigAlg = alg === 'ecdsa-p256' ? 'ecdsa-with-SHA256' : 'sha256WithRSAEncryption';
  for (const c of cas) checkProfile(c.facts, true, alg, sigAlg, note);
  for (const l of leaves) checkProfile(l.facts, false, alg, sigAlg, note);
  for (const [msg, n] of counts) warnings.push(`${n}× ${msg}`);
}

function checkProfile(f: CertFacts, ca: boolean, alg: Alg, sigAlg: string, note: (msg: string) => void): void {
  const kind = ca ? 'CA' : 'leaf';
  // keyEncipherment only for RSA keys: RFC 5480 §3 / RFC 8813 §3 forbid it for EC keys.
  const encipherment = alg === 'ecdsa-p256' ? '' : ',keyEncipherment';
  const wantKu = ca ? `digitalSignature${encipherment},keyCertSign` : `digitalSignature${encipherment}`;
  const ku = f.keyUsage;
  if (!ku) note(`${kind} without keyUsage`);
  else {
    if (!ku.critical) note(`${kind} keyUsage not critical`);
    if (ku.bits.join(',') !== wantKu) note(`${kind} keyUsage ${ku.bits.join(',')} (want ${wantKu})`);
  }
  if (!f.basicConstraints?.critical) note(`${kind} basicConstraints missing or not critical`);
  if (!ca && !f.hasAuthorityKeyId) note('leaf without authorityKeyIdentifier');
  if (f.signatureAlgorithm !== sigAlg) note(`${kind} signature algorithm ${f.signatureAlgorithm}`);
  const days = (f.notAfter - f.notBefore) / DAY_MS;
  const [lo, hi] = ca ? [3649, 3654] : [364, 367];
  if (days < lo || days > hi) note(`${kind} validity ${days.toFixed(1)} days`);
}
