import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KpkiError, PlanError, type PlanDiagnostic } from '../../pki/errors.js';
import {
  canonicalIp,
  firstHost,
  formatHostPort,
  isDnsLabel,
  isDnsName,
  isIp,
  loadPlan,
  parseCidr,
  parseDuration,
  parseHostPort,
  parsePlan,
  planSchema,
  type Cidr,
  type Plan,
} from '../../pki/plan/index.js';

// dist/test/plan/plan.test.js → repository root
const root = new URL('../../../', import.meta.url);
const repoPath = (rel: string): string => fileURLToPath(new URL(rel, root));

function diagnosticsOf(fn: () => unknown): readonly PlanDiagnostic[] {
  try {
    fn();
  } catch (err) {
    assert.instance(err, PlanError);
    return (err as PlanError).diagnostics;
  }
  assert.unreachable('expected a PlanError');
  return [];
}

async function diagnosticsOfAsync(fn: () => Promise<unknown>): Promise<readonly PlanDiagnostic[]> {
  try {
    await fn();
  } catch (err) {
    assert.instance(err, PlanError);
    return (err as PlanError).diagnostics;
  }
  assert.unreachable('expected a PlanError');
  return [];
}

const MINIMAL = `apiVersion: kpki/v1alpha1
kind: Cluster
nodes:
  - name: cp-1
    address: 192.0.2.10
    roles: [control-plane]
`;

// ---------------------------------------------------------------- defaults and fixtures

test('defaults are applied to a minimal plan', () => {
  const plan = parsePlan(MINIMAL, 'mem.yaml');
  assert.is(plan.source, 'mem.yaml');
  assert.is(plan.clusterName, 'kubernetes');
  assert.equal(plan.apiServer, { bindPort: 6443, certSANs: [] });
  assert.equal(plan.controlPlaneEndpoint, { host: '192.0.2.10', port: 6443, hostIsIp: true });
  assert.equal(plan.networking.serviceSubnets, [{ text: '10.96.0.0/12', family: 4, network: '10.96.0.0', prefix: 12 }]);
  assert.equal(plan.networking.podSubnets, []);
  assert.is(plan.networking.dnsDomain, 'cluster.local');
  assert.is(plan.etcd.external, false);
  assert.is(plan.pki.keyAlgorithm, 'ecdsa-p256');
  assert.is(plan.pki.caValidityMs, 87600 * 3_600_000);
  assert.is(plan.pki.certValidityMs, 8760 * 3_600_000);
  assert.is(plan.pki.renewBeforeMs, 720 * 3_600_000);
  assert.equal(plan.pki.subject, {});
  assert.equal(plan.nodes, [{ name: 'cp-1', address: '192.0.2.10', family: 4, roles: ['control-plane'], extraSANs: [] }]);
  assert.is(plan.deploy, 'binary');
  assert.is(plan.layout, 'kubeadm');
  assert.ok(!('kubernetesVersion' in plan), 'no version unless the plan names one');
  assert.ok(!('initNode' in plan), 'no init node unless one is marked');
});

test('parsePlan without a file name reports <memory>', () => {
  assert.is(parsePlan(MINIMAL).source, '<memory>');
});

test('the single control plane endpoint uses bindPort', () => {
  const plan = parsePlan(MINIMAL.replace('kind: Cluster', 'kind: Cluster\napiServer:\n  bindPort: 8443'));
  assert.equal(plan.controlPlaneEndpoint, { host: '192.0.2.10', port: 8443, hostIsIp: true });
});

async function fixture(name: string): Promise<Plan> {
  return loadPlan(repoPath(`fixtures/${name}.yaml`));
}

test('fixture single-cp loads', async () => {
  const plan = await fixture('single-cp');
  assert.equal(plan.nodes.map((n) => n.name), ['cp-1', 'worker-1', 'worker-2']);
  assert.equal(plan.controlPlaneEndpoint, { host: '192.0.2.10', port: 6443, hostIsIp: true });
  assert.is(plan.networking.podSubnets[0]?.text, '10.244.0.0/16');
});

