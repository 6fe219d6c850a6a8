/**
 * gen is safe to live with: node trees hold exactly what each node needs after any plan
 * change, super-admin.conf never moves or doubles, drifted modes are restored, CAs that
 * cannot sign stop the run, and plan changes gen does not apply are never called a match.
 * Expected file lists are written out here by hand from kubeadm's layout, not read from the catalog.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, cpSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, hashTree, kpki, listFiles, modeOf, sh, tempDir, writePlan } from '../support/cli.js';
import { runSync } from '../support/proc.js';
import { generate, generateFiles } from '../../pki/gen/generate.js';
import { parsePlan } from '../../pki/plan/parse.js';
import { KpkiError } from '../../pki/errors.js';

interface NodeSpec { name: string; address: string; roles: string }
const plan = (nodes: NodeSpec[], extra = '') => `apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: api.example.internal:6443
${extra}nodes:
${nodes.map((n) => `  - { name: ${n.name}, address: ${n.address}, roles: [${n.roles}] }`).join('\n')}
`;
const cp1 = { name: 'cp-1', address: '192.0.2.11', roles: 'control-plane' };
const cp2 = { name: 'cp-2', address: '192.0.2.12', roles: 'control-plane' };
const w1 = { name: 'worker-1', address: '192.0.2.21', roles: 'worker' };

const WORKER_FILES = [
  'etc/kubernetes/kube-proxy.conf',
  'etc/kubernetes/kubelet.conf',
  'etc/kubernetes/pki/ca.crt',
  'var/lib/kubelet/pki/kubelet.crt',
  'var/lib/kubelet/pki/kubelet.key',
];
const ETCD_MEMBER_FILES = ['etcd/healthcheck-client.crt', 'etcd/healthcheck-client.key', 'etcd/peer.crt', 'etcd/peer.key', 'etcd/server.crt', 'etcd/server.key'];
/** A control plane that is not the init node (stacked etcd, binary install). */
const CP_FILES = [
  'etc/kubernetes/admin.conf',
  'etc/kubernetes/controller-manager.conf',
  'etc/kubernetes/kube-proxy.conf',
  'etc/kubernetes/kubelet.conf',
  ...['apiserver', 'apiserver-etcd-client', 'apiserver-kubelet-client', 'front-proxy-client'].flatMap((c) => [`etc/kubernetes/pki/${c}.crt`, `etc/kubernetes/pki/${c}.key`]),
  'etc/kubernetes/pki/ca.crt',
  'etc/kubernetes/pki/ca.key',
  'etc/kubernetes/pki/etcd/ca.crt',
  ...ETCD_MEMBER_FILES.map((f) => `etc/kubernetes/pki/${f}`),
  'etc/kubernetes/pki/front-proxy-ca.crt',
  'etc/kubernetes/pki/sa.key',
  'etc/kubernetes/pki/sa.pub',
  'etc/kubernetes/scheduler.conf',
  'var/lib/kubelet/pki/kubelet.crt',
  'var/lib/kubelet/pki/kubelet.key',
];
const STORE_FILES = ['ca.crt', 'ca.key', 'etcd/ca.crt', 'etcd/ca.key', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'rbac.yaml', 'record', 'sa.key', 'sa.pub'];
/** kubeadm's modes: certificates (and the RBAC manifest) world-readable, everything else private. */
const modeFor = (path: string) => (/\.(crt|yaml)$/.test(path) ? 0o644 : 0o600);

function gen(planText: string, out: string, ...flags: string[]) {
  const dir = tempDir();
  const r = kpki(['gen', '--plan', writePlan(planText, dir), '--out', out, ...flags]);
  rmSync(dir, { recursive: true, force: true });
  return r;
}
const nodeFiles = (out: string, node: string) => listFiles(join(out, 'nodes', node));

