/**
 * `kpki install --stage`: the per-host trees, held to real tools and to facts written here by
 * hand (not read back from kpki's flag table): systemd-analyze verify on every unit, haproxy -c
 * and keepalived -t on the load-balancer configs, every absolute path a unit or config names
 * present in that host's tree with the mode its kind needs, flags per Kubernetes release, a
 * second run that changes nothing, and plan values that would reach a unit refused by field.
 * The running cluster (etcd from the units, HAProxy in front of stand-in apiservers) is
 * test/interop/stage.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { load } from 'js-yaml';
import { CATALOG } from '../../pki/catalog/entries.js';
import type { UnitComponent } from '../../pki/plan/types.js';
import { COMPONENT_FLAGS, KUBE_PROXY_CONFIG_FILES, KUBELET_CONFIG_FILES } from '../../bootstrap/flags.js';
import { stagedFiles } from '../../bootstrap/apply.js';
import { renderHosts } from '../../bootstrap/stage.js';
import { readStoreFiles } from '../../bootstrap/store-files.js';
import { loadPlan } from '../../pki/plan/load.js';
import { planChanges } from '../../pki/sinks/changes.js';
import { memorySink } from '../../pki/sinks/memory.js';
import { hashTree, kpki, listFiles, modeOf, ROOT, tempDir, writePlan } from '../support/cli.js';
import { runSync } from '../support/proc.js';
import { execStartArgv, parseUnit } from '../support/systemd-unit.js';

const work = tempDir('kpki-stage-');
test.after(() => rmSync(work, { recursive: true, force: true }));

/** Stand-ins for the binaries (systemd-analyze verify wants ExecStart to be executable). */
const BIN = join(work, 'bin');
mkdirSync(BIN);
for (const b of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'kubectl']) symlinkSync('/bin/true', join(BIN, b));

/** keepalived -t checks that the interface exists: the machine's first one that is not loopback. */
const IFACE = readdirSync('/sys/class/net').filter((n) => n !== 'lo').sort()[0];

const nodes = `nodes:
  - { name: cp-1, address: 10.1.0.1, roles: [control-plane] }
  - { name: cp-2, address: 10.1.0.2, roles: [control-plane] }
  - { name: cp-3, address: 10.1.0.3, roles: [control-plane] }
  - { name: worker-1, address: 10.1.0.11, roles: [worker] }
  - { name: lb-1, address: 10.1.0.21, roles: [load-balancer] }
  - { name: lb-2, address: 10.1.0.22, roles: [load-balancer] }
`;
const planText = (extra = '', version = 'v1.31.2') => `apiVersion: kpki/v1alpha1
kind: Cluster
kubernetesVersion: ${version}
controlPlaneEndpoint: 10.1.0.100:6443
networking: { podSubnet: 10.244.0.0/16 }
binDir: ${BIN}
loadBalancer: { vip: 10.1.0.100, interface: ${IFACE ?? 'eth0'} }
${extra}${nodes}`;

interface Staged {
  readonly out: string;
  readonly stage: string;
  readonly report: Record<string, unknown>;
}

/** gen, then install --stage --json; both must succeed. */
function stage(name: string, plan: string, args: readonly string[] = []): Staged {
  const dir = join(work, name);
  mkdirSync(dir);
  const file = writePlan(plan, dir);
  const out = join(dir, 'out');
  const stageDir = join(dir, 'staged');
  const g = kpki(['gen', '--plan', file, '--out', out]);
  assert.is(g.status, 0, g.stderr);
  const r = kpki(['install', '--plan', file, '--out', out, '--stage', stageDir, '--json', ...args]);
  assert.is(r.status, 0, r.stderr);
  return { out, stage: stageDir, report: JSON.parse(r.stdout) as Record<string, unknown> };
}

const main = stage('main', planText());
for (const d of ['bad', 'dup']) mkdirSync(join(work, d));
const host = (h: string, s: Staged = main) => join(s.stage, h);
const unitsOf = (h: string, s: Staged = main) => {
  const dir = join(host(h, s), 'etc/systemd/system');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
};
const argvOf = (h: string, unit: string, s: Staged = main) => execStartArgv(parseUnit(readFileSync(join(host(h, s), 'etc/systemd/system', unit), 'utf8')));

