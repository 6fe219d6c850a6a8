/**
 * The catalog's operational facts, written out by hand from kubeadm's manifests
 * (kubernetes-pki.md §7): which program reads each credential (what to restart after a
 * renewal) and which port serves each serving certificate (what a live probe connects to).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CATALOG, CERTS } from '../../pki/catalog/entries.js';

const READ_BY: Record<string, string[]> = {
  'ca': ['kube-apiserver', 'kube-controller-manager', 'kubelet'],
  'front-proxy-ca': ['kube-apiserver', 'kube-controller-manager'],
  'etcd-ca': ['kube-apiserver', 'etcd'],
  'sa': ['kube-apiserver', 'kube-controller-manager'],
  'apiserver': ['kube-apiserver'],
  'apiserver-kubelet-client': ['kube-apiserver'],
  'front-proxy-client': ['kube-apiserver'],
  'apiserver-etcd-client': ['kube-apiserver'],
  'etcd-server': ['etcd'],
  'etcd-peer': ['etcd'],
  'etcd-healthcheck-client': ['admin'],
  'kubelet-serving': ['kubelet'],
  'admin.conf': ['admin'],
  'super-admin.conf': ['admin'],
  'controller-manager.conf': ['kube-controller-manager'],
  'scheduler.conf': ['kube-scheduler'],
  'kubelet.conf': ['kubelet'],
  'kube-proxy.conf': ['kube-proxy'],
};

test('readBy: every entry names who reads it, as kubeadm wires it', () => {
  assert.equal(Object.fromEntries(CATALOG.map((e) => [e.id, [...e.readBy]])), READ_BY);
});

test('serves: exactly the four serving certificates, on their ports', () => {
  const serves = Object.fromEntries(CERTS.filter((c) => 'serves' in c).map((c) => [c.id, (c as { serves: unknown }).serves]));
  assert.equal(serves, {
    'apiserver': { component: 'kube-apiserver', port: 'apiserver', alsoVia: 'endpoint' },
    'etcd-server': { component: 'etcd', port: 2379, reloads: 'per-connection' },
    'etcd-peer': { component: 'etcd', port: 2380, reloads: 'per-connection' },
    'kubelet-serving': { component: 'kubelet', port: 10250 },
  });
});

test('a served certificate is read by the component that serves it and has serverAuth', () => {
  for (const c of CERTS) {
    if (!('serves' in c)) continue;
    assert.ok((c.readBy as readonly string[]).includes(c.serves.component), c.id);
    assert.ok((c.usages as readonly string[]).includes('serverAuth'), c.id);
  }
});

test.run();
