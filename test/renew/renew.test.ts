/**
 * `kpki renew --out` with real tools: openssl verify with the right purpose, identities and
 * SANs against the hand-written expectations (test/interop/expected.ts), NotAfter moved,
 * backups byte-identical, --reuse-keys, the restart list per node, --before, --dry-run and
 * bad requests writing nothing. Stores are made by the library with a pinned clock.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BOOKKEEPING, FIXTURES, hashTree, kpki, listFiles, sh, tempDir } from '../support/cli.js';
import { expectFixture, normIp, CAS as CA_FILES, type CertExpectation } from '../interop/expected.js';
import { generate } from '../../pki/gen/generate.js';
import { loadPlan } from '../../pki/plan/load.js';

const DAY = 86_400_000;
const PLAN = join(FIXTURES, 'single-cp.yaml');
const x = expectFixture('single-cp');
const work = tempDir('kpki-renew-');

/** A store made by gen `daysAgo` days ago (single-cp: 1 cp, 2 workers, 1-year leaves). */
async function storeFrom(daysAgo: number, name: string): Promise<string> {
  const out = join(work, name);
  const at = Date.now() - daysAgo * DAY;
  await generate(await loadPlan(PLAN), { out, deps: { now: () => new Date(at) } });
  return out;
}
const expired = await storeFrom(400, 'expired');
const aged = await storeFrom(100, 'aged');
test.after(() => rmSync(work, { recursive: true, force: true }));

function copy(from: string, name: string): string {
  const to = join(work, name);
  cpSync(from, to, { recursive: true });
  return to;
}

/** Every leaf on every node as files: certificates as they are, kubeconfigs' client pairs decoded. */
function leafFiles(out: string): Array<{ node: string; path: string; crt: string; key: string; exp: CertExpectation }> {
  const dir = join(work, `decoded-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  return x.nodes.flatMap((n) => [
    ...n.leaves.map((l) => ({ node: n.name, path: l.crt, crt: join(out, 'nodes', n.name, l.crt), key: join(out, 'nodes', n.name, l.key), exp: l as CertExpectation })),
    ...n.kubeconfigs.map((k) => {
      const doc = parseYaml(readFileSync(join(out, 'nodes', n.name, k.file), 'utf8')) as { users: Array<{ user: Record<string, string> }> };
      const base = join(dir, `${n.name}-${k.file.replace(/\//g, '_')}`);
      writeFileSync(`${base}.crt`, Buffer.from(doc.users[0]!.user['client-certificate-data']!, 'base64'));
      writeFileSync(`${base}.key`, Buffer.from(doc.users[0]!.user['client-key-data']!, 'base64'), { mode: 0o600 });
      return { node: n.name, path: k.file, crt: `${base}.crt`, key: `${base}.key`, exp: k.cert };
    }),
  ]);
}

const CA_OF = { ca: CA_FILES.ca.file, 'front-proxy-ca': CA_FILES['front-proxy-ca'].file, 'etcd-ca': CA_FILES['etcd-ca'].file } as const;

function verify(out: string, l: { crt: string; exp: CertExpectation }): string {
  const purpose = l.exp.eku.includes('serverAuth') ? 'sslserver' : 'sslclient';
  const r = kpkiFreeRun('openssl', ['verify', '-x509_strict', '-CAfile', join(out, CA_OF[l.exp.signer]), '-purpose', purpose, l.crt]);
  return r;
}
/** openssl's verdict line (or its error), without throwing. */
function kpkiFreeRun(cmd: string, args: string[]): string {
  try {
    return sh(cmd, args).trim();
  } catch (e) {
    return (e as Error).message;
  }
}

function facts(crt: string) {
  const text = sh('openssl', ['x509', '-in', crt, '-noout', '-subject', '-nameopt', 'RFC2253', '-ext', 'subjectAltName', '-enddate', '-pubkey']);
  const subject = /^subject=(.*)$/m.exec(text)![1]!.split(/(?<!\\),/).map((r) => r.split('='));
  const san = (/X509v3 Subject Alternative Name:\s*\n\s*(.*)/.exec(text)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    cn: subject.find(([k]) => k === 'CN')?.[1],
    o: subject.filter(([k]) => k === 'O').map(([, v]) => v!).sort(),
    dns: san.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)).sort(),
    ips: san.filter((s) => s.startsWith('IP Address:')).map((s) => normIp(s.slice(11))).sort(),
    notAfter: new Date(/^notAfter=(.*)$/m.exec(text)![1]!),
    pubkey: /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/.exec(text)![0],
  };
}

const changed = (a: Map<string, string>, b: Map<string, string>) =>
  [...new Set([...a.keys(), ...b.keys()])].filter((f) => a.get(f) !== b.get(f) && !f.startsWith('backup/') && !BOOKKEEPING.includes(f)).sort();