test('fixture ha-cluster loads', async () => {
  const plan = await fixture('ha-cluster');
  assert.equal(plan.controlPlaneEndpoint, { host: 'k8s-api.example.internal', port: 6443, hostIsIp: false });
  assert.equal(plan.apiServer.certSANs, ['192.0.2.100', 'k8s-api.example.internal']);
  assert.is(plan.nodes.filter((n) => n.roles.includes('control-plane')).length, 3);
  assert.ok(plan.nodes.some((n) => n.name === 'lb' && n.roles.includes('load-balancer')));
});

test('fixture external-etcd loads', async () => {
  const plan = await fixture('external-etcd');
  assert.is(plan.etcd.external, true);
  assert.is(plan.pki.keyAlgorithm, 'rsa-2048');
  assert.equal(plan.pki.subject, { C: 'CN', ST: 'BeiJing', L: 'BeiJing', O: 'k8s', OU: 'System' });
  assert.is(plan.nodes.filter((n) => n.roles.includes('etcd')).length, 3);
});

test('fixture kubeadm-ha loads: FQDN node names, an explicit init node, a version, kubeadm deploy', async () => {
  const plan = await fixture('kubeadm-ha');
  assert.equal(plan.kubernetesVersion, { major: 1, minor: 31, patch: 2, text: 'v1.31.2' });
  assert.is(plan.deploy, 'kubeadm');
  assert.is(plan.layout, 'kubeadm');
  assert.is(plan.initNode, 'cp-1.example.internal');
  assert.equal(plan.nodes.map((n) => n.name).slice(0, 2), ['lb.example.internal', 'cp-1.example.internal']);
});

test('fixture cfssl-binary loads: minor-only version, cfssl layout', async () => {
  const plan = await fixture('cfssl-binary');
  assert.equal(plan.kubernetesVersion, { major: 1, minor: 28, text: '1.28' });
  assert.is(plan.deploy, 'binary');
  assert.is(plan.layout, 'cfssl');
  assert.is(plan.initNode, undefined);
  assert.is(plan.etcd.external, true);
});

test('kubernetesVersion forms', () => {
  const version = (v: string) => parsePlan(MINIMAL.replace('kind: Cluster', `kind: Cluster\nkubernetesVersion: "${v}"`)).kubernetesVersion;
  assert.equal(version('v1.28.3'), { major: 1, minor: 28, patch: 3, text: 'v1.28.3' });
  assert.equal(version('1.28'), { major: 1, minor: 28, text: '1.28' });
  assert.equal(version('v1.31.0'), { major: 1, minor: 31, patch: 0, text: 'v1.31.0' });
  assert.equal(version('1.20.0'), { major: 1, minor: 20, patch: 0, text: '1.20.0' });
  const bad: Array<[string, string]> = [
    ['1.19.16', 'Kubernetes 1.19 is not supported'],
    ['v1.9', 'Kubernetes 1.9 is not supported'],
    ['v2.0.0', 'every Kubernetes release is 1.x'],
    ['1', 'not a Kubernetes version'],
    ['1.28.3.4', 'not a Kubernetes version'],
    ['v1.28.3-rc.1', 'not a Kubernetes version'],
    ['V1.28', 'not a Kubernetes version'],
    ['1.028', 'not a Kubernetes version'],
    ['', 'not a Kubernetes version'],
  ];
  for (const [v, fragment] of bad) {
    const d = diagnosticsOf(() => parsePlan(MINIMAL.replace('kind: Cluster', `kind: Cluster\nkubernetesVersion: "${v}"`)));
    assert.is(d.length, 1, `${v}: ${d.map((x) => x.message).join('; ')}`);
    assert.is(d[0]?.field, 'kubernetesVersion');
    assert.match(d[0]?.message ?? '', fragment, v);
  }
});