test('demoting a control plane to worker removes every control-plane file, with backups and reasons', () => {
  const out = join(tempDir(), 'out');
  assert.is(gen(plan([cp1, cp2, w1]), out).status, 0);
  const demoted = plan([cp1, { ...cp2, roles: 'worker' }, w1]);
  const dry = gen(demoted, out, '--dry-run');
  assert.is(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /remove nodes\/cp-2\/etc\/kubernetes\/pki\/ca\.key: ca key goes to control-plane nodes; cp-2 is worker/);
  assert.match(dry.stdout, /remove nodes\/cp-2\/etc\/kubernetes\/admin\.conf/);
  assert.ok(existsSync(join(out, 'nodes/cp-2/etc/kubernetes/pki/sa.key')), 'a dry run removes nothing');
  const r = gen(demoted, out);
  assert.is(r.status, 0, r.stderr);
  assert.equal(nodeFiles(out, 'cp-2'), WORKER_FILES);
  for (const gone of ['etc/kubernetes/pki/ca.key', 'etc/kubernetes/pki/sa.key', 'etc/kubernetes/admin.conf', 'etc/kubernetes/pki/etcd/server.key']) {
    const backup = listFiles(join(out, 'backup')).find((f) => f.endsWith(`nodes/cp-2/${gone}`));
    assert.ok(backup, `${gone} is backed up`);
  }
  assert.ok(!existsSync(join(out, 'nodes/cp-2/etc/kubernetes/pki/etcd')), 'emptied directories go too');
  assert.match(gen(demoted, out).stdout, /Nothing to do/);
});

test('switching to external etcd removes the member certificates from the control planes', () => {
  const out = join(tempDir(), 'out');
  const e1 = { name: 'etcd-1', address: '192.0.2.31', roles: 'etcd' };
  assert.is(gen(plan([cp1, w1]), out).status, 0);
  const before = nodeFiles(out, 'cp-1');
  for (const f of ETCD_MEMBER_FILES) assert.ok(before.includes(`etc/kubernetes/pki/${f}`), f);
  const r = gen(plan([cp1, w1, e1], 'etcd: { external: true }\n'), out);
  assert.is(r.status, 0, r.stderr);
  const after = nodeFiles(out, 'cp-1');
  for (const f of ETCD_MEMBER_FILES) assert.not.ok(after.includes(`etc/kubernetes/pki/${f}`), f);
  assert.ok(after.includes('etc/kubernetes/pki/etcd/ca.crt') && after.includes('etc/kubernetes/pki/apiserver-etcd-client.crt'));
  assert.equal(nodeFiles(out, 'etcd-1'), ['etc/kubernetes/pki/etcd/ca.crt', ...ETCD_MEMBER_FILES.map((f) => `etc/kubernetes/pki/${f}`)]);
  sh('openssl', ['verify', '-CAfile', join(out, 'pki/etcd/ca.crt'), join(out, 'nodes/etcd-1/etc/kubernetes/pki/etcd/server.crt')]);
});

test('reordering nodes never moves or doubles super-admin.conf', () => {
  const out = join(tempDir(), 'out');
  assert.is(gen(plan([cp1, cp2, w1]), out).status, 0);
  const original = readFileSync(join(out, 'nodes/cp-1/etc/kubernetes/super-admin.conf'), 'utf8');
  const r = gen(plan([w1, cp2, cp1]), out, '--json');
  assert.is(r.status, 0, r.stderr);
  assert.is((JSON.parse(r.stdout) as { initNode: string }).initNode, 'cp-1');
  const holders = ['cp-1', 'cp-2', 'worker-1'].filter((n) => existsSync(join(out, `nodes/${n}/etc/kubernetes/super-admin.conf`)));
  assert.equal(holders, ['cp-1']);
  assert.is(readFileSync(join(out, 'nodes/cp-1/etc/kubernetes/super-admin.conf'), 'utf8'), original, 'kept as it was');
  // A second copy planted by hand (the old bug) is removed.
  cpSync(join(out, 'nodes/cp-1/etc/kubernetes/super-admin.conf'), join(out, 'nodes/cp-2/etc/kubernetes/super-admin.conf'));
  const again = gen(plan([w1, cp2, cp1]), out);
  assert.match(again.stdout, /removed nodes\/cp-2\/etc\/kubernetes\/super-admin\.conf: super-admin\.conf belongs on the init node only \(cp-1\)/);
  assert.not.ok(existsSync(join(out, 'nodes/cp-2/etc/kubernetes/super-admin.conf')));
});

