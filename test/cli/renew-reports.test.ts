/**
 * The renewal commands' `--json` documents: renew (--out and --root), ca extend (--out and
 * --root), csr and import each print one versioned document that validates against the schema
 * shipped for it, in dry and real runs, with the parts a user scripts against present (restarts
 * per node, the moved kubelet link, a CA left blocked, the new NotAfter); never key material.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { FIXTURES, kpki, ROOT, sh, tempDir } from '../support/cli.js';
import { kubeadm120 } from '../check/trees.js';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const ajv = new Ajv({ strict: true, allErrors: true, formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/ } });
const load = (name: string) => JSON.parse(readFileSync(join(ROOT, 'schema', name), 'utf8')) as object;
for (const name of ['gen-report', 'renew-report', 'ca-extend-report', 'csr-report', 'import-report']) ajv.addSchema(load(`${name}.schema.json`));
const schema = (name: string) => ajv.getSchema(`https://kpki.dev/schema/${name}.schema.json`)!;

const PLAN = join(FIXTURES, 'single-cp.yaml');
const work = tempDir('kpki-renew-reports-');
test.after(() => rmSync(work, { recursive: true, force: true }));

type Doc = Record<string, unknown>;
function json(args: string[], status = 0): Doc {
  const r = kpki([...args, '--json']);
  assert.is(r.status, status, `${args.join(' ')}: ${r.stderr}`);
  assert.not.match(r.stdout, /PRIVATE KEY|client-key-data/, 'no key material');
  return JSON.parse(r.stdout) as Doc;
}
function valid(name: string, doc: Doc, kind: string): void {
  assert.is(doc.apiVersion, 'kpki/v1alpha1');
  assert.is(doc.kind, kind);
  const v = schema(name);
  assert.ok(v(doc), `${kind}: ${JSON.stringify(v.errors, null, 1)}`);
  // Strict: an unknown field, or a missing version, does not validate.
  assert.not.ok(v({ ...doc, extra: 1 }), 'extra field refused');
  const { apiVersion: _v, ...unversioned } = doc;
  assert.not.ok(v(unversioned), 'unversioned refused');
}

test('renew --out: RenewReport in a dry run, a real run and a run with nothing to renew; restarts per node as data', () => {
  const out = join(work, 'store');
  assert.is(kpki(['gen', '-p', PLAN, '-o', out]).status, 0);
  const dry = json(['renew', 'apiserver', 'kubelet.conf', '-p', PLAN, '-o', out, '--dry-run']);
  const real = json(['renew', 'apiserver', 'kubelet.conf', '-p', PLAN, '-o', out]);
  const none = json(['renew', 'all', '-p', PLAN, '-o', out, '--before', '30d']);
  for (const d of [dry, real, none]) valid('renew-report', d, 'RenewReport');
  assert.is(real.renewed, 4, 'apiserver on cp-1, kubelet.conf on cp-1 and both workers');
  assert.is(none.renewed, 0);
  const cp = (real.restarts as Array<{ node: string; restarts: Array<{ component: string; action: string }> }>).find((n) => n.node === 'cp-1');
  assert.equal(cp?.restarts.map((r) => `${r.action} ${r.component}`).sort(), ['restart kube-apiserver', 'restart kubelet']);
});

test('ca extend --out: CaExtendReport with the old and new NotAfter (whole seconds, as the certificate holds them)', () => {
  const out = join(work, 'store');
  const doc = json(['ca', 'extend', 'front-proxy-ca', '-p', PLAN, '-o', out, '--validity', '175200h']);
  valid('ca-extend-report', doc, 'CaExtendReport');
  const [e] = doc.extended as Array<{ notAfter: string; previousNotAfter: string }>;
  const text = sh('openssl', ['x509', '-in', join(out, 'pki/front-proxy-ca.crt'), '-noout', '-enddate']).trim().replace(/^notAfter=/, '');
  assert.is(e!.notAfter, new Date(text).toISOString(), 'the report says what the certificate says');
  assert.ok(Date.parse(e!.notAfter) > Date.parse(e!.previousNotAfter));
});

test('renew --root and ca extend --root on a kubeadm 1.20 tree: RootRenewReport (with the moved kubelet link, then a blocked CA) and RootCaExtendReport', () => {
  const tree = kubeadm120();
  const etc = join(tree.root, 'etc/kubernetes');
  const dry = json(['renew', 'all', '--root', etc, '--dry-run']);
  const real = json(['renew', 'all', '--root', etc]);
  for (const d of [dry, real]) valid('renew-report', d, 'RootRenewReport');
  assert.match(String((real.link as { to: string }).to), /^kubelet-client-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.pem$/);
  // The front-proxy CA's key taken away (an external CA): its leaf is blocked, the rest renewed, exit 3.
  renameSync(join(etc, 'pki/front-proxy-ca.key'), join(work, 'front-proxy-ca.key'));
  const blocked = json(['renew', 'all', '--root', etc], 3);
  valid('renew-report', blocked, 'RootRenewReport');
  assert.equal((blocked.blocked as Array<{ ca: string; leaves: string[] }>).map((b) => [b.ca, b.leaves]), [['front-proxy-ca', ['front-proxy-client']]]);
  const ext = json(['ca', 'extend', 'ca', '--root', etc]);
  valid('ca-extend-report', ext, 'RootCaExtendReport');
  assert.ok((ext.kubeconfigs as string[]).some((k) => k.endsWith('admin.conf')));
  rmSync(tree.root, { recursive: true, force: true });
});

test('csr and import: CsrReport (paths, never keys) and ImportReport', () => {
  const out = join(work, 'external');
  assert.is(kpki(['gen', '-p', PLAN, '-o', out]).status, 0);
  const caKey = join(work, 'ca.key');
  renameSync(join(out, 'pki/ca.key'), caKey);
  for (const k of ['pki/front-proxy-ca.key', 'pki/etcd/ca.key']) unlinkSync(join(out, k));
  const csr = json(['csr', '-p', PLAN, '-o', out, '--node', 'worker-1']);
  valid('csr-report', csr, 'CsrReport');
  const items = csr.items as Array<{ id: string; csr: string; key: string; signer: string; usages: string[] }>;
  assert.equal(items.map((i) => i.id).sort(), ['kube-proxy.conf', 'kubelet-serving', 'kubelet.conf']);
  const kubelet = items.find((i) => i.id === 'kubelet-serving')!;
  assert.equal([kubelet.signer, kubelet.usages], ['ca', ['serverAuth']]);
  const signed = join(work, 'kubelet.crt');
  sh('openssl', ['x509', '-req', '-in', join(out, kubelet.csr), '-CA', join(out, 'pki/ca.crt'), '-CAkey', caKey, '-set_serial', '4242', '-days', '30', '-copy_extensions', 'copyall', '-out', signed]);
  const imported = json(['import', '-p', PLAN, '-o', out, signed]);
  valid('import-report', imported, 'ImportReport');
  assert.equal((imported.items as Array<{ ref: string }>).map((i) => i.ref), ['kubelet-serving@worker-1']);
  assert.ok((imported.files as Array<{ path: string }>).some((f) => f.path === 'nodes/worker-1/var/lib/kubelet/pki/kubelet.crt'));
});

test.run();
