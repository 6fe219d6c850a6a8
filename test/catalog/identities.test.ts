/**
 * Identities that follow the plan's Kubernetes version, and the init-node selector. Every
 * expectation is written by hand from kubeadm's published behaviour (kubeadm-bridge.md §4:
 * KK#121305 and #121837 moved admin.conf and apiserver-kubelet-client to kubeadm:cluster-admins
 * in 1.29 and added super-admin.conf), never read back from the catalog.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolve, selectNodes } from '../../pki/catalog/resolve.js';
import { parsePlan } from '../../pki/plan/parse.js';
import type { Plan } from '../../pki/plan/types.js';

function plan(version: string | undefined, nodes: string, extra = ''): Plan {
  return parsePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: lb.example.internal:6443
${version === undefined ? '' : `kubernetesVersion: "${version}"\n`}${extra}nodes:
${nodes}`);
}

const HA = `  - { name: w-1, address: 10.0.0.9, roles: [worker] }
  - { name: cp-1, address: 10.0.0.1, roles: [control-plane] }
  - { name: cp-2, address: 10.0.0.2, roles: [control-plane] }
`;

/** ref → [CN, O] for the leaves whose identity depends on the version. */
function adminIdentities(p: Plan): Record<string, [string, readonly string[]]> {
  const out: Record<string, [string, readonly string[]]> = {};
  for (const leaf of resolve(p).leaves) {
    if (['admin.conf', 'super-admin.conf', 'apiserver-kubelet-client'].includes(leaf.entry.id)) {
      out[leaf.ref] = [leaf.profile.cn, leaf.profile.o];
    }
  }
  return out;
}

const MASTERS = ['system:masters'];
const CLUSTER_ADMINS = ['kubeadm:cluster-admins'];

for (const version of ['1.20', 'v1.21.14', '1.27', 'v1.28.3', '1.28.15']) {
  test(`Kubernetes ${version}: admin.conf and apiserver-kubelet-client in system:masters, no super-admin.conf`, () => {
    assert.equal(adminIdentities(plan(version, HA)), {
      'apiserver-kubelet-client@cp-1': ['kube-apiserver-kubelet-client', MASTERS],
      'apiserver-kubelet-client@cp-2': ['kube-apiserver-kubelet-client', MASTERS],
      'admin.conf@cp-1': ['kubernetes-admin', MASTERS],
      'admin.conf@cp-2': ['kubernetes-admin', MASTERS],
    });
  });
}

for (const version of ['1.29', 'v1.29.0', 'v1.31.2', '1.35', undefined]) {
  test(`Kubernetes ${version ?? '(not named)'}: kubeadm:cluster-admins, super-admin.conf on the init node only`, () => {
    assert.equal(adminIdentities(plan(version, HA)), {
      'apiserver-kubelet-client@cp-1': ['kube-apiserver-kubelet-client', CLUSTER_ADMINS],
      'apiserver-kubelet-client@cp-2': ['kube-apiserver-kubelet-client', CLUSTER_ADMINS],
      'admin.conf@cp-1': ['kubernetes-admin', CLUSTER_ADMINS],
      'admin.conf@cp-2': ['kubernetes-admin', CLUSTER_ADMINS],
      'super-admin.conf@cp-1': ['kubernetes-super-admin', MASTERS],
    });
  });
}

test('the version changes only the admin identities: every other leaf is the same set with the same CN/O', () => {
  const others = (p: Plan) =>
    resolve(p)
      .leaves.filter((l) => !['admin.conf', 'super-admin.conf', 'apiserver-kubelet-client'].includes(l.entry.id))
      .map((l) => `${l.ref} ${l.profile.cn} ${l.profile.o.join('+')}`);
  const old = others(plan('1.22', HA));
  assert.equal(old, others(plan(undefined, HA)));
  // Spot checks written by hand: kubelets in system:nodes, etcd clients without O, at every version.
  assert.ok(old.includes('kubelet.conf@w-1 system:node:w-1 system:nodes'));
  assert.ok(old.includes('apiserver-etcd-client@cp-1 kube-apiserver-etcd-client '));
  assert.ok(old.includes('kube-proxy.conf@cp-2 system:kube-proxy '));
});

test("init-node: the first control plane in plan order when no node is marked", () => {
  assert.equal(selectNodes(plan(undefined, HA), 'init-node').map((n) => n.name), ['cp-1']);
});

test('init-node: the node marked init: true, wherever it is in the list', () => {
  const marked = `  - { name: w-1, address: 10.0.0.9, roles: [worker] }
  - { name: cp-1, address: 10.0.0.1, roles: [control-plane] }
  - { name: cp-2, address: 10.0.0.2, roles: [control-plane], init: true }
`;
  const p = plan(undefined, marked);
  assert.equal(selectNodes(p, 'init-node').map((n) => n.name), ['cp-2']);
  assert.equal(
    resolve(p).leaves.filter((l) => l.entry.id === 'super-admin.conf').map((l) => l.ref),
    ['super-admin.conf@cp-2'],
  );
  // Reordering the list does not move it.
  const reordered = `  - { name: cp-2, address: 10.0.0.2, roles: [control-plane], init: true }
  - { name: w-1, address: 10.0.0.9, roles: [worker] }
  - { name: cp-1, address: 10.0.0.1, roles: [control-plane] }
`;
  assert.equal(selectNodes(plan(undefined, reordered), 'init-node').map((n) => n.name), ['cp-2']);
  const moved = `  - { name: cp-1, address: 10.0.0.1, roles: [control-plane] }
  - { name: w-1, address: 10.0.0.9, roles: [worker] }
  - { name: cp-2, address: 10.0.0.2, roles: [control-plane], init: true }
`;
  assert.equal(selectNodes(plan(undefined, moved), 'init-node').map((n) => n.name), ['cp-2']);
});

test('init-node before 1.29: the selector still names the node, the catalog gives it no super-admin.conf', () => {
  const p = plan('1.28', HA);
  assert.equal(selectNodes(p, 'init-node').map((n) => n.name), ['cp-1']);
  assert.not.ok(resolve(p).leaves.some((l) => l.entry.id === 'super-admin.conf'));
});

test.run();
