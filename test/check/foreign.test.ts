/**
 * Trees kpki did not make: one in the exact shape kubeadm 1.20–1.28 writes (built with openssl
 * from kubernetes-pki.md's rules), and a binary-install cfssl tree made with Debian's cfssl.
 * Roles and expectations are written here by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/cli.js';
import { kubeconfig, kubeletFileKubeconfig, opensslCa, opensslLeaf, read, run, runCheck } from './tools.js';

test('a kubeadm 1.28-shaped tree: every certificate listed, exit 0, its pre-1.29 identities information', () => {
  const root = tempDir('kpki-check-kubeadm-');
  const pki = join(root, 'etc/kubernetes/pki');
  const kubelet = join(root, 'var/lib/kubelet/pki');
  mkdirSync(join(pki, 'etcd'), { recursive: true });
  mkdirSync(kubelet, { recursive: true });
  const ca = { crt: join(pki, 'ca.crt'), key: join(pki, 'ca.key') };
  const fp = { crt: join(pki, 'front-proxy-ca.crt'), key: join(pki, 'front-proxy-ca.key') };
  const etcd = { crt: join(pki, 'etcd/ca.crt'), key: join(pki, 'etcd/ca.key') };
  opensslCa('kubernetes', ca.crt, ca.key, { ext: 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyEncipherment,keyCertSign\nsubjectKeyIdentifier=hash\nsubjectAltName=DNS:kubernetes' });
  opensslCa('front-proxy-ca', fp.crt, fp.key);
  opensslCa('etcd-ca', etcd.crt, etcd.key);
  const rsa = ['-newkey', 'rsa:2048'];
  const leaf = (name: string, subj: string, signer: typeof ca, eku: string, san?: string) =>
    opensslLeaf({ subj, ca: signer, eku, key: rsa, ...(san ? { san } : {}) }, join(pki, `${name}.crt`), join(pki, `${name}.key`));
  leaf('apiserver', '/CN=kube-apiserver', ca, 'serverAuth', 'DNS:cp-1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1,IP:192.0.2.10');
  leaf('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', ca, 'clientAuth');
  leaf('front-proxy-client', '/CN=front-proxy-client', fp, 'clientAuth');
  leaf('apiserver-etcd-client', '/O=system:masters/CN=kube-apiserver-etcd-client', etcd, 'clientAuth');
  const member = 'DNS:cp-1,DNS:localhost,IP:192.0.2.10,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1';
  leaf('etcd/server', '/CN=cp-1', etcd, 'serverAuth,clientAuth', member);
  leaf('etcd/peer', '/CN=cp-1', etcd, 'serverAuth,clientAuth', member);
  leaf('etcd/healthcheck-client', '/O=system:masters/CN=kube-etcd-healthcheck-client', etcd, 'clientAuth');
  run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', join(pki, 'sa.key')]);
  writeFileSync(join(pki, 'sa.pub'), run('openssl', ['pkey', '-in', join(pki, 'sa.key'), '-pubout']));
  const conf = (file: string, subj: string, user: string, server: string) => {
    const d = tempDir();
    opensslLeaf({ subj, ca, key: rsa }, join(d, 'c.crt'), join(d, 'c.key'));
    writeFileSync(join(root, 'etc/kubernetes', file), kubeconfig({ server, caPem: read(ca.crt), certPem: read(join(d, 'c.crt')), keyPem: read(join(d, 'c.key')), user }), { mode: 0o600 });
  };
  conf('admin.conf', '/O=system:masters/CN=kubernetes-admin', 'kubernetes-admin', 'https://192.0.2.10:6443');
  conf('controller-manager.conf', '/CN=system:kube-controller-manager', 'system:kube-controller-manager', 'https://192.0.2.10:6443');
  conf('scheduler.conf', '/CN=system:kube-scheduler', 'system:kube-scheduler', 'https://192.0.2.10:6443');
  // kubelet.conf after TLS bootstrap: the kubelet's rotated client certificate, by path (a symlink).
  const d = tempDir();
  opensslLeaf({ subj: '/O=system:nodes/CN=system:node:cp-1', ca }, join(d, 'c.crt'), join(d, 'c.key'));
  writeFileSync(join(kubelet, 'kubelet-client-2024-01-01-00-00-00.pem'), read(join(d, 'c.crt')) + read(join(d, 'c.key')), { mode: 0o600 });
  symlinkSync('kubelet-client-2024-01-01-00-00-00.pem', join(kubelet, 'kubelet-client-current.pem'));
  writeFileSync(join(root, 'etc/kubernetes/kubelet.conf'), kubeletFileKubeconfig(read(ca.crt), 'https://192.0.2.10:6443', '/var/lib/kubelet/pki/kubelet-client-current.pem'), { mode: 0o600 });
  // The kubelet's self-signed serving certificate: leaf then its throwaway CA, in one file.
  const k = tempDir();
  opensslCa('cp-1-ca@1700000000', join(k, 'ca.crt'), join(k, 'ca.key'), { ext: 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyEncipherment,keyCertSign\nsubjectKeyIdentifier=hash' });
  opensslLeaf({ subj: '/CN=cp-1@1700000000', ca: { crt: join(k, 'ca.crt'), key: join(k, 'ca.key') }, eku: 'serverAuth', san: 'DNS:cp-1', key: rsa }, join(k, 'l.crt'), join(kubelet, 'kubelet.key'));
  writeFileSync(join(kubelet, 'kubelet.crt'), read(join(k, 'l.crt')) + read(join(k, 'ca.crt')));
  for (const f of ['ca', 'front-proxy-ca', 'etcd/ca', 'sa', 'apiserver', 'apiserver-kubelet-client', 'front-proxy-client', 'apiserver-etcd-client', 'etcd/server', 'etcd/peer', 'etcd/healthcheck-client']) chmodSync(join(pki, `${f}.key`), 0o600);
  chmodSync(join(kubelet, 'kubelet.key'), 0o600);

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
