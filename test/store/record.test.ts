/**
 * The store's record (pki/record) is a shortcut, trusted only when it should be: written by
 * this very build, a regular 0600 file owned by the user running kpki, and not bypassed.
 * These tests hold each rule on its own (in memory), then end to end: gen and check on a real
 * store whose record is made foreign in each way, where check must say it read every file and
 * still report the truth, and gen must put a record of its own in place. A no-op re-run keeps
 * the file as found only when rendering it again would give the same text.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { FIXTURES, kpki, ROOT, tempDir } from '../support/cli.js';
import { BUILD_FINGERPRINT } from '../../pki/build.js';
import { readRecord, type StoreRecord } from '../../pki/store/record.js';
import type { LeafReading } from '../../pki/store/readings.js';
import type { StoredFacts } from '../../pki/x509/facts.js';
import type { ObservedFile } from '../../pki/sinks/types.js';

const reading: LeafReading = {
  caDigest: 'c'.repeat(43), algorithm: 'ecdsa-p256',
  notBefore: new Date(1_700_000_000_000), notAfter: new Date(1_800_000_000_000),
  profile: { cn: 'system:node:w-1', o: ['system:nodes'], extras: {}, dns: [], ips: [], usages: ['clientAuth'], isCa: false },
};
const name = (cn: string) => ({ der: '3000', cn, o: [], text: `CN=${cn}` });
const facts = (serial: string): StoredFacts => ({
  ca: 'c'.repeat(43), fp: serial.repeat(64).slice(0, 64), chain: false, serial, sig: 'ecdsa-with-SHA256',
  subject: name('system:node:w-1'), issuer: name('kubernetes'), nb: 1_700_000_000_000, na: 1_800_000_000_000,
  key: { type: 'ec', curve: 'P-256' },
});

const BUILD = 'B'.repeat(43);
const STORE = { initNode: 'cp-1', kubernetesVersion: '1.31.2' };
const file = (content: string, extra: Partial<ObservedFile> = {}): ObservedFile => ({ mode: 0o600, content, ...extra });

/** A record as gen writes it: two leaves, an init node. */
function written(): string {
  const r = readRecord(undefined, { build: BUILD });
  r.set('k1', reading, facts('01'));
  r.set('k2', reading, facts('02'));
  return r.render(STORE, ['k1', 'k2']);
}

test('a record read back gives what was set; the init node too', () => {
  const r = readRecord(file(written()), { build: BUILD, uid: 0 });
  assert.equal(r.use, { used: true });
  assert.is(r.initNode, 'cp-1');
  assert.is(r.kubernetesVersion, '1.31.2');
  const json = (v: unknown) => JSON.stringify(v);
  assert.is(json(r.reading('k1')), json(reading));
  assert.equal(r.facts('k2'), facts('02'));
  assert.is(r.reading('k3'), undefined);
});

test('not used unless this build wrote it, as a private regular file of the caller, and not bypassed', () => {
  const text = written();
  const cases: Array<[string, () => StoreRecord, string]> = [
    ['no record', () => readRecord(undefined, { build: BUILD }), 'none in the store'],
    ['another build', () => readRecord(file(text), { build: 'C'.repeat(43) }), 'written by another build of kpki'],
    ['an unbuilt kpki', () => readRecord(file(text), { build: '' }), 'this kpki is not a build (no fingerprint): nothing recorded is trusted'],
    ['group-readable', () => readRecord(file(text, { mode: 0o640 }), { build: BUILD }), 'mode 0640, not 0600'],
    ['world-writable', () => readRecord(file(text, { mode: 0o666 }), { build: BUILD }), 'mode 0666, not 0600'],
    ["another user's", () => readRecord(file(text, { uid: 1000 }), { build: BUILD, uid: 0 }), 'owned by uid 1000, not by uid 0'],
    ['a symbolic link', () => readRecord({ mode: 0o777, error: 'a symbolic link' }, { build: BUILD }), 'a symbolic link'],
    ['a FIFO', () => readRecord({ mode: 0o600, error: 'not a regular file' }, { build: BUILD }), 'not a regular file'],
    ['unreadable', () => readRecord({ mode: 0o600, error: 'EACCES' }, { build: BUILD }), 'unreadable (EACCES)'],
    ['another format', () => readRecord(file(text.replace('kpki-record 1 ', 'kpki-record 2 ')), { build: BUILD }), 'not a kpki record of this format'],
    ['bypassed', () => readRecord(file(text), { build: BUILD, bypass: true }), 'bypassed (--no-cache)'],
  ];
  for (const [what, read, why] of cases) {
    const r = read();
    assert.equal(r.use, { used: false, why }, what);
    assert.is(r.reading('k1'), undefined, `${what}: no reading`);
    assert.is(r.facts('k1'), undefined, `${what}: no facts`);
  }
  // The init node is a choice, not a reading: kept from a safe record of another build.
  assert.is(readRecord(file(text), { build: 'C'.repeat(43) }).initNode, 'cp-1');
  assert.is(readRecord(file(text, { uid: 1000 }), { build: BUILD, uid: 0 }).initNode, undefined);
});

test('a damaged line is no line; the others still read', () => {
  const text = written();
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.startsWith('k1\t'));
  lines[i] = lines[i]!.replace(/\t\[[^\t]*$/, '\t[1,2,3]');
  const r = readRecord(file(lines.join('\n')), { build: BUILD });
  assert.is(r.reading('k1'), undefined);
  assert.is(JSON.stringify(r.reading('k2')), JSON.stringify(reading));
});

