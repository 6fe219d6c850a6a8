/**
 * `kpki check --out` on a store gen recorded (pki/record: each leaf's reading and certificate
 * facts) reads unchanged files without parsing them. The shortcut must change nothing: the
 * report with it equals the report that reads every file (--no-cache), for every fixture,
 * with and without the plan, and after files are swapped or damaged. One known certificate
 * per fixture is also held to facts written by hand, which both paths must report.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpki, tempDir } from '../support/cli.js';
import { check } from '../../pki/check/check.js';
import { discover } from '../../pki/check/discover.js';
import { diskSink } from '../../pki/sinks/disk.js';
import { readRecord } from '../../pki/store/record.js';
import { parsePlan } from '../../pki/plan/parse.js';
import type { CheckReport } from '../../pki/check/types.js';

const recordPath = (out: string) => join(out, 'pki/record');

/** The keys of the record's leaf lines (`<key> TAB <shape> TAB <facts> TAB <reading>`: four fields, unlike the header and store lines). */
const recordKeys = (out: string) =>
  readFileSync(recordPath(out), 'utf8').trimEnd().split('\n').slice(1).filter((l) => l.split('\t').length === 4).map((l) => l.slice(0, l.indexOf('\t')));

/** A report without its note on the record (the one field the two paths must differ in). */
const verdict = ({ record: _record, ...rest }: CheckReport) => rest;

/** The same check reading every file (--no-cache), which must say so. */
async function everyFile(options: Parameters<typeof check>[0]): Promise<unknown> {
  const slow = await check({ ...options, useRecord: false });
  assert.equal(slow.record, { used: false, why: 'bypassed (--no-cache)' });
  return verdict(slow);
}

const now = new Date(Date.now() + 3 * 86_400_000);