test('--json: kind InstallReport, valid against schema/install-report.schema.json; hosts.txt lists name and address', () => {
  const Ajv = AjvModule as unknown as typeof AjvModule.default;
  const validate = new Ajv({ strict: true, allErrors: true }).compile(JSON.parse(readFileSync(join(ROOT, 'schema/install-report.schema.json'), 'utf8')) as object);
  assert.ok(validate(main.report), JSON.stringify(validate.errors));
  assert.is(main.report['kind'], 'InstallReport');
  assert.is(readFileSync(join(main.stage, 'hosts.txt'), 'utf8'), 'cp-1 10.1.0.1\ncp-2 10.1.0.2\ncp-3 10.1.0.3\nworker-1 10.1.0.11\nlb-1 10.1.0.21\nlb-2 10.1.0.22\n');
  assert.not.match(JSON.stringify(main.report), /PRIVATE KEY|client-key-data/);
});

test('each host gets the units of its roles, and its node tree from gen unchanged (same paths, bytes and modes)', () => {
  const cp = ['etcd.service', 'kube-apiserver.service', 'kube-controller-manager.service', 'kube-proxy.service', 'kube-scheduler.service', 'kubelet.service'];
  assert.equal(unitsOf('cp-1'), [...cp, 'kpki-rbac.service'].sort());
  assert.equal(unitsOf('cp-2'), cp);
  assert.equal(unitsOf('worker-1'), ['kube-proxy.service', 'kubelet.service']);
  assert.equal(unitsOf('lb-1'), []);
  for (const h of ['cp-1', 'cp-2', 'worker-1']) {
    const tree = join(main.out, 'nodes', h);
    const staged = hashTree(host(h));
    for (const [f, digest] of hashTree(tree)) {
      assert.is(staged.get(f), digest, `${h}/${f}`);
      assert.is(modeOf(join(host(h), f)), modeOf(join(tree, f)), `${h}/${f} mode`);
    }
  }
});

test('a worker tree holds no CA key, no service-account key and no control-plane unit or credential', () => {
  const files = listFiles(host('worker-1'));
  for (const f of files) {
    assert.not.match(f, /(^|\/)(ca|front-proxy-ca|sa)\.key$|etcd\/ca\.key$/, f);
    assert.not.match(f, /(etcd|kube-apiserver|kube-controller-manager|kube-scheduler)\.service$|apiserver|admin\.conf|scheduler\.conf|controller-manager\.conf/, f);
  }
  assert.ok(files.includes('etc/kubernetes/pki/ca.crt'));
});