test('deploy and layout combine: cfssl with binary, kubeadm with either deploy', () => {
  const with_ = (extra: string) => parsePlan(MINIMAL.replace('kind: Cluster', `kind: Cluster\n${extra}`));
  assert.equal([with_('deploy: binary\nlayout: cfssl').layout, with_('deploy: binary\nlayout: cfssl').deploy], ['cfssl', 'binary']);
  assert.is(with_('layout: cfssl').layout, 'cfssl', 'deploy defaults to binary');
  assert.is(with_('deploy: kubeadm').layout, 'kubeadm');
  const d = diagnosticsOf(() => with_('deploy: kubeadm\nlayout: cfssl'));
  assert.equal(d.map((x) => x.field), ['layout']);
});

test('init: true marks the init node; init: false is no mark', () => {
  const plan = parsePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: lb.example:6443
nodes:
  - { name: cp-1, address: 10.0.0.1, roles: [control-plane], init: false }
  - { name: cp-2, address: 10.0.0.2, roles: [control-plane], init: true }
  - { name: w-1, address: 10.0.0.3, roles: [worker], init: false }
`);
  assert.is(plan.initNode, 'cp-2');
  const none = parsePlan(MINIMAL.replace('roles: [control-plane]', 'roles: [control-plane]\n    init: false'));
  assert.is(none.initNode, undefined);
  const d = diagnosticsOf(() => parsePlan(MINIMAL.replace('roles: [control-plane]', 'roles: [control-plane]\n    init: "yes"')));
  assert.equal(d.map((x) => [x.field, x.line]), [['nodes[0].init', 7]]);
  assert.match(d[0]?.message ?? '', 'write true or false');
});

test('node names: RFC 1123 subdomains, lower case, at most 253 characters', () => {
  const named = (name: string) => MINIMAL.replace('name: cp-1', `name: "${name}"`);
  const label63 = 'a'.repeat(63);
  const long253 = [label63, label63, label63, 'a'.repeat(61)].join('.');
  assert.is(long253.length, 253);
  for (const ok of ['node1', 'node1.example.com', 'cp-1.eu-west.example.internal', '1.2.3', long253, `${label63}.x`]) {
    assert.is(parsePlan(named(ok)).nodes[0]?.name, ok, ok);
  }
  const bad: Array<[string, string]> = [
    ['Node1.example.com', 'has label "Node1" that must be lower case'],
    ['node_1.example.com', 'has label "node_1" that contains "_"'],
    ['node1..example.com', 'has an empty label'],
    ['.node1', 'has an empty label'],
    ['node1.', 'has an empty label'],
    ['-node1.example.com', 'has label "-node1" that must start and end with a letter or digit'],
    [`${'a'.repeat(64)}.example.com`, 'is 64 characters long (at most 63)'],
    [`${long253}a`, 'is 254 characters long (at most 253)'],
    ['10.0.0.1', 'is an IP address'],
    ['fd00::1', 'is an IP address'],
  ];
  for (const [name, fragment] of bad) {
    const d = diagnosticsOf(() => parsePlan(named(name)));
    assert.is(d.length, 1, `${name}: ${d.map((x) => x.message).join('; ')}`);
    assert.is(d[0]?.field, 'nodes[0].name');
    assert.match(d[0]?.message ?? '', fragment, name);
  }
});

test('an endpoint written as a URL says to drop the scheme', () => {
  const cases: Array<[string, string]> = [
    ['https://host:6443', 'drop the scheme: write host:6443'],
    ['https://k8s-api.example.internal:6443/', 'drop the scheme: write k8s-api.example.internal:6443'],
    ['HTTPS://[fd00::10]:6443', 'drop the scheme: write [fd00::10]:6443'],
    ['https://host:6443/api', 'drop the scheme and the path: write host:port'],
  ];
  for (const [endpoint, fragment] of cases) {
    const d = diagnosticsOf(() => parsePlan(MINIMAL.replace('kind: Cluster', `kind: Cluster\ncontrolPlaneEndpoint: "${endpoint}"`)));
    assert.is(d.length, 1, endpoint);
    assert.is(d[0]?.field, 'controlPlaneEndpoint');
    assert.match(d[0]?.message ?? '', fragment, endpoint);
    assert.not.match(d[0]?.message ?? '', 'IPv6 address;', endpoint);
  }
});

test('fixture dual-stack loads and is canonical', async () => {
  const plan = await fixture('dual-stack');
  assert.equal(plan.controlPlaneEndpoint, { host: 'fd00::10', port: 6443, hostIsIp: true });
  assert.equal(plan.networking.serviceSubnets.map((c) => c.text), ['fd00:10:96::/112', '10.96.0.0/16']);
  assert.equal(plan.networking.serviceSubnets.map((c) => c.family), [6, 4]);
  assert.is(plan.nodes[1]?.address, 'fd00::12');
  assert.is(plan.nodes[1]?.family, 6);
});

test('every fixture names the schema on its first line', () => {
  for (const name of readdirSync(repoPath('fixtures')).filter((f) => f.endsWith('.yaml'))) {
    const first = readFileSync(repoPath(`fixtures/${name}`), 'utf8').split('\n')[0];
    assert.is(first, '# yaml-language-server: $schema=../schema/cluster.schema.json', name);
  }
});

test('node addresses and IP SANs are canonicalised, DNS SANs kept', () => {
  const plan = parsePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
apiServer:
  certSANs: ["FD00:0:0::0A", "*.example.com", "::ffff:192.0.2.7", fd00::a]
nodes:
  - name: cp-1
    address: "FD00:0000::0001"
    roles: [control-plane]
    extraSANs: ["2001:DB8:0:0:1:0:0:1"]
`);
  assert.equal(plan.apiServer.certSANs, ['fd00::a', '*.example.com', '192.0.2.7']);
  assert.is(plan.nodes[0]?.address, 'fd00::1');
  assert.equal(plan.nodes[0]?.extraSANs, ['2001:db8::1:0:0:1']);
  assert.equal(plan.controlPlaneEndpoint, { host: 'fd00::1', port: 6443, hostIsIp: true });
});