test('drifted modes are restored and reported: a key made 0644, a key directory 0755', () => {
  const out = join(tempDir(), 'out');
  assert.is(gen(plan([cp1, w1]), out).status, 0);
  const key = join(out, 'nodes/worker-1/var/lib/kubelet/pki/kubelet.key');
  const dir = join(out, 'nodes/cp-1/etc/kubernetes/pki');
  chmodSync(key, 0o644);
  chmodSync(dir, 0o755);
  const r = gen(plan([cp1, w1]), out);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /chmod nodes\/worker-1\/var\/lib\/kubelet\/pki\/kubelet\.key: mode 644 → 600/);
  assert.match(r.stdout, /chmod nodes\/cp-1\/etc\/kubernetes\/pki\/: mode 755 → 700/);
  assert.is(modeOf(key), 0o600);
  assert.is(statSync(dir).mode & 0o777, 0o700);
  assert.match(gen(plan([cp1, w1]), out).stdout, /Nothing to do/);
});

test('--prune removes the tree of a node no longer in the plan, backed up', () => {
  const out = join(tempDir(), 'out');
  assert.is(gen(plan([cp1, w1]), out).status, 0);
  const kept = gen(plan([cp1]), out);
  assert.match(kept.stderr, /nodes\/worker-1 is not in the plan any more/);
  assert.ok(existsSync(join(out, 'nodes/worker-1')));
  const r = gen(plan([cp1]), out, '--prune');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /removed nodes\/worker-1\/var\/lib\/kubelet\/pki\/kubelet\.key: node worker-1 is not in the plan/);
  assert.not.ok(existsSync(join(out, 'nodes/worker-1')));
  assert.ok(listFiles(join(out, 'backup')).some((f) => f.endsWith('nodes/worker-1/var/lib/kubelet/pki/kubelet.key')));
});

test('an expired CA stops gen with exit 3 and the manual step; nothing is written (faketime)', () => {
  const out = join(tempDir(), 'out');
  const short = plan([cp1, w1], 'pki: { caValidity: 48h, certValidity: 24h, renewBefore: 1h }\n');
  assert.is(gen(short, out).status, 0);
  const before = hashTree(out);
  const dir = tempDir();
  const r = runSync('faketime', ['+3 days', process.execPath, CLI, 'gen', '--plan', writePlan(short, dir), '--out', out], { env: { ...process.env, NO_COLOR: '1' } });
  assert.is(r.status, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /pki\/ca\.crt: CA ca expired on \d{4}-\d\d-\d\d; kpki will not issue from it/);
  assert.match(r.stderr, /kpki ca extend ca --plan <your plan> --out .*out; then run kpki gen again/);
  assert.equal([...hashTree(out)], [...before]);
});

