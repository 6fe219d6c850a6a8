/**
 * Remembered leaf readings (the store's record, pki/record): a re-run over byte-identical files
 * takes what an earlier run read instead of reading it again. These tests hold that shortcut
 * to the full read: what gen remembers when it issues equals what reading the files finds,
 * for every fixture; a reading is a fact about bytes, so bytes moved elsewhere are judged
 * where they now are; and the clock and the plan still decide on every run. Counts and one
 * leaf's facts are also written out by hand, so a mistake both readings share fails too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpki, tempDir, writePlan } from '../support/cli.js';
import { generateFiles } from '../../pki/gen/generate.js';
import { parsePlan } from '../../pki/plan/parse.js';

const RECORD = (out: string) => join(out, 'pki/record');
const readRecordFile = (out: string) => readFileSync(RECORD(out), 'utf8');
/** The record's leaf lines (`<key> TAB <shape> TAB <facts> TAB <reading>`): not the header, the init node or the shared shapes. */
const leafLines = (text: string) => text.trimEnd().split('\n').slice(1).filter((l) => l.split('\t').length === 4);

const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml'));

/**
 * Leaves (certificates and kubeconfigs) per fixture, counted by hand. A control plane has 8
 * certificates (4 apiserver, 3 etcd with stacked etcd, the kubelet's) and 5 kubeconfigs, plus
 * super-admin.conf on the init node from 1.29; a worker 3; an external etcd member 3.
 */
const LEAVES: Record<string, number> = {
  'single-cp.yaml': 14 + 2 * 3,
  'ha-cluster.yaml': 3 * 13 + 1 + 2 * 3,
  // cp-1 without the etcd member certificates: 5 + 6 kubeconfigs.
  'external-etcd.yaml': 3 * 3 + 11 + 3,
  'dual-stack.yaml': 2 * 13 + 1 + 3,
  // kubeadm: no kube-proxy.conf, kubelet.conf on the init node only; workers get the serving cert only.
  'kubeadm-ha.yaml': 3 * 11 + 2 + 2 * 1,
  // 1.28: no super-admin.conf; external etcd.
  'cfssl-binary.yaml': 3 * 3 + 2 * 10 + 3,
};

for (const f of fixtures) {
  test(`${f}: readings remembered at issue equal a full read of the files`, () => {
    const out = join(tempDir(), 'out');
    const plan = join(FIXTURES, f);
    assert.is(kpki(['gen', '--plan', plan, '--out', out]).status, 0);
    const atIssue = readRecordFile(out);
    assert.is(leafLines(atIssue).length, LEAVES[f], 'one line per leaf, counted by hand');

    // Forget them: the next run reads every file in full and remembers what it found: the
    // same readings and the same certificate facts, byte for byte, as when it issued them.
    const head = atIssue.slice(0, atIssue.indexOf('\n') + 1);
    writeFileSync(RECORD(out), head, { mode: 0o600 });
    const r = kpki(['gen', '--plan', plan, '--out', out, '--json']);
    assert.is(r.status, 0, r.stderr);
    assert.is((JSON.parse(r.stdout) as { changed: boolean }).changed, false);
    assert.is(readRecordFile(out), atIssue);

    // Lines that do not parse are not used (the leaves are read again) and are replaced.
    writeFileSync(RECORD(out), atIssue.replace(/\t\[[^\n]*\]$/gm, '\t["x"]'));
    assert.ok(readRecordFile(out) !== atIssue);
    const again = kpki(['gen', '--plan', plan, '--out', out, '--json']);
    assert.is(again.status, 0, again.stderr);
    assert.is((JSON.parse(again.stdout) as { changed: boolean }).changed, false);
    assert.is(readRecordFile(out), atIssue);
  });
}

