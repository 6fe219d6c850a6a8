/**
 * `layout: { name: cfssl, kubernetesDir, etcdDir, kubeconfigDir }`: the guides' file names in the
 * plan's directories (the /k8s family of binary-install guides), so an existing guide's units keep
 * every flag. gen writes exactly there, kubeconfigs carry their credentials inside (no path that
 * could point elsewhere), `check --out --plan` is OK, openssl verifies every chain, a re-run
 * changes nothing, and a store in the guides' default directories moves without reissuing (and on from there).
 * The apiserver certificate carries 127.0.0.1 with the cfssl layout, and not with kubeadm's.
 * Expected trees are written here by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { kpki, listFiles, tempDir, writePlan } from '../support/cli.js';
import { runSync } from '../support/proc.js';

const PLAN = (layout: string, version = 'v1.31.2') => `apiVersion: kpki/v1alpha1
kind: Cluster
kubernetesVersion: ${version}
${layout}
controlPlaneEndpoint: 10.0.0.20:6443
networking: { serviceSubnet: 10.254.0.0/16 }
etcd: { external: true }
nodes:
  - { name: etcd-1, address: 10.0.0.11, roles: [etcd] }
  - { name: master-1, address: 10.0.0.21, roles: [control-plane] }
  - { name: master-2, address: 10.0.0.22, roles: [control-plane] }
  - { name: node-1, address: 10.0.0.31, roles: [worker] }
`;
const K8S_LAYOUT = 'layout:\n  name: cfssl\n  kubernetesDir: /k8s/kubernetes/ssl\n  etcdDir: /k8s/etcd/ssl\n  kubeconfigDir: /k8s/kubernetes/cfg';

const work = tempDir('kpki-layout-dirs-');
const planFile = writePlan(PLAN(K8S_LAYOUT), work);
const out = join(work, 'out');

const K = 'k8s/kubernetes/ssl';
const E = 'k8s/etcd/ssl';
const C = 'k8s/kubernetes/cfg';
const pair = (dir: string, name: string) => [`${dir}/${name}.pem`, `${dir}/${name}-key.pem`];
/** Every kubelet node: the CA, kube-proxy's kubeconfig and pair, the kubelet's kubeconfig and serving pair. */
const KUBELET_NODE = [`${K}/ca.pem`, ...pair(K, 'kube-proxy'), `${K}/kubelet.crt`, `${K}/kubelet.key`, `${C}/kubelet.kubeconfig`, `${C}/kube-proxy.kubeconfig`];
const CONTROL_PLANE = [
  ...KUBELET_NODE, `${K}/ca-key.pem`, `${K}/front-proxy-ca.pem`, `${K}/sa.pub`, `${K}/sa-key.pem`,
  ...pair(K, 'server'), ...pair(K, 'apiserver-kubelet-client'), ...pair(K, 'front-proxy-client'),
  ...pair(K, 'admin'), ...pair(K, 'kube-controller-manager'), ...pair(K, 'kube-scheduler'),
  `${C}/admin.kubeconfig`, `${C}/kube-controller-manager.kubeconfig`, `${C}/kube-scheduler.kubeconfig`,
  `${E}/ca.pem`, ...pair(E, 'apiserver-etcd-client'),
];
const TREES: Record<string, string[]> = {
  'etcd-1': [`${E}/ca.pem`, ...pair(E, 'server'), ...pair(E, 'peer'), ...pair(E, 'healthcheck-client')],
  // The init node: the break-glass super-admin as well (1.29+).
  'master-1': [...CONTROL_PLANE, ...pair(K, 'super-admin'), `${C}/super-admin.kubeconfig`],
  'master-2': CONTROL_PLANE,
  'node-1': KUBELET_NODE,
};

const openssl = (args: readonly string[], input?: string) => runSync('openssl', args, input === undefined ? {} : { input });
const sanOf = (pem: string) => openssl(['x509', '-noout', '-ext', 'subjectAltName'], pem).stdout;

test.before(() => {
  const r = kpki(['gen', '--plan', planFile, '--out', out]);
  assert.is(r.status, 0, r.stderr);
});

