/**
 * `kpki check --prometheus-file PATH`: the metrics are published when the check finds problems
 * (exit 1 or 2), which is when they matter; the file is replaced atomically (no temp file left,
 * none named *.prom), 0644 whatever the umask, passes `promtool check metrics`, and the exit
 * status stays the check's. A directory kpki cannot write in is UNKNOWN (3) with one sentence
 * naming the path, and the previous file stays as it was.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, FIXTURES, kpki, modeOf, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';
import { opensslLeaf } from './tools.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');
const out = join(tempDir('kpki-promfile-'), 'out');
const KUBELET = join(out, 'nodes/worker-1/var/lib/kubelet/pki/kubelet');

test.before(() => {
  const r = kpki(['gen', '--plan', PLAN, '--out', out]);
  assert.is(r.status, 0, r.stderr);
  // A warning state: worker-1's serving certificate expires in 20 days (inside --warn 30d, outside --crit 7d).
  opensslLeaf(
    { subj: '/O=system:nodes/CN=system:node:worker-1', ca: { crt: join(out, 'pki/ca.crt'), key: join(out, 'pki/ca.key') }, eku: 'serverAuth', san: 'DNS:worker-1,IP:192.0.2.21', days: 20 },
    `${KUBELET}.crt`, `${KUBELET}.key`,
  );
  chmodSync(`${KUBELET}.key`, 0o600);
});

/** `kpki check` under a umask of 077, so a 0644 result proves kpki set the mode itself. */
function checkWithUmask077(args: readonly string[], opts: { uid?: number; gid?: number } = {}) {
  return runSync('sh', ['-c', 'umask 077 && exec "$@"', 'sh', process.execPath, CLI, 'check', ...args], { env: { ...process.env, NO_COLOR: '1' }, ...opts });
}

test('a warning-state tree: exit 1, and the metrics are published anyway (0644, promtool-clean, no temp file)', () => {
  const dir = tempDir('kpki-textfile-');
  const target = join(dir, 'kpki.prom');
  writeFileSync(target, 'kpki_check_status 0\n'); // what an earlier, clean run left
  const r = checkWithUmask077(['--out', out, '--prometheus-file', target]);
  assert.is(r.status, 1, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  assert.equal(readdirSync(dir), ['kpki.prom'], 'nothing but the published file in the collector directory');
  assert.is(modeOf(target), 0o644);
  const text = readFileSync(target, 'utf8');
  const lint = runSync('promtool', ['check', 'metrics'], { input: text });
  assert.is(lint.status, 0, `promtool: ${lint.stdout}${lint.stderr}`);
  assert.match(text, /^kpki_check_status 1$/m);
  assert.match(text, /^kpki_check_findings\{severity="warning",code="expiring"\} 1$/m);
  assert.match(text, /^x509_cert_not_after\{filename="kubelet\.crt",filepath="nodes\/worker-1\/var\/lib\/kubelet\/pki\/kubelet\.crt",.*\} \d{10}$/m);
  // stdout is the usual report; the file is an extra output.
  assert.match(r.stdout, /kubelet/);
  assert.not.match(r.stdout, /^# HELP/m);
});

test('--prometheus-file with --json: the JSON on stdout, the same check in the file', () => {
  const dir = tempDir('kpki-textfile-');
  const target = join(dir, 'kpki.prom');
  const r = kpki(['check', '--out', out, '--json', '--prometheus-file', target]);
  assert.is(r.status, 1, r.stderr);
  assert.is((JSON.parse(r.stdout) as { exitCode: number }).exitCode, 1);
  assert.match(readFileSync(target, 'utf8'), /^kpki_check_status 1$/m);
});

test('a critical tree publishes too (exit 2), replacing the file by rename', () => {
  const dir = tempDir('kpki-textfile-');
  const target = join(dir, 'kpki.prom');
  writeFileSync(target, 'kpki_check_status 0\n');
  const before = statSync(target).ino;
  const r = kpki(['check', '--out', out, '--crit', '30d', '--prometheus-file', target]);
  assert.is(r.status, 2, r.stderr);
  assert.match(readFileSync(target, 'utf8'), /^kpki_check_status 2$/m);
  assert.is.not(statSync(target).ino, before, 'a new inode: renamed into place, not rewritten in place');
  assert.equal(readdirSync(dir), ['kpki.prom']);
});

test('a directory kpki cannot write in: UNKNOWN (3), one sentence naming the path, the old file kept', () => {
  const dir = tempDir('kpki-textfile-');
  const target = join(dir, 'kpki.prom');
  writeFileSync(target, 'kpki_check_status 0\n', { mode: 0o644 });
  // Certificates only, readable by anyone, so that the check itself works as any user.
  const certs = tempDir('kpki-textfile-certs-');
  mkdirSync(join(certs, 'pki'));
  copyFileSync(join(out, 'pki/ca.crt'), join(certs, 'pki/ca.crt'));
  copyFileSync(`${KUBELET}.crt`, join(certs, 'pki/kubelet.crt'));
  for (const p of [certs, join(certs, 'pki')]) chmodSync(p, 0o755);
  for (const p of ['pki/ca.crt', 'pki/kubelet.crt']) chmodSync(join(certs, p), 0o644);
  chmodSync(dir, 0o555);
  // root writes anywhere: run kpki as nobody then (the directory stays root's).
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const r = checkWithUmask077([certs, '--prometheus-file', target], asNobody);
  chmodSync(dir, 0o755);
  assert.is(r.status, 3, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  assert.is(r.stderr, `kpki: --prometheus-file ${target}: permission denied (cannot write in ${dir})\n`);
  assert.is(r.stdout, `PKI UNKNOWN: --prometheus-file ${target}: permission denied (cannot write in ${dir})\n`);
  assert.is(readFileSync(target, 'utf8'), 'kpki_check_status 0\n');
  assert.equal(readdirSync(dir), ['kpki.prom']);
});

test('a missing directory, or a directory as the target: UNKNOWN (3) naming it', () => {
  const dir = tempDir('kpki-textfile-');
  const missing = join(dir, 'nope', 'kpki.prom');
  let r = kpki(['check', '--out', out, '--prometheus-file', missing]);
  assert.is(r.status, 3, r.stderr);
  assert.is(r.stderr, `kpki: --prometheus-file ${missing}: the directory ${join(dir, 'nope')} does not exist\n`);
  mkdirSync(join(dir, 'kpki.prom'));
  r = kpki(['check', '--out', out, '--prometheus-file', join(dir, 'kpki.prom')]);
  assert.is(r.status, 3, r.stderr);
  assert.is(r.stderr, `kpki: --prometheus-file ${join(dir, 'kpki.prom')} is a directory\n`);
  assert.equal(readdirSync(dir).sort(), ['kpki.prom']);
});

test.run();