test('a CA inside renewBefore: leaves are capped once, then kept; a warning names the CA and the fix', async () => {
  const work = tempDir();
  const out = join(work, 'out');
  const p = parsePlan(plan([cp1, w1], 'pki: { caValidity: 1000h, certValidity: 500h, renewBefore: 100h }\n'), join(work, 'cluster.yaml'));
  const t0 = Date.parse('2030-01-01T00:00:00Z');
  const at = (h: number) => ({ now: () => new Date(t0 + h * 3_600_000) });
  await generate(p, { out, deps: at(0) });
  // 950h in: the CA has 50h left, every leaf (500h from 450h) is due and capped at the CA.
  const due = await generate(p, { out, deps: at(460) });
  assert.ok(due.items.filter((i) => i.action === 'issue').length > 5);
  const capped = await generate(p, { out, deps: at(950) });
  assert.ok(capped.warnings.some((w) => /CA ca expires on 2030-02-11 \(in 2d\); leaves are capped at that date: extend it/.test(w)), capped.warnings.join('\n'));
  const reissued = capped.items.filter((i) => i.action === 'issue');
  assert.ok(reissued.length > 5, 'leaves with less than renewBefore left are reissued once, capped');
  for (const i of reissued) assert.is(i.notAfter, new Date(t0 + 1000 * 3_600_000).toISOString(), `${i.ref} is capped at the CA's NotAfter`);
  const after = await generate(p, { out, deps: at(951) });
  assert.is(after.changed, false, after.items.filter((i) => i.action !== 'keep').map((i) => `${i.ref}: ${i.reasons.join()}`).join('\n'));
  assert.ok(after.warnings.some((w) => /CA ca expires/.test(w)));
  const leafEnd = sh('openssl', ['x509', '-noout', '-enddate', '-in', join(out, 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt')]);
  const caEnd = sh('openssl', ['x509', '-noout', '-enddate', '-in', join(out, 'pki/ca.crt')]);
  assert.is(leafEnd, caEnd, 'a leaf never outlives its CA');
  rmSync(work, { recursive: true, force: true });
});

test('plan changes gen does not apply are said plainly; a shorter certValidity reissues', () => {
  const out = join(tempDir(), 'out');
  assert.is(gen(plan([cp1, w1]), out).status, 0);
  const r = gen(plan([cp1, w1], 'pki:\n  keyAlgorithm: ecdsa-p384\n  caValidity: 43800h\n  subject: { O: Example }\n'), out, '--dry-run');
  assert.is(r.status, 0, r.stderr);
  assert.not.match(r.stdout, /Nothing to do/);
  assert.match(r.stderr, /not applied: CA ca is kept: it keeps its ecdsa-p256 key \(plan: ecdsa-p384\); a CA change needs kpki ca rotate/);
  assert.match(r.stderr, /not applied: CA front-proxy-ca is kept: its subject O is "" \(plan: "Example"\)/);
  assert.match(r.stderr, /not applied: CA etcd-ca is kept: it is valid for 87600h \(plan caValidity: 43800h\)/);
  assert.match(r.stderr, /not applied: sa\.key is kept: it is ecdsa-p256 key \(plan: ecdsa-p384\)/);
  const same = gen(plan([cp1, w1], 'pki: { caValidity: 43800h }\n'), out);
  assert.match(same.stdout, /Nothing written: .* 3 plan change\(s\) are not applied by gen/);
  const shorter = gen(plan([cp1, w1], 'pki: { certValidity: 2160h }\n'), out, '--json');
  assert.is(shorter.status, 0, shorter.stderr);
  const items = (JSON.parse(shorter.stdout) as { items: Array<{ kind: string; action: string; reasons: string[] }> }).items;
  const leaves = items.filter((i) => i.kind === 'cert' || i.kind === 'kubeconfig');
  assert.ok(leaves.every((i) => i.action === 'issue' && i.reasons.some((x) => /valid for 876\dh, longer than certValidity 2160h/.test(x))));
  const apiserver = join(out, 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt');
  const checkend = (days: number) => runSync('openssl', ['x509', '-noout', '-checkend', String(days * 86400), '-in', apiserver]).status;
  assert.is(checkend(89), 0, 'valid for more than 89 days');
  assert.is(checkend(91), 1, 'but not 91: the new 2160h lifetime');
});

test('a kubeconfig that references its credentials by path is read, not fatal', () => {
  const out = join(tempDir(), 'out');
  assert.is(gen(plan([cp1, w1]), out).status, 0);
  const root = join(out, 'nodes/worker-1');
  const conf = readFileSync(join(root, 'etc/kubernetes/kubelet.conf'), 'utf8');
  const b64 = (k: string) => Buffer.from(new RegExp(`${k}: (\\S+)`).exec(conf)![1]!, 'base64').toString();
  // kubeadm's shape: one PEM holding the certificate and the key, referenced twice.
  writeFileSync(join(root, 'var/lib/kubelet/pki/kubelet-client-current.pem'), b64('client-certificate-data') + b64('client-key-data'), { mode: 0o600 });
  writeFileSync(join(root, 'etc/kubernetes/kubelet.conf'), conf
    .replace(/client-certificate-data: \S+/, 'client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem')
    .replace(/client-key-data: \S+/, 'client-key: /var/lib/kubelet/pki/kubelet-client-current.pem'));
  const r = gen(plan([cp1, w1]), out, '--json');
  assert.is(r.status, 0, r.stderr);
  const item = (JSON.parse(r.stdout) as { items: Array<{ ref: string; action: string; reasons: string[] }> }).items.find((i) => i.ref === 'kubelet.conf@worker-1')!;
  assert.equal([item.action, item.reasons], ['rewrite', ['credentials are referenced by path; kpki embeds them']]);
  assert.match(readFileSync(join(root, 'etc/kubernetes/kubelet.conf'), 'utf8'), /client-certificate-data/);
});

test('in memory: the same pipeline, byte for byte what the disk run writes', async () => {
  const work = tempDir();
  const out = join(work, 'out');
  const p = parsePlan(plan([cp1, cp2, w1]), join(work, 'cluster.yaml'));
  const report = await generate(p, { out });
  assert.ok(report.changed);
  // Everything but the disk sink's own cache of what it wrote (its tree index).
  const written = listFiles(out).filter((f) => f !== '.kpki-tree-index');
  const existing = new Map(written.map((f) => [f, { content: readFileSync(join(out, f), 'utf8'), mode: modeOf(join(out, f)) }]));
  const mem = await generateFiles(p, { existing });
  assert.is(mem.report.changed, false, 'the memory run sees the disk run\'s files as current');
  for (const [path, f] of mem.files) {
    assert.is(f.content, readFileSync(join(out, path), 'utf8'), path);
    assert.is(f.mode, modeOf(join(out, path)), path);
  }
  assert.is(mem.files.size, written.length);
  // From nothing: the same paths and modes as the disk, and every leaf verifies.
  const fresh = await generateFiles(p);
  assert.equal([...fresh.files.keys()].sort(), written);
  // Both against the tree written out by hand, so a bug the two sinks share fails too.
  const want = [
    ...STORE_FILES.map((f) => `pki/${f}`),
    ...['cp-1', 'cp-2'].flatMap((n) => CP_FILES.map((f) => `nodes/${n}/${f}`)),
    'nodes/cp-1/etc/kubernetes/super-admin.conf',
    ...WORKER_FILES.map((f) => `nodes/worker-1/${f}`),
  ].map((f) => `${f} ${modeFor(f).toString(8)}`).sort();
  assert.equal(written.map((f) => `${f} ${modeOf(join(out, f)).toString(8)}`), want, 'the disk run');
  assert.equal([...fresh.files].map(([f, { mode }]) => `${f} ${mode.toString(8)}`).sort(), want, 'the memory run');
  rmSync(work, { recursive: true, force: true });
});

test('the library throws ERR_CA_UNUSABLE for an expired CA (injected clock)', async () => {
  const work = tempDir();
  const out = join(work, 'out');
  const p = parsePlan(plan([cp1]), join(work, 'cluster.yaml'));
  await generate(p, { out, deps: { now: () => new Date('2030-01-01T00:00:00Z') } });
  try {
    await generate(p, { out, deps: { now: () => new Date('2041-01-01T00:00:00Z') } });
    assert.unreachable('must throw');
  } catch (e) {
    assert.instance(e, KpkiError);
    assert.is((e as KpkiError).code, 'ERR_CA_UNUSABLE');
  }
  rmSync(work, { recursive: true, force: true });
});

test.run();
