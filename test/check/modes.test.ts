/**
 * What kpki itself writes must pass its own audit: in each deploy mode and layout (kubeadm +
 * kubeadm, binary + kubeadm, binary + cfssl), read as a store (with and without its plan), as a
 * directory, and node tree by node tree (with and without the plan), `kpki check` exits 0 with
 * nothing above information. A kubeadm worker's tree has no ca.crt by design (kubeadm join
 * writes it): its chain is "not checked" until --ca gives the CA.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpki, tempDir, writePlan } from '../support/cli.js';
import { check } from '../../pki/check/check.js';
import { loadPlan } from '../../pki/plan/load.js';
import { findingsOf, runCheck, type Report } from './tools.js';

const KUBEADM_120 = `apiVersion: kpki/v1alpha1
kind: Cluster
kubernetesVersion: v1.20.2
deploy: kubeadm
controlPlaneEndpoint: 192.0.2.100:6443
networking: { serviceSubnet: 10.96.0.0/12, podSubnet: 10.244.0.0/16 }
nodes:
  - { name: cp-1, address: 192.0.2.11, roles: [control-plane], init: true }
  - { name: cp-2, address: 192.0.2.12, roles: [control-plane] }
  - { name: worker-1, address: 192.0.2.21, roles: [worker] }
`;

interface Mode {
  readonly name: string;
  readonly plan: string;
  readonly out: string;
}

const modes: Mode[] = [];

test.before(() => {
  const add = (name: string, plan: string) => {
    const out = join(tempDir(`kpki-modes-${name}-`), 'out');
    const r = kpki(['gen', '--plan', plan, '--out', out]);
    assert.is(r.status, 0, r.stderr);
    modes.push({ name, plan, out });
  };
  add('kubeadm-kubeadm', writePlan(KUBEADM_120));
  add('binary-kubeadm', join(FIXTURES, 'single-cp.yaml'));
  add('binary-cfssl', join(FIXTURES, 'cfssl-binary.yaml'));
});

const loud = (r: Report) => r.findings.filter((f) => f.severity !== 'info');
const mode = (name: string) => modes.find((m) => m.name === name)!;
const nodesOf = (m: Mode) => readdirSync(join(m.out, 'nodes')).sort();

function clean(args: string[]): Report {
  const { status, report } = runCheck(args);
  assert.equal(loud(report), [], args.join(' '));
  assert.is(status, 0, args.join(' '));
  return report;
}

test('each mode: the store (with and without its plan) and the output directory read as a path exit 0', () => {
  for (const m of modes) {
    clean(['--out', m.out]);
    assert.equal(clean(['--out', m.out, '--plan', m.plan]).findings, [], m.name);
    clean([m.out]);
  }
});

test('each mode: every node tree on its own, and with the plan (SANs, node names, release), exits 0', async () => {
  // In process (the CLI is the same call): one check per tree, twice per node.
  for (const m of modes) {
    const plan = await loadPlan(m.plan);
    for (const node of nodesOf(m)) {
      const dir = join(m.out, 'nodes', node);
      for (const options of [{ roots: [dir] }, { roots: [dir], plan }]) {
        const r = await check(options);
        assert.equal(r.findings.filter((f) => f.severity !== 'info'), [], `${dir}${'plan' in options ? ' --plan' : ''}`);
        assert.is(r.exitCode, 0);
      }
    }
  }
});

test('kubeadm worker tree: no ca.crt by design, so its chain is not checked (info) until --ca gives the CA', () => {
  const m = mode('kubeadm-kubeadm');
  const worker = join(m.out, 'nodes/worker-1');
  const crt = join(worker, 'var/lib/kubelet/pki/kubelet.crt');
  const r = clean([worker]);
  const f = findingsOf(r, 'ca-missing', crt);
  assert.is(f.length, 1, JSON.stringify(r.findings));
  assert.is(f[0]!.severity, 'info');
  assert.match(f[0]!.message, /^chain not checked \(issuer "CN=kubernetes" not found among the files read; pass --ca FILE\)$/);
  const anchored = clean([worker, '--ca', join(m.out, 'pki/ca.crt'), '--plan', m.plan]);
  assert.equal(anchored.findings, []);
  assert.equal(anchored.authorities.map((a) => a.role), ['ca']);
});

test('kubeadm control plane tree: the release is read from the kubeadm configuration kpki wrote', () => {
  const m = mode('kubeadm-kubeadm');
  const cp = join(m.out, 'nodes/cp-1');
  const r = clean([cp]);
  assert.equal(r.kubernetesVersion, { version: '1.20.2', source: join(cp, 'etc/kubernetes/kubeadm-config.yaml') });
  // 1.20's administrators are in system:masters: right for that release.
  assert.equal(findingsOf(r, 'older-release-identity').map((f) => f.file.slice(cp.length + 1)).sort(), ['etc/kubernetes/admin.conf', 'etc/kubernetes/pki/apiserver-kubelet-client.crt']);
  assert.equal(findingsOf(runCheck(['--out', m.out]).report, 'older-release-identity').length, 4, 'both control planes');
});

test('cfssl node tree in the table: one row per credential under its role, the files with --wide', () => {
  const m = mode('binary-cfssl');
  const master = join(m.out, 'nodes/master-1');
  const plain = kpki(['check', master]);
  assert.is(plain.status, 0, plain.stdout);
  const rows = (out: string) => out.split('\n').slice(1, out.split('\n').indexOf('')).map((l) => l.split(/\s+/)[0]);
  assert.equal(rows(plain.stdout), ['admin.conf', 'apiserver', 'apiserver-etcd-client', 'apiserver-kubelet-client', 'controller-manager.conf', 'front-proxy-client', 'kube-proxy.conf', 'kubelet-serving', 'kubelet.conf', 'scheduler.conf']);
  const wide = kpki(['check', master, '--wide']).stdout;
  assert.match(wide, new RegExp(`^scheduler\\.conf .* ${master}/etc/kubernetes/kube-scheduler\\.kubeconfig, ${master}/etc/kubernetes/ssl/kube-scheduler\\.pem$`, 'm'));
  assert.match(wide, new RegExp(`^CERTIFICATE AUTHORITY\\s+EXPIRES\\s+RESIDUAL TIME\\s+PATH$`, 'm'));
});

test.run();
