/**
 * Trees kpki did not make: one in the exact shape kubeadm 1.20–1.28 writes (built with openssl
 * from kubernetes-pki.md's rules), and a binary-install cfssl tree made with Debian's cfssl.
 * Roles and expectations are written here by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/cli.js';
import { run, runCheck } from './tools.js';
import { kubeadm120 } from './trees.js';

test('a kubeadm 1.28-shaped tree: every certificate listed, exit 0, its pre-1.29 identities information', () => {
  // kubeadm's tree with its pre-1.29 identities, and nothing in it that names the release.
  const { root } = kubeadm120({ manifests: false, config: false });
  for (const args of [[root], [join(root, 'etc/kubernetes')]]) {
    const { status, report } = runCheck(args);
    assert.equal(report.findings.filter((f) => f.severity !== 'info'), [], args[0]);
    assert.is(status, 0);
    const roles = report.certificates.map((c) => c.role).sort();
    const expected = ['admin.conf', 'apiserver', 'apiserver-etcd-client', 'apiserver-kubelet-client', 'controller-manager.conf', 'etcd-healthcheck-client', 'etcd-peer', 'etcd-server', 'front-proxy-client', 'kubelet.conf', 'scheduler.conf'];
    assert.equal(roles.filter((r) => r !== 'kubelet-serving'), expected);
    assert.equal(report.authorities.map((a) => a.role).sort().slice(0, 3), ['ca', 'etcd-ca', 'front-proxy-ca']);
    // The release is nowhere in this tree: system:masters on the administrators is right before
    // 1.29, and etcd never reads O.
    const of = (code: string) => report.findings.filter((f) => f.code === code).map((f) => f.file.replace(/^.*\/etc\/kubernetes\//, '')).sort();
    assert.equal(of('older-release-identity'), ['admin.conf', 'pki/apiserver-kubelet-client.crt']);
    assert.equal(of('identity-differs'), ['pki/apiserver-etcd-client.crt', 'pki/etcd/healthcheck-client.crt']);
    assert.equal(of('legacy-identity'), []);
  }
  // Read from / it holds the kubelet's files too: the serving certificate is listed.
  assert.ok(runCheck([root]).report.certificates.some((c) => c.role === 'kubelet-serving'));
});

test('a cfssl binary-install tree (golang-cfssl): every certificate listed with the role it plays', () => {
  const root = tempDir('kpki-check-cfssl-');
  const cfssl = (dir: string, args: string[], input: string, name: string) => {
    const json = run('cfssl', args, { input });
    mkdirSync(dir, { recursive: true });
    run('sh', ['-c', `cd "${dir}" && cfssljson -bare ${name}`], { input: json });
  };
  const config = join(root, 'ca-config.json');
  writeFileSync(config, JSON.stringify({ signing: { default: { expiry: '87600h' }, profiles: { kubernetes: { usages: ['signing', 'key encipherment', 'server auth', 'client auth'], expiry: '87600h' } } } }));
  const csr = (cn: string, o: string, hosts: string[] = []) => JSON.stringify({ CN: cn, hosts, key: { algo: 'rsa', size: 2048 }, names: [{ C: 'CN', ST: 'BeiJing', L: 'BeiJing', O: o, OU: 'System' }] });
  const etcdDir = join(root, 'etcd/ssl');
  const k8sDir = join(root, 'kubernetes/ssl');
  cfssl(etcdDir, ['gencert', '-initca', '-'], csr('etcd CA', 'etcd'), 'ca');
  cfssl(etcdDir, ['gencert', `-ca=${etcdDir}/ca.pem`, `-ca-key=${etcdDir}/ca-key.pem`, `-config=${config}`, '-profile=kubernetes', '-'], csr('etcd', 'etcd', ['192.0.2.31', '192.0.2.32', '192.0.2.33', '127.0.0.1']), 'server');
  cfssl(k8sDir, ['gencert', '-initca', '-'], csr('kubernetes', 'k8s'), 'ca');
  const sign = (name: string, body: string) => cfssl(k8sDir, ['gencert', `-ca=${k8sDir}/ca.pem`, `-ca-key=${k8sDir}/ca-key.pem`, `-config=${config}`, '-profile=kubernetes', '-'], body, name);
  sign('server', csr('kubernetes', 'k8s', ['10.254.0.1', '127.0.0.1', '192.0.2.31', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster', 'kubernetes.default.svc.cluster.local']));
  sign('kube-proxy', csr('system:kube-proxy', 'k8s'));
  sign('admin', csr('admin', 'system:masters'));

  const { status, report } = runCheck([root]);
  const rel = (p: string) => p.slice(root.length + 1);
  const roles = Object.fromEntries(report.certificates.map((c) => [rel(c.path), c.role]));
  assert.equal(roles, {
    'etcd/ssl/server.pem': 'etcd-server',
    'kubernetes/ssl/server.pem': 'apiserver',
    'kubernetes/ssl/kube-proxy.pem': 'kube-proxy.conf',
    'kubernetes/ssl/admin.pem': 'admin.conf',
  });
  assert.equal(report.authorities.map((a) => [rel(a.path), a.role]).sort(), [['etcd/ssl/ca.pem', 'etcd-ca'], ['kubernetes/ssl/ca.pem', 'ca']]);
  // Keys paired (cfssl's x-key.pem): no key findings; cfssl writes keys 0600.
  assert.equal(report.findings.filter((f) => /key/.test(f.code)), []);
  assert.ok(status !== null && status <= 2);
});

test.run();
