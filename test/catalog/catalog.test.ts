/** Invariants of the catalog table itself (kubeadm's TestCAPointersValid and friends). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CAS, CATALOG, CERTS, KUBECONFIGS } from '../../pki/catalog/entries.js';
import { resolve } from '../../pki/catalog/resolve.js';
import { fileSpecs } from '../../pki/layout/layout.js';
import { parsePlan } from '../../pki/plan/parse.js';

test('ids are unique', () => {
  const ids = CATALOG.map((e) => e.id);
  assert.is(new Set(ids).size, ids.length);
});

test('every signer names a CA in the catalog', () => {
  const caIds = new Set<string>(CAS.map((c) => c.id));
  for (const e of [...CERTS, ...KUBECONFIGS]) assert.ok(caIds.has(e.signer), `${e.id} signed by unknown ${e.signer}`);
});

test('file paths are unique per node and never escape the node root', () => {
  const plan = parsePlan(
    `apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: lb.example:6443
nodes:
  - { name: a, address: 10.0.0.1, roles: [control-plane, etcd] }
  - { name: b, address: 10.0.0.2, roles: [control-plane] }
  - { name: c, address: 10.0.0.3, roles: [worker] }
`,
    'inline.yaml',
  );
  const specs = fileSpecs(resolve(plan));
  const paths = specs.map((s) => s.path);
  assert.is(new Set(paths).size, paths.length, 'duplicate output path');
  assert.ok(paths.every((p) => !p.includes('..') && !p.startsWith('/')));
  assert.ok(specs.every((s) => (s.path.endsWith('.crt') ? s.mode === 0o644 : s.mode === 0o600)));
});

test('every resolved leaf has a signer that resolves and a non-empty CN', () => {
  const plan = parsePlan(
    `apiVersion: kpki/v1alpha1
kind: Cluster
etcd: { external: true }
nodes:
  - { name: e1, address: 10.0.0.1, roles: [etcd] }
  - { name: cp, address: 10.0.0.2, roles: [control-plane] }
  - { name: w, address: 10.0.0.3, roles: [worker] }
`,
    'inline.yaml',
  );
  const pki = resolve(plan);
  for (const leaf of pki.leaves) {
    assert.ok(pki.cas.some((c) => c.ref === leaf.signer));
    assert.ok(leaf.profile.cn.length > 0);
  }
  assert.equal(pki.leaves.filter((l) => l.entry.id === 'etcd-server').map((l) => l.node.name), ['e1']);
});

test.run();