// ---------------------------------------------------------------- net helpers

test('canonicalIp follows Go net.IP.String()', () => {
  const cases: Array<[string, string]> = [
    ['192.0.2.1', '192.0.2.1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['fd00:0::1', 'fd00::1'],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // tie: the first run is compressed
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], // the longest run wins
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['::ffff:192.0.2.1', '192.0.2.1'], // IPv4-mapped is IPv4, as in Go
    ['::192.0.2.1', '::c000:201'],
    ['fd00::192.0.2.1', 'fd00::c000:201'],
  ];
  for (const [input, expected] of cases) assert.is(canonicalIp(input), expected, input);
});

test('invalid IPs are rejected', () => {
  for (const bad of ['', '192.0.2', '192.0.2.1.5', '192.0.2.256', '192.0.2.01', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::',
    '1:2:3:4:5:6:7:8::', 'fe80::1%eth0', 'g::1', '::ffff:1.2.3.256', '192.0.2.1:80', ':1', '1:', 'localhost']) {
    assert.is(isIp(bad), false, bad);
    assert.is(canonicalIp(bad), undefined, bad);
  }
});

function cidr(text: string): Cidr {
  const c = parseCidr(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
}

test('parseCidr canonicalises the network and accepts host bits', () => {
  assert.equal(cidr('10.96.0.5/12'), { text: '10.96.0.0/12', family: 4, network: '10.96.0.0', prefix: 12 });
  assert.equal(cidr('FD00:10:96:0::ff/112'), { text: 'fd00:10:96::/112', family: 6, network: 'fd00:10:96::', prefix: 112 });
  assert.equal(cidr('0.0.0.0/0').text, '0.0.0.0/0');
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/012', '10.0.0.0/', 'fd00::/129', 'x/8', '::ffff:10.0.0.0/104']) {
    assert.type(parseCidr(bad), 'string', bad);
  }
});