test('gen writes every node file exactly in the plan\'s directories, nothing elsewhere', () => {
  for (const [node, files] of Object.entries(TREES)) {
    assert.equal(listFiles(join(out, 'nodes', node)), [...files].sort(), node);
  }
  assert.equal(listFiles(join(out, 'nodes')).filter((f) => !Object.keys(TREES).some((n) => f.startsWith(`${n}/`))), []);
});

test('kubeconfigs embed their credentials (no file path to agree with), the client pair next to the guides\' names', () => {
  const dir = join(out, 'nodes/master-1');
  for (const name of ['admin', 'super-admin', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'kubelet']) {
    const text = readFileSync(join(dir, C, `${name}.kubeconfig`), 'utf8');
    assert.not.match(text, /^\s*(certificate-authority|client-certificate|client-key):/m, `${name}.kubeconfig references a file`);
    assert.not.match(text, /\/etc\//, `${name}.kubeconfig mentions /etc`);
    const conf = parse(text) as { clusters: Array<{ cluster: Record<string, string> }>; users: Array<{ user: Record<string, string> }> };
    assert.is(Buffer.from(conf.clusters[0]!.cluster['certificate-authority-data']!, 'base64').toString(), readFileSync(join(dir, K, 'ca.pem'), 'utf8'));
    if (name === 'kubelet') continue; // the guides keep no separate kubelet client pair
    assert.is(Buffer.from(conf.users[0]!.user['client-certificate-data']!, 'base64').toString(), readFileSync(join(dir, K, `${name}.pem`), 'utf8'), name);
  }
});

test('openssl verifies every certificate against the CA in its own directory', () => {
  const verify = (node: string, ca: string, certs: readonly string[]) => {
    const root = join(out, 'nodes', node);
    const r = openssl(['verify', '-CAfile', join(root, ca), ...certs.map((c) => join(root, c))]);
    assert.is(r.status, 0, `${node}: ${r.stdout}${r.stderr}`);
    assert.is(r.stdout.trim().split('\n').filter((l) => l.endsWith(': OK')).length, certs.length, r.stdout);
  };
  for (const m of ['master-1', 'master-2']) {
    const clients = ['apiserver-kubelet-client', 'admin', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', ...(m === 'master-1' ? ['super-admin'] : [])];
    verify(m, `${K}/ca.pem`, [`${K}/server.pem`, `${K}/kubelet.crt`, ...clients.map((c) => `${K}/${c}.pem`)]);
    verify(m, `${K}/front-proxy-ca.pem`, [`${K}/front-proxy-client.pem`]);
    verify(m, `${E}/ca.pem`, [`${E}/apiserver-etcd-client.pem`]);
  }
  verify('etcd-1', `${E}/ca.pem`, [`${E}/server.pem`, `${E}/peer.pem`, `${E}/healthcheck-client.pem`]);
  verify('node-1', `${K}/ca.pem`, [`${K}/kubelet.crt`, `${K}/kube-proxy.pem`]);
  // The etcd CA is not the Kubernetes CA: an etcd certificate does not verify against the other directory's ca.pem.
  const cross = openssl(['verify', '-CAfile', join(out, 'nodes/etcd-1', E, 'ca.pem'), join(out, 'nodes/master-1', K, 'server.pem')]);
  assert.is.not(cross.status, 0);
});

test('check --out --plan of that store is OK (exit 0); gen again changes nothing', () => {
  const r = kpki(['check', '--out', out, '--plan', planFile]);
  assert.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^OK: \d+ certificates, 3 CAs; 0 critical, 0 warning, 0 info$/m);
  const again = kpki(['gen', '--plan', planFile, '--out', out]);
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stdout, /^Nothing to do/m);
});

