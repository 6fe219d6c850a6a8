/**
 * kubeadm preflight file checks. The expected names and paths are written out by hand from
 * kubernetes/kubernetes cmd/kubeadm/app/preflight/checks.go (commit 00b6a4c7: JoinNodeChecks,
 * InitNodeChecks, FileAvailableCheck.Name) and cmd/phases/join/preflight.go (commit 0ccffeb),
 * plus the 1.22-and-older DirAvailable--etc-kubernetes-manifests removed by kubernetes#104942.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolve } from '../../pki/catalog/resolve.js';
import { preflightChecks, preflightViolations, type KubeadmRole } from '../../pki/kubeadm/preflight.js';
import { fileSpecs, nodeRoot } from '../../pki/layout/layout.js';
import { parsePlan } from '../../pki/plan/parse.js';
import type { Plan } from '../../pki/plan/types.js';

function plan(extra: string): Plan {
  const etcdNode = extra.includes('external: true') ? '  - { name: e-1, address: 10.0.0.5, roles: [etcd] }\n' : '';
  return parsePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: lb.example.internal:6443
${extra}nodes:
${etcdNode}  - { name: cp-1, address: 10.0.0.1, roles: [control-plane] }
  - { name: cp-2, address: 10.0.0.2, roles: [control-plane] }
  - { name: w-1, address: 10.0.0.9, roles: [worker] }
`);
}

const STACKED = plan('');
const EXTERNAL = plan('etcd: { external: true }\n');
const OLD = plan('kubernetesVersion: v1.22.17\n');

const names = (p: Plan, role: KubeadmRole) => preflightChecks(p, role).map((c) => `${c.name} ${c.rule} ${c.path}`);

test('worker join (1.23+): kubelet.conf, bootstrap-kubelet.conf and pki/ca.crt must not exist', () => {
  assert.equal(names(STACKED, 'join-worker'), [
    'FileAvailable--etc-kubernetes-kubelet.conf absent /etc/kubernetes/kubelet.conf',
    'FileAvailable--etc-kubernetes-bootstrap-kubelet.conf absent /etc/kubernetes/bootstrap-kubelet.conf',
    'FileAvailable--etc-kubernetes-pki-ca.crt absent /etc/kubernetes/pki/ca.crt',
  ]);
});

test('worker join up to 1.22 also wants /etc/kubernetes/manifests empty', () => {
  assert.equal(names(OLD, 'join-worker'), [
    'DirAvailable--etc-kubernetes-manifests empty-dir /etc/kubernetes/manifests',
    'FileAvailable--etc-kubernetes-kubelet.conf absent /etc/kubernetes/kubelet.conf',
    'FileAvailable--etc-kubernetes-bootstrap-kubelet.conf absent /etc/kubernetes/bootstrap-kubelet.conf',
    'FileAvailable--etc-kubernetes-pki-ca.crt absent /etc/kubernetes/pki/ca.crt',
  ]);
  assert.is(names(plan('kubernetesVersion: "1.23"\n'), 'join-worker').length, 3);
});

test('control-plane join, stacked etcd: no kubelet.conf, no static Pod manifests, an empty etcd data dir; ca.crt allowed', () => {
  assert.equal(names(STACKED, 'join-control-plane'), [
    'FileAvailable--etc-kubernetes-kubelet.conf absent /etc/kubernetes/kubelet.conf',
    'FileAvailable--etc-kubernetes-bootstrap-kubelet.conf absent /etc/kubernetes/bootstrap-kubelet.conf',
    'FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml absent /etc/kubernetes/manifests/kube-apiserver.yaml',
    'FileAvailable--etc-kubernetes-manifests-kube-controller-manager.yaml absent /etc/kubernetes/manifests/kube-controller-manager.yaml',
    'FileAvailable--etc-kubernetes-manifests-kube-scheduler.yaml absent /etc/kubernetes/manifests/kube-scheduler.yaml',
    'FileAvailable--etc-kubernetes-manifests-etcd.yaml absent /etc/kubernetes/manifests/etcd.yaml',
    'DirAvailable--var-lib-etcd empty-dir /var/lib/etcd',
  ]);
});

test('init and control-plane join, external etcd: the etcd client files must exist', () => {
  const external = [
    'ExternalEtcdClientCertificates present /etc/kubernetes/pki/etcd/ca.crt',
    'ExternalEtcdClientCertificates present /etc/kubernetes/pki/apiserver-etcd-client.crt',
    'ExternalEtcdClientCertificates present /etc/kubernetes/pki/apiserver-etcd-client.key',
  ];
  const manifests = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'].map(
    (c) => `FileAvailable--etc-kubernetes-manifests-${c}.yaml absent /etc/kubernetes/manifests/${c}.yaml`,
  );
  assert.equal(names(EXTERNAL, 'init'), [...manifests, ...external]);
  assert.equal(names(EXTERNAL, 'join-control-plane'), [
    'FileAvailable--etc-kubernetes-kubelet.conf absent /etc/kubernetes/kubelet.conf',
    'FileAvailable--etc-kubernetes-bootstrap-kubelet.conf absent /etc/kubernetes/bootstrap-kubelet.conf',
    ...manifests,
    ...external,
  ]);
});

/** A node's tree as kpki writes it today (deploy: binary), root-relative. */
function tree(p: Plan, node: string): string[] {
  const prefix = `${nodeRoot(node)}/`;
  return fileSpecs(resolve(p)).filter((s) => s.path.startsWith(prefix)).map((s) => s.path.slice(prefix.length));
}

