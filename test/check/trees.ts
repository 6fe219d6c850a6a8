/**
 * Real-world PKI trees for `kpki check`, made by the tools that make them in the field, never
 * by kpki: a kubeadm 1.20.2 control plane (kubeadm is not installed here, so its files are
 * written with openssl following kubeadm 1.20's certlist and kubeconfig phases), and a classic
 * binary install made with Debian's cfssl and kubectl the way the binary-install guides do it.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/cli.js';
import { kubeconfig, kubeletFileKubeconfig, opensslCa, opensslLeaf, read, run } from './tools.js';

export interface KubeadmTree {
  /** The node root: `etc/kubernetes`, `var/lib/kubelet` under it. */
  readonly root: string;
  readonly pki: string;
  readonly ca: { crt: string; key: string };
}

const RSA = ['-newkey', 'rsa:2048'];
const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyEncipherment,keyCertSign\nsubjectKeyIdentifier=hash';

/** A kubeconfig in kubeadm's shape around a freshly signed client certificate. */
export function kubeadmConf(tree: KubeadmTree, file: string, subj: string, user: string, server = 'https://192.0.2.10:6443'): string {
  const d = tempDir();
  opensslLeaf({ subj, ca: tree.ca, key: RSA }, join(d, 'c.crt'), join(d, 'c.key'));
  const path = join(tree.root, 'etc/kubernetes', file);
  writeFileSync(path, kubeconfig({ server, caPem: read(tree.ca.crt), certPem: read(join(d, 'c.crt')), keyPem: read(join(d, 'c.key')), user }), { mode: 0o600 });
  return path;
}

/**
 * A control plane `kubeadm init` 1.20.2 leaves (node cp-1, 192.0.2.10): the pre-1.29
 * identities (system:masters on admin.conf, apiserver-kubelet-client and both etcd clients),
 * static pod manifests with v1.20.2 image tags, the kubeadm configuration it was given, and the
 * kubelet's files after TLS bootstrap (rotated client certificate, self-signed serving pair).
 */