test('firstHost is network + 1', () => {
  assert.is(firstHost(cidr('10.96.0.0/12')), '10.96.0.1');
  assert.is(firstHost(cidr('10.254.0.0/16')), '10.254.0.1');
  assert.is(firstHost(cidr('10.96.7.9/24')), '10.96.7.1');
  assert.is(firstHost(cidr('fd00:10:96::/112')), 'fd00:10:96::1');
  assert.is(firstHost(cidr('fd00::/8')), 'fd00::1');
  assert.is(firstHost(cidr('::/0')), '::1');
  assert.throws(() => firstHost(cidr('10.0.0.1/32')), RangeError);
  assert.throws(() => firstHost(cidr('fd00::1/128')), RangeError);
});

test('DNS labels and names', () => {
  for (const ok of ['cp-1', 'a', '0worker', 'x'.repeat(63)]) assert.ok(isDnsLabel(ok), ok);
  for (const bad of ['', 'Worker_1', 'CP-1', '-a', 'a-', 'a.b', 'x'.repeat(64)]) assert.not.ok(isDnsLabel(bad), bad);
  for (const ok of ['cluster.local', 'k8s-api.example.internal', 'localhost']) assert.ok(isDnsName(ok), ok);
  for (const bad of ['', 'a..b', '.a', 'a.', 'Cluster.local', 'a_b.c', '*.example.com', '10.0.0.256']) assert.not.ok(isDnsName(bad), bad);
  assert.ok(isDnsName('*.example.com', { allowWildcard: true }));
  assert.not.ok(isDnsName('a.*.example.com', { allowWildcard: true }));
  assert.not.ok(isDnsName('*', { allowWildcard: true }));
});

test('host:port parsing and formatting', () => {
  assert.equal(parseHostPort('k8s-api.example.internal', 6443), { host: 'k8s-api.example.internal', port: 6443, hostIsIp: false });
  assert.equal(parseHostPort('192.0.2.10:443', 6443), { host: '192.0.2.10', port: 443, hostIsIp: true });
  assert.equal(parseHostPort('[FD00::0:10]:6443', 1), { host: 'fd00::10', port: 6443, hostIsIp: true });
  assert.equal(parseHostPort('[fd00::10]', 6443), { host: 'fd00::10', port: 6443, hostIsIp: true });
  assert.equal(parseHostPort('fd00::10', 6443), { host: 'fd00::10', port: 6443, hostIsIp: true });
  for (const bad of ['host:0', 'host:70000', 'host:', 'host:x', '[192.0.2.1]:6443', '[fd00::1', ':6443', 'bad_host', 'a:b:c']) {
    assert.type(parseHostPort(bad, 6443), 'string', bad);
  }
  assert.is(formatHostPort('fd00::10', 6443), '[fd00::10]:6443');
  assert.is(formatHostPort('192.0.2.10', 6443), '192.0.2.10:6443');
  assert.is(formatHostPort('k8s-api.example.internal', 443), 'k8s-api.example.internal:443');
});

test('durations: Go-style plus days', () => {
  const H = 3_600_000;
  const cases: Array<[string, number]> = [
    ['87600h', 87600 * H],
    ['8760h0m0s', 8760 * H],
    ['90m', 90 * 60_000],
    ['1h30m', 1.5 * H],
    ['45s', 45_000],
    ['1h1m1s', H + 61_000],
    ['250ms', 250],
    ['0', 0],
    ['0s', 0],
    ['30d', 30 * 24 * H],
    ['1d12h', 36 * H],
  ];
  for (const [input, ms] of cases) assert.is(parseDuration(input), ms, input);
  for (const bad of ['', '10', '10y', '2w', '3weeks', '10D', '1.5h', '-5m', '+5m', 'h', '5 h', '5H', '1h 30m', 'forever']) {
    assert.throws(() => parseDuration(bad), RangeError, bad);
  }
  assert.throws(() => parseDuration('10y'), /1y = 365d/);
  assert.throws(() => parseDuration('3weeks'), /units d, h, m, s or ms/);
});

// ---------------------------------------------------------------- invalid plans