const K8S = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];
/** The first control plane's apiserver certificate, from each fixture by hand (kubeadm's SAN rules). */
const APISERVER: Record<string, { path: string; dns: string[]; ips: string[]; validityHours: number }> = {
  'single-cp.yaml': { path: 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt', dns: [...K8S, 'cp-1'], ips: ['10.96.0.1', '192.0.2.10'], validityHours: 8760 },
  'ha-cluster.yaml': {
    path: 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt', dns: [...K8S, 'cp-1', 'k8s-api.example.internal'],
    ips: ['10.96.0.1', '192.0.2.11', '192.0.2.100'], validityHours: 8760,
  },
  'external-etcd.yaml': {
    path: 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt', dns: [...K8S, 'cp-1', 'master.example.internal'],
    ips: ['10.254.0.1', '10.0.0.21'], validityHours: 87600,
  },
  'dual-stack.yaml': {
    path: 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt', dns: [...K8S, 'cp-1'],
    ips: ['fd00:10:96::1', '10.96.0.1', 'fd00::11', 'fd00::10', '192.0.2.10', '192.0.2.11'], validityHours: 8760,
  },
  'kubeadm-ha.yaml': {
    path: 'nodes/cp-1.example.internal/etc/kubernetes/pki/apiserver.crt', dns: [...K8S, 'cp-1.example.internal', 'k8s-api.example.internal'],
    ips: ['10.96.0.1', '192.0.2.11', '192.0.2.100'], validityHours: 8760,
  },
  'cfssl-binary.yaml': {
    path: 'nodes/master-1/etc/kubernetes/ssl/server.pem', dns: [...K8S, 'master-1'],
    // layout cfssl: 127.0.0.1 as well, as the binary-install guides' server-csr.json has it.
    ips: ['10.254.0.1', '10.0.0.21', '10.0.0.20', '127.0.0.1'], validityHours: 8760,
  },
};

for (const f of readdirSync(FIXTURES).filter((x) => x.endsWith('.yaml'))) {
  test(`${f}: check with remembered readings equals check reading every file`, async () => {
    const out = join(tempDir(), 'out');
    assert.is(kpki(['gen', '--plan', join(FIXTURES, f), '--out', out]).status, 0);
    const keys = recordKeys(out);
    assert.ok(keys.length > 10, 'a line for every leaf');
    // The shortcut is taken: every leaf gen issued is found remembered.
    const obs = await diskSink(out).observe(['pki', 'nodes']);
    const record = readRecord(obs.files.get('pki/record'));
    assert.equal(record.use, { used: true });
    const found = discover(obs.files, { resolveRef: (_k, ref) => ref, facts: { get: (k) => record.facts(k) } });
    assert.is(found.creds.filter((c) => c.remembered).length, keys.length);
    const plan = parsePlan(readFileSync(join(FIXTURES, f), 'utf8'), f);
    const want = APISERVER[f];
    if (!want) return assert.unreachable(`${f}: no hand-written apiserver entry`);
    for (const options of [{ out, now }, { out, now, plan }]) {
      const fast = await check(options);
      assert.ok(fast.certificates.length > 0);
      assert.equal(fast.record, { used: true });
      assert.equal(verdict(fast), await everyFile(options));
      const api = fast.certificates.find((c) => c.path === want.path);
      if (!api) return assert.unreachable(`${want.path} not reported`);
      // NotBefore is backdated five minutes; NotAfter is certValidity after the issue time.
      assert.equal(
        [api.role, api.subject.cn, api.authority, [...api.dns].sort(), [...api.ips].sort(), Date.parse(api.notAfter) - Date.parse(api.notBefore), api.status],
        ['apiserver', 'kube-apiserver', 'ca', [...want.dns].sort(), [...want.ips].sort(), want.validityHours * 3_600_000 + 5 * 60_000, 'ok'],
        `${want.path}: role, CN, signer, SANs, validity span, status`,
      );
    }
  });
}

test('a record another build wrote is not used (everything is read), and the next gen writes it for this build', async () => {
  const out = join(tempDir(), 'out');
  const plan = join(FIXTURES, 'single-cp.yaml');
  assert.is(kpki(['gen', '--plan', plan, '--out', out]).status, 0);
  const text = readFileSync(recordPath(out), 'utf8');
  const header = text.slice(0, text.indexOf('\n'));
  assert.match(header, /^kpki-record 1 [A-Za-z0-9_-]{43}$/);
  // As a development build before the last code change would have left it.
  writeFileSync(recordPath(out), text.replace(header, 'kpki-record 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'));
  const before = await check({ out, now });
  assert.equal(before.record, { used: false, why: 'written by another build of kpki' });
  assert.equal(verdict(before), await everyFile({ out, now }));
  const rerun = kpki(['gen', '--plan', plan, '--out', out]);
  assert.is(rerun.status, 0, rerun.stderr);
  assert.match(rerun.stdout, 'Nothing to do');
  assert.is(readFileSync(recordPath(out), 'utf8'), text, 'the record as this build writes it, lines and all');
  assert.equal((await check({ out, now })).record, { used: true });
});

test('files changed after gen are read, not remembered: a swapped kubelet pair and a damaged kubeconfig', async () => {
  const out = join(tempDir(), 'out');
  assert.is(kpki(['gen', '--plan', join(FIXTURES, 'single-cp.yaml'), '--out', out]).status, 0);
  const pki = (n: string, file: string) => join(out, 'nodes', n, 'var/lib/kubelet/pki', file);
  for (const file of ['kubelet.crt', 'kubelet.key']) {
    copyFileSync(pki('worker-1', file), join(out, file));
    copyFileSync(pki('worker-2', file), pki('worker-1', file));
    copyFileSync(join(out, file), pki('worker-2', file));
  }
  const kubeconfig = join(out, 'nodes/worker-1/etc/kubernetes/kubelet.conf');
  writeFileSync(kubeconfig, readFileSync(kubeconfig, 'utf8').replace('client-key-data: ', 'client-key-data: AAAA'));
  const plan = parsePlan(readFileSync(join(FIXTURES, 'single-cp.yaml'), 'utf8'), 'single-cp.yaml');
  const fast = await check({ out, now, plan });
  assert.equal(verdict(fast), await everyFile({ out, now, plan }));
  const codes = (file: string) => fast.findings.filter((x) => x.file === file).map((x) => x.code);
  // worker-2's serving certificate on worker-1: clients reaching worker-1 refuse it.
  assert.ok(codes('nodes/worker-1/var/lib/kubelet/pki/kubelet.crt').includes('san-missing'), JSON.stringify(fast.findings));
  assert.ok(codes('nodes/worker-1/etc/kubernetes/kubelet.conf').length > 0, JSON.stringify(fast.findings));
});

test.run();
