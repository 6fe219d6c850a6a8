/**
 * gen's outputs: `--json` is a versioned document (kind GenReport) validated by the shipped
 * schema/gen-report.schema.json, failures are kind Error documents (schema/error.schema.json)
 * with a bad plan's diagnostics as located records, and the human report gives the kubeadm join
 * hash only where there is a kubeadm join.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import type { KpkiErrorCode } from '../../pki/errors.js';
import { FIXTURES, kpki, ROOT, tempDir, writePlan } from '../support/cli.js';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const ajv = new Ajv({ strict: true, allErrors: true, formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/ } });
const schemaOf = (name: string) => JSON.parse(readFileSync(join(ROOT, 'schema', name), 'utf8')) as { properties: Record<string, unknown> };
const genSchema = ajv.compile(schemaOf('gen-report.schema.json'));
const errorSchema = ajv.compile(schemaOf('error.schema.json'));
const dir = tempDir('kpki-reports-');

test.after(() => rmSync(dir, { recursive: true, force: true }));

function json(args: string[], status: number): Record<string, unknown> {
  const r = kpki([...args, '--json']);
  assert.is(r.status, status, `${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

function valid(validate: typeof genSchema, doc: unknown, what: string): void {
  assert.ok(validate(doc), `${what}: ${JSON.stringify(validate.errors, null, 1)}`);
}

test('gen --json: kind GenReport, valid against the shipped schema in dry runs, first runs and re-runs that change, prune and chmod', () => {
  const plan = (workers: string, san: string, ca: string) => writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
apiServer: { certSANs: [${san}] }
pki: { caValidity: ${ca} }
nodes:
  - { name: cp, address: 10.0.0.1, roles: [control-plane] }
${workers}`, tempDir());
  const out = join(dir, 'store');
  const two = '  - { name: w-1, address: 10.0.1.1, roles: [worker] }\n  - { name: w-2, address: 10.0.1.2, roles: [worker] }\n';
  const docs: Array<[string, Record<string, unknown>]> = [];
  docs.push(['dry run', json(['gen', '--plan', plan(two, 'api.example.internal', '87600h'), '--out', out, '--dry-run'], 0)]);
  docs.push(['first run', json(['gen', '--plan', plan(two, 'api.example.internal', '87600h'), '--out', out], 0)]);
  chmodSync(join(out, 'nodes/cp/etc/kubernetes/pki/front-proxy-client.key'), 0o644);
  // A new SAN (reissue, backup), a worker gone (--prune removes its tree), a key re-permissioned,
  // a CA lifetime gen does not change (unapplied).
  const changed = plan('  - { name: w-1, address: 10.0.1.1, roles: [worker] }\n', 'api2.example.internal', '43800h');
  docs.push(['dry re-run', json(['gen', '--plan', changed, '--out', out, '--prune', '--dry-run'], 0)]);
  docs.push(['re-run', json(['gen', '--plan', changed, '--out', out, '--prune'], 0)]);
  docs.push(['kubeadm', json(['gen', '--plan', join(FIXTURES, 'kubeadm-ha.yaml'), '--out', join(dir, 'kubeadm')], 0)]);
  for (const [what, doc] of docs) {
    assert.is(doc.apiVersion, 'kpki/v1alpha1', what);
    assert.is(doc.kind, 'GenReport', what);
    valid(genSchema, doc, what);
  }
  // The re-run exercised every part of the schema it claims to.
  const rerun = docs[3]![1] as { files: Array<{ action: string; backup?: string; reason?: string }>; items: Array<{ action: string }>; unapplied: string[] };
  for (const action of ['updated', 'removed', 'chmod']) assert.ok(rerun.files.some((f) => f.action === action), action);
  assert.ok(rerun.files.some((f) => f.backup !== undefined) && rerun.files.some((f) => f.reason !== undefined));
  assert.ok(rerun.items.some((i) => i.action === 'issue') && rerun.items.some((i) => i.action === 'keep'));
  assert.ok(rerun.unapplied.length > 0, 'a CA lifetime change is reported as not applied');
  // Strict: an unknown field, or a missing version, does not validate.
  assert.not.ok(genSchema({ ...docs[1]![1], extra: 1 }));
  const { apiVersion: _v, ...unversioned } = docs[1]![1];
  assert.not.ok(genSchema(unversioned));
});

test('a bad plan with --json: kind Error, each diagnostic a {file, line, column, field, message} record', () => {
  const path = writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
networking:
  serviceSubnet: 10.96.0.0/40
nodes:
  - { name: Bad_Name, address: 10.0.0.1, roles: [control-plane] }
  - { name: w1, address: 10.0.0.1, roles: [worker] }
`, tempDir());
  const doc = json(['gen', '--plan', path, '--out', join(dir, 'bad')], 2) as { kind: string; error: { code: string; diagnostics: Array<Record<string, unknown>> } };
  valid(errorSchema, doc, 'bad plan');
  assert.is(doc.kind, 'Error');
  assert.is(doc.error.code, 'ERR_PLAN_INVALID');
  const where = doc.error.diagnostics.map((d) => [d.file, d.line, d.field]);
  assert.equal(where, [[path, 4, 'networking.serviceSubnet'], [path, 6, 'nodes[0].name'], [path, 7, 'nodes[1].address']]);
  for (const d of doc.error.diagnostics) {
    assert.equal(Object.keys(d).sort(), ['column', 'field', 'file', 'line', 'message']);
    assert.ok(typeof d.column === 'number' && d.column > 0 && typeof d.message === 'string' && !String(d.message).includes('\n'));
  }
  // A plan that cannot be read has no place in the text: line 0.
  const missing = json(['gen', '--plan', join(dir, 'nope.yaml')], 2) as { error: { diagnostics: Array<{ line: number; file: string }> } };
  valid(errorSchema, missing, 'missing plan');
  assert.equal(missing.error.diagnostics.map((d) => [d.file, d.line]), [[join(dir, 'nope.yaml'), 0]]);
});

test('every --json failure is a valid Error document; its codes are exactly the library\'s', () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x\n');
  const docs: Array<[string, unknown]> = [
    ['usage', json(['gen', '--plan', join(FIXTURES, 'single-cp.yaml'), '--dry-runn'], 2)],
    ['bad --out', json(['gen', '--plan', join(FIXTURES, 'single-cp.yaml'), '--out', file], 2)],
    ['check usage', json(['check', '--out', file, '--warn', 'soon'], 3)],
    ['check bad --out', json(['check', '--out', file], 3)],
    ['pem', json(['ca-hash', '--cert', file], 2)],
  ];
  for (const [what, doc] of docs) valid(errorSchema, doc, what);
  // Written out so that the compiler fails when a code is added to KpkiErrorCode and not here.
  const codes: Record<KpkiErrorCode | 'ERR_INTERNAL', true> = {
    ERR_PLAN_INVALID: true, ERR_PEM_INVALID: true, ERR_STORE_CONFLICT: true, ERR_CA_MISSING: true, ERR_CA_UNUSABLE: true,
    ERR_LOCKED: true, ERR_OUT_INVALID: true, ERR_USAGE: true, ERR_BAD_ARGUMENT: true, ERR_IO: true, ERR_INTERNAL: true,
  };
  const error = schemaOf('error.schema.json').properties.error as { properties: { code: { enum: string[] } } };
  assert.equal([...error.properties.code.enum].sort(), Object.keys(codes).sort());
});

test('the package exports the new schemas next to the check report\'s', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  assert.is(pkg.exports['./gen-report.schema.json'], './schema/gen-report.schema.json');
  assert.is(pkg.exports['./error.schema.json'], './schema/error.schema.json');
});

test('the join hash is printed for kubeadm plans only: a binary install has no kubeadm join', () => {
  const binary = kpki(['gen', '--plan', join(FIXTURES, 'single-cp.yaml'), '--out', join(dir, 'binary')]);
  assert.is(binary.status, 0, binary.stderr);
  assert.not.match(binary.stdout, /discovery-token-ca-cert-hash|Join:/);
  const out = join(dir, 'kubeadm-human');
  const kubeadm = kpki(['gen', '--plan', join(FIXTURES, 'kubeadm-ha.yaml'), '--out', out]);
  assert.is(kubeadm.status, 0, kubeadm.stderr);
  const hash = kpki(['ca-hash', '--out', out]).stdout.trim();
  assert.match(hash, /^sha256:[0-9a-f]{64}$/);
  assert.ok(kubeadm.stdout.includes(`Join: --discovery-token-ca-cert-hash ${hash}\n`), kubeadm.stdout);
});

test.run();