test('a reading is a fact about bytes: two nodes swapping their kubelet credentials are both reissued', () => {
  const dir = tempDir();
  const plan = writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
nodes:
  - { name: cp-1, address: 192.0.2.11, roles: [control-plane] }
  - { name: worker-1, address: 192.0.2.21, roles: [worker] }
  - { name: worker-2, address: 192.0.2.22, roles: [worker] }
`, dir);
  const out = join(dir, 'out');
  assert.is(kpki(['gen', '--plan', plan, '--out', out]).status, 0);
  const pki = (n: string, f: string) => join(out, 'nodes', n, 'var/lib/kubelet/pki', f);
  // Valid pairs from the same CA with matching keys: only the identity is wrong where they land.
  for (const f of ['kubelet.crt', 'kubelet.key']) {
    copyFileSync(pki('worker-1', f), join(dir, f));
    copyFileSync(pki('worker-2', f), pki('worker-1', f));
    copyFileSync(join(dir, f), pki('worker-2', f));
  }
  const r = kpki(['gen', '--plan', plan, '--out', out, '--json']);
  assert.is(r.status, 0, r.stderr);
  const items = (JSON.parse(r.stdout) as { items: Array<{ ref: string; action: string; reasons: string[] }> }).items;
  const changed = items.filter((i) => i.action !== 'keep');
  assert.equal(changed.map((i) => i.ref).sort(), ['kubelet-serving@worker-1', 'kubelet-serving@worker-2']);
  for (const i of changed) assert.match(i.reasons.join(' '), /CN changed: system:node:worker-\d → system:node:worker-\d/);
});

test('with every reading remembered, the clock and the plan still decide', async () => {
  const text = readFileSync(join(FIXTURES, 'single-cp.yaml'), 'utf8');
  const plan = parsePlan(text, 'single-cp.yaml');
  const t0 = new Date('2026-01-01T00:00:00Z');
  const day = 86_400_000;
  const first = await generateFiles(plan, { deps: { now: () => t0 } });
  const leaves = first.report.items.filter((i) => i.kind !== 'ca' && i.kind !== 'keypair').length;
  assert.is(leaves, 20, 'counted by hand: 14 on cp-1, 3 per worker');
  // cp-1's apiserver, by hand: issued at t0 for certValidity 8760h.
  const apiserver = (r: typeof first) => {
    const i = r.report.items.find((x) => x.ref === 'apiserver@cp-1');
    return i && { action: i.action, cn: i.cn, dns: i.dns, ips: i.ips, notAfter: i.notAfter };
  };
  const DNS = ['cp-1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];
  assert.equal(apiserver(first), { action: 'issue', cn: 'kube-apiserver', dns: DNS, ips: ['10.96.0.1', '192.0.2.10'], notAfter: '2027-01-01T00:00:00.000Z' }, 'apiserver@cp-1 as issued');
  // A day later: nothing to do.
  const second = await generateFiles(plan, { existing: first.files, deps: { now: () => new Date(t0.getTime() + day) } });
  assert.is(second.report.changed, false);
  // Kept: its NotAfter is the remembered reading's.
  assert.equal(apiserver(second), { action: 'keep', cn: 'kube-apiserver', dns: undefined, ips: undefined, notAfter: '2027-01-01T00:00:00.000Z' }, 'apiserver@cp-1 kept');
  // Inside renewBefore (720h of an 8760h certValidity): every leaf is due.
  const late = await generateFiles(plan, { existing: second.files, deps: { now: () => new Date(t0.getTime() + 340 * day) } });
  const due = late.report.items.filter((i) => i.action === 'issue');
  assert.is(due.length, leaves);
  assert.ok(due.every((i) => i.reasons.some((r) => /^expires in \d+d$/.test(r))), JSON.stringify(due[0]));
  // Reissued on day 340 (2026-12-07) for another 365 days.
  assert.is(apiserver(late)?.notAfter, '2027-12-07T00:00:00.000Z', 'apiserver@cp-1 reissued');
  // A plan change on unchanged files: the apiserver gains a SAN and is reissued, nothing else.
  const grown = parsePlan(text.replace('  bindPort: 6443\n', '  bindPort: 6443\n  certSANs: [192.0.2.99]\n'), 'single-cp.yaml');
  assert.is(grown.apiServer.certSANs.length, plan.apiServer.certSANs.length + 1, 'the SAN is in the grown plan');
  const changed = await generateFiles(grown, { existing: second.files, deps: { now: () => new Date(t0.getTime() + 2 * day) } });
  assert.equal(changed.report.items.filter((i) => i.action !== 'keep').map((i) => i.id), ['apiserver']);
  assert.equal(apiserver(changed), { action: 'issue', cn: 'kube-apiserver', dns: DNS, ips: ['10.96.0.1', '192.0.2.10', '192.0.2.99'], notAfter: '2027-01-03T00:00:00.000Z' }, 'apiserver@cp-1 with the new SAN');
});

test.run();
