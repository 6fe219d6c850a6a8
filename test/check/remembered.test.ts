/**
 * `kpki check --out` on a store gen remembered (pki/state.json readings, pki/facts.json
 * certificate facts) reads unchanged files without parsing them. The shortcut must change
 * nothing: the report with them equals the report with the facts removed, for every
 * fixture, with and without the plan, and after files are swapped or damaged. One known
 * certificate per fixture is also held to facts written by hand, which both paths must report.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpki, tempDir, writePlan } from '../support/cli.js';
import { check } from '../../pki/check/check.js';
import { discover } from '../../pki/check/discover.js';
import { diskSink } from '../../pki/sinks/disk.js';
import { readState } from '../../pki/store/state.js';
import { factsFile } from '../../pki/store/facts-file.js';
import { parsePlan } from '../../pki/plan/parse.js';

const factsPath = (out: string) => join(out, 'pki/facts.json');

/** The same check with the facts moved away: every certificate parsed from its file. */
async function withoutReadings(out: string, run: () => Promise<unknown>): Promise<unknown> {
  renameSync(factsPath(out), `${factsPath(out)}.away`);
  try {
    return await run();
  } finally {
    renameSync(`${factsPath(out)}.away`, factsPath(out));
  }
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
    ips: ['10.254.0.1', '10.0.0.21', '10.0.0.20'], validityHours: 8760,
  },
};

for (const f of readdirSync(FIXTURES).filter((x) => x.endsWith('.yaml'))) {
  test(`${f}: check with remembered readings equals check reading every file`, async () => {
    const out = join(tempDir(), 'out');
    assert.is(kpki(['gen', '--plan', join(FIXTURES, f), '--out', out]).status, 0);
    const state = JSON.parse(readFileSync(join(out, 'pki/state.json'), 'utf8')) as { readings: Record<string, unknown[]> };
    const keys = Object.keys(state.readings);
    // Leaf lines (`<key> <shape> <facts>`), after the header and the shared shapes (`=<n> ...`).
    const factLines = readFileSync(factsPath(out), 'utf8').trimEnd().split('\n').slice(1).filter((l) => !l.startsWith('=')).map((l) => l.slice(0, l.indexOf(' ')));
    assert.equal(factLines, [...keys].sort(), 'facts for every remembered leaf');
    // The shortcut is taken: every leaf gen issued is found remembered.
    const obs = await diskSink(out).observe(['pki', 'nodes']);
    const found = discover(obs.files, { resolveRef: (_k, ref) => ref, facts: factsFile(() => obs.files.get('pki/facts.json')?.content) });
    assert.is(found.creds.filter((c) => c.remembered).length, keys.length);
    const plan = parsePlan(readFileSync(join(FIXTURES, f), 'utf8'), f);
    const want = APISERVER[f];
    if (!want) return assert.unreachable(`${f}: no hand-written apiserver entry`);
    for (const options of [{ out, now }, { out, now, plan }]) {
      const fast = await check(options);
      assert.ok(fast.certificates.length > 0);
      assert.equal(fast, await withoutReadings(out, () => check(options)));
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

test('facts lines missing or in an older format are completed by the next gen that writes facts', async () => {
  const out = join(tempDir(), 'out');
  const planText = readFileSync(join(FIXTURES, 'single-cp.yaml'), 'utf8');
  const dir = tempDir();
  const plan = writePlan(planText, dir);
  assert.is(kpki(['gen', '--plan', plan, '--out', out]).status, 0);
  const keys = () => readFileSync(factsPath(out), 'utf8').trimEnd().split('\n').slice(1).filter((l) => !l.startsWith('=')).map((l) => l.slice(0, l.indexOf(' ')));
  const all = keys();
  assert.ok(all.length > 10);
  // As an earlier kpki left it: another format, which this version does not use.
  writeFileSync(factsPath(out), readFileSync(factsPath(out), 'utf8').replace(/^kpki-facts 2 /, 'kpki-facts '));
  // A change that makes gen write facts: one more worker.
  const grown = writePlan(`${planText.trimEnd()}\n  - { name: worker-9, address: 192.0.2.99, roles: [worker] }\n`, dir);
  assert.is(kpki(['gen', '--plan', grown, '--out', out]).status, 0);
  const now = keys();
  for (const k of all) assert.ok(now.includes(k), `facts for ${k} completed`);
  assert.ok(now.length > all.length, 'and the new worker\'s');
  const obs = await diskSink(out).observe(['pki', 'nodes']);
  const found = discover(obs.files, { resolveRef: (_k, ref) => ref, facts: factsFile(() => obs.files.get('pki/facts.json')?.content) });
  assert.is(found.creds.filter((c) => c.remembered).length, now.length, 'every leaf audited from its facts');
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
  assert.equal(fast, await withoutReadings(out, () => check({ out, now, plan })));
  const codes = (file: string) => fast.findings.filter((x) => x.file === file).map((x) => x.code);
  // worker-2's serving certificate on worker-1: clients reaching worker-1 refuse it.
  assert.ok(codes('nodes/worker-1/var/lib/kubelet/pki/kubelet.crt').includes('san-missing'), JSON.stringify(fast.findings));
  assert.ok(codes('nodes/worker-1/etc/kubernetes/kubelet.conf').length > 0, JSON.stringify(fast.findings));
});

test.run();
