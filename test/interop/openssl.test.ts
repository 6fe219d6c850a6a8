/**
 * Interop with OpenSSL 3: every fixture is generated once, then every file, certificate, key and
 * kubeconfig is read back with the `openssl` CLI and compared with the hand-written expectations
 * in ./expected.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CLI, FIXTURES, ROOT, listFiles, modeOf, tempDir } from '../support/cli.js';
import { run as runBounded } from '../support/proc.js';
import {
  CAS, CA_KEY_USAGE, CA_NAMES, EKU_TEXT, FIXTURE_NAMES, KEY_PEM_HEADER, LEAF_KEY_USAGE, SIG_ALG, STORE_FILES,
  expectFixture, normIp, privateDirs,
  type CaName, type CertExpectation, type FixtureExpectation, type FixtureName,
} from './expected.js';

// ---------------------------------------------------------------------------------------------
// Helpers

interface RunResult { code: number | null; stdout: string; stderr: string }

async function run(cmd: string, args: readonly string[], input?: string): Promise<RunResult> {
  const r = await runBounded(cmd, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function mustRun(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Promise.all with at most `limit` tasks in flight. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

interface CertFacts {
  subject: Array<[string, string]>;
  issuer: Array<[string, string]>;
  ext: Map<string, { critical: boolean; lines: string[] }>;
  dns: string[];
  ips: string[];
  eku: string[];
  ku: string[];
  notBefore: Date;
  notAfter: Date;
  serial: string;
  sigAlg: string;
  /** `openssl x509 -pubkey` output (PEM SubjectPublicKeyInfo). */
  pubkey: string;
  text: string;
}

function parseDn(s: string): Array<[string, string]> {
  if (!s.trim()) return [];
  return s.split(/(?<!\\),/).map((rdn) => {
    const i = rdn.indexOf('=');
    return [rdn.slice(0, i).trim(), rdn.slice(i + 1).trim()] as [string, string];
  });
}

const factsCache = new Map<string, Promise<CertFacts>>();

/** Reads a certificate back with `openssl x509`. */
function certFacts(file: string): Promise<CertFacts> {
  let p = factsCache.get(file);
  if (!p) {
    p = mustRun('openssl', [
      'x509', '-in', file, '-noout', '-subject', '-issuer', '-nameopt', 'RFC2253',
      '-ext', 'subjectAltName,keyUsage,extendedKeyUsage,basicConstraints,subjectKeyIdentifier,authorityKeyIdentifier',
      '-dates', '-serial', '-pubkey', '-text',
      '-certopt', 'no_header,no_version,no_serial,no_validity,no_subject,no_issuer,no_extensions,no_sigdump,no_aux',
    ]).then((text) => {
      const lines = text.split('\n');
      const ext = new Map<string, { critical: boolean; lines: string[] }>();
      let cur: string[] | undefined;
      for (const line of lines) {
        const h = /^X509v3 (.+?):( critical)?\s*$/.exec(line);
        if (h) { cur = []; ext.set(h[1] as string, { critical: !!h[2], lines: cur }); continue; }
        if (cur && /^\s{4}\S/.test(line) && !/^\s{8}/.test(line)) { cur.push(line.trim()); continue; }
        cur = undefined;
      }
      const get = (re: RegExp) => re.exec(text)?.[1] ?? '';
      const items = (name: string) =>
        (ext.get(name)?.lines.join(', ') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const san = items('Subject Alternative Name');
      return {
        subject: parseDn(get(/^subject=(.*)$/m)),
        issuer: parseDn(get(/^issuer=(.*)$/m)),
        ext,
        dns: san.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)),
        ips: san.filter((s) => s.startsWith('IP Address:')).map((s) => normIp(s.slice(11))),
        eku: items('Extended Key Usage'),
        ku: items('Key Usage'),
        notBefore: new Date(get(/^notBefore=(.*)$/m)),
        notAfter: new Date(get(/^notAfter=(.*)$/m)),
        serial: get(/^serial=(.*)$/m),
        sigAlg: get(/Signature Algorithm: (\S+)/),
        pubkey: /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/.exec(text)?.[0] ?? '',
        text,
      };
    });
    factsCache.set(file, p);
  }
  return p;
}

