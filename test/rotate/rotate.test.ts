/**
 * Rotation phases on a small store, through the CLI: the service-account overlap held to real
 * JWT signatures (Node crypto), --abort after trust and after issue back to the old CA alone,
 * --dry-run writing nothing, gen in the middle of a rotation changing nothing, --status and the
 * rotate report valid against their shipped schemas, and `kpki check` naming the next step.
 * Expectations are written here from the files (PEM blocks, signatures), not from kpki's tables.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { parse } from 'yaml';
import { hashTree, kpki, ROOT, tempDir, writePlan } from '../support/cli.js';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const ajv = new Ajv({ strict: true, allErrors: true, formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/ } });
const schema = (name: string) => ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', name), 'utf8')) as object);
const rotateSchema = schema('rotate-report.schema.json');
const statusSchema = schema('rotation-status.schema.json');

const PLAN = `apiVersion: kpki/v1alpha1
kind: Cluster
nodes:
  - { name: cp-1, address: 127.0.14.30, roles: [control-plane] }
  - { name: w-1, address: 127.0.14.31, roles: [worker] }
`;

function store(): { out: string; plan: string } {
  const dir = tempDir('kpki-rotate-');
  const plan = writePlan(PLAN, dir);
  const out = join(dir, 'out');
  const r = kpki(['gen', '--plan', plan, '--out', out]);
  assert.is(r.status, 0, r.stderr);
  return { out, plan };
}

const read = (out: string, p: string) => readFileSync(join(out, p), 'utf8');
const blocks = (pem: string) => pem.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----\n?/g) ?? [];

function ok(args: string[]): string {
  const r = kpki(args);
  assert.is(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// ---- service-account key: a JWT as kube-apiserver checks it (any key of --service-account-key-file) ----

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
function jwt(key: KeyObject): string {
  const ec = key.asymmetricKeyType === 'ec';
  const head = b64url(JSON.stringify({ alg: ec ? 'ES256' : 'RS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ iss: 'https://kubernetes.default.svc', sub: 'system:serviceaccount:default:probe', exp: 4102444800 }));
  const sig = sign('sha256', Buffer.from(`${head}.${body}`), ec ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${head}.${body}.${b64url(sig)}`;
}
/** Whether any public key in the file verifies the token: what the apiserver does with several. */
function accepted(token: string, pubFile: string): boolean {
  const [head, body, sig] = token.split('.') as [string, string, string];
  return blocks(pubFile).some((pem) => {
    const key = createPublicKey(pem);
    return verify('sha256', Buffer.from(`${head}.${body}`), key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' } : key, Buffer.from(sig, 'base64url'));
  });
}

test('sa rotate: a token signed with the old key verifies with the overlap sa.pub, and not after finalize', () => {
  const { out, plan } = store();
  const pub = 'nodes/cp-1/etc/kubernetes/pki/sa.pub';
  const oldToken = jwt(createPrivateKey(read(out, 'pki/sa.key')));
  assert.ok(accepted(oldToken, read(out, pub)), 'control: the old token verifies before');

  const overlap = JSON.parse(ok(['sa', 'rotate', '--plan', plan, '--out', out, '--json'])) as { rotation: { phase: string; next: string } };
  assert.ok(rotateSchema(overlap), JSON.stringify(rotateSchema.errors));
  assert.equal([overlap.rotation.phase, overlap.rotation.next], ['overlap', 'finalize']);
  assert.is(blocks(read(out, pub)).length, 2, 'sa.pub holds two public keys');
  const newKey = createPrivateKey(read(out, 'nodes/cp-1/etc/kubernetes/pki/sa.key'));
  assert.is.not(read(out, 'nodes/cp-1/etc/kubernetes/pki/sa.key'), read(out, 'pki/sa.key'), 'the node signs with the new key; the store keeps the old until finalize');
  const newToken = jwt(newKey);
  assert.ok(accepted(oldToken, read(out, pub)), 'old token, overlap sa.pub');
  assert.ok(accepted(newToken, read(out, pub)), 'new token, overlap sa.pub');

  const status = JSON.parse(ok(['sa', 'rotate', '--out', out, '--status', '--json'])) as { rotations: Array<{ phase: string; done: boolean }>; tokenWait: string };
  assert.ok(statusSchema(status), JSON.stringify(statusSchema.errors));
  assert.equal(status.rotations.map((r) => [r.phase, r.done]), [['overlap', true]]);
  assert.match(status.tokenWait, /24h/);

  ok(['sa', 'rotate', '--plan', plan, '--out', out]);
  assert.is(blocks(read(out, pub)).length, 1);
  assert.not.ok(accepted(oldToken, read(out, pub)), 'old token refused after finalize');
  assert.ok(accepted(newToken, read(out, pub)), 'new token still accepted');
  assert.is(read(out, 'pki/sa.key'), read(out, 'nodes/cp-1/etc/kubernetes/pki/sa.key'), 'the store holds the new key');
  assert.not.ok(existsSync(join(out, 'pki/rotation/sa.json')), 'the record is gone');
});

// ---- --abort: back to the old CA alone ----

interface Old { crt: string; key: string; x: X509Certificate }

/** Every tree trusts the old Kubernetes CA alone and every leaf of it is signed by it. */
function onlyOld(out: string, old: Old, what: string): void {
  assert.is(read(out, 'pki/ca.crt'), old.crt, `${what}: store certificate`);
  assert.is(read(out, 'pki/ca.key'), old.key, `${what}: store key byte-identical`);
  assert.not.ok(existsSync(join(out, 'pki/rotation/ca.json')), `${what}: no record left`);
  for (const node of readdirSync(join(out, 'nodes'))) {
    const root = join(out, 'nodes', node);
    assert.is(read(root, 'etc/kubernetes/pki/ca.crt'), old.crt, `${what}: ${node} ca.crt is the old CA alone`);
    for (const conf of readdirSync(join(root, 'etc/kubernetes')).filter((f) => f.endsWith('.conf'))) {
      const doc = parse(read(root, `etc/kubernetes/${conf}`)) as { clusters: Array<{ cluster: Record<string, string> }>; users: Array<{ user: Record<string, string> }> };
      assert.is(Buffer.from(doc.clusters[0]!.cluster['certificate-authority-data']!, 'base64').toString(), old.crt, `${what}: ${node}/${conf} CA data`);
      assert.ok(new X509Certificate(Buffer.from(doc.users[0]!.user['client-certificate-data']!, 'base64')).verify(old.x.publicKey), `${what}: ${node}/${conf} client signed by the old CA`);
    }
    for (const leaf of ['var/lib/kubelet/pki/kubelet.crt', ...(node === 'cp-1' ? ['etc/kubernetes/pki/apiserver.crt', 'etc/kubernetes/pki/apiserver-kubelet-client.crt'] : [])]) {
      const text = read(root, leaf);
      assert.is(blocks(text).length, 1, `${what}: ${node}/${leaf} carries no chain`);
      assert.ok(new X509Certificate(text).verify(old.x.publicKey), `${what}: ${node}/${leaf} signed by the old CA`);
    }
  }
  if (existsSync(join(out, 'nodes/cp-1/etc/kubernetes/pki/ca.key'))) assert.is(read(out, 'nodes/cp-1/etc/kubernetes/pki/ca.key'), old.key, `${what}: the controller-manager signs with the old key`);
}

test('--abort after trust and after issue returns every tree to old-CA-only trust', () => {
  for (const after of ['trust', 'issue'] as const) {
    const { out, plan } = store();
    const old: Old = { crt: read(out, 'pki/ca.crt'), key: read(out, 'pki/ca.key'), x: new X509Certificate(read(out, 'pki/ca.crt')) };
    ok(['ca', 'rotate', 'ca', '--plan', plan, '--out', out]);
    if (after === 'issue') ok(['ca', 'rotate', 'ca', '--plan', plan, '--out', out]);
    // Really in the phase: both CAs trusted, and after issue the leaves are the new CA's.
    assert.is(blocks(read(out, 'nodes/w-1/etc/kubernetes/pki/ca.crt')).length, 2, `${after}: a bundle`);
    assert.is(new X509Certificate(read(out, 'nodes/w-1/var/lib/kubelet/pki/kubelet.crt')).verify(old.x.publicKey), after === 'trust');
    // check, with the plan and without, finds nothing broken mid-rotation (a kubeconfig's CA bundle holds the current CA).
    for (const args of [['--plan', plan], []]) {
      const c = JSON.parse(kpki(['check', '--out', out, ...args, '--json']).stdout) as { findings: Array<{ code: string; severity: string; file: string }> };
      assert.equal(c.findings.filter((f) => f.severity === 'critical'), [], `check ${args.join(' ')} in the ${after} phase`);
    }
    const r = JSON.parse(ok(['ca', 'rotate', 'ca', '--plan', plan, '--out', out, '--abort', '--json'])) as { rotation: { phase: string; next?: string } };
    assert.ok(rotateSchema(r), JSON.stringify(rotateSchema.errors));
    assert.is(r.rotation.phase, 'abort');
    assert.is(r.rotation.next, undefined);
    onlyOld(out, old, `abort after ${after}`);
    // Nothing left to do, and nothing to abort.
    const gen = JSON.parse(ok(['gen', '--plan', plan, '--out', out, '--json'])) as { changed: boolean };
    assert.is(gen.changed, false, `gen after the abort after ${after}`);
    const again = kpki(['ca', 'rotate', 'ca', '--plan', plan, '--out', out, '--abort']);
    assert.is(again.status, 2);
    assert.match(again.stderr, /no rotation of ca is in progress/);
  }
});

test('issue: where ca.key is, ca.crt starts with the CA that key belongs to; a worker\'s ca.crt (both CAs, order immaterial) is not written again', () => {
  const { out, plan } = store();
  const old = new X509Certificate(read(out, 'pki/ca.crt'));
  ok(['ca', 'rotate', 'ca', '--plan', plan, '--out', out]);
  const worker = read(out, 'nodes/w-1/etc/kubernetes/pki/ca.crt');
  assert.is(blocks(worker).length, 2, 'trust: the worker trusts both');
  assert.ok(new X509Certificate(blocks(worker)[0]!).verify(old.publicKey), 'trust: the old CA first');
  const issue = JSON.parse(ok(['ca', 'rotate', 'ca', '--plan', plan, '--out', out, '--json'])) as { rotation: { phase: string }; files: Array<{ path: string }> };
  assert.is(issue.rotation.phase, 'issue');
  const written = issue.files.map((f) => f.path);
  assert.not.ok(written.includes('nodes/w-1/etc/kubernetes/pki/ca.crt'), 'issue rewrote the worker\'s ca.crt');
  assert.is(read(out, 'nodes/w-1/etc/kubernetes/pki/ca.crt'), worker);
  // The worker's kubelet still verifies its new client and serving certificates with that file.
  const newCa = new X509Certificate(read(out, 'nodes/cp-1/etc/kubernetes/pki/ca.crt'));
  assert.ok(blocks(worker).some((b) => new X509Certificate(b).fingerprint256 === newCa.fingerprint256), 'the worker\'s bundle holds the new CA');
  // The control plane: rewritten, the new CA first, and it is the one ca.key belongs to.
  assert.ok(written.includes('nodes/cp-1/etc/kubernetes/pki/ca.crt'));
  const cp = blocks(read(out, 'nodes/cp-1/etc/kubernetes/pki/ca.crt'));
  assert.is(cp.length, 2);
  assert.ok(new X509Certificate(cp[0]!).checkPrivateKey(createPrivateKey(read(out, 'nodes/cp-1/etc/kubernetes/pki/ca.key'))), 'ca.crt\'s first certificate pairs with ca.key');
  assert.not.ok(new X509Certificate(cp[0]!).verify(old.publicKey), 'the first is the new CA');
  // Finalize: every copy the new CA alone.
  ok(['ca', 'rotate', 'ca', '--plan', plan, '--out', out]);
  for (const n of ['cp-1', 'w-1']) assert.is(read(out, `nodes/${n}/etc/kubernetes/pki/ca.crt`), read(out, 'pki/ca.crt'), `finalize: ${n}`);
});

// ---- --dry-run, gen in between, check ----

test('--dry-run writes nothing in any phase; gen in the middle of a rotation changes nothing; check names the next step', () => {
  const { out, plan } = store();
  const dry = (args: string[]) => {
    const before = hashTree(out);
    const r = JSON.parse(ok([...args, '--plan', plan, '--out', out, '--dry-run', '--json'])) as { dryRun: boolean; rotation: { phase: string } };
    assert.ok(rotateSchema(r), JSON.stringify(rotateSchema.errors));
    assert.equal(hashTree(out), before, `${args.join(' ')} --dry-run wrote nothing`);
    return r.rotation.phase;
  };
  const run = (args: string[]) => ok([...args, '--plan', plan, '--out', out]);
  const genChanges = () => (JSON.parse(ok(['gen', '--plan', plan, '--out', out, '--json'])) as { changed: boolean; rotations?: unknown[] });

  assert.is(dry(['ca', 'rotate', 'etcd-ca']), 'trust');
  assert.is(dry(['sa', 'rotate']), 'overlap');
  run(['ca', 'rotate', 'etcd-ca']);
  assert.is(dry(['ca', 'rotate', 'etcd-ca']), 'issue');
  assert.is(dry(['ca', 'rotate', 'etcd-ca', '--abort']), 'abort');
  let g = genChanges();
  assert.is(g.changed, false, 'gen after trust');
  assert.equal(g.rotations, [{ target: 'etcd-ca', phase: 'trust', done: true }]);

  const check = kpki(['check', '--plan', plan, '--out', out, '--json']);
  const report = JSON.parse(check.stdout) as { findings: Array<{ code: string; severity: string; message: string }> };
  const f = report.findings.filter((x) => x.code === 'rotation-in-progress');
  assert.is(f.length, 1, check.stdout.slice(0, 2000));
  assert.match(f[0]!.message, /kpki ca rotate etcd-ca --plan .* --out .* \(phase issue\)/);
  assert.not.ok(report.findings.some((x) => x.severity === 'critical'), `no critical finding in the trust phase: ${JSON.stringify(report.findings)}`);

  run(['ca', 'rotate', 'etcd-ca']);
  g = genChanges();
  assert.is(g.changed, false, 'gen after issue');
  const check2 = JSON.parse(kpki(['check', '--plan', plan, '--out', out, '--json']).stdout) as { findings: Array<{ code: string; severity: string; message: string }> };
  assert.not.ok(check2.findings.some((x) => x.severity === 'critical'), `no critical finding in the issue phase: ${JSON.stringify(check2.findings)}`);
  assert.is(dry(['ca', 'rotate', 'etcd-ca']), 'finalize');
  run(['ca', 'rotate', 'etcd-ca']);
  const check3 = kpki(['check', '--plan', plan, '--out', out]);
  assert.is(check3.status, 0, check3.stdout);
});

test('issue --reuse-keys signs the leaves\' current keys with the new CA; --status --plan lists what each node restarts', () => {
  const { out, plan } = store();
  const server = 'nodes/cp-1/etc/kubernetes/pki/etcd/server';
  const key = read(out, `${server}.key`);
  ok(['ca', 'rotate', 'etcd-ca', '--plan', plan, '--out', out]);
  const status = JSON.parse(ok(['ca', 'rotate', 'etcd-ca', '--out', out, '--plan', plan, '--status', '--json'])) as { rotations: Array<{ files: number; restarts: Array<{ node: string; restarts: Array<{ component: string; action: string }> }> }> };
  assert.ok(statusSchema(status), JSON.stringify(statusSchema.errors));
  assert.ok(status.rotations[0]!.files > 0);
  const cp = status.rotations[0]!.restarts.find((n) => n.node === 'cp-1')!;
  assert.ok(cp.restarts.some((r) => r.component === 'etcd' && r.action === 'restart'), JSON.stringify(cp));
  ok(['ca', 'rotate', 'etcd-ca', '--plan', plan, '--out', out, '--reuse-keys']);
  const record = JSON.parse(read(out, 'pki/rotation/etcd-ca.json')) as { newCertPem: string };
  assert.is(read(out, `${server}.key`), key, 'the same key, byte for byte');
  const crt = read(out, `${server}.crt`);
  assert.ok(new X509Certificate(crt).verify(new X509Certificate(record.newCertPem).publicKey), 'signed by the new CA');
  assert.ok(new X509Certificate(crt).checkPrivateKey(createPrivateKey(key)));
});

test('bad requests: two CAs, an unknown one, sa with a name, status without a store', () => {
  const { out, plan } = store();
  for (const [args, text] of [
    [['ca', 'rotate', 'ca', 'etcd-ca', '--plan', plan, '--out', out], /one CA to rotate/],
    [['ca', 'rotate', 'etcd', '--plan', plan, '--out', out], /unknown CA 'etcd'; did you mean etcd-ca\?/],
    [['sa', 'rotate', 'sa', '--plan', plan, '--out', out], /takes no names/],
    [['ca', 'rotate', 'ca', '--status'], /needs the store: --out/],
  ] as const) {
    const r = kpki([...args]);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, text);
  }
  assert.match(ok(['ca', 'rotate', 'ca', '--out', out, '--status']), /No rotation of ca is in progress/);
  // A damaged record stops every run with the file and the field, before anything is written.
  ok(['ca', 'rotate', 'ca', '--plan', plan, '--out', out]);
  const record = join(out, 'pki/rotation/ca.json');
  writeFileSync(record, read(out, 'pki/rotation/ca.json').replace(/"phase": "trust"/, '"phase": "later"'));
  const before = hashTree(out);
  for (const args of [['gen'], ['ca', 'rotate', 'ca']]) {
    const r = kpki([...args, '--plan', plan, '--out', out]);
    assert.is(r.status, 3, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /pki\/rotation\/ca\.json: the rotation record's field 'phase' is missing or invalid/);
  }
  assert.equal(hashTree(out), before);
});

test.run();