export function kubeadm120(opts: { manifests?: boolean; config?: boolean } = {}): KubeadmTree {
  const root = tempDir('kpki-kubeadm120-');
  const pki = join(root, 'etc/kubernetes/pki');
  const kubelet = join(root, 'var/lib/kubelet/pki');
  mkdirSync(join(pki, 'etcd'), { recursive: true });
  mkdirSync(kubelet, { recursive: true });
  const ca = { crt: join(pki, 'ca.crt'), key: join(pki, 'ca.key') };
  const fp = { crt: join(pki, 'front-proxy-ca.crt'), key: join(pki, 'front-proxy-ca.key') };
  const etcd = { crt: join(pki, 'etcd/ca.crt'), key: join(pki, 'etcd/ca.key') };
  // kubeadm's CAs carry their CN as a DNS SAN.
  opensslCa('kubernetes', ca.crt, ca.key, { ext: `${CA_EXT}\nsubjectAltName=DNS:kubernetes` });
  opensslCa('front-proxy-ca', fp.crt, fp.key, { ext: `${CA_EXT}\nsubjectAltName=DNS:front-proxy-ca` });
  opensslCa('etcd-ca', etcd.crt, etcd.key, { ext: `${CA_EXT}\nsubjectAltName=DNS:etcd-ca` });
  const leaf = (name: string, subj: string, signer: typeof ca, eku: string, san?: string) =>
    opensslLeaf({ subj, ca: signer, eku, key: RSA, ...(san ? { san } : {}) }, join(pki, `${name}.crt`), join(pki, `${name}.key`));
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
  run('sh', ['-c', `chmod 600 "${pki}"/*.key "${pki}"/etcd/*.key`]);
  const tree: KubeadmTree = { root, pki, ca };
  kubeadmConf(tree, 'admin.conf', '/O=system:masters/CN=kubernetes-admin', 'kubernetes-admin');
  kubeadmConf(tree, 'controller-manager.conf', '/CN=system:kube-controller-manager', 'system:kube-controller-manager');
  kubeadmConf(tree, 'scheduler.conf', '/CN=system:kube-scheduler', 'system:kube-scheduler');
  // kubelet.conf after kubelet-finalize: the rotated client certificate, by path (a symlink).
  const d = tempDir();
  opensslLeaf({ subj: '/O=system:nodes/CN=system:node:cp-1', ca, key: RSA }, join(d, 'c.crt'), join(d, 'c.key'));
  writeFileSync(join(kubelet, 'kubelet-client-2021-01-20-10-00-00.pem'), read(join(d, 'c.crt')) + read(join(d, 'c.key')), { mode: 0o600 });
  symlinkSync('kubelet-client-2021-01-20-10-00-00.pem', join(kubelet, 'kubelet-client-current.pem'));
  writeFileSync(join(root, 'etc/kubernetes/kubelet.conf'), `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${Buffer.from(read(ca.crt)).toString('base64')}
    server: https://192.0.2.10:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: system:node:cp-1
  name: system:node:cp-1@kubernetes
current-context: system:node:cp-1@kubernetes
kind: Config
preferences: {}
users:
- name: system:node:cp-1
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
`, { mode: 0o600 });
  // The kubelet's self-signed serving certificate: leaf then its throwaway CA, in one file.
  const k = tempDir();
  opensslCa('cp-1-ca@1611136800', join(k, 'ca.crt'), join(k, 'ca.key'));
  opensslLeaf({ subj: '/CN=cp-1@1611136800', ca: { crt: join(k, 'ca.crt'), key: join(k, 'ca.key') }, eku: 'serverAuth', san: 'DNS:cp-1', key: RSA }, join(k, 'l.crt'), join(kubelet, 'kubelet.key'));
  writeFileSync(join(kubelet, 'kubelet.crt'), read(join(k, 'l.crt')) + read(join(k, 'ca.crt')));
  run('chmod', ['600', join(kubelet, 'kubelet.key')]);
  if (opts.manifests !== false) {
    const manifests = join(root, 'etc/kubernetes/manifests');
    mkdirSync(manifests);
    const pod = (name: string, image: string, command: string[]) => writeFileSync(join(manifests, `${name}.yaml`), `apiVersion: v1
kind: Pod
metadata:
  labels:
    component: ${name}
    tier: control-plane
  name: ${name}
  namespace: kube-system
spec:
  containers:
  - command:
${command.map((c) => `    - ${c}`).join('\n')}
    image: ${image}
    imagePullPolicy: IfNotPresent
    name: ${name}
  hostNetwork: true
  priorityClassName: system-node-critical
status: {}
`);
    pod('etcd', 'k8s.gcr.io/etcd:3.4.13-0', ['etcd', '--cert-file=/etc/kubernetes/pki/etcd/server.crt', '--client-cert-auth=true']);
    pod('kube-apiserver', 'k8s.gcr.io/kube-apiserver:v1.20.2', ['kube-apiserver', '--advertise-address=192.0.2.10', '--client-ca-file=/etc/kubernetes/pki/ca.crt', '--requestheader-allowed-names=front-proxy-client']);
    pod('kube-controller-manager', 'k8s.gcr.io/kube-controller-manager:v1.20.2', ['kube-controller-manager', '--kubeconfig=/etc/kubernetes/controller-manager.conf']);
    pod('kube-scheduler', 'k8s.gcr.io/kube-scheduler:v1.20.2', ['kube-scheduler', '--kubeconfig=/etc/kubernetes/scheduler.conf']);
  }
  if (opts.config !== false) {
    // The configuration given to `kubeadm init --config` (v1beta2 in 1.20).
    writeFileSync(join(root, 'etc/kubernetes/kubeadm-config.yaml'), `apiVersion: kubeadm.k8s.io/v1beta2
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 192.0.2.10
  bindPort: 6443
nodeRegistration:
  name: cp-1
---
apiVersion: kubeadm.k8s.io/v1beta2
kind: ClusterConfiguration
kubernetesVersion: v1.20.2
networking:
  serviceSubnet: 10.96.0.0/12
  podSubnet: 10.244.0.0/16
`);
  }
  return tree;
}

export interface CfsslTree {
  readonly root: string;
  /** /etc/kubernetes/ssl */
  readonly ssl: string;
  /** Signs with the guide's CA and profile: `cfssl gencert ... | cfssljson -bare <name>`. */
  readonly sign: (name: string, csr: CsrSpec, dir?: string) => void;
}