const keyId = (f: CertFacts, name: string) =>
  (f.ext.get(name)?.lines.join('') ?? '').replace(/^keyid:/, '').trim().toUpperCase();

/**
 * `openssl verify` on many files at once; returns the set of files reported OK.
 * (`openssl verify` prints "<file>: OK" per good file and exits non-zero if any failed.)
 */
async function verifyOk(caFile: string, purpose: 'sslserver' | 'sslclient', files: readonly string[]): Promise<Set<string>> {
  if (files.length === 0) return new Set();
  const r = await run('openssl', ['verify', '-x509_strict', '-CAfile', caFile, '-purpose', purpose, ...files]);
  const ok = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(.*): OK$/.exec(line);
    if (m) ok.add(m[1] as string);
  }
  if (ok.size === files.length) assert.is(r.code, 0, `openssl verify exit code with all files OK: ${r.stderr}`);
  return ok;
}

// ---------------------------------------------------------------------------------------------
// Generation (once per fixture, before the tests)

const WORK = tempDir('kpki-interop-openssl-');
const HOUR = 3_600_000;
const SLACK = 90_000; // ms tolerance for "≈"

interface Gen { out: string; t0: number; t1: number; stdout: string; stderr: string; code: number | null; x: FixtureExpectation }
const gens = new Map<FixtureName, Gen>();

test.before(async () => {
  await Promise.all(FIXTURE_NAMES.map(async (name) => {
    const out = join(WORK, name);
    const t0 = Date.now();
    const r = await run(process.execPath, [CLI, 'gen', '--plan', join(FIXTURES, `${name}.yaml`), '--out', out]);
    const t1 = Date.now();
    gens.set(name, { out, t0, t1, stdout: r.stdout, stderr: r.stderr, code: r.code, x: expectFixture(name) });
  }));
});

test.after(() => {
  rmSync(WORK, { recursive: true, force: true });
});

function gen(name: FixtureName): Gen {
  const g = gens.get(name);
  if (!g) throw new Error(`${name} was not generated`);
  if (g.code !== 0) throw new Error(`kpki gen ${name} exited ${g.code}: ${g.stderr}`);
  return g;
}

/** Every leaf on every node of a fixture, with absolute paths. */
function allLeaves(g: Gen) {
  return g.x.nodes.flatMap((n) => n.leaves.map((l) => ({
    node: n.name, exp: l as CertExpectation, crt: join(g.out, 'nodes', n.name, l.crt), key: join(g.out, 'nodes', n.name, l.key),
  })));
}

/** Decodes each kubeconfig's embedded client cert/key into files under WORK. */
function kubeconfigCreds(g: Gen) {
  const dir = join(WORK, `${g.x.spec.name}-kubeconfigs`);
  mkdirSync(dir, { recursive: true });
  return g.x.nodes.flatMap((n) => n.kubeconfigs.map((k) => {
    const file = join(g.out, 'nodes', n.name, k.file);
    const doc = parseYaml(readFileSync(file, 'utf8')) as {
      clusters?: Array<{ cluster?: Record<string, string> }>;
      users?: Array<{ user?: Record<string, string> }>;
    };
    const user = doc.users?.[0]?.user ?? {};
    const cluster = doc.clusters?.[0]?.cluster ?? {};
    const base = join(dir, `${n.name}-${k.file.replace(/\//g, '_')}`);
    const crt = `${base}.crt`;
    const key = `${base}.key`;
    writeFileSync(crt, Buffer.from(user['client-certificate-data'] ?? '', 'base64'));
    writeFileSync(key, Buffer.from(user['client-key-data'] ?? '', 'base64'), { mode: 0o600 });
    return { node: n.name, file, crt, key, exp: k.cert, caData: Buffer.from(cluster['certificate-authority-data'] ?? '', 'base64').toString('utf8') };
  }));
}