test('every unit passes systemd-analyze verify', () => {
  for (const h of ['cp-1', 'cp-2', 'worker-1']) {
    const units = unitsOf(h).map((u) => join(host(h), 'etc/systemd/system', u));
    const r = runSync('/usr/bin/systemd-analyze', ['verify', ...units], { env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' } });
    assert.is(r.status, 0, `${h}: ${r.stderr}`);
    assert.is(r.stderr.trim(), '', `${h}: systemd-analyze warned:\n${r.stderr}`);
  }
});

test('haproxy -c accepts each load balancer\'s config; keepalived -t its keepalived.conf', () => {
  for (const h of ['lb-1', 'lb-2']) {
    // The config names /etc/haproxy/kubernetes-ca.crt: checked against the staged copy.
    const cfg = readFileSync(join(host(h), 'etc/haproxy/haproxy.cfg'), 'utf8');
    assert.match(cfg, /ca-file \/etc\/haproxy\/kubernetes-ca\.crt/);
    const local = join(work, `${h}-haproxy.cfg`);
    writeFileSync(local, cfg.replaceAll('/etc/haproxy/', `${host(h)}/etc/haproxy/`));
    const r = runSync('/usr/sbin/haproxy', ['-c', '-f', local]);
    assert.is(r.status, 0, `${h}: ${r.stdout}${r.stderr}`);
    assert.match(cfg, /bind 10\.1\.0\.100:6443/);
    for (const cp of ['cp-1 10.1.0.1:6443', 'cp-2 10.1.0.2:6443', 'cp-3 10.1.0.3:6443']) assert.ok(cfg.includes(`server ${cp}`), cp);
    assert.match(cfg, /option httpchk GET \/readyz/);
    assert.is(readFileSync(join(host(h), 'etc/haproxy/kubernetes-ca.crt'), 'utf8'), readFileSync(join(main.out, 'pki/ca.crt'), 'utf8'));
    // keepalived -t refuses an interface the machine lacks: with only loopback there is none to name.
    if (IFACE !== undefined) {
      const k = runSync('/usr/sbin/keepalived', ['-t', '-f', join(host(h), 'etc/keepalived/keepalived.conf')]);
      assert.is(k.status, 0, `${h}: keepalived -t: ${k.stdout}${k.stderr}`);
    }
  }
  const [a, b] = ['lb-1', 'lb-2'].map((h) => readFileSync(join(host(h), 'etc/keepalived/keepalived.conf'), 'utf8'));
  assert.match(a!, /state MASTER/);
  assert.match(b!, /state BACKUP/);
  const prio = (t: string) => Number(/priority (\d+)/.exec(t)?.[1]);
  assert.ok(prio(a!) > prio(b!));
  assert.match(a!, /virtual_ipaddress \{\s*10\.1\.0\.100\s*\}/);
  assert.match(readFileSync(join(host('lb-1'), 'etc/sysctl.d/99-kpki-load-balancer.conf'), 'utf8'), /net\.ipv4\.ip_nonlocal_bind = 1/);
});

/** Absolute paths in a unit's flags (`--x=/a` or `--x=/a,/b`) and in a YAML config's string values. */
function absolutePaths(h: string, s: Staged): Map<string, string> {
  const found = new Map<string, string>(); // path → where it was named
  for (const u of unitsOf(h, s)) {
    for (const arg of argvOf(h, u, s).slice(1)) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : arg;
      if (value.startsWith('/')) found.set(value, `${u} ${arg.split('=')[0]}`);
    }
  }
  const walk = (v: unknown, where: string) => {
    if (typeof v === 'string' && v.startsWith('/')) found.set(v, where);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
  };
  for (const cfg of ['var/lib/kubelet/config.yaml', 'var/lib/kube-proxy/config.yaml']) {
    if (existsSync(join(host(h, s), cfg))) walk(load(readFileSync(join(host(h, s), cfg), 'utf8')), cfg);
  }
  return found;
}

/** Files a unit may name that a host does not get from kpki: the binaries and etcd's data. */
const NOT_STAGED = new Set(['/var/lib/etcd']);

function assertPathsStaged(s: Staged, hosts: readonly string[]): number {
  let n = 0;
  for (const h of hosts) {
    for (const [path, where] of absolutePaths(h, s)) {
      if (NOT_STAGED.has(path) || path.startsWith(`${BIN}/`)) continue;
      const staged = join(host(h, s), path);
      assert.ok(existsSync(staged), `${h}: ${where} names ${path}, not in its staged tree`);
      const mode = modeOf(staged);
      // Hand-written expectations: private keys and kubeconfigs 0600, certificates and configs 0644.
      const want = /\.key$|-key\.pem$|\.conf$|\.kubeconfig$|\/sa\.pub$/.test(path) ? 0o600 : 0o644;
      assert.is(mode.toString(8), want.toString(8), `${h}: ${path} (named by ${where})`);
      n++;
    }
  }
  return n;
}

test('every absolute path a unit or config names is in that host\'s staged tree, with the mode its kind needs', () => {
  assert.ok(assertPathsStaged(main, ['cp-1', 'cp-2', 'cp-3', 'worker-1']) > 60);
});

test('flags, written out by hand: etcd on cp-2 (client and peer TLS with client-cert auth, all three members)', () => {
  const argv = argvOf('cp-2', 'etcd.service');
  assert.is(argv[0], `${BIN}/etcd`);
  for (const flag of [
    '--name=cp-2', '--data-dir=/var/lib/etcd',
    '--listen-client-urls=https://10.1.0.2:2379', '--advertise-client-urls=https://10.1.0.2:2379',
    '--listen-peer-urls=https://10.1.0.2:2380', '--initial-advertise-peer-urls=https://10.1.0.2:2380',
    '--initial-cluster=cp-1=https://10.1.0.1:2380,cp-2=https://10.1.0.2:2380,cp-3=https://10.1.0.3:2380',
    '--cert-file=/etc/kubernetes/pki/etcd/server.crt', '--key-file=/etc/kubernetes/pki/etcd/server.key',
    '--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt', '--client-cert-auth=true',
    '--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt', '--peer-key-file=/etc/kubernetes/pki/etcd/peer.key',
    '--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt', '--peer-client-cert-auth=true',
  ]) assert.ok(argv.includes(flag), `etcd lacks ${flag}: ${argv.join(' ')}`);
});

test('flags, written out by hand: kube-apiserver, controller manager and scheduler on cp-1', () => {
  const api = argvOf('cp-1', 'kube-apiserver.service');
  for (const flag of [
    '--advertise-address=10.1.0.1', '--secure-port=6443', '--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction',
    '--service-cluster-ip-range=10.96.0.0/12', '--client-ca-file=/etc/kubernetes/pki/ca.crt',
    '--tls-cert-file=/etc/kubernetes/pki/apiserver.crt', '--tls-private-key-file=/etc/kubernetes/pki/apiserver.key',
    '--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt', '--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key',
    '--kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt',
    '--proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt', '--proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key',
    '--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt', '--requestheader-allowed-names=front-proxy-client',
    '--etcd-servers=https://10.1.0.1:2379,https://10.1.0.2:2379,https://10.1.0.3:2379',
    '--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt', '--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt', '--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key',
    '--service-account-key-file=/etc/kubernetes/pki/sa.pub', '--service-account-signing-key-file=/etc/kubernetes/pki/sa.key',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
  ]) assert.ok(api.includes(flag), `kube-apiserver lacks ${flag}`);
  const kcm = argvOf('cp-1', 'kube-controller-manager.service');
  for (const flag of [
    '--kubeconfig=/etc/kubernetes/controller-manager.conf', '--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf',
    '--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf', '--bind-address=127.0.0.1', '--leader-elect=true',
    '--client-ca-file=/etc/kubernetes/pki/ca.crt', '--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt', '--cluster-signing-key-file=/etc/kubernetes/pki/ca.key',
    '--root-ca-file=/etc/kubernetes/pki/ca.crt', '--service-account-private-key-file=/etc/kubernetes/pki/sa.key',
    '--cluster-cidr=10.244.0.0/16', '--allocate-node-cidrs=true',
  ]) assert.ok(kcm.includes(flag), `kube-controller-manager lacks ${flag}`);
  const sched = argvOf('cp-1', 'kube-scheduler.service');
  for (const flag of ['--kubeconfig=/etc/kubernetes/scheduler.conf', '--authentication-kubeconfig=/etc/kubernetes/scheduler.conf', '--bind-address=127.0.0.1', '--leader-elect=true']) {
    assert.ok(sched.includes(flag), `kube-scheduler lacks ${flag}`);
  }
});

test('kubelet and kube-proxy configs: the CA-signed serving pair, client CA, webhook auth, cluster DNS (10th service IP), pod CIDR', () => {
  const kubelet = load(readFileSync(join(host('worker-1'), 'var/lib/kubelet/config.yaml'), 'utf8')) as Record<string, unknown>;
  assert.equal(kubelet, {
    apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration',
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' } },
    authorization: { mode: 'Webhook' },
    clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', cgroupDriver: 'systemd', serverTLSBootstrap: false,
    containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock',
    tlsCertFile: '/var/lib/kubelet/pki/kubelet.crt', tlsPrivateKeyFile: '/var/lib/kubelet/pki/kubelet.key',
  });
  const proxy = load(readFileSync(join(host('worker-1'), 'var/lib/kube-proxy/config.yaml'), 'utf8'));
  assert.equal(proxy, {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', hostnameOverride: 'worker-1',
    clusterCIDR: '10.244.0.0/16', clientConnection: { kubeconfig: '/etc/kubernetes/kube-proxy.conf' },
  });
  assert.equal(argvOf('worker-1', 'kubelet.service').slice(1), [
    '--config=/var/lib/kubelet/config.yaml', '--kubeconfig=/etc/kubernetes/kubelet.conf', '--hostname-override=worker-1', '--node-ip=10.1.0.11',
  ]);
  assert.is(readFileSync(join(host('worker-1'), 'etc/modules-load.d/kubernetes.conf'), 'utf8').replace(/#.*\n/g, ''), 'overlay\nbr_netfilter\n');
  const sysctl = readFileSync(join(host('worker-1'), 'etc/sysctl.d/99-kubernetes.conf'), 'utf8');
  assert.match(sysctl, /^net\.bridge\.bridge-nf-call-iptables = 1$/m);
  assert.match(sysctl, /^net\.ipv4\.ip_forward = 1$/m);
});

test('the RBAC bindings: a one-shot unit on the init node only, kubectl apply with super-admin.conf', () => {
  const argv = argvOf('cp-1', 'kpki-rbac.service');
  assert.equal(argv, [`${BIN}/kubectl`, '--kubeconfig=/etc/kubernetes/super-admin.conf', 'apply', '--filename=/etc/kubernetes/kpki/rbac.yaml']);
  assert.is(readFileSync(join(host('cp-1'), 'etc/kubernetes/kpki/rbac.yaml'), 'utf8'), readFileSync(join(main.out, 'pki/rbac.yaml'), 'utf8'));
  assert.match(readFileSync(join(host('cp-1'), 'etc/systemd/system/kpki-rbac.service'), 'utf8'), /Type=oneshot/);
  assert.ok(existsSync(join(host('cp-1'), 'etc/kubernetes/super-admin.conf')));
});

test('Kubernetes 1.22: the container runtime by flag (with --container-runtime=remote), --port=0 on the scheduler; never --insecure-port', () => {
  const old = stage('v122', planText('', 'v1.22.17'));
  const kubelet = argvOf('worker-1', 'kubelet.service', old);
  assert.ok(kubelet.includes('--container-runtime=remote'), kubelet.join(' '));
  assert.ok(kubelet.includes('--container-runtime-endpoint=unix:///run/containerd/containerd.sock'));
  const cfg = load(readFileSync(join(host('worker-1', old), 'var/lib/kubelet/config.yaml'), 'utf8')) as Record<string, unknown>;
  assert.is(cfg['containerRuntimeEndpoint'], undefined, 'the config field exists from 1.27 only');
  assert.ok(argvOf('cp-1', 'kube-scheduler.service', old).includes('--port=0'));
  assert.not.ok(argvOf('cp-1', 'kube-controller-manager.service', old).some((a) => a.startsWith('--port')), 'kube-controller-manager serves HTTPS only from 1.22');
  // No RBAC unit before 1.29: gen writes no bindings (admin.conf is system:masters).
  assert.not.ok(unitsOf('cp-1', old).includes('kpki-rbac.service'));
  // 1.31: none of the flags removed since 1.20.
  for (const h of ['cp-1', 'worker-1']) {
    for (const u of unitsOf(h)) {
      for (const a of argvOf(h, u)) assert.not.match(a, /^--(insecure-port|port|container-runtime|kubelet-https|address)=/, `${h} ${u}: ${a}`);
    }
  }
});

test('a second --stage run with the same inputs changes nothing', () => {
  const dir = join(work, 'main');
  const before = hashTree(main.stage);
  const r = kpki(['install', '--plan', join(dir, 'cluster.yaml'), '--out', main.out, '--stage', main.stage, '--json']);
  assert.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { changed: boolean; files: unknown[]; counts: Record<string, number> };
  assert.is(report.changed, false, JSON.stringify(report.files));
  assert.equal(report.files, []);
  assert.equal({ ...report.counts, unchanged: 0 }, { created: 0, updated: 0, removed: 0, chmod: 0, unchanged: 0 });
  const after = hashTree(main.stage);
  for (const [f, d] of before) if (!f.endsWith('.kpki-tree-index')) assert.is(after.get(f), d, f);
  assert.not.ok(existsSync(join(main.stage, 'backup')), 'nothing was replaced, so nothing was backed up');
});

test('a unit edited on the stage is put back on the next run, the edit kept in backup/; a stray file in a host tree is removed', () => {
  const unit = join(main.stage, 'cp-2/etc/systemd/system/kube-apiserver.service');
  const original = readFileSync(unit, 'utf8');
  writeFileSync(unit, `${original}# edited by hand\n`);
  writeFileSync(join(main.stage, 'cp-2/etc/stray.conf'), 'x\n');
  const r = kpki(['install', '--plan', join(work, 'main', 'cluster.yaml'), '--out', main.out, '--stage', main.stage, '--json']);
  assert.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { files: Array<{ path: string; action: string; backup?: string }> };
  const updated = report.files.find((f) => f.path === 'cp-2/etc/systemd/system/kube-apiserver.service');
  assert.is(updated?.action, 'updated');
  assert.is(readFileSync(unit, 'utf8'), original);
  assert.match(readFileSync(join(main.stage, updated!.backup!), 'utf8'), /# edited by hand/);
  assert.is(report.files.find((f) => f.path === 'cp-2/etc/stray.conf')?.action, 'removed');
  assert.not.ok(existsSync(join(main.stage, 'cp-2/etc/stray.conf')));
});

test('--hosts stages only those hosts; an unknown name is refused (exit 2)', () => {
  const dir = join(work, 'main');
  const only = join(work, 'only');
  const r = kpki(['install', '--plan', join(dir, 'cluster.yaml'), '--out', main.out, '--stage', only, '--hosts', 'cp-2,lb-1']);
  assert.is(r.status, 0, r.stderr);
  assert.equal(readdirSync(only).filter((n) => !n.startsWith('.')).sort(), ['cp-2', 'hosts.txt', 'lb-1']);
  assert.is(readFileSync(join(only, 'hosts.txt'), 'utf8'), 'cp-2 10.1.0.2\nlb-1 10.1.0.21\n');
  const bad = kpki(['install', '--plan', join(dir, 'cluster.yaml'), '--out', main.out, '--stage', only, '--hosts', 'cp-9']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /cp-9/);
});

test('no store at --out: refused (exit 2), nothing created', () => {
  const r = kpki(['install', '--plan', join(work, 'main', 'cluster.yaml'), '--out', join(work, 'no-store'), '--stage', join(work, 'no-stage')]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /no store at .*no-store: run kpki gen/);
  assert.not.ok(existsSync(join(work, 'no-store')));
  assert.not.ok(existsSync(join(work, 'no-stage')));
});

test('plan values that would reach a unit with shell or unit-file metacharacters are refused, naming the field', () => {
  const cases: [string, string][] = [
    ['extraFlags: { kube-apiserver: ["--v=2;touch /tmp/x"] }\n', 'extraFlags.kube-apiserver[0]'],
    ['extraFlags: { etcd: ["--log-level=$HOME"] }\n', 'extraFlags.etcd[0]'],
    ['extraFlags: { kubelet: ["--root-dir=/var/lib/%n"] }\n', 'extraFlags.kubelet[0]'],
    ['extraFlags: { kube-proxy: ["--v=2 --hostname-override=x"] }\n', 'extraFlags.kube-proxy[0]'],
    ['extraFlags: { kube-scheduler: ["--v=\\"2\\""] }\n', 'extraFlags.kube-scheduler[0]'],
    ['extraFlags: { kube-controller-manager: ["--v=2\\nExecStartPre=/bin/sh"] }\n', 'extraFlags.kube-controller-manager[0]'],
    ['etcd: { dataDir: "/var/lib/etcd`id`" }\n', 'etcd.dataDir'],
    ['kubelet: { containerRuntimeEndpoint: "unix:///run/c.sock;reboot" }\n', 'kubelet.containerRuntimeEndpoint'],
    ['kubelet: { clusterDNS: "10.96.0.10 8.8.8.8" }\n', 'kubelet.clusterDNS'],
  ];
  for (const [extra, field] of cases) {
    const file = writePlan(planText(extra), join(work, 'bad'));
    const r = kpki(['install', '--plan', file, '--out', main.out, '--stage', join(work, 'bad-stage')]);
    assert.is(r.status, 2, `${field}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`${field}:`), `${field} not named: ${r.stderr}`);
  }
  // binDir is in the plan text already: replaced by one with a metacharacter.
  const file = writePlan(planText().replace(`binDir: ${BIN}`, 'binDir: "/usr/local/bin;x"'), join(work, 'bad'));
  const r = kpki(['install', '--plan', file, '--out', main.out, '--stage', join(work, 'bad-stage')]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /binDir: "\/usr\/local\/bin;x" has ";"/);
  assert.not.ok(existsSync(join(work, 'bad-stage')), 'nothing staged for a refused plan');
});

test('an extra flag that repeats one kpki sets is refused, naming the field', () => {
  const file = writePlan(planText('extraFlags: { kube-apiserver: ["--v=2", "--client-ca-file=/tmp/other.crt"] }\n'), join(work, 'dup'));
  const r = kpki(['install', '--plan', file, '--out', main.out, '--stage', join(work, 'dup-stage')]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /extraFlags\.kube-apiserver\[1\]: --client-ca-file is set by kpki/);
  const ok = writePlan(planText('extraFlags: { kube-apiserver: ["--v=2"] }\n'), join(work, 'dup'));
  const staged = kpki(['install', '--plan', ok, '--out', main.out, '--stage', join(work, 'dup-stage')]);
  assert.is(staged.status, 0, staged.stderr);
  assert.is(execStartArgv(parseUnit(readFileSync(join(work, 'dup-stage/cp-1/etc/systemd/system/kube-apiserver.service'), 'utf8'))).at(-1), '--v=2');
});

test('deploy: kubeadm stages the PKI, the kubeadm configurations and the load balancer, no component units, and says so', () => {
  const k = stage('kubeadm', planText('deploy: kubeadm\n'));
  assert.match(JSON.stringify(k.report['notes']), /kubeadm runs the components/);
  for (const h of ['cp-1', 'cp-2', 'worker-1', 'lb-1']) assert.equal(unitsOf(h, k), [], h);
  assert.ok(existsSync(join(host('cp-2', k), 'etc/kubernetes/kubeadm-config.yaml')));
  assert.ok(existsSync(join(host('lb-1', k), 'etc/haproxy/haproxy.cfg')));
  assert.ok(existsSync(join(host('lb-2', k), 'etc/keepalived/keepalived.conf')));
});

test('layout cfssl: every path the units and configs name is in the tree (the guides\' names)', () => {
  const c = stage('cfssl', planText('layout: cfssl\n'));
  assert.ok(argvOf('cp-1', 'kube-apiserver.service', c).includes('--tls-cert-file=/etc/kubernetes/ssl/server.pem'));
  assert.ok(assertPathsStaged(c, ['cp-1', 'cp-3', 'worker-1']) > 40);
});

test('external etcd: the etcd nodes run etcd alone; the apiservers reach every member; no control plane runs etcd', () => {
  const text = planText().replace(nodes, `etcd: { external: true }
nodes:
  - { name: cp-1, address: 10.1.0.1, roles: [control-plane] }
  - { name: worker-1, address: 10.1.0.11, roles: [worker] }
  - { name: etcd-1, address: 10.1.0.31, roles: [etcd] }
  - { name: etcd-2, address: 10.1.0.32, roles: [etcd] }
  - { name: etcd-3, address: 10.1.0.33, roles: [etcd] }
  - { name: lb-1, address: 10.1.0.21, roles: [load-balancer] }
`).replace(/loadBalancer: .*\n/, '');
  const e = stage('external', text);
  assert.equal(unitsOf('etcd-2', e), ['etcd.service']);
  assert.not.ok(unitsOf('cp-1', e).includes('etcd.service'));
  assert.ok(argvOf('etcd-2', 'etcd.service', e).includes('--initial-cluster=etcd-1=https://10.1.0.31:2380,etcd-2=https://10.1.0.32:2380,etcd-3=https://10.1.0.33:2380'));
  assert.ok(argvOf('cp-1', 'kube-apiserver.service', e).includes('--etcd-servers=https://10.1.0.31:2379,https://10.1.0.32:2379,https://10.1.0.33:2379'));
  assert.ok(assertPathsStaged(e, ['cp-1', 'etcd-1', 'worker-1']) > 30);
  // One load balancer, no VIP: HAProxy on its own address, no keepalived.
  assert.match(readFileSync(join(host('lb-1', e), 'etc/haproxy/haproxy.cfg'), 'utf8'), /bind 10\.1\.0\.21:6443/);
  assert.not.ok(existsSync(join(host('lb-1', e), 'etc/keepalived')));
});

test('a node that is a load balancer and a control plane on the apiserver\'s port is refused, naming the node\'s roles', () => {
  const file = writePlan(planText().replace('name: lb-1, address: 10.1.0.21, roles: [load-balancer]', 'name: lb-1, address: 10.1.0.21, roles: [load-balancer, control-plane]'), join(work, 'dup'));
  const g = kpki(['gen', '--plan', file, '--out', join(work, 'dup-out')]);
  assert.is(g.status, 0, g.stderr);
  const r = kpki(['install', '--plan', file, '--out', join(work, 'dup-out'), '--stage', join(work, 'dup-stage2')]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /nodes\[4\]\.roles: lb-1 is a load balancer and a control plane/);
});

test('render is pure and sink-agnostic: the same file set into a memory sink, then a second plan of changes is empty', async () => {
  const plan = await loadPlan(join(work, 'main', 'cluster.yaml'));
  const store = await readStoreFiles(main.out, plan, plan.nodes.map((n) => n.name));
  const first = renderHosts(plan, store);
  assert.equal(renderHosts(plan, store), first, 'same inputs, same file set');
  const sink = memorySink();
  const trees = first.hosts.map((h) => h.host);
  const plan1 = planChanges(stagedFiles(first), await sink.observe(trees), { exact: trees, whyRemoved: () => 'unwanted', root: 'memory' });
  await sink.apply(plan1, { backupStamp: 't' });
  const again = planChanges(stagedFiles(first), await sink.observe([...trees, 'hosts.txt']), { exact: trees, whyRemoved: () => 'unwanted', root: 'memory' });
  assert.equal(again.changes, []);
  // The directory got the same bytes as the memory sink: the stage is this file set.
  for (const f of stagedFiles(first).slice(0, 200)) assert.is(readFileSync(join(main.stage, f.path), 'utf8'), f.content, f.path);
});

test('the flag table names only files the catalog says that component reads (readBy)', () => {
  const readBy = new Map(CATALOG.map((e) => [e.id, e.readBy as readonly string[]]));
  const refs: [UnitComponent, string][] = [
    ...(Object.entries(COMPONENT_FLAGS) as [UnitComponent, (typeof COMPONENT_FLAGS)[UnitComponent]][]).flatMap(([c, specs]) =>
      specs.flatMap((s) => ('file' in s.value ? [[c, s.value.file] as [UnitComponent, string]] : []))),
    ...KUBELET_CONFIG_FILES.map((f) => ['kubelet', f.value.file] as [UnitComponent, string]),
    ...KUBE_PROXY_CONFIG_FILES.map((f) => ['kube-proxy', f.value.file] as [UnitComponent, string]),
  ];
  assert.ok(refs.length > 30);
  for (const [component, id] of refs) assert.ok(readBy.get(id)?.includes(component), `${component} reads ${id}, but its readBy is ${readBy.get(id)?.join(',')}`);
});

test.run();
