/**
 * The service-account pair is judged as one: gen and check agree about `pki/sa.pub`. The same
 * public key in other bytes is kept as found; another key, or a file that is not a key, stops gen
 * (a new pair would invalidate every token) and is critical in check. Also: a clock that cannot
 * be right makes gen say so.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpki, tempDir } from '../support/cli.js';
import { generateFiles } from '../../pki/gen/generate.js';
import { parsePlan } from '../../pki/plan/parse.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');

function store(): { out: string; pub: string; key: string } {
  const out = join(tempDir(), 'out');
  assert.is(kpki(['gen', '--plan', PLAN, '--out', out]).status, 0);
  return { out, pub: join(out, 'pki/sa.pub'), key: join(out, 'pki/sa.key') };
}
const checkOut = (out: string) => {
  const r = kpki(['check', '--out', out, '--plan', PLAN, '--json']);
  return { status: r.status, findings: (JSON.parse(r.stdout) as { findings: Array<{ code: string; file: string }> }).findings };
};

test('the same public key in other bytes (DER re-encoded as PEM by another tool, a blank line) is kept as found', () => {
  const { out, pub, key } = store();
  // The PKCS#1-in-SPKI text openssl would write for an RSA key, or simply a trailing blank line.
  const same = `${readFileSync(pub, 'utf8')}\n`;
  writeFileSync(pub, same);
  const keyBefore = readFileSync(key, 'utf8');
  const r = kpki(['gen', '--plan', PLAN, '--out', out]);
  assert.is(r.status, 0, r.stderr);
  assert.is(readFileSync(pub, 'utf8'), same, 'sa.pub kept byte for byte');
  assert.is(readFileSync(key, 'utf8'), keyBefore);
  // The node copy follows the store's text; check agrees the pair is whole.
  assert.is(readFileSync(join(out, 'nodes/cp-1/etc/kubernetes/pki/sa.pub'), 'utf8'), same);
  assert.is(checkOut(out).status, 0);
});

test("another key's public half stops gen (exit 3, naming sa.pub) and is critical in check; nothing is replaced", () => {
  const { out, pub, key } = store();
  const other = createPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey).export({ type: 'spki', format: 'pem' }).toString();
  writeFileSync(pub, other);
  const keyBefore = readFileSync(key, 'utf8');
  const r = kpki(['gen', '--plan', PLAN, '--out', out]);
  assert.is(r.status, 3, r.stderr);
  assert.match(r.stderr, 'pki/sa.pub');
  assert.match(r.stderr, 'not the public key of pki/sa.key');
  assert.equal([readFileSync(pub, 'utf8'), readFileSync(key, 'utf8')], [other, keyBefore]);
  const c = checkOut(out);
  assert.is(c.status, 2);
  assert.ok(c.findings.some((f) => f.code === 'sa-mismatch' && f.file === 'pki/sa.pub'), JSON.stringify(c.findings));
});

test('an sa.pub that is not a key stops gen naming it, and check says so', () => {
  const { out, pub } = store();
  writeFileSync(pub, '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
  const r = kpki(['gen', '--plan', PLAN, '--out', out]);
  assert.ok(r.status === 2 || r.status === 3, r.stderr);
  assert.match(r.stderr, 'pki/sa.pub');
  assert.not.match(r.stderr, /\n\s+at /);
  const c = checkOut(out);
  assert.is(c.status, 2);
  assert.ok(c.findings.some((f) => f.file === 'pki/sa.pub'), JSON.stringify(c.findings));
});

test('a clock that cannot be right (1990, 2150) is a warning from gen; a right one is not', async () => {
  const plan = parsePlan(readFileSync(PLAN, 'utf8'), 'single-cp.yaml');
  for (const [at, warns] of [['1990-01-01T00:00:00Z', true], ['2150-01-01T00:00:00Z', true], ['2026-12-07T00:00:00Z', false]] as const) {
    const { report } = await generateFiles(plan, { deps: { now: () => new Date(at) } });
    const w = report.warnings.filter((x) => x.includes('system clock'));
    assert.is(w.length, warns ? 1 : 0, `${at}: ${report.warnings.join('; ')}`);
    if (warns) assert.match(w[0]!, at.replace('Z', '.000Z'));
  }
});

test.run();