/** Checks a leaf certificate's read-back facts against its expectation. */
async function checkLeaf(g: Gen, label: string, crt: string, exp: CertExpectation) {
  const f = await certFacts(crt);
  const ca = await certFacts(join(g.out, CAS[exp.signer].file));
  const subj = sorted(f.subject.map(([k, v]) => `${k}=${v}`));
  const want = sorted([`CN=${exp.cn}`, ...exp.o.map((o) => `O=${o}`)]);
  assert.equal(subj, want, `${label}: subject`);
  assert.equal(f.issuer, ca.subject, `${label}: issuer is ${exp.signer}'s subject`);
  assert.equal(sorted(new Set(f.dns)), sorted(exp.dns), `${label}: DNS SANs`);
  assert.equal(sorted(new Set(f.ips)), sorted(exp.ips.map(normIp)), `${label}: IP SANs`);
  assert.ok(f.ext.get('Key Usage')?.critical, `${label}: keyUsage critical`);
  assert.equal(sorted(f.ku), sorted(LEAF_KEY_USAGE[g.x.spec.keyAlgorithm]), `${label}: keyUsage`);
  assert.equal(sorted(f.eku.map((e) => EKU_TEXT[e] ?? e)), sorted(exp.eku), `${label}: extendedKeyUsage`);
  const bc = f.ext.get('Basic Constraints');
  assert.ok(bc?.critical, `${label}: basicConstraints critical`);
  assert.equal(bc?.lines, ['CA:FALSE'], `${label}: basicConstraints`);
  const aki = keyId(f, 'Authority Key Identifier');
  assert.ok(aki.length > 0, `${label}: AKI present`);
  assert.is(aki, keyId(ca, 'Subject Key Identifier'), `${label}: AKI = ${exp.signer} SKI`);
  assert.is(f.sigAlg, SIG_ALG[g.x.spec.keyAlgorithm], `${label}: signature algorithm`);
  if (g.x.spec.keyAlgorithm === 'ecdsa-p256') assert.match(f.text, /ASN1 OID: prime256v1/, `${label}: P-256 key`);
  else assert.match(f.text, /Public-Key: \(2048 bit\)/, `${label}: RSA-2048 key`);
  assert.match(f.serial, /^[0-9A-F]+$/, `${label}: serial is a positive hex integer (${f.serial})`);
  assert.ok(/[1-9A-F]/.test(f.serial), `${label}: serial non-zero`);
  // Validity.
  const skew = 5 * 60_000;
  assert.ok(f.notBefore.getTime() >= g.t0 - skew - SLACK && f.notBefore.getTime() <= g.t1 - skew + SLACK,
    `${label}: notBefore ${f.notBefore.toISOString()} ≈ now − 5 min`);
  assert.ok(f.notAfter.getTime() <= ca.notAfter.getTime(), `${label}: notAfter ${f.notAfter.toISOString()} not after the CA's ${ca.notAfter.toISOString()}`);
  const lo = Math.min(g.t0 + g.x.spec.certValidityHours * HOUR, ca.notAfter.getTime()) - SLACK;
  const hi = Math.min(g.t1 + g.x.spec.certValidityHours * HOUR, ca.notAfter.getTime()) + SLACK;
  assert.ok(f.notAfter.getTime() >= lo && f.notAfter.getTime() <= hi,
    `${label}: notAfter ${f.notAfter.toISOString()} ≈ now + ${g.x.spec.certValidityHours}h (capped by CA)`);
}

async function checkKeyPair(g: Gen, label: string, crt: string, key: string) {
  const pem = readFileSync(key, 'utf8');
  assert.is(pem.split('\n')[0], KEY_PEM_HEADER[g.x.spec.keyAlgorithm], `${label}: key PEM header`);
  // `openssl pkey -pubout` of the key vs `openssl x509 -pubkey` of the certificate.
  const [fromKey, facts] = await Promise.all([mustRun('openssl', ['pkey', '-in', key, '-pubout']), certFacts(crt)]);
  const fromCert = facts.pubkey;
  assert.ok(fromCert.length > 0, `${label}: openssl x509 -pubkey`);
  assert.ok(fromKey.includes('BEGIN PUBLIC KEY'), `${label}: openssl pkey -pubout`);
  assert.is(fromKey.trim(), fromCert.trim(), `${label}: key matches certificate`);
}