const renewJson = (args: string[]) => {
  const r = kpki(['renew', ...args, '--plan', PLAN, '--json']);
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as {
    renewed: number; dryRun: boolean;
    items: Array<{ id: string; node?: string; action: string }>;
    restarts: Array<{ node: string; restarts: Array<{ component: string; action: string; files: string[] }> }>;
  };
};

test('an expired store: renew all, then every leaf verifies with its purpose, identities and SANs as expected, backups byte-identical', () => {
  const out = copy(expired, 'expired-all');
  const before = hashTree(out);
  const old = leafFiles(out);
  // The store really is expired: openssl refuses the old apiserver certificate.
  assert.match(verify(out, old.find((l) => l.path.endsWith('apiserver.crt'))!), /certificate has expired/);

  const report = renewJson(['all', '--out', out]);
  const after = hashTree(out);
  const leaves = leafFiles(out);
  assert.is(report.renewed, leaves.length);
  for (const l of leaves) {
    assert.match(verify(out, l), /: OK$/, `${l.node} ${l.path}`);
    const f = facts(l.crt);
    assert.is(f.cn, l.exp.cn, l.path);
    assert.equal(f.o, [...l.exp.o].sort(), l.path);
    assert.equal(f.dns, [...l.exp.dns].sort(), l.path);
    assert.equal(f.ips, l.exp.ips.map(normIp).sort(), l.path);
    // NotAfter moved to a year from now (the old one was 35 days ago).
    assert.ok(Math.abs(f.notAfter.getTime() - (Date.now() + 365 * DAY)) < DAY, `${l.path}: ${f.notAfter.toISOString()}`);
  }
  // CAs, their keys and the SA pair: byte-identical.
  for (const f of ['pki/ca.crt', 'pki/ca.key', 'pki/front-proxy-ca.crt', 'pki/front-proxy-ca.key', 'pki/etcd/ca.crt', 'pki/etcd/ca.key', 'pki/sa.key', 'pki/sa.pub']) {
    assert.is(after.get(f), before.get(f), f);
  }
  // Every replaced file is in backup/<stamp>/ byte for byte.
  const stamps = readdirSync(join(out, 'backup'));
  assert.is(stamps.length, 1);
  const replaced = changed(before, after);
  assert.ok(replaced.length >= leaves.length, `${replaced.length} files replaced`);
  for (const f of replaced) assert.is(after.get(`backup/${stamps[0]}/${f}`), before.get(f), `backup of ${f}`);
});

test('restart list per node, as data: hand-written per component', () => {
  const out = copy(aged, 'restarts');
  const r = renewJson(['all', '--out', out, '--dry-run']);
  const asMap = (node: string) =>
    Object.fromEntries(r.restarts.find((n) => n.node === node)!.restarts.map((x) => [`${x.action} ${x.component}`, x.files.map((f) => f.replace(/^(etc\/kubernetes\/(pki\/)?|var\/lib\/kubelet\/pki\/)/, '')).sort()]));
  assert.equal(asMap('cp-1'), {
    'reload etcd': ['etcd/peer.crt', 'etcd/server.crt'],
    'restart kube-apiserver': ['apiserver-etcd-client.crt', 'apiserver-kubelet-client.crt', 'apiserver.crt', 'front-proxy-client.crt'],
    'restart kube-controller-manager': ['controller-manager.conf'],
    'restart kube-scheduler': ['scheduler.conf'],
    'restart kubelet': ['kubelet.conf', 'kubelet.crt'],
    'restart kube-proxy': ['kube-proxy.conf'],
    'hand-out admin': ['admin.conf', 'etcd/healthcheck-client.crt', 'super-admin.conf'],
  });
  for (const w of ['worker-1', 'worker-2']) {
    assert.equal(asMap(w), { 'restart kubelet': ['kubelet.conf', 'kubelet.crt'], 'restart kube-proxy': ['kube-proxy.conf'] });
  }
  // One id on one node: only what reads it.
  const one = renewJson(['front-proxy-client', 'kubelet.conf', '--node', 'cp-1', '--out', out, '--dry-run']);
  assert.equal(one.restarts.map((n) => n.node), ['cp-1']);
  assert.equal(one.restarts[0]!.restarts.map((x) => [x.action, x.component, x.files]), [
    ['restart', 'kube-apiserver', ['etc/kubernetes/pki/front-proxy-client.crt']],
    ['restart', 'kubelet', ['etc/kubernetes/kubelet.conf']],
  ]);
  // Human output: one line per node.
  const human = kpki(['renew', 'apiserver', 'kubelet.conf', '--node', 'cp-1', '--plan', PLAN, '--out', out, '--dry-run']);
  assert.is(human.status, 0, human.stderr);
  assert.match(human.stdout, 'cp-1: restart kube-apiserver (apiserver.crt); restart kubelet (kubelet.conf)');
});

