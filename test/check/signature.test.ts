/**
 * A certificate is only as good as its signature: another cluster's credentials carry the same
 * issuer name (every kubeadm-style cluster's CA is `CN=kubernetes`), so check must verify the
 * signature, not match the name. The foreign pairs come from a second, independent store.
 * Expected codes, severities and files are written here by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpki, sh, tempDir } from '../support/cli.js';
import { findingsOf, runCheck } from './tools.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');
const ours = join(tempDir('kpki-sig-ours-'), 'out');
const theirs = join(tempDir('kpki-sig-theirs-'), 'out');

test.before(() => {
  for (const out of [ours, theirs]) {
    const r = kpki(['gen', '--plan', PLAN, '--out', out]);
    assert.is(r.status, 0, r.stderr);
  }
});

const APISERVER = 'nodes/cp-1/etc/kubernetes/pki/apiserver';
const KUBELET = 'nodes/worker-1/var/lib/kubelet/pki/kubelet';

/** A copy of our store with the other cluster's pair at `stem` (.crt and .key). */
function withForeignPair(stem: string): string {
  const out = join(tempDir('kpki-sig-'), 'out');
  cpSync(ours, out, { recursive: true });
  for (const ext of ['.crt', '.key']) copyFileSync(join(theirs, stem + ext), join(out, stem + ext));
  return out;
}

test('the two stores really are two clusters with the same CA name', () => {
  const subject = (f: string) => sh('openssl', ['x509', '-noout', '-subject', '-in', f]).trim();
  assert.is(subject(join(ours, 'pki/ca.crt')), 'subject=CN = kubernetes');
  assert.is(subject(join(theirs, 'pki/ca.crt')), 'subject=CN = kubernetes');
  // openssl itself refuses the foreign apiserver certificate under our CA.
  const verify = (ca: string) => kpkiOpensslVerify(join(ca, 'pki/ca.crt'), join(theirs, `${APISERVER}.crt`));
  assert.ok(verify(theirs), 'verifies under its own CA');
  assert.not.ok(verify(ours), 'does not verify under ours');
});

function kpkiOpensslVerify(caFile: string, certFile: string): boolean {
  try {
    sh('openssl', ['verify', '-CAfile', caFile, certFile]);
    return true;
  } catch {
    return false;
  }
}

for (const [what, stem, tree] of [
  ['apiserver pair in a control-plane tree', APISERVER, 'nodes/cp-1'],
  ['kubelet serving pair in a worker tree', KUBELET, 'nodes/worker-1'],
] as const) {
  test(`another cluster's ${what}: wrong-signer, critical, read as a node tree`, () => {
    const out = withForeignPair(stem);
    const { status, report } = runCheck([join(out, tree)]);
    const hits = findingsOf(report, 'wrong-signer', join(out, `${stem}.crt`));
    assert.is(hits.length, 1, JSON.stringify(report.findings, null, 1));
    assert.is(hits[0]!.severity, 'critical');
    assert.is(status, 2);
    assert.is(report.status, 'CRITICAL');
    // Only the planted certificate is wrong.
    assert.equal(report.findings.filter((f) => f.severity === 'critical').map((f) => f.file), [join(out, `${stem}.crt`)]);
  });

  for (const withPlan of [false, true]) {
    test(`another cluster's ${what}: wrong-signer, critical, under --out${withPlan ? ' --plan' : ''}`, () => {
      const out = withForeignPair(stem);
      const { status, report } = runCheck(['--out', out, ...(withPlan ? ['--plan', PLAN] : [])]);
      const hits = findingsOf(report, 'wrong-signer', `${stem}.crt`);
      assert.ok(hits.length >= 1, JSON.stringify(report.findings, null, 1));
      assert.ok(hits.every((h) => h.severity === 'critical'));
      assert.is(status, 2);
      assert.equal([...new Set(report.findings.filter((f) => f.severity === 'critical').map((f) => f.file))], [`${stem}.crt`]);
    });
  }
}

test.run();