// ---------------------------------------------------------------------------------------------
// Tests

for (const name of FIXTURE_NAMES) {
  test(`${name}: kpki gen succeeds`, () => {
    const g = gens.get(name);
    assert.ok(g, 'generated');
    assert.is(g!.code, 0, `kpki gen exited ${g!.code}: ${g!.stderr}`);
  });

  test(`${name}: cluster store holds exactly the CA and SA files, with modes`, () => {
    const g = gen(name);
    const files = listFiles(join(g.out, 'pki')).map((f) => `pki/${f}`);
    assert.equal(files, STORE_FILES, 'store file set');
    for (const f of files) {
      const want = f.endsWith('.crt') || f.endsWith('.yaml') ? 0o644 : 0o600;
      assert.is(modeOf(join(g.out, f)).toString(8), want.toString(8), `${f} mode`);
    }
    assert.is(modeOf(join(g.out, 'pki')).toString(8), '700', 'pki/ mode');
    assert.is(modeOf(join(g.out, 'pki/etcd')).toString(8), '700', 'pki/etcd mode');
  });

  test(`${name}: per-node file sets are exact, with modes and CA/SA copies`, () => {
    const g = gen(name);
    const nodesDir = join(g.out, 'nodes');
    const withFiles = g.x.nodes.filter((n) => n.files.size > 0).map((n) => n.name).sort();
    const present = existsSync(nodesDir)
      ? listFiles(nodesDir).map((f) => f.split('/')[0] as string)
      : [];
    assert.equal(sorted(new Set(present)), withFiles, 'nodes holding files');
    for (const n of g.x.nodes) {
      const dir = join(nodesDir, n.name);
      const actual = existsSync(dir) ? listFiles(dir) : [];
      assert.equal(actual, [...n.files.keys()], `${n.name}: file set`);
      for (const [f, mode] of n.files) {
        if (!actual.includes(f)) continue;
        assert.is(modeOf(join(dir, f)).toString(8), mode.toString(8), `${n.name}: ${f} mode`);
      }
      for (const d of privateDirs(n.files)) {
        if (!existsSync(join(dir, d))) continue;
        assert.is(modeOf(join(dir, d)).toString(8), '700', `${n.name}: ${d}/ mode`);
      }
      // No directory anywhere is group/world-writable.
      for (const f of actual) {
        const parts = f.split('/');
        for (let i = 1; i < parts.length; i++) {
          const d = join(dir, ...parts.slice(0, i));
          assert.is(statSync(d).mode & 0o022, 0, `${n.name}: ${parts.slice(0, i).join('/')} not group/world writable`);
        }
      }
      for (const [nodePath, storePath] of n.copies) {
        if (!actual.includes(nodePath)) continue;
        assert.ok(readFileSync(join(dir, nodePath)).equals(readFileSync(join(g.out, storePath))),
          `${n.name}: ${nodePath} is a copy of ${storePath}`);
      }
      if (!n.roles.includes('control-plane')) {
        assert.not.ok(actual.some((f) => f.endsWith('ca.key') || f.endsWith('sa.key')), `${n.name}: holds no CA or SA key`);
      }
    }
  });

  test(`${name}: every leaf verifies against its CA with the right purpose (openssl verify)`, async () => {
    const g = gen(name);
    const leaves = allLeaves(g);
    const groups = new Map<string, string[]>();
    for (const l of leaves) {
      for (const e of l.exp.eku) {
        const k = `${l.exp.signer}|${e === 'serverAuth' ? 'sslserver' : 'sslclient'}`;
        groups.set(k, [...(groups.get(k) ?? []), l.crt]);
      }
    }
    assert.ok(groups.size > 0);
    await Promise.all([...groups].map(async ([k, files]) => {
      const [ca, purpose] = k.split('|') as [CaName, 'sslserver' | 'sslclient'];
      const ok = await verifyOk(join(g.out, CAS[ca].file), purpose, files);
      for (const f of files) assert.ok(ok.has(f), `${f} verifies against ${ca} as ${purpose}`);
    }));
  });

  test(`${name}: leaves fail against a wrong CA or the wrong purpose`, async () => {
    const g = gen(name);
    const leaves = allLeaves(g);
    await Promise.all(CA_NAMES.flatMap((wrong) => {
      const files = leaves.filter((l) => l.exp.signer !== wrong).map((l) => l.crt);
      return (['sslserver', 'sslclient'] as const).map(async (purpose) => {
        const ok = await verifyOk(join(g.out, CAS[wrong].file), purpose, files);
        assert.equal([...ok], [], `nothing verifies against the wrong CA ${wrong}`);
      });
    }));
    // Serving-only certs are not client certs and vice versa.
    const byPurpose = async (purpose: 'sslserver' | 'sslclient', eku: 'serverAuth' | 'clientAuth') => {
      const bad = leaves.filter((l) => !l.exp.eku.includes(eku));
      await Promise.all(CA_NAMES.map(async (ca) => {
        const files = bad.filter((l) => l.exp.signer === ca).map((l) => l.crt);
        const ok = await verifyOk(join(g.out, CAS[ca].file), purpose, files);
        assert.equal([...ok], [], `certs without ${eku} fail -purpose ${purpose}`);
      }));
    };
    await byPurpose('sslserver', 'serverAuth');
    await byPurpose('sslclient', 'clientAuth');
  });

  test(`${name}: leaf subject, SANs, key usages, constraints, AKI, algorithm, serial, validity`, async () => {
    const g = gen(name);
    const leaves = allLeaves(g);
    assert.ok(leaves.length > 0);
    await mapLimit(leaves, 8, (l) => checkLeaf(g, `${l.node}:${l.exp.kind}`, l.crt, l.exp));
    // Serials are unique per issuer.
    const bySigner = new Map<string, Set<string>>();
    for (const l of leaves) {
      const f = await certFacts(l.crt);
      const s = bySigner.get(l.exp.signer) ?? new Set<string>();
      assert.not.ok(s.has(f.serial), `${l.node}:${l.exp.kind}: serial ${f.serial} unique under ${l.exp.signer}`);
      s.add(f.serial);
      bySigner.set(l.exp.signer, s);
    }
  });

  test(`${name}: private keys are PKCS#1/SEC1 PEM and match their certificates`, async () => {
    const g = gen(name);
    await mapLimit(allLeaves(g), 8, (l) => checkKeyPair(g, `${l.node}:${l.exp.kind}`, l.crt, l.key));
    await mapLimit(CA_NAMES, 3, (c) => checkKeyPair(g, c, join(g.out, CAS[c].file), join(g.out, CAS[c].key)));
    const saPub = await mustRun('openssl', ['pkey', '-in', join(g.out, 'pki/sa.key'), '-pubout']);
    assert.is(saPub.trim(), readFileSync(join(g.out, 'pki/sa.pub'), 'utf8').trim(), 'sa.pub is the public half of sa.key');
    assert.match(readFileSync(join(g.out, 'pki/sa.key'), 'utf8'), /^-----BEGIN (EC|RSA) PRIVATE KEY-----/, 'sa.key PEM');
  });

  test(`${name}: kubeconfig client certs verify against ca.crt (sslclient) with the expected CN/O`, async () => {
    const g = gen(name);
    const creds = kubeconfigCreds(g);
    assert.ok(creds.length > 0);
    const caPem = readFileSync(join(g.out, 'pki/ca.crt'), 'utf8');
    for (const c of creds) assert.is(c.caData.trim(), caPem.trim(), `${c.node}:${c.exp.kind}: certificate-authority-data = pki/ca.crt`);
    const ok = await verifyOk(join(g.out, 'pki/ca.crt'), 'sslclient', creds.map((c) => c.crt));
    for (const c of creds) assert.ok(ok.has(c.crt), `${c.node}:${c.exp.kind}: embedded client cert verifies against ca.crt`);
    const notServer = await verifyOk(join(g.out, 'pki/ca.crt'), 'sslserver', creds.map((c) => c.crt));
    assert.equal([...notServer], [], 'kubeconfig client certs are not serving certs');
    await mapLimit(creds, 8, async (c) => {
      await checkLeaf(g, `${c.node}:${c.exp.kind}`, c.crt, c.exp);
      await checkKeyPair(g, `${c.node}:${c.exp.kind}`, c.crt, c.key);
    });
  });

  test(`${name}: CA certificates`, async () => {
    const g = gen(name);
    for (const c of CA_NAMES) {
      const file = join(g.out, CAS[c].file);
      const f = await certFacts(file);
      const want = sorted(g.x.caSubject(c).map(([k, v]) => `${k}=${v}`));
      assert.equal(sorted(f.subject.map(([k, v]) => `${k}=${v}`)), want, `${c}: subject`);
      assert.equal(f.issuer, f.subject, `${c}: self-issued`);
      const bc = f.ext.get('Basic Constraints');
      assert.ok(bc?.critical, `${c}: basicConstraints critical`);
      assert.match(bc?.lines.join(' ') ?? '', /^CA:TRUE\b/, `${c}: CA:TRUE`);
      assert.ok(f.ext.get('Key Usage')?.critical, `${c}: keyUsage critical`);
      assert.ok(f.ku.includes('Certificate Sign'), `${c}: keyUsage has Certificate Sign`);
      assert.equal(sorted(f.ku), sorted(CA_KEY_USAGE[g.x.spec.keyAlgorithm]), `${c}: keyUsage`);
      assert.ok(keyId(f, 'Subject Key Identifier').length > 0, `${c}: SKI present`);
      assert.equal(f.dns, [CAS[c].cn], `${c}: SAN DNS = CN`);
      assert.equal(f.ips, [], `${c}: no IP SAN`);
      assert.is(f.sigAlg, SIG_ALG[g.x.spec.keyAlgorithm], `${c}: signature algorithm`);
      assert.match(f.serial, /^[0-9A-F]+$/, `${c}: serial positive`);
      const skew = 5 * 60_000;
      assert.ok(f.notBefore.getTime() >= g.t0 - skew - SLACK && f.notBefore.getTime() <= g.t1 - skew + SLACK, `${c}: notBefore ≈ now − 5 min`);
      const span = g.x.spec.caValidityHours * HOUR;
      assert.ok(f.notAfter.getTime() >= g.t0 + span - SLACK && f.notAfter.getTime() <= g.t1 + span + SLACK,
        `${c}: notAfter ${f.notAfter.toISOString()} ≈ now + ${g.x.spec.caValidityHours}h`);
      const ok = await verifyOk(file, 'sslclient', [file]);
      assert.ok(ok.has(file), `${c}: self-signature verifies`);
    }
  });

  test(`${name}: kpki ca-hash = sha256 of the CA's DER SPKI (openssl)`, async () => {
    const g = gen(name);
    const pub = await mustRun('openssl', ['x509', '-in', join(g.out, 'pki/ca.crt'), '-pubkey', '-noout']);
    const pkey = await runBounded('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pub });
    if (pkey.status !== 0) throw new Error(`openssl pkey exited ${pkey.status}`);
    const der = pkey.stdoutBytes;
    assert.ok(der.length > 0, 'DER SPKI');
    const digest = await runBounded('openssl', ['dgst', '-sha256', '-r'], { input: der });
    if (digest.status !== 0) throw new Error(`openssl dgst exited ${digest.status}`);
    const dgst = digest.stdout;
    const want = `sha256:${dgst.trim().split(/\s+/)[0]}`;
    assert.match(want, /^sha256:[0-9a-f]{64}$/);
    // These fixtures are binary installs: no kubeadm join, so gen prints no join hash (kubeadm
    // plans do; test/cli/reports holds that one equal to ca-hash's).
    assert.not.match(g.stdout, /discovery-token-ca-cert-hash/, 'no join hint for a binary install');
    const r = await run(process.execPath, [CLI, 'ca-hash', '--out', g.out]);
    assert.is(r.code, 0, `kpki ca-hash exited ${r.code}: ${r.stderr.trim()}`);
    assert.is(r.stdout.trim(), want, 'kpki ca-hash');
  });
}

test.run();
