/**
 * Text for people never carries raw control or bidi characters: a crafted file name found by
 * `check`, or a plan value echoed in an error, is shown escaped (\x1b, \u202e), so it cannot
 * retitle or clear the terminal or reorder what is read. JSON output stays exact.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kpki, tempDir, writePlan } from '../support/cli.js';

// Raw C0 controls, DEL, C1 controls and the bidi/format characters a terminal acts on.
// eslint-disable-next-line no-control-regex
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const dir = tempDir('kpki-printable-');

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('check: a file name with ESC ] 0 ; title BEL is shown escaped in the table, exact in --json', () => {
  const root = join(dir, 'root');
  mkdirSync(root);
  const name = 'evil\x1b]0;title\x07\x1b[2J.crt';
  writeFileSync(join(root, name), 'not a certificate\n');
  const text = kpki(['check', root]);
  assert.is(text.status, 2, text.stderr);
  assert.not.match(text.stdout, RAW);
  assert.ok(text.stdout.includes('evil\\x1b]0;title\\x07\\x1b[2J.crt'), text.stdout);
  const json = kpki(['check', root, '--json']);
  const report = JSON.parse(json.stdout) as { findings: Array<{ file: string }> };
  assert.ok(report.findings.some((f) => f.file === join(root, name)), 'the JSON report names the file exactly');
});

test('plan errors: NUL, ESC and U+202E in a value are escaped on stderr, exact in the --json error', () => {
  const plan = writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
nodes:
  - { name: "cp\\0\\e]0;t\\a\\u202Eevil", address: 10.0.0.1, roles: [control-plane] }
`, tempDir());
  const r = kpki(['gen', '--plan', plan, '--out', join(dir, 'out')]);
  assert.is(r.status, 2);
  assert.not.match(r.stderr, RAW);
  assert.ok(r.stderr.includes('"cp\\x00\\x1b]0;t\\x07\\u202eevil"'), r.stderr);
  const json = kpki(['gen', '--plan', plan, '--out', join(dir, 'out'), '--json']);
  const doc = JSON.parse(json.stdout) as { error: { diagnostics: Array<{ message: string }> } };
  assert.ok(doc.error.diagnostics[0]!.message.includes('"cp\0\x1b]0;t\x07\u202eevil"'), 'JSON carries the value exactly');
  assert.not.match(json.stderr, RAW);
});

test('usage errors echo what was typed, escaped', () => {
  const r = kpki(['gen', '--pl\x1b[2Jan', 'x']);
  assert.is(r.status, 2);
  assert.not.match(r.stderr, RAW);
  assert.match(r.stderr, /Unknown argument: pl\\x1b\[2Jan\./);
});

test.run();