/** Written by hand from the fixture files: the field, the 1-based line, and a message fragment. */
const INVALID: Record<string, { field: string; line: number; fragment: string }> = {
  'syntax-error.yaml': { field: '', line: 8, fragment: 'YAML syntax error' },
  'unknown-top-level-field.yaml': { field: 'clustername', line: 5, fragment: 'did you mean "clusterName"' },
  'unknown-nested-field.yaml': { field: 'apiServer.bindport', line: 6, fragment: 'did you mean "bindPort"' },
  'bad-cidr.yaml': { field: 'networking.serviceSubnet', line: 6, fragment: 'prefix length' },
  'bad-dns-domain.yaml': { field: 'networking.dnsDomain', line: 6, fragment: 'not a DNS name' },
  'duplicate-node-name.yaml': { field: 'nodes[2].name', line: 12, fragment: 'duplicate node name "worker-1"' },
  'duplicate-address.yaml': { field: 'nodes[1].address', line: 10, fragment: 'duplicate address fd00::11' },
  'node-name-not-dns-subdomain.yaml': { field: 'nodes[1].name', line: 9, fragment: 'must be lower case; a node name must be an RFC 1123 DNS subdomain' },
  'node-name-is-ip.yaml': { field: 'nodes[0].name', line: 6, fragment: 'is an IP address; name the node by its host name' },
  'init-not-control-plane.yaml': { field: 'nodes[1].init', line: 12, fragment: 'worker-1 is not a control plane' },
  'two-init-nodes.yaml': { field: 'nodes[1].init', line: 14, fragment: 'only one node can be the init node; cp-1 (nodes[0]) is marked too' },
  'kubernetes-version-too-old.yaml': { field: 'kubernetesVersion', line: 5, fragment: 'Kubernetes 1.19 is not supported' },
  'kubernetes-version-malformed.yaml': { field: 'kubernetesVersion', line: 5, fragment: '"v1.28.x" is not a Kubernetes version; expected v1.31.2, 1.31.2 or 1.31' },
  'kubernetes-version-unquoted.yaml': { field: 'kubernetesVersion', line: 5, fragment: 'must be a string (got number 1.3); quote it' },
  'cfssl-layout-with-kubeadm.yaml': { field: 'layout', line: 6, fragment: 'layout cfssl only works with deploy: binary' },
  'endpoint-with-scheme.yaml': { field: 'controlPlaneEndpoint', line: 5, fragment: 'drop the scheme: write k8s-api.example.internal:6443' },
  'bad-deploy.yaml': { field: 'deploy', line: 5, fragment: 'must be one of binary, kubeadm' },
  'no-control-plane.yaml': { field: 'nodes', line: 5, fragment: 'no control plane' },
  'endpoint-missing-ha.yaml': { field: 'controlPlaneEndpoint', line: 3, fragment: 'more than one control-plane node' },
  'cert-validity-exceeds-ca.yaml': { field: 'pki.certValidity', line: 7, fragment: "longer than its CA's" },
  'renew-before-too-long.yaml': { field: 'pki.renewBefore', line: 7, fragment: 'less than certValidity' },
  'bad-key-algorithm.yaml': { field: 'pki.keyAlgorithm', line: 6, fragment: 'must be one of rsa-2048' },
  'bad-address.yaml': { field: 'nodes[0].address', line: 7, fragment: 'not an IP address' },
  'bad-endpoint-port.yaml': { field: 'controlPlaneEndpoint', line: 5, fragment: '1 to 65535' },
  'wrong-api-version.yaml': { field: 'apiVersion', line: 3, fragment: '"kpki/v1alpha1"' },
  'external-etcd-no-etcd-node.yaml': { field: 'etcd.external', line: 6, fragment: 'etcd role' },
  'stacked-etcd-on-worker.yaml': { field: 'nodes[1].roles', line: 11, fragment: 'etcd.external: true' },
  'bad-duration.yaml': { field: 'pki.caValidity', line: 6, fragment: 'not units' },
  'dual-stack-same-family.yaml': { field: 'networking.podSubnet', line: 6, fragment: 'one IPv4 and one IPv6' },
  'service-subnet-too-small.yaml': { field: 'networking.serviceSubnet', line: 6, fragment: 'too small' },
  'bad-san.yaml': { field: 'apiServer.certSANs[1]', line: 8, fragment: 'neither an IP address nor a DNS name' },
  'missing-nodes.yaml': { field: 'nodes', line: 3, fragment: 'missing required field "nodes"' },
  'missing-roles.yaml': { field: 'nodes[0].roles', line: 6, fragment: 'missing required field "roles"' },
  'duplicate-role.yaml': { field: 'nodes[0].roles', line: 8, fragment: 'more than once' },
  'empty.yaml': { field: '', line: 0, fragment: 'empty' },
};