test('unchanged only when rendering again gives the same text', () => {
  const text = written();
  const inUse = ['k2', 'k1', 'k1'];
  const same = readRecord(file(text), { build: BUILD });
  assert.ok(same.unchangedFor(STORE, inUse));
  assert.is(same.render(STORE, inUse), text, 'and then the text is indeed the same');
  const cases: Array<[string, () => boolean]> = [
    ['another init node', () => readRecord(file(text), { build: BUILD }).unchangedFor({ ...STORE, initNode: 'cp-2' }, inUse)],
    ['another release', () => readRecord(file(text), { build: BUILD }).unchangedFor({ ...STORE, kubernetesVersion: '1.32.0' }, inUse)],
    ['a leaf no longer in use', () => readRecord(file(text), { build: BUILD }).unchangedFor(STORE, ['k1'])],
    ['a new leaf in use', () => readRecord(file(text), { build: BUILD }).unchangedFor(STORE, ['k1', 'k2', 'k3'])],
    ['a line set in this run', () => {
      const r = readRecord(file(text), { build: BUILD });
      r.set('k1', reading, facts('01'));
      return r.unchangedFor(STORE, inUse);
    }],
    ['another build wrote it', () => readRecord(file(text), { build: 'C'.repeat(43) }).unchangedFor(STORE, inUse)],
    ['group-readable', () => readRecord(file(text, { mode: 0o644 }), { build: BUILD }).unchangedFor(STORE, inUse)],
    ['no file', () => readRecord(undefined, { build: BUILD }).unchangedFor({}, [])],
  ];
  for (const [what, unchanged] of cases) assert.is(unchanged(), false, what);
});

test("the build fingerprint is a digest of this build's library modules (recomputed here), not a version", () => {
  const lib = join(ROOT, 'dist/pki');
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  const modules = walk(lib).filter((p) => /\.c?js$/.test(p) && p !== join(lib, 'build.js')).map((p) => relative(lib, p).split(sep).join('/')).sort();
  assert.ok(modules.length > 50, 'every module of the library');
  const h = createHash('sha256');
  for (const m of modules) h.update(m).update('\0').update(readFileSync(join(lib, m))).update('\0');
  assert.is(BUILD_FINGERPRINT, h.digest('base64url'));
  // The CLI bundle carries the same fingerprint.
  assert.ok(readFileSync(join(ROOT, 'dist/cli/app.js'), 'utf8').includes(`"${BUILD_FINGERPRINT}"`));
});

// ---- end to end: gen and check on a real store

interface Report { status: string; record?: { used: boolean; why?: string }; certificates: Array<{ path: string; notAfter: string }> }
const checkJson = (out: string, ...flags: string[]): Report => {
  const r = kpki(['check', '--out', out, '--json', ...flags]);
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return JSON.parse(r.stdout) as Report;
};

test('check says whether it used the record; a record it must not trust is ignored, the files read, the truth reported', () => {
  const out = join(tempDir(), 'out');
  const plan = join(FIXTURES, 'single-cp.yaml');
  assert.is(kpki(['gen', '--plan', plan, '--out', out]).status, 0);
  const record = join(out, 'pki/record');
  assert.is(statSync(record).mode & 0o777, 0o600);
  const truth = checkJson(out, '--no-cache');
  assert.equal(truth.record, { used: false, why: 'bypassed (--no-cache)' });
  assert.equal(checkJson(out).record, { used: true });
  assert.match(kpki(['check', '--out', out]).stdout, /judged from pki\/record/);

  // A record that lies: one leaf's NotAfter moved a year back, as an attacker with the
  // store's group or another account might write it.
  const api = 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt';
  const real = truth.certificates.find((c) => c.path === api)!.notAfter;
  const text = readFileSync(record, 'utf8');
  const na = Date.parse(real);
  assert.ok(text.includes(`"na":${na}`), 'the record holds the NotAfter');
  const lie = text.replaceAll(`"na":${na}`, `"na":${na - 365 * 86_400_000}`);
  const variants: Array<[string, () => void, string]> = [
    ['group-writable', () => (writeFileSync(record, lie), chmodSync(record, 0o660)), 'mode 0660, not 0600'],
    ["another user's", () => (writeFileSync(record, lie), chmodSync(record, 0o600), chownSync(record, 65534, 65534)), 'owned by uid 65534, not by uid 0'],
    ['a symbolic link', () => {
      writeFileSync(join(out, 'elsewhere'), lie, { mode: 0o600 });
      renameSync(record, `${record}.x`);
      symlinkSync(join(out, 'elsewhere'), record);
    }, 'a symbolic link'],
  ];
  for (const [what, plant, why] of variants) {
    plant();
    const seen = checkJson(out);
    assert.equal(seen.record, { used: false, why }, what);
    assert.is(seen.certificates.find((c) => c.path === api)!.notAfter, real, `${what}: the NotAfter read from the certificate`);
    assert.match(kpki(['check', '--out', out]).stdout, `pki/record not used (${why})`);
    // gen puts a record of its own in place: this user's, 0600, a regular file. A link in the
    // store is refused first (the store rule: kpki writes only where it made the files).
    if (what === 'a symbolic link') {
      const refused = kpki(['gen', '--plan', plan, '--out', out]);
      assert.is(refused.status, 3, refused.stderr);
      assert.match(refused.stderr, 'pki/record is a symbolic link');
      rmSync(record);
    }
    const g = kpki(['gen', '--plan', plan, '--out', out]);
    assert.is(g.status, 0, g.stderr);
    const st = lstatSync(record);
    assert.ok(!readFileSync(record, 'utf8').includes(`"na":${na - 365 * 86_400_000}`), `${what}: the lie is gone`);
    assert.equal([st.isFile(), st.mode & 0o777, st.uid], [true, 0o600, 0], what);
    assert.equal(checkJson(out).record, { used: true }, `${what}: gen's own record is used again`);
  }
});

test.run();