export interface CsrSpec {
  readonly CN: string;
  readonly O: string;
  readonly hosts?: readonly string[];
}

const SERVER = 'https://192.0.2.31:6443';

/**
 * A kubeconfig written with kubectl the guides' way: /etc/kubernetes/<file> around
 * ssl/<cert>.pem and ssl/<cert>-key.pem, certificates embedded, context `default`.
 */
export function guideKubeconfig(root: string, file: string, user: string, cert: string): string {
  const ssl = join(root, 'etc/kubernetes/ssl');
  const path = join(root, 'etc/kubernetes', file);
  const k = ['--kubeconfig', path];
  rmSync(path, { force: true });
  run('kubectl', ['config', 'set-cluster', 'kubernetes', `--certificate-authority=${ssl}/ca.pem`, '--embed-certs=true', `--server=${SERVER}`, ...k]);
  run('kubectl', ['config', 'set-credentials', user, `--client-certificate=${ssl}/${cert}.pem`, `--client-key=${ssl}/${cert}-key.pem`, '--embed-certs=true', ...k]);
  run('kubectl', ['config', 'set-context', 'default', '--cluster=kubernetes', `--user=${user}`, ...k]);
  run('kubectl', ['config', 'use-context', 'default', ...k]);
  return path;
}

/**
 * A classic binary install, made the way the cfssl guides do it: ca-config.json with one
 * `kubernetes` profile (signing, key encipherment, server auth, client auth; 87600h), a CA whose
 * own expiry is set longer in ca-csr.json, RSA-2048 CSRs with C/ST/L/O/OU names; the apiserver's
 * `server.pem` (CN kubernetes, O k8s), `kube-proxy.pem` (O k8s), `admin.pem` (O system:masters),
 * controller-manager and scheduler certificates with O = CN, an aggregator `proxy-client.pem`;
 * etcd with its own CA in /etc/etcd/ssl; kubeconfigs made with `kubectl config`, the kubelet's
 * bootstrap token kubeconfig and its rotated client certificate in the cert dir.
 */