test('every invalid fixture has an expectation', () => {
  const files = readdirSync(repoPath('fixtures/invalid')).filter((f) => f.endsWith('.yaml')).sort();
  assert.equal(files, Object.keys(INVALID).sort());
});

for (const [file, expected] of Object.entries(INVALID)) {
  test(`invalid/${file}: ${expected.field || '(document)'} at line ${expected.line}`, async () => {
    const path = repoPath(`fixtures/invalid/${file}`);
    const diagnostics = await diagnosticsOfAsync(() => loadPlan(path));
    const hit = diagnostics.find((d) => d.field === expected.field && d.line === expected.line && d.message.includes(expected.fragment));
    assert.ok(hit, `no diagnostic ${JSON.stringify(expected)} in:\n${diagnostics.map((d) => `  ${d.line}:${d.column} ${d.field}: ${d.message}`).join('\n')}`);
    assert.is(hit?.file, path);
    // One problem per file: nothing else should be reported.
    assert.is(diagnostics.length, 1, diagnostics.map((d) => d.message).join('\n'));
  });
}

test('all problems are reported, sorted by position', () => {
  const diagnostics = diagnosticsOf(() =>
    parsePlan(
      `apiVersion: kpki/v1alpha1
kind: Cluster
apiServer:
  bindport: 6443
networking:
  serviceSubnet: 10.96.0.0/40
nodes:
  - name: cp-1
    address: 192.0.2.10
    roles: [control-plane]
  - name: cp-1
    address: 192.0.2.11
    roles: [worker]
`,
      'three.yaml',
    ),
  );
  assert.equal(
    diagnostics.map((d) => [d.line, d.field]),
    [
      [4, 'apiServer.bindport'],
      [6, 'networking.serviceSubnet'],
      [11, 'nodes[1].name'],
    ],
  );
  assert.ok(diagnostics.every((d) => d.file === 'three.yaml'));
});

test('the PlanError message lists every diagnostic with file:line:column', () => {
  try {
    parsePlan('apiVersion: v1\nkind: Cluster\nnodes: []\n', 'x.yaml');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, PlanError);
    const e = err as PlanError;
    assert.is(e.code, 'ERR_PLAN_INVALID');
    assert.match(e.message, 'x.yaml:1:13: apiVersion: must be "kpki/v1alpha1"');
    assert.match(e.message, 'x.yaml:3:1: nodes: must not be empty');
  }
});

test('a missing file is an I/O error (ERR_IO, not a plan error) naming the file', async () => {
  const path = repoPath('fixtures/does-not-exist.yaml');
  try {
    await loadPlan(path);
    assert.unreachable('must throw');
  } catch (err) {
    assert.instance(err, KpkiError);
    assert.not.instance(err, PlanError);
    assert.is((err as KpkiError).code, 'ERR_IO');
    assert.is((err as KpkiError).message, `${path}: cannot read the plan: no such file`);
  }
});

// ---------------------------------------------------------------- schema

test('schema/cluster.schema.json equals planSchema (run scripts/write-schema.mjs after changes)', () => {
  const onDisk: unknown = JSON.parse(readFileSync(repoPath('schema/cluster.schema.json'), 'utf8'));
  assert.equal(onDisk, JSON.parse(JSON.stringify(planSchema)));
});

test.run();
