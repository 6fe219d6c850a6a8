/** The CLI contract: exit codes, bad plans writing nothing, --help/--version, join helpers. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, FIXTURES, kpki, sh, tempDir, writePlan } from '../support/cli.js';

const invalid = readdirSync(join(FIXTURES, 'invalid')).filter((f) => f.endsWith('.yaml')).sort();

test('every broken plan: exit 2, a file:line:column message, nothing written', () => {
  assert.ok(invalid.length >= 14, `only ${invalid.length} invalid fixtures`);
  const dir = tempDir();
  for (const f of invalid) {
    const out = join(dir, f);
    const r = kpki(['gen', '--plan', join(FIXTURES, 'invalid', f), '--out', out]);
    assert.is(r.status, 2, `${f}: status ${r.status}\n${r.stderr}`);
    const located = f === 'empty.yaml' ? '' : ':\\d+:\\d+'; // an empty file has no line to point at
    assert.match(r.stderr, new RegExp(`invalid/${f.replace('.', '\\.')}${located}: `), `${f}: ${r.stderr}`);
    assert.not.match(r.stderr, /\n\s+at /, `${f}: no stack trace for bad input`);
    assert.ok(!existsSync(out), `${f}: output directory must not be created`);
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a missing plan file: exit 2 naming the file', () => {
  const r = kpki(['gen', '--plan', '/nonexistent/cluster.yaml', '--out', join(tempDir(), 'o')]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /\/nonexistent\/cluster\.yaml/);
});

test('several problems are all reported, each with its line', () => {
  const plan = writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
networking:
  serviceSubnet: 10.96.0.0/40
nodes:
  - { name: Bad_Name, address: 10.0.0.1, roles: [control-plane] }
  - { name: w1, address: 10.0.0.1, roles: [worker] }
`);
  const r = kpki(['gen', '--plan', plan, '--out', join(tempDir(), 'o')]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /cluster\.yaml:4:\d+: networking\.serviceSubnet: /);
  assert.match(r.stderr, /cluster\.yaml:6:\d+: nodes\[0\]\.name: /);
  assert.match(r.stderr, /cluster\.yaml:7:\d+: nodes\[1\]\.address: /);
});

test('usage errors exit 2; --help teaches; --version prints the version', () => {
  assert.is(kpki(['gen']).status, 2);
  assert.is(kpki(['frobnicate']).status, 2);
  const help = kpki(['--help']);
  assert.is(help.status, 0);
  for (const cmd of ['gen', 'ca-hash', 'token', 'certificate-key', 'catalog', 'schema']) assert.match(help.stdout, new RegExp(`kpki ${cmd}`));
  assert.match(help.stdout, /Exit status/);
  assert.match(kpki(['gen', '--help']).stdout, /--dry-run/);
  assert.match(kpki(['--version']).stdout.trim(), /^\d+\.\d+\.\d+/);
});

test('token and certificate-key have kubeadm\'s formats and are random', () => {
  const t1 = kpki(['token']).stdout.trim();
  const t2 = kpki(['token']).stdout.trim();
  assert.match(t1, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  assert.is.not(t1, t2);
  const k = JSON.parse(kpki(['certificate-key', '--json']).stdout) as { certificateKey: string };
  assert.match(k.certificateKey, /^[0-9a-f]{64}$/);
});

test('ca-hash matches openssl\'s sha256 over the CA SubjectPublicKeyInfo', () => {
  const dir = tempDir();
  const out = join(dir, 'out');
  assert.is(kpki(['gen', '--plan', join(FIXTURES, 'single-cp.yaml'), '--out', out]).status, 0);
  const spki = sh('sh', ['-c', `openssl x509 -in ${out}/pki/ca.crt -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r`]);
  assert.is(kpki(['ca-hash', '--out', out]).stdout.trim(), `sha256:${spki.split(' ')[0]}`);
  const missing = kpki(['ca-hash', '--cert', join(dir, 'nope.crt')]);
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /nope\.crt/);
  rmSync(dir, { recursive: true, force: true });
});

test('catalog --json lists every kind, each with a signer', () => {
  const rows = JSON.parse(kpki(['catalog', '--json']).stdout) as Array<{ id: string; signer: string }>;
  for (const id of ['ca', 'front-proxy-ca', 'etcd-ca', 'sa', 'apiserver', 'apiserver-kubelet-client', 'front-proxy-client',
    'apiserver-etcd-client', 'etcd-server', 'etcd-peer', 'etcd-healthcheck-client', 'kubelet-serving', 'admin.conf',
    'super-admin.conf', 'controller-manager.conf', 'scheduler.conf', 'kubelet.conf', 'kube-proxy.conf']) {
    assert.ok(rows.some((r) => r.id === id), `catalog lacks ${id}`);
  }
});

test('a long run shows a progress bar on a terminal, and none under CI or with --json', () => {
  const dir = tempDir();
  const workers = Array.from({ length: 1000 }, (_, i) => `  - { name: w-${i}, address: 10.1.${i >> 8}.${i & 255}, roles: [worker] }`);
  const plan = writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
nodes:
  - { name: cp, address: 10.0.0.1, roles: [control-plane] }
${workers.join('\n')}
`, dir);
  // util-linux \`script\` gives the child a real pseudo-terminal.
  const onTty = (args: string, env: NodeJS.ProcessEnv) =>
    spawnSync('script', ['-qec', `${process.execPath} ${CLI} gen --plan ${plan} ${args}`, '/dev/null'], { encoding: 'utf8', env });
  const { CI: _ci, ...noCi } = process.env;
  const shown = onTty(`--out ${join(dir, 'a')}`, noCi);
  assert.is(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /writing +\[#+\] 5038\/5038/);
  assert.not.match(onTty(`--out ${join(dir, 'b')}`, { ...noCi, CI: 'true' }).stdout, /writing +\[/);
  const json = onTty(`--out ${join(dir, 'c')} --json`, noCi);
  assert.not.match(json.stdout, /\[#/);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
