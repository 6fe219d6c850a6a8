/**
 * Kubeconfigs made to exhaust the YAML parser, found by `kpki check <dir>`: each one is an
 * unreadable file (a critical finding naming it and the line), never a crash or a run that
 * does not end. kpki runs with a 200 MB heap (NODE_OPTIONS), so unbounded memory shows as a
 * crash (exit 134) rather than as a slow pass.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readKubeconfig } from '../../pki/kubeconfig/kubeconfig.js';
import { CLI, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';
import type { Report } from './tools.js';

function checkBounded(root: string): { status: number | null; report: Report; stderr: string } {
  const r = runSync(process.execPath, [CLI, 'check', root, '--json'], {
    env: { ...process.env, NO_COLOR: '1', NODE_OPTIONS: '--max-old-space-size=200' }, boundMs: 60_000,
  });
  assert.not.match(r.stderr, /FATAL|heap out of memory|Maximum call stack|\n\s+at /);
  return { status: r.status, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

test('1 MB kubeconfigs of nested flow sequences (sixteen of them): each unreadable at its line, bounded', () => {
  const root = tempDir('kpki-hostile-kc-');
  const n = 500_000; // 1 MB: under the 1 MiB check reads at most
  const text = `apiVersion: v1\nclusters: ${'['.repeat(n)}${']'.repeat(n)}\n`;
  for (let i = 0; i < 16; i++) {
    mkdirSync(join(root, `n${i}`));
    writeFileSync(join(root, `n${i}`, 'admin.conf'), text);
  }
  const { status, report } = checkBounded(root);
  assert.is(status, 2);
  assert.is(report.findings.length, 16);
  for (const f of report.findings) {
    assert.is(f.code, 'unreadable');
    assert.is(f.severity, 'critical');
    assert.match(f.file, /\/n\d+\/admin\.conf$/);
    assert.is(f.message, 'not a readable kubeconfig: the YAML nests deeper than 64 levels at line 2; a kubeconfig never does');
  }
});

test('a kubeconfig of a hundred thousand values, and one nested by block indicators: unreadable, bounded', () => {
  const root = tempDir('kpki-hostile-kc-');
  writeFileSync(join(root, 'wide.kubeconfig'), `apiVersion: v1\nusers: [${Array(100_000).fill('0').join(',')}]\n`);
  writeFileSync(join(root, 'deep.conf'), `apiVersion: v1\nusers:\n${'- '.repeat(400_000)}x\n`);
  const { status, report } = checkBounded(root);
  assert.is(status, 2);
  assert.equal(report.findings.map((f) => [f.file.slice(root.length + 1), f.code, f.message]).sort(), [
    ['deep.conf', 'unreadable', 'not a readable kubeconfig: the YAML nests deeper than 64 levels at line 3; a kubeconfig never does'],
    ['wide.kubeconfig', 'unreadable', 'not a readable kubeconfig: the YAML holds more than 50,000 values at line 2; a kubeconfig never does'],
  ]);
});

test('an ordinary kubeconfig still reads; one with a key twice still does not', () => {
  const ok = `apiVersion: v1
clusters:
- name: c
  cluster: { server: "https://127.0.0.1:6443", certificate-authority: ca.crt }
contexts:
- name: x
  context: { cluster: c, user: u }
current-context: x
users:
- name: u
  user: { client-certificate: u.crt, client-key: u.key }
`;
  const k = readKubeconfig(ok, 'ok.conf');
  assert.equal([k.server, k.caFile, k.certFile, k.keyFile], ['https://127.0.0.1:6443', 'ca.crt', 'u.crt', 'u.key']);
  assert.throws(() => readKubeconfig(ok.replace('current-context: x\n', 'current-context: x\ncurrent-context: y\n'), 'twice.conf'), /twice\.conf: not a readable kubeconfig \(YAML does not parse\)/);
});

test.run();
