/**
 * preflight's judging without hosts: facts as a host's script prints them (hand-written here)
 * × a plan → results. Thresholds and role tables are the numbers, written out.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePlan } from '../../pki/plan/parse.js';
import { judge, rolePorts, type HostReading } from '../../pki/preflight/preflight.js';
import { parseFacts } from '../../pki/preflight/probe.js';
import { nodeTarget } from '../../pki/sinks/ssh-transport.js';
import { PlanError } from '../../pki/errors.js';

const plan = parsePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: 10.0.0.100:8443
etcd: { external: true }
nodes:
  - { name: cp, address: 10.0.0.1, roles: [control-plane] }
  - { name: db, address: 10.0.0.2, roles: [etcd] }
  - { name: wk, address: 10.0.0.3, roles: [worker] }
  - { name: lb, address: 10.0.0.4, roles: [load-balancer] }
`, 'judge.yaml');

const FACTS = (extra = '') => parseFacts(`hostname HOST
uuid 11111111-2222-3333-4444-555555555555
mac lo 00:00:00:00:00:00
mac eth0 52:54:00:12:34:56
module br_netfilter
module overlay
sysctl net/bridge/bridge-nf-call-iptables 1
sysctl net/ipv4/ip_forward 1
listen 0016
socket /run/containerd/containerd.sock
${extra}`);

test('the ports of each role, as the issue lists them (control plane without etcd when etcd is external)', () => {
  const ports = (name: string) => [...rolePorts(plan, plan.nodes.find((n) => n.name === name)!).keys()].sort((a, b) => a - b);
  assert.equal(ports('cp'), [6443, 10250, 10257, 10259]);
  assert.equal(ports('db'), [2379, 2380]);
  assert.equal(ports('wk'), [10250]);
  assert.equal(ports('lb'), [8443]);
  const stacked = parsePlan('apiVersion: kpki/v1alpha1\nkind: Cluster\nnodes:\n  - { name: cp, address: 10.0.0.1, roles: [control-plane] }\n', 's.yaml');
  assert.equal([...rolePorts(stacked, stacked.nodes[0]!).keys()].sort((a, b) => a - b), [2379, 2380, 6443, 10250, 10257, 10259]);
});

test('clock: under 30 s ok, 30 s warns, 5 min fails; the reading\'s uncertainty is given to the host', () => {
  const wk = plan.nodes.filter((n) => n.name === 'wk');
  const at = (offsetS: number, uncertaintyS = 0) => {
    const r: HostReading = { facts: FACTS('bin kubelet /usr/local/bin/kubelet\nbin kube-proxy /usr/local/bin/kube-proxy'), clock: { offsetS, uncertaintyS } };
    return judge(plan, wk, new Map([['wk', r]]), '/usr/local/bin').get('wk')!.find((c) => c.check === 'clock')!;
  };
  assert.is(at(29.9).status, 'ok');
  assert.is(at(-30).status, 'warn');
  assert.match(at(-30).message, /^30\.0 s behind this machine/);
  assert.is(at(299).status, 'warn');
  assert.is(at(300).status, 'fail');
  assert.is(at(-3600).status, 'fail');
  assert.is(at(31, 2).status, 'ok'); // 31 s ± 2 s may be 29 s
});

test('binaries: in binDir for deploy binary (elsewhere on PATH is named), kubelet nodes only need kubelet + kube-proxy; the rest of a clean host passes', () => {
  const wk = plan.nodes.filter((n) => n.name === 'wk');
  const res = judge(plan, wk, new Map([['wk', { facts: FACTS('bin kubelet /opt/bin/kubelet\npath kube-proxy /usr/bin/kube-proxy'), clock: { offsetS: 0, uncertaintyS: 0 } }]]), '/opt/bin').get('wk')!;
  const by = Object.fromEntries(res.map((c) => [c.check, c]));
  assert.is(by.binaries!.status, 'fail');
  assert.is(by.binaries!.message, 'kube-proxy is at /usr/bin/kube-proxy, not in /opt/bin');
  for (const c of ['reachable', 'unique-hostname', 'unique-mac', 'unique-product-uuid', 'swap', 'modules', 'sysctls', 'ports', 'clock', 'runtime-socket']) {
    assert.is(by[c]!.status, 'ok', `${c}: ${by[c]!.message}`);
  }
});

test('a host without the bridge sysctls (br_netfilter not loaded) warns, naming what is absent; duplicates of MAC and hostname fail on both hosts', () => {
  const two = plan.nodes.filter((n) => n.name === 'wk' || n.name === 'lb');
  const bare = parseFacts('hostname same\nmac eth0 52:54:00:aa:bb:cc\nsysctl net/ipv4/ip_forward 0\n');
  const other = parseFacts('hostname same\nmac eth1 52:54:00:AA:BB:CC\nmodule overlay\nmodule br_netfilter\nsysctl net/bridge/bridge-nf-call-iptables 1\nsysctl net/ipv4/ip_forward 1\nbin haproxy /usr/sbin/haproxy\n');
  const res = judge(plan, two, new Map([['wk', { facts: bare, clock: undefined }], ['lb', { facts: other, clock: undefined }]]), '/usr/local/bin');
  const get = (n: string, c: string) => res.get(n)!.find((x) => x.check === c)!;
  assert.is(get('wk', 'sysctls').status, 'warn');
  assert.is(get('wk', 'sysctls').message, 'not 1: net.bridge.bridge-nf-call-iptables absent, net.ipv4.ip_forward = 0 (set them in /etc/sysctl.d/ and run sysctl --system)');
  assert.match(get('wk', 'modules').message, /^not loaded: br_netfilter, overlay/);
  assert.is(get('wk', 'unique-hostname').status, 'fail');
  assert.is(get('lb', 'unique-hostname').message, 'hostname same is also the hostname of wk');
  assert.is(get('lb', 'unique-mac').message, 'shared MAC address: eth1 52:54:00:aa:bb:cc (also on wk)');
  assert.is(get('lb', 'runtime-socket').status, 'ok'); // no kubelet on a load balancer
  assert.is(get('lb', 'binaries').status, 'ok');
  assert.is(get('wk', 'clock').status, 'warn');
});

test('an unreachable host: one failed check carrying the transport\'s message', () => {
  const wk = plan.nodes.filter((n) => n.name === 'wk');
  const res = judge(plan, wk, new Map([['wk', { error: 'wk (10.0.0.3): cannot connect: Connection refused' }]]), '/usr/local/bin');
  assert.equal(res.get('wk'), [{ check: 'reachable', status: 'fail', message: 'wk (10.0.0.3): cannot connect: Connection refused' }]);
});

test('nodes[].ssh: defaults (host = address, user root, port from the ssh config); every bad value named with its line', () => {
  const p = parsePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
nodes:
  - { name: cp, address: 10.0.0.1, roles: [control-plane] }
  - name: wk
    address: 10.0.0.2
    roles: [worker]
    ssh: { host: wk.mgmt, port: 2222, user: ops, identityFile: ~/.ssh/cluster }
`, 'ssh.yaml');
  assert.equal(nodeTarget(p.nodes[0]!), { name: 'cp', host: '10.0.0.1', user: 'root' });
  assert.equal(nodeTarget(p.nodes[1]!), { name: 'wk', host: 'wk.mgmt', port: 2222, user: 'ops', identityFile: '~/.ssh/cluster' });
  const bad = `apiVersion: kpki/v1alpha1
kind: Cluster
nodes:
  - name: cp
    address: 10.0.0.1
    roles: [control-plane]
    ssh:
      host: -oProxyCommand=touch%20/tmp/x
      port: 0
      user: "root; id"
      identityFile: "key\\nHost *"
      proxy: bastion
`;
  try {
    parsePlan(bad, 'bad.yaml');
    assert.unreachable('accepted');
  } catch (err) {
    assert.instance(err, PlanError);
    const got = (err as PlanError).diagnostics.map((d) => `${d.line} ${d.field}`).sort();
    assert.equal(got, ['10 nodes[0].ssh.user', '11 nodes[0].ssh.identityFile', '12 nodes[0].ssh.proxy', '8 nodes[0].ssh.host', '9 nodes[0].ssh.port']);
  }
});

test.run();