test('a fresh store: one id renews only its files, with a new key; --reuse-keys keeps the key bytes', () => {
  const out = copy(aged, 'one-id');
  const before = hashTree(out);
  const apiserver = join(out, 'nodes/cp-1/etc/kubernetes/pki/apiserver');
  const oldFacts = facts(`${apiserver}.crt`);
  const oldKey = readFileSync(`${apiserver}.key`, 'utf8');
  const r = renewJson(['apiserver', '--out', out]);
  assert.is(r.renewed, 1);
  assert.equal(changed(before, hashTree(out)), ['nodes/cp-1/etc/kubernetes/pki/apiserver.crt', 'nodes/cp-1/etc/kubernetes/pki/apiserver.key']);
  const f = facts(`${apiserver}.crt`);
  assert.ok(f.notAfter.getTime() - oldFacts.notAfter.getTime() > 90 * DAY, 'NotAfter moved by the ~100 days since gen');
  assert.is.not(readFileSync(`${apiserver}.key`, 'utf8'), oldKey, 'default: a new key');
  assert.is.not(f.pubkey, oldFacts.pubkey);
  assert.is(sh('openssl', ['pkey', '-in', `${apiserver}.key`, '-pubout']).trim(), f.pubkey.trim(), 'the certificate is for the new key');

  // --reuse-keys: the key files (and kubeconfigs' key data) stay byte for byte; the certificates change.
  const reuse = copy(aged, 'reuse');
  const pre = leafFiles(reuse).map((l) => ({ ...l, keyText: readFileSync(l.key, 'utf8'), certText: readFileSync(l.crt, 'utf8') }));
  const rr = renewJson(['all', '--reuse-keys', '--out', reuse]);
  assert.is(rr.renewed, pre.length);
  const post = leafFiles(reuse);
  for (const p of pre) {
    const q = post.find((l) => l.node === p.node && l.path === p.path)!;
    assert.is(readFileSync(q.key, 'utf8'), p.keyText, `${p.node} ${p.path}: key kept`);
    assert.is.not(readFileSync(q.crt, 'utf8'), p.certText, `${p.node} ${p.path}: certificate renewed`);
    assert.match(verify(reuse, q), /: OK$/);
    // The renewed certificate is for that very key (openssl's public keys of both agree).
    assert.is(sh('openssl', ['x509', '-in', q.crt, '-noout', '-pubkey']), sh('openssl', ['pkey', '-in', q.key, '-pubout']), `${p.node} ${p.path}: pair`);
  }
});

test('--before: only what expires within the window; --dry-run writes nothing', () => {
  const out = copy(aged, 'before');
  const before = hashTree(out);
  // Leaves made 100 days ago expire in ~265 days.
  const none = renewJson(['all', '--before', '30d', '--out', out]);
  assert.is(none.renewed, 0);
  assert.equal(changed(before, hashTree(out)), []);
  const quiet = hashTree(out);
  const dry = renewJson(['all', '--before', '300d', '--out', out, '--dry-run']);
  assert.ok(dry.dryRun && dry.renewed > 10, `${dry.renewed}`);
  assert.equal([...hashTree(out)], [...quiet], 'a dry run writes nothing, bookkeeping included');
  const some = renewJson(['kubelet.conf', '--before', '300d', '--out', out]);
  assert.equal(some.items.filter((i) => i.action === 'issue').map((i) => `${i.id}@${i.node}`), ['kubelet.conf@cp-1', 'kubelet.conf@worker-1', 'kubelet.conf@worker-2']);
});

test('bad requests: one sentence, exit 2 (3 for a store without CAs), nothing written', () => {
  const out = copy(aged, 'bad');
  const before = hashTree(out);
  const cases: Array<[string[], number, RegExp]> = [
    [['apiserverr'], 2, /unknown certificate id 'apiserverr'.*did you mean apiserver\?/],
    [['ca'], 2, /ca is a CA: .*kpki ca extend ca/],
    [['sa'], 2, /service-account key pair/],
    [['apiserver', '--node', 'cp-9'], 2, /node 'cp-9' is not in the plan/],
    [['all', 'apiserver'], 2, /'all' renews every leaf/],
    [[], 2, /name the certificates to renew/],
  ];
  for (const [args, status, message] of cases) {
    const r = kpki(['renew', ...args, '--plan', PLAN, '--out', out]);
    assert.is(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.equal([...hashTree(out)], [...before]);
  const empty = join(work, 'empty');
  mkdirSync(empty);
  const r = kpki(['renew', 'all', '--plan', PLAN, '--out', empty]);
  assert.is(r.status, 3, r.stderr);
  assert.match(r.stderr, /pki\/ca\.crt: missing; renewal .* never creates one/);
  assert.equal(listFiles(empty), []);
});

test.run();
