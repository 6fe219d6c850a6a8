/**
 * `kpki check` on healthy trees made by the tools that make them in the field must exit 0 (a
 * check one pages on), and on the same trees with one fault planted must give the fault's code
 * and exit status: a kubeadm 1.20.2 control plane (openssl, kubeadm's 1.20 identities, manifests
 * and configuration) and a classic cfssl binary install (cfssl + kubectl, as the guides do).
 * Every expected code, severity and file is written here by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { kpki, tempDir, writePlan } from '../support/cli.js';
import { cfsslGuide, guideKubeconfig, kubeadm120, kubeadmConf, type CfsslTree, type KubeadmTree } from './trees.js';
import { findingsOf, runCheck, type Report } from './tools.js';

let k120: KubeadmTree;
let guide: CfsslTree;

test.before(() => {
  k120 = kubeadm120();
  guide = cfsslGuide();
});

/** A copy to plant a fault in (links kept as links). */
function copy(root: string): string {
  const dir = join(tempDir('kpki-realworld-'), 'root');
  cpSync(root, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

/** `code file` for every finding, files relative to `base`, sorted. */
const listed = (r: Report, base: string) => r.findings.map((f) => `${f.severity} ${f.code} ${f.file.startsWith(`${base}/`) ? f.file.slice(base.length + 1) : f.file}`).sort();
const loud = (r: Report) => r.findings.filter((f) => f.severity !== 'info');

test('kubeadm 1.20.2 control plane: exit 0, the version read from its manifests, its 1.20 identities information only', () => {
  for (const root of [k120.root, join(k120.root, 'etc/kubernetes')]) {
    const { status, report } = runCheck([root]);
    assert.equal(loud(report), [], root);
    assert.is(status, 0);
    assert.is(report.kubernetesVersion?.version, '1.20.2');
    assert.ok(report.kubernetesVersion!.source.endsWith('etc/kubernetes/manifests/kube-apiserver.yaml'), report.kubernetesVersion!.source);
    const base = join(k120.root, 'etc/kubernetes');
    assert.equal(listed(report, base), [
      'info ca-key-on-control-plane pki/etcd/ca.key',
      'info ca-key-on-control-plane pki/front-proxy-ca.key',
      'info identity-differs pki/apiserver-etcd-client.crt',
      'info identity-differs pki/etcd/healthcheck-client.crt',
      'info older-release-identity admin.conf',
      'info older-release-identity pki/apiserver-kubelet-client.crt',
    ]);
    const admin = findingsOf(report, 'older-release-identity', join(base, 'admin.conf'))[0]!;
    assert.match(admin.message, /system:masters/);
    assert.match(admin.message, /this cluster runs 1\.20\.2 \(from .*kube-apiserver\.yaml\)$/);
    assert.match(findingsOf(report, 'identity-differs', join(base, 'pki/apiserver-etcd-client.crt'))[0]!.message, /etcd checks only/);
  }
});

test('kubeadm 1.20.2: the version from the kubeadm configuration without manifests; unknown without either, still exit 0', () => {
  const noManifests = copy(k120.root);
  rmSync(join(noManifests, 'etc/kubernetes/manifests'), { recursive: true });
  let r = runCheck([noManifests]);
  assert.is(r.status, 0, JSON.stringify(loud(r.report)));
  assert.equal(r.report.kubernetesVersion, { version: '1.20.2', source: join(noManifests, 'etc/kubernetes/kubeadm-config.yaml') });
  rmSync(join(noManifests, 'etc/kubernetes/kubeadm-config.yaml'));
  r = runCheck([noManifests]);
  assert.is(r.status, 0, JSON.stringify(loud(r.report)));
  assert.is(r.report.kubernetesVersion, undefined);
  const older = findingsOf(r.report, 'older-release-identity');
  assert.is(older.length, 2);
  for (const f of older) assert.match(f.message, /release is unknown \(pass --kubernetes-version or --plan\)$/);
});

test('--kubernetes-version 1.29 on the 1.20 tree: system:masters is a warning on admin.conf and apiserver-kubelet-client only, and the hint agrees', () => {
  const { status, report } = runCheck([k120.root, '--kubernetes-version', '1.29']);
  assert.is(status, 1);
  assert.equal(report.kubernetesVersion, { version: '1.29', source: '--kubernetes-version' });
  const base = join(k120.root, 'etc/kubernetes');
  assert.equal(loud(report).map((f) => `${f.severity} ${f.code} ${f.file.slice(base.length + 1)}`).sort(), [
    'warning legacy-identity admin.conf',
    'warning legacy-identity pki/apiserver-kubelet-client.crt',
  ]);
  for (const f of findingsOf(report, 'legacy-identity')) {
    assert.match(f.message, /"kubeadm:cluster-admins"/);
    assert.not.match(f.hint, /no O/);
    assert.match(f.hint, /renew/);
  }
  // etcd never reads O: the etcd clients are not legacy on any release.
  assert.is(findingsOf(report, 'identity-differs').length, 2);
  // A version that is not one, and one the plan contradicts: UNKNOWN (3).
  assert.is(kpki(['check', k120.root, '--kubernetes-version', 'banana']).status, 3);
  const plan = writePlan(PLAN_120);
  const r = kpki(['check', k120.root, '--plan', plan, '--kubernetes-version', '1.29']);
  assert.is(r.status, 3);
  assert.match(r.stderr, /contradicts kubernetesVersion 1\.20\.2/);
});

const PLAN_120 = `apiVersion: kpki/v1alpha1
kind: Cluster
kubernetesVersion: v1.20.2
deploy: kubeadm
networking: { serviceSubnet: 10.96.0.0/12 }
nodes:
  - { name: cp-1, address: 192.0.2.10, roles: [control-plane] }
  - { name: worker-1, address: 192.0.2.21, roles: [worker] }
`;

test('check DIR --plan: version and SANs from the plan; an apiserver without the endpoint or service IP clients use is CRITICAL', () => {
  const plan = writePlan(PLAN_120);
  let r = runCheck([k120.root, '--plan', plan]);
  assert.is(r.status, 0, JSON.stringify(loud(r.report)));
  assert.is(r.report.plan, plan);
  assert.equal(r.report.kubernetesVersion, { version: '1.20.2', source: plan });
  // The plan puts a load balancer in front: the apiserver certificate lacks its address.
  const lb = writePlan(PLAN_120.replace('deploy: kubeadm', 'deploy: kubeadm\ncontrolPlaneEndpoint: 192.0.2.100:6443'));
  r = runCheck([k120.root, '--plan', lb]);
  assert.is(r.status, 2);
  const apiserver = join(k120.root, 'etc/kubernetes/pki/apiserver.crt');
  const missing = findingsOf(r.report, 'san-missing', apiserver);
  assert.is(missing.length, 1, JSON.stringify(r.report.findings));
  assert.is(missing[0]!.severity, 'critical');
  assert.match(missing[0]!.message, /192\.0\.2\.100/);
  // Another service range: the first address (the `kubernetes` Service IP) is not in it either.
  const svc = writePlan(PLAN_120.replace('10.96.0.0/12', '10.254.0.0/16'));
  r = runCheck([k120.root, '--plan', svc]);
  assert.is(r.status, 2);
  assert.match(findingsOf(r.report, 'san-missing', apiserver)[0]!.message, /10\.254\.0\.1/);
});

test('kubeadm 1.20.2 with one fault each: the code and exit status of what the fault breaks', () => {
  // admin.conf in kubeadm:cluster-admins on 1.20: that group is bound to nothing before 1.29.
  let root = copy(k120.root);
  let tree = { ...k120, root, ca: { crt: join(root, 'etc/kubernetes/pki/ca.crt'), key: join(root, 'etc/kubernetes/pki/ca.key') } };
  let file = kubeadmConf(tree, 'admin.conf', '/O=kubeadm:cluster-admins/CN=kubernetes-admin', 'kubernetes-admin');
  let r = runCheck([root]);
  assert.is(r.status, 2);
  assert.equal(findingsOf(r.report, 'identity-mismatch').map((f) => [f.file, f.severity]), [[file, 'critical']]);
  assert.match(findingsOf(r.report, 'identity-mismatch')[0]!.message, /only from 1\.29/);
  // ... which is right on 1.29.
  assert.equal(findingsOf(runCheck([root, '--kubernetes-version', '1.29']).report, 'identity-mismatch'), []);
  // The controller manager with system:masters: works, but a superuser key: a warning.
  root = copy(k120.root);
  tree = { ...k120, root, ca: { crt: join(root, 'etc/kubernetes/pki/ca.crt'), key: join(root, 'etc/kubernetes/pki/ca.key') } };
  file = kubeadmConf(tree, 'controller-manager.conf', '/O=system:masters/CN=system:kube-controller-manager', 'system:kube-controller-manager');
  r = runCheck([root]);
  assert.is(r.status, 1);
  assert.equal(loud(r.report).map((f) => [f.code, f.severity, f.file]), [['identity-privileged', 'warning', file]]);
  // The scheduler under another user name: RBAC binds system:kube-scheduler, so it is denied.
  root = copy(k120.root);
  tree = { ...k120, root, ca: { crt: join(root, 'etc/kubernetes/pki/ca.crt'), key: join(root, 'etc/kubernetes/pki/ca.key') } };
  file = kubeadmConf(tree, 'scheduler.conf', '/CN=kube-scheduler', 'kube-scheduler');
  r = runCheck([root]);
  assert.is(r.status, 2);
  assert.equal(loud(r.report).map((f) => [f.code, f.severity, f.file]), [['identity-mismatch', 'critical', file]]);
  // With --node, the kubelet's client certificate must be this node's.
  r = runCheck([k120.root, '--node', 'cp-2']);
  assert.is(r.status, 2);
  assert.match(findingsOf(r.report, 'identity-mismatch')[0]!.message, /system:node:cp-2/);
});

test('a classic cfssl binary install: exit 0; a CN "kubernetes" server.pem and O "k8s" clients are information', () => {
  const { status, report } = runCheck([guide.root]);
  assert.equal(loud(report), []);
  assert.is(status, 0);
  const rel = (p: string) => p.slice(guide.root.length + 1);
  const roles = report.certificates.map((c) => `${c.role} ${rel(c.path)}`).sort();
  assert.equal(roles, [
    'admin.conf etc/kubernetes/admin.kubeconfig',
    'admin.conf etc/kubernetes/ssl/admin.pem',
    'apiserver etc/kubernetes/ssl/server.pem',
    'controller-manager.conf etc/kubernetes/kube-controller-manager.kubeconfig',
    'controller-manager.conf etc/kubernetes/ssl/kube-controller-manager.pem',
    'etcd-server etc/etcd/ssl/etcd.pem',
    'kube-proxy.conf etc/kubernetes/kube-proxy.kubeconfig',
    'kube-proxy.conf etc/kubernetes/ssl/kube-proxy.pem',
    'kubelet-serving etc/kubernetes/ssl/kubelet.crt',
    'kubelet.conf etc/kubernetes/kubelet.kubeconfig',
    'scheduler.conf etc/kubernetes/kube-scheduler.kubeconfig',
    'scheduler.conf etc/kubernetes/ssl/kube-scheduler.pem',
    'unknown etc/kubernetes/ssl/proxy-client.pem',
  ]);
  assert.equal(listed(report, guide.root), [
    'info identity-differs etc/kubernetes/admin.kubeconfig',
    'info identity-differs etc/kubernetes/kube-controller-manager.kubeconfig',
    'info identity-differs etc/kubernetes/kube-proxy.kubeconfig',
    'info identity-differs etc/kubernetes/kube-scheduler.kubeconfig',
    'info identity-differs etc/kubernetes/ssl/admin.pem',
    'info identity-differs etc/kubernetes/ssl/kube-controller-manager.pem',
    'info identity-differs etc/kubernetes/ssl/kube-proxy.pem',
    'info identity-differs etc/kubernetes/ssl/kube-scheduler.pem',
    'info identity-differs etc/kubernetes/ssl/server.pem',
    'info older-release-identity etc/kubernetes/admin.kubeconfig',
    'info older-release-identity etc/kubernetes/ssl/admin.pem',
    'info unknown-role etc/kubernetes/ssl/proxy-client.pem',
  ]);
  assert.match(findingsOf(report, 'identity-differs', join(guide.ssl, 'server.pem'))[0]!.message, /SANs, not its subject/);
  assert.match(findingsOf(report, 'identity-differs', join(guide.ssl, 'kube-proxy.pem'))[0]!.message, /O "k8s".*grants nothing/);
});

test('the cfssl install in the table: one row per credential, its files under PATH with --wide', () => {
  const plain = kpki(['check', guide.root]);
  assert.is(plain.status, 0, plain.stdout);
  const rows = (out: string, name: string) => out.split('\n').filter((l) => l.startsWith(`${name} `));
  for (const name of ['kube-proxy.conf', 'scheduler.conf', 'admin.conf', 'controller-manager.conf']) assert.is(rows(plain.stdout, name).length, 1, `${name}:\n${plain.stdout}`);
  assert.not.match(plain.stdout, /PATH/);
  const wide = kpki(['check', guide.root, '--wide']);
  assert.match(wide.stdout, /^CERTIFICATE\s+EXPIRES\s+RESIDUAL TIME\s+CERTIFICATE AUTHORITY\s+PATH$/m);
  const sched = rows(wide.stdout, 'scheduler.conf');
  assert.is(sched.length, 1);
  assert.ok(sched[0]!.endsWith(`${guide.root}/etc/kubernetes/kube-scheduler.kubeconfig, ${guide.ssl}/kube-scheduler.pem`), sched[0]);
});

test('the cfssl install with one fault each: a user or group that changes authorization is CRITICAL, system:masters on kube-proxy a WARNING', () => {
  /** A copy with one client reissued by the guide's cfssl (same CA) and its kubeconfig rewritten by kubectl. */
  const fault = (name: string, cn: string, o: string, kubeconfig: string) => {
    const root = copy(guide.root);
    guide.sign(name, { CN: cn, O: o }, join(root, 'etc/kubernetes/ssl'));
    guideKubeconfig(root, kubeconfig, name, name);
    const { status, report } = runCheck([root]);
    return { status, loud: loud(report).map((x) => [x.code, x.severity, x.file.slice(root.length + 1)]).sort() };
  };
  // kube-proxy under a user nothing binds: denied.
  assert.equal(fault('kube-proxy', 'kube-proxy', 'k8s', 'kube-proxy.kubeconfig'), { status: 2, loud: [
    ['identity-mismatch', 'critical', 'etc/kubernetes/kube-proxy.kubeconfig'],
    ['identity-mismatch', 'critical', 'etc/kubernetes/ssl/kube-proxy.pem'],
  ] });
  // kube-proxy in system:masters: works, but its key is a superuser's.
  assert.equal(fault('kube-proxy', 'system:kube-proxy', 'system:masters', 'kube-proxy.kubeconfig'), { status: 1, loud: [
    ['identity-privileged', 'warning', 'etc/kubernetes/kube-proxy.kubeconfig'],
    ['identity-privileged', 'warning', 'etc/kubernetes/ssl/kube-proxy.pem'],
  ] });
  // admin without system:masters: no longer an administrator.
  assert.equal(fault('admin', 'admin', 'k8s', 'admin.kubeconfig'), { status: 2, loud: [
    ['identity-mismatch', 'critical', 'etc/kubernetes/admin.kubeconfig'],
    ['identity-mismatch', 'critical', 'etc/kubernetes/ssl/admin.pem'],
  ] });
});

test.run();