export function cfsslGuide(): CfsslTree {
  const root = tempDir('kpki-cfssl-guide-');
  const ssl = join(root, 'etc/kubernetes/ssl');
  const etcdSsl = join(root, 'etc/etcd/ssl');
  mkdirSync(ssl, { recursive: true });
  mkdirSync(etcdSsl, { recursive: true });
  const work = tempDir('kpki-cfssl-work-');
  const config = join(work, 'ca-config.json');
  writeFileSync(config, JSON.stringify({ signing: { default: { expiry: '87600h' }, profiles: { kubernetes: { usages: ['signing', 'key encipherment', 'server auth', 'client auth'], expiry: '87600h' } } } }));
  const csr = (s: CsrSpec, ca = false) => JSON.stringify({
    CN: s.CN, hosts: s.hosts ?? [], key: { algo: 'rsa', size: 2048 },
    names: [{ C: 'CN', ST: 'BeiJing', L: 'BeiJing', O: s.O, OU: 'System' }],
    ...(ca ? { ca: { expiry: '876000h' } } : {}),
  });
  const bare = (dir: string, name: string, args: string[], input: string) => {
    const json = run('cfssl', args, { input });
    run('sh', ['-c', `cd "${dir}" && cfssljson -bare ${name}`], { input: json });
  };
  bare(etcdSsl, 'ca', ['gencert', '-initca', '-'], csr({ CN: 'etcd CA', O: 'etcd' }, true));
  bare(etcdSsl, 'etcd', ['gencert', `-ca=${etcdSsl}/ca.pem`, `-ca-key=${etcdSsl}/ca-key.pem`, `-config=${config}`, '-profile=kubernetes', '-'], csr({ CN: 'etcd', O: 'k8s', hosts: ['127.0.0.1', '192.0.2.31'] }));
  bare(ssl, 'ca', ['gencert', '-initca', '-'], csr({ CN: 'kubernetes', O: 'k8s' }, true));
  const sign = (name: string, s: CsrSpec, dir = ssl) =>
    bare(dir, name, ['gencert', `-ca=${ssl}/ca.pem`, `-ca-key=${ssl}/ca-key.pem`, `-config=${config}`, '-profile=kubernetes', '-'], csr(s));
  const conf = (file: string, user: string, cert: string) => guideKubeconfig(root, file, user, cert);
  sign('server', { CN: 'kubernetes', O: 'k8s', hosts: ['127.0.0.1', '10.254.0.1', '192.0.2.31', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster', 'kubernetes.default.svc.cluster.local'] });
  sign('admin', { CN: 'admin', O: 'system:masters' });
  sign('kube-proxy', { CN: 'system:kube-proxy', O: 'k8s' });
  sign('kube-controller-manager', { CN: 'system:kube-controller-manager', O: 'system:kube-controller-manager', hosts: ['127.0.0.1', '192.0.2.31'] });
  sign('kube-scheduler', { CN: 'system:kube-scheduler', O: 'system:kube-scheduler', hosts: ['127.0.0.1', '192.0.2.31'] });
  sign('proxy-client', { CN: 'aggregator', O: 'k8s' });
  conf('kube-proxy.kubeconfig', 'kube-proxy', 'kube-proxy');
  conf('kube-controller-manager.kubeconfig', 'system:kube-controller-manager', 'kube-controller-manager');
  conf('kube-scheduler.kubeconfig', 'system:kube-scheduler', 'kube-scheduler');
  conf('admin.kubeconfig', 'admin', 'admin');
  // TLS bootstrap: a token kubeconfig, then the client certificate kube-controller-manager signed
  // (kubelet-client-<date>.pem and its -current link in the cert dir) and kubelet.kubeconfig naming it.
  const boot = ['--kubeconfig', join(root, 'etc/kubernetes/bootstrap.kubeconfig')];
  run('kubectl', ['config', 'set-cluster', 'kubernetes', `--certificate-authority=${ssl}/ca.pem`, '--embed-certs=true', `--server=${SERVER}`, ...boot]);
  run('kubectl', ['config', 'set-credentials', 'kubelet-bootstrap', '--token=0fb61c46f8991b718eb38d27b605b008', ...boot]);
  run('kubectl', ['config', 'set-context', 'default', '--cluster=kubernetes', '--user=kubelet-bootstrap', ...boot]);
  run('kubectl', ['config', 'use-context', 'default', ...boot]);
  // kube-controller-manager's CSR signer: client auth only, one year.
  const kc = tempDir();
  opensslLeaf({ subj: '/O=system:nodes/CN=system:node:node-1', ca: { crt: join(ssl, 'ca.pem'), key: join(ssl, 'ca-key.pem') }, eku: 'clientAuth' }, join(kc, 'c.pem'), join(kc, 'c-key.pem'));
  writeFileSync(join(ssl, 'kubelet-client-2021-01-20-10-00-00.pem'), read(join(kc, 'c.pem')) + read(join(kc, 'c-key.pem')), { mode: 0o600 });
  symlinkSync('kubelet-client-2021-01-20-10-00-00.pem', join(ssl, 'kubelet-client-current.pem'));
  writeFileSync(join(root, 'etc/kubernetes/kubelet.kubeconfig'), kubeletFileKubeconfig(read(join(ssl, 'ca.pem')), SERVER, '/etc/kubernetes/ssl/kubelet-client-current.pem'), { mode: 0o600 });
  // The kubelet's self-signed serving pair in its cert dir (no serverTLSBootstrap): leaf + its own CA.
  const k = tempDir();
  opensslCa('node-1-ca@1611136800', join(k, 'ca.crt'), join(k, 'ca.key'));
  opensslLeaf({ subj: '/CN=node-1@1611136800', ca: { crt: join(k, 'ca.crt'), key: join(k, 'ca.key') }, eku: 'serverAuth', san: 'DNS:node-1', key: RSA }, join(k, 'l.crt'), join(ssl, 'kubelet.key'));
  writeFileSync(join(ssl, 'kubelet.crt'), read(join(k, 'l.crt')) + read(join(k, 'ca.crt')));
  run('chmod', ['600', join(ssl, 'kubelet.key')]);
  return { root, ssl, sign };
}
