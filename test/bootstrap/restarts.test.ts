/**
 * What `kpki install` restarts after a change, and which binaries a host gets: the mapping is
 * derived from the rendered units and the catalog; the expectations here are written by hand
 * from what each component reads (Kubernetes' PKI requirements), not from kpki's tables.
 * Also: `install --ansible` writes the same mapping into host_vars, and the SSH report's schema
 * holds for a host that cannot be reached (a loopback port nothing listens on).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { load } from 'js-yaml';
import { binariesFor, restartsFor } from '../../bootstrap/restarts.js';
import { renderHosts } from '../../bootstrap/stage.js';
import { readStoreFiles } from '../../bootstrap/store-files.js';
import { loadPlan } from '../../pki/plan/load.js';
import type { Plan } from '../../pki/plan/types.js';
import type { HostFiles } from '../../bootstrap/types.js';
import { kpki, ROOT, tempDir, writePlan } from '../support/cli.js';

const Ajv = AjvModule.default;
const work = tempDir('kpki-restarts-');
test.after(() => rmSync(work, { recursive: true, force: true }));

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

let plan: Plan;
let planFile = '';
let out = '';
let hosts: readonly HostFiles[] = [];
const host = (n: string) => hosts.find((h) => h.host === n)!;

test.before(async () => {
  const port = await closedPort();
  planFile = writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
kubernetesVersion: v1.31.2
controlPlaneEndpoint: 127.0.0.1:6443
nodes:
  - { name: cp-1, address: 127.0.0.1, roles: [control-plane], ssh: { port: ${port} } }
  - { name: w-1, address: 127.0.0.2, roles: [worker], ssh: { port: ${port} } }
  - { name: lb-1, address: 127.0.0.3, roles: [load-balancer], ssh: { port: ${port} } }
`, work);
  out = join(work, 'out');
  const g = kpki(['gen', '-p', planFile, '-o', out]);
  assert.is(g.status, 0, g.stderr);
  plan = await loadPlan(planFile);
  hosts = renderHosts(plan, await readStoreFiles(out, plan, plan.nodes.map((n) => n.name))).hosts;
});

const units = (n: string, ...paths: string[]) => restartsFor(plan, host(n))(paths).units;

test('a changed credential restarts exactly the components that read it', () => {
  assert.equal(units('cp-1', 'etc/kubernetes/pki/apiserver.crt'), ['kube-apiserver.service']);
  assert.equal(units('cp-1', 'etc/kubernetes/pki/etcd/peer.key'), ['etcd.service']);
  assert.equal(units('cp-1', 'etc/kubernetes/pki/etcd/ca.crt'), ['etcd.service', 'kube-apiserver.service']);
  assert.equal(units('cp-1', 'etc/kubernetes/pki/sa.key'), ['kube-apiserver.service', 'kube-controller-manager.service']);
  assert.equal(units('cp-1', 'etc/kubernetes/scheduler.conf'), ['kube-scheduler.service']);
  assert.equal(units('cp-1', 'etc/kubernetes/pki/front-proxy-client.crt'), ['kube-apiserver.service']);
  assert.equal(units('w-1', 'etc/kubernetes/kubelet.conf'), ['kubelet.service']);
  assert.equal(units('w-1', 'etc/kubernetes/proxy.conf').length + units('w-1', 'etc/kubernetes/kube-proxy.conf').length, 1);
  // The kubelet's serving pair is named in its config file, not on its command line.
  const serving = host('w-1').files.map((f) => f.path).filter((p) => /kubelet.*\.crt$/.test(p) && !p.includes('client'));
  assert.ok(serving.length > 0, host('w-1').files.map((f) => f.path).join(' '));
  for (const p of serving) assert.equal(units('w-1', p), ['kubelet.service'], p);
  // A unit file: reload and enable it, restart only it.
  const r = restartsFor(plan, host('w-1'))(['etc/systemd/system/kube-proxy.service']);
  assert.equal(r, { daemonReload: true, enable: ['kube-proxy.service'], units: ['kube-proxy.service'] });
  // The RBAC bindings: re-applied when they change.
  assert.equal(units('cp-1', 'etc/kubernetes/kpki/rbac.yaml'), ['kpki-rbac.service']);
  // A binary restarts what runs it; a file nothing reads restarts nothing.
  assert.equal(units('cp-1', 'usr/local/bin/kube-scheduler'), ['kube-scheduler.service']);
  assert.equal(units('cp-1', 'etc/modules-load.d/kubernetes.conf'), []);
  // The load balancer's packaged services.
  assert.equal(restartsFor(plan, host('lb-1'))(['etc/haproxy/haproxy.cfg']), { daemonReload: false, enable: ['haproxy.service'], units: ['haproxy.service'] });
});

test('binaries: what each host\'s units start, etcdctl beside etcd, kubectl on control planes', () => {
  assert.equal(binariesFor(plan, host('cp-1')), ['etcd', 'etcdctl', 'kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kubectl', 'kubelet']);
  assert.equal(binariesFor(plan, host('w-1')), ['kube-proxy', 'kubelet']);
  assert.equal(binariesFor(plan, host('lb-1')), []);
});

test('install --json over SSH: an unreachable host is a failed host in a report valid against its schema; exit 1', () => {
  const r = kpki(['install', '-p', planFile, '-o', out, '--hosts', 'w-1', '--json', '--dry-run']);
  assert.is(r.status, 1, r.stderr);
  const doc = JSON.parse(r.stdout) as { kind: string; hosts: Array<{ node: string; status: string; error: string }> };
  const validate = new Ajv({ allErrors: true, strict: true, formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/ } })
    .compile(JSON.parse(readFileSync(join(ROOT, 'schema/install-hosts-report.schema.json'), 'utf8')) as object);
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  assert.is(doc.kind, 'InstallHostsReport');
  assert.equal(doc.hosts.map((h) => [h.node, h.status]), [['w-1', 'failed']]);
  assert.match(doc.hosts[0]!.error, /^w-1 \(127\.0\.0\.2\): cannot connect: .*refused/);
});

test('install --ansible: host_vars carry each unit with the paths whose change restarts it; --stage with --ansible is refused', () => {
  const dir = join(work, 'playbook');
  const r = kpki(['install', '-p', planFile, '-o', out, '--ansible', dir]);
  assert.is(r.status, 0, r.stderr);
  const vars = load(readFileSync(join(dir, 'host_vars/w-1.yml'), 'utf8')) as { kpki_units: Array<{ unit: string; inputs: string[] }> };
  assert.equal(vars.kpki_units.map((u) => u.unit), ['kubelet.service', 'kube-proxy.service']);
  const kubelet = vars.kpki_units[0]!.inputs;
  assert.ok(kubelet.includes('etc/systemd/system/kubelet.service') && kubelet.includes('etc/kubernetes/kubelet.conf'), kubelet.join(' '));
  assert.not.ok(kubelet.includes('etc/systemd/system/kube-proxy.service'));
  const lb = load(readFileSync(join(dir, 'host_vars/lb-1.yml'), 'utf8')) as { kpki_units: Array<{ unit: string; inputs: string[] }> };
  assert.equal(lb.kpki_units, [{ unit: 'haproxy.service', inputs: ['etc/haproxy/haproxy.cfg', 'etc/haproxy/kubernetes-ca.crt'] }]);
  const inv = load(readFileSync(join(dir, 'inventory.yml'), 'utf8')) as { all: { children: Record<string, { hosts: Record<string, null> }> } };
  assert.equal(Object.keys(inv.all.children.worker!.hosts), ['w-1']);
  const both = kpki(['install', '-p', planFile, '-o', out, '--ansible', dir, '--stage', join(work, 's')]);
  assert.is(both.status, 2);
  assert.match(both.stderr, /--stage and --ansible/);
});

test.run();