const tripped = (p: Plan, role: KubeadmRole, files: Iterable<string>) =>
  preflightViolations(p, role, files).map((v) => `${v.check.name} ${v.file}`);

test("today's binary trees: the worker's kubelet.conf and ca.crt trip join preflight, the joining control plane's kubelet.conf too", () => {
  assert.equal(tripped(STACKED, 'join-worker', tree(STACKED, 'w-1')), [
    'FileAvailable--etc-kubernetes-kubelet.conf etc/kubernetes/kubelet.conf',
    'FileAvailable--etc-kubernetes-pki-ca.crt etc/kubernetes/pki/ca.crt',
  ]);
  assert.equal(tripped(STACKED, 'join-control-plane', tree(STACKED, 'cp-2')), [
    'FileAvailable--etc-kubernetes-kubelet.conf etc/kubernetes/kubelet.conf',
  ]);
  // init accepts pre-placed kubeconfigs and certificates (it validates them instead).
  assert.equal(tripped(STACKED, 'init', tree(STACKED, 'cp-1')), []);
  assert.equal(tripped(EXTERNAL, 'init', tree(EXTERNAL, 'cp-1')), []);
});

test('a kubeadm-mode worker tree with only the kubelet serving certificate passes', () => {
  assert.equal(tripped(STACKED, 'join-worker', ['var/lib/kubelet/pki/kubelet.crt', 'var/lib/kubelet/pki/kubelet.key']), []);
});

test('a file in /etc/kubernetes/manifests trips the 1.22 worker join only; missing etcd client files trip an external init', () => {
  const files = ['etc/kubernetes/manifests/kube-vip.yaml'];
  assert.equal(tripped(OLD, 'join-worker', files), ['DirAvailable--etc-kubernetes-manifests etc/kubernetes/manifests/kube-vip.yaml']);
  assert.equal(tripped(STACKED, 'join-worker', files), []);
  assert.equal(tripped(EXTERNAL, 'init', ['etc/kubernetes/pki/etcd/ca.crt']), [
    'ExternalEtcdClientCertificates etc/kubernetes/pki/apiserver-etcd-client.crt',
    'ExternalEtcdClientCertificates etc/kubernetes/pki/apiserver-etcd-client.key',
  ]);
  assert.equal(tripped(STACKED, 'init', ['var/lib/etcd/member/snap/db']), ['DirAvailable--var-lib-etcd var/lib/etcd/member/snap/db']);
});

test.run();