test('127.0.0.1: in the cfssl layout\'s apiserver certificate (the guides\' units use loopback), not in kubeadm\'s', () => {
  for (const m of ['master-1', 'master-2']) {
    const san = sanOf(readFileSync(join(out, 'nodes', m, K, 'server.pem'), 'utf8'));
    const address = m === 'master-1' ? '10.0.0.21' : '10.0.0.22';
    for (const want of ['IP Address:127.0.0.1', `IP Address:${address}`, 'IP Address:10.254.0.1', 'IP Address:10.0.0.20', 'DNS:kubernetes.default.svc.cluster.local', `DNS:${m}`]) {
      assert.ok(san.includes(want), `${m}: ${want} missing from ${san}`);
    }
  }
  const kubeadm = join(tempDir('kpki-layout-kubeadm-'), 'out');
  assert.is(kpki(['gen', '--plan', writePlan(PLAN('layout: kubeadm')), '--out', kubeadm]).status, 0);
  const san = sanOf(readFileSync(join(kubeadm, 'nodes/master-1/etc/kubernetes/pki/apiserver.crt'), 'utf8'));
  assert.ok(san.includes('IP Address:10.0.0.21'), san);
  assert.not.ok(san.includes('127.0.0.1'), `kubeadm's layout must match kubeadm (no loopback SAN): ${san}`);
});

test('a store in the guides\' default directories moves to the plan\'s, and on to other directories: nothing reissued, the old files removed with the reason and backed up', () => {
  const moved = join(tempDir('kpki-layout-move-'), 'out');
  assert.is(kpki(['gen', '--plan', writePlan(PLAN('layout: cfssl')), '--out', moved]).status, 0);
  const server = readFileSync(join(moved, 'nodes/master-1/etc/kubernetes/ssl/server.pem'), 'utf8');
  const r = kpki(['gen', '--plan', planFile, '--out', moved, '--json']);
  assert.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { items: Array<{ action: string; ref: string }>; files: Array<{ path: string; action: string; reason?: string; backup?: string }> };
  assert.equal(report.items.filter((i) => i.action !== 'keep').map((i) => i.ref), []);
  assert.is(readFileSync(join(moved, 'nodes/master-1', K, 'server.pem'), 'utf8'), server, 'the same certificate, moved');
  const old = report.files.find((f) => f.path === 'nodes/master-1/etc/kubernetes/ssl/server.pem');
  assert.is(old?.action, 'removed');
  assert.is(old?.reason, "apiserver is in the cfssl layout's default directory here; the plan's layout directories put it at k8s/kubernetes/ssl/server.pem");
  assert.is(readFileSync(join(moved, old!.backup!), 'utf8'), server);
  for (const [node, files] of Object.entries(TREES)) assert.equal(listFiles(join(moved, 'nodes', node)), [...files].sort(), node);
  assert.is(kpki(['check', '--out', moved, '--plan', planFile]).status, 0);

  // And on from those directories to others: the tree's own names show where its files are.
  const opt = writePlan(PLAN(K8S_LAYOUT.replaceAll('/k8s/', '/opt/')), tempDir());
  const again = kpki(['gen', '--plan', opt, '--out', moved, '--json']);
  assert.is(again.status, 0, again.stderr);
  const second = JSON.parse(again.stdout) as typeof report;
  assert.equal(second.items.filter((i) => i.action !== 'keep').map((i) => i.ref), []);
  assert.is(readFileSync(join(moved, 'nodes/master-1/opt/kubernetes/ssl/server.pem'), 'utf8'), server);
  assert.is(second.files.find((f) => f.path === 'nodes/etcd-1/k8s/etcd/ssl/peer.pem')?.reason,
    "a cfssl-layout file outside the plan's layout directories (/opt/kubernetes/ssl, /opt/etcd/ssl, /opt/kubernetes/cfg)");
  assert.equal(listFiles(join(moved, 'nodes/node-1')), KUBELET_NODE.map((f) => f.replace(/^k8s\//, 'opt/')).sort());
  assert.is(kpki(['check', '--out', moved, '--plan', opt]).status, 0);
});

test('a bad directory stops gen with one located sentence, exit 2, nothing written', () => {
  const dir = tempDir('kpki-layout-bad-');
  const bad = writePlan(PLAN('layout:\n  name: cfssl\n  kubernetesDir: /k8s/../kubernetes/ssl'), dir);
  const r = kpki(['gen', '--plan', bad, '--out', join(dir, 'out')]);
  assert.is(r.status, 2, r.stderr);
  assert.is(r.stderr, `kpki: ${bad}:6:18: layout.kubernetesDir: "/k8s/../kubernetes/ssl" has a "." or ".." segment; write the directory itself, e.g. /k8s/kubernetes/ssl\n`);
  assert.equal(listFiles(dir), ['cluster.yaml']);
});

test.run();
