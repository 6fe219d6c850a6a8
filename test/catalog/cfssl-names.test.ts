/**
 * The cfssl layout table (pki/layouts/cfssl-names.ts). The guide's names are written out by
 * hand below; a tree built through the table from a real `kpki gen` output is checked with
 * `openssl verify` and by a real etcd member started with the guides' unit flags, which point
 * at /etc/etcd/ssl/{ca,server,server-key}.pem (server.pem doubling as the peer certificate).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { CATALOG } from '../../pki/catalog/entries.js';
import { resolve } from '../../pki/catalog/resolve.js';
import { fileSpecs, nodeRoot, type FileSource } from '../../pki/layout/layout.js';
import { CFSSL_NAMES, cfsslPath, type CatalogId, type CfsslPart } from '../../pki/layout/cfssl-names.js';
import { loadPlan } from '../../pki/plan/load.js';
import { parsePlan } from '../../pki/plan/parse.js';
import type { Plan } from '../../pki/plan/types.js';
import { FIXTURES, kpki, tempDir } from '../support/cli.js';
import { BoundExceeded, SERVER_BOUND_MS, run as runBounded, runSync, start, type BoundedChild } from '../support/proc.js';
import { freePort } from '../support/ports.js';

test('the table names every catalog id, and nothing else', () => {
  assert.equal(Object.keys(CFSSL_NAMES).sort(), CATALOG.map((e) => e.id).sort());
});

test("the guides' names (written by hand)", () => {
  const expected: Array<[CatalogId, CfsslPart, string | undefined]> = [
    ['ca', 'crt', 'etc/kubernetes/ssl/ca.pem'],
    ['ca', 'key', 'etc/kubernetes/ssl/ca-key.pem'],
    ['apiserver', 'crt', 'etc/kubernetes/ssl/server.pem'],
    ['apiserver', 'key', 'etc/kubernetes/ssl/server-key.pem'],
    ['etcd-ca', 'crt', 'etc/etcd/ssl/ca.pem'],
    ['etcd-ca', 'key', 'etc/etcd/ssl/ca-key.pem'],
    ['etcd-server', 'crt', 'etc/etcd/ssl/server.pem'],
    ['etcd-server', 'key', 'etc/etcd/ssl/server-key.pem'],
    ['etcd-peer', 'crt', 'etc/etcd/ssl/peer.pem'],
    ['apiserver-etcd-client', 'crt', 'etc/etcd/ssl/apiserver-etcd-client.pem'],
    ['front-proxy-ca', 'crt', 'etc/kubernetes/ssl/front-proxy-ca.pem'],
    ['sa', 'pub', 'etc/kubernetes/ssl/sa.pub'],
    ['sa', 'key', 'etc/kubernetes/ssl/sa-key.pem'],
    ['kubelet-serving', 'crt', 'etc/kubernetes/ssl/kubelet.crt'],
    ['kubelet-serving', 'key', 'etc/kubernetes/ssl/kubelet.key'],
    ['kube-proxy.conf', 'kubeconfig', 'etc/kubernetes/kube-proxy.kubeconfig'],
    ['kube-proxy.conf', 'crt', 'etc/kubernetes/ssl/kube-proxy.pem'],
    ['kube-proxy.conf', 'key', 'etc/kubernetes/ssl/kube-proxy-key.pem'],
    ['admin.conf', 'crt', 'etc/kubernetes/ssl/admin.pem'],
    ['controller-manager.conf', 'kubeconfig', 'etc/kubernetes/kube-controller-manager.kubeconfig'],
    ['kubelet.conf', 'kubeconfig', 'etc/kubernetes/kubelet.kubeconfig'],
    ['kubelet.conf', 'crt', undefined],
    ['apiserver', 'kubeconfig', undefined],
  ];
  for (const [id, part, path] of expected) assert.is(cfsslPath(id, part), path, `${id} ${part}`);
});

/** The catalog id and cfssl part of one file of the kubeadm layout. */
function target(source: FileSource): string | undefined {
  if (source.from === 'config') return undefined;
  const id = (source.from === 'leaf' ? source.ref.split('@')[0] : source.ref) as CatalogId;
  const part: CfsslPart = source.part;
  return cfsslPath(id, part);
}

/** node → [kubeadm-layout path, cfssl path] for every node file the layout writes. */
function mapping(plan: Plan): Map<string, Array<[string, FileSource, string]>> {
  const out = new Map<string, Array<[string, FileSource, string]>>();
  for (const node of plan.nodes) out.set(node.name, []);
  for (const spec of fileSpecs(resolve(plan))) {
    const node = plan.nodes.find((n) => spec.path.startsWith(`${nodeRoot(n.name)}/`));
    if (!node || spec.source.from === 'config') continue; // the store; kubeadm's config file is no credential
    const to = target(spec.source);
    assert.ok(to, `no cfssl name for ${spec.path}`);
    out.get(node.name)?.push([spec.path, spec.source, to ?? '']);
  }
  return out;
}

for (const fixture of ['single-cp', 'ha-cluster', 'external-etcd', 'dual-stack', 'kubeadm-ha', 'cfssl-binary']) {
  test(`${fixture}: every node file has a cfssl name and no two files of a node share one`, async () => {
    for (const [node, files] of mapping(await loadPlan(join(FIXTURES, `${fixture}.yaml`)))) {
      const names = files.map(([, , to]) => to);
      assert.is(new Set(names).size, names.length, `${node}: ${names.join(', ')}`);
      assert.ok(names.every((n) => !n.startsWith('/') && !n.includes('..')));
    }
  });
}

// ------------------------------------------------------------- a cfssl tree, openssl and etcd

const CFSSL_FIXTURE = readFileSync(join(FIXTURES, 'cfssl-binary.yaml'), 'utf8');
const HAVE_TOOLS = ['openssl', 'etcd', 'etcdctl'].every((t) => runSync('sh', ['-c', `command -v ${t}`]).status === 0);
const work = tempDir('kpki-cfssl-');
const children = new Set<BoundedChild>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** Generates the cfssl-binary plan (kubeadm names, whatever the layout does) and rebuilds each node under cfssl names. */
function cfsslTrees(): { plan: Plan; root: string } {
  // The source tree is kubeadm-named on purpose: the test maps it through the table itself.
  // ECDSA instead of the fixture's RSA-2048 keeps the run short; the names do not depend on it.
  const planText = CFSSL_FIXTURE.replace(/^layout: cfssl\n/m, '').replace('keyAlgorithm: rsa-2048', 'keyAlgorithm: ecdsa-p256');
  assert.not.ok(/layout: cfssl|rsa-2048/.test(planText));
  const planFile = join(work, 'plan.yaml');
  writeFileSync(planFile, planText);
  const out = join(work, 'out');
  const r = kpki(['gen', '--plan', planFile, '--out', out]);
  assert.is(r.status, 0, r.stderr);
  const plan = parsePlan(planText);
  const root = join(work, 'cfssl');
  for (const [node, files] of mapping(plan)) {
    for (const [from, source, to] of files) {
      const bytes = readFileSync(join(out, from));
      const write = (path: string, data: Buffer | string) => {
        mkdirSync(dirname(join(root, node, path)), { recursive: true });
        writeFileSync(join(root, node, path), data);
      };
      write(to, bytes);
      if (source.from === 'leaf' && source.part === 'kubeconfig') {
        // The guides also keep the kubeconfig's client certificate as <name>.pem / <name>-key.pem.
        const id = source.ref.split('@')[0] as CatalogId;
        const user = (parse(bytes.toString('utf8')) as { users: Array<{ user: Record<string, string> }> }).users[0]?.user ?? {};
        const crt = cfsslPath(id, 'crt');
        const key = cfsslPath(id, 'key');
        if (crt) write(crt, Buffer.from(user['client-certificate-data'] ?? '', 'base64'));
        if (key) write(key, Buffer.from(user['client-key-data'] ?? '', 'base64'));
      }
    }
  }
  return { plan, root };
}

function openssl(args: readonly string[]): { code: number | null; out: string } {
  const r = runSync('openssl', args);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}


/** A run killed at its deadline counts as a failed one (code null), as etcdctl's own timeouts do. */
async function run(cmd: string, args: readonly string[], deadlineMs: number): Promise<{ code: number | null; out: string }> {
  try {
    const r = await runBounded(cmd, args, { env: { ...process.env, ETCDCTL_API: '3' }, boundMs: deadlineMs });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  } catch (err) {
    if (err instanceof BoundExceeded) return { code: null, out: `${err.stdout}${err.stderr}(killed at its ${deadlineMs / 1000} s deadline)` };
    throw err;
  }
}

if (!HAVE_TOOLS) {
  console.warn('SKIP cfssl tree test: openssl, etcd or etcdctl missing');
  test.skip('cfssl tree with openssl and etcd (tools missing)', () => {});
} else {
  let trees: { plan: Plan; root: string } | undefined;
  const tree = () => (trees ??= cfsslTrees());

  test('cfssl tree: every certificate verifies with openssl against the CA file of its signer on that node', () => {
    const { plan, root } = tree();
    // One openssl run per node and CA file, over every certificate that CA signed on that node.
    const batches = new Map<string, string[]>();
    for (const leaf of resolve(plan).leaves) {
      const crt = cfsslPath(leaf.entry.id as CatalogId, 'crt');
      if (!crt) continue;
      const ca = join(root, leaf.node.name, cfsslPath(leaf.signer, 'crt') ?? '');
      assert.ok(existsSync(ca), `${leaf.ref}: the node has no ${cfsslPath(leaf.signer, 'crt')}`);
      batches.set(ca, [...(batches.get(ca) ?? []), join(root, leaf.node.name, crt)]);
    }
    let checked = 0;
    for (const [ca, certs] of batches) {
      const r = openssl(['verify', '-CAfile', ca, ...certs]);
      assert.is(r.code, 0, `${ca}: ${r.out}`);
      for (const cert of certs) assert.ok(r.out.includes(`${cert}: OK`), `${cert}: ${r.out}`);
      checked += certs.length;
    }
    // 3 etcd members × (server, peer, healthcheck) + 2 masters × (apiserver, kubelet client,
    // front-proxy client, etcd client, kubelet serving, admin/controller-manager/scheduler/kube-proxy
    // pems) + the worker's kubelet serving and kube-proxy pems: 9 + 18 + 2.
    assert.is(checked, 29);
  });

  test('cfssl tree: the right identity behind each guide name (subjects written by hand)', () => {
    const { root } = tree();
    const subject = (node: string, path: string) => openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253', '-in', join(root, node, path)]).out.trim();
    assert.is(subject('master-1', 'etc/kubernetes/ssl/server.pem'), 'subject=CN=kube-apiserver');
    assert.is(subject('etcd-2', 'etc/etcd/ssl/server.pem'), 'subject=CN=etcd-2');
    assert.is(subject('etcd-2', 'etc/etcd/ssl/peer.pem'), 'subject=CN=etcd-2');
    assert.is(subject('master-2', 'etc/etcd/ssl/apiserver-etcd-client.pem'), 'subject=CN=kube-apiserver-etcd-client');
    assert.is(subject('node-1', 'etc/kubernetes/ssl/kube-proxy.pem'), 'subject=CN=system:kube-proxy');
    assert.is(subject('node-1', 'etc/kubernetes/ssl/kubelet.crt'), 'subject=CN=system:node:node-1,O=system:nodes');
    // The plan names 1.28: admin in system:masters, and no super-admin anywhere.
    assert.is(subject('master-1', 'etc/kubernetes/ssl/admin.pem'), 'subject=CN=kubernetes-admin,O=system:masters');
    assert.not.ok(existsSync(join(root, 'master-1', 'etc/kubernetes/super-admin.kubeconfig')));
    assert.match(subject('master-1', 'etc/kubernetes/ssl/ca.pem'), /^subject=CN=kubernetes,/);
    assert.match(subject('etcd-1', 'etc/etcd/ssl/ca.pem'), /^subject=CN=etcd-ca,/);
    // Workers hold no CA key, no etcd material, no control-plane secret.
    for (const f of ['etc/kubernetes/ssl/ca-key.pem', 'etc/etcd/ssl/ca.pem', 'etc/kubernetes/ssl/sa-key.pem', 'etc/kubernetes/ssl/server.pem']) {
      assert.not.ok(existsSync(join(root, 'node-1', f)), f);
    }
  });

  test("cfssl tree: an etcd member started with the guides' flags serves the API server's etcd client and refuses a Kubernetes-CA cert", async () => {
    const { root } = tree();
    const ssl = join(root, 'etcd-1', 'etc/etcd/ssl');
    const [client, peer] = [await freePort(), await freePort()];
    const member = start(
      'etcd',
      [
        '--name=etcd-1',
        `--data-dir=${join(work, 'etcd-1.etcd')}`,
        `--listen-client-urls=https://127.0.0.1:${client}`,
        `--advertise-client-urls=https://127.0.0.1:${client}`,
        `--listen-peer-urls=https://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=https://127.0.0.1:${peer}`,
        `--initial-cluster=etcd-1=https://127.0.0.1:${peer}`,
        '--initial-cluster-state=new',
        '--listen-metrics-urls=',
        // The guides' unit: server.pem for both client and peer TLS, ca.pem trusted on both sides.
        `--cert-file=${ssl}/server.pem`,
        `--key-file=${ssl}/server-key.pem`,
        `--peer-cert-file=${ssl}/server.pem`,
        `--peer-key-file=${ssl}/server-key.pem`,
        `--trusted-ca-file=${ssl}/ca.pem`,
        `--peer-trusted-ca-file=${ssl}/ca.pem`,
        '--client-cert-auth',
        '--peer-client-cert-auth',
      ],
      { stdio: 'ignore', boundMs: SERVER_BOUND_MS },
    );
    children.add(member);
    try {
      const master = join(root, 'master-1');
      const ctl = (cert: string, key: string, ...args: string[]) =>
        run('etcdctl', ['--dial-timeout=1s', '--command-timeout=2s', `--endpoints=https://127.0.0.1:${client}`,
          `--cacert=${master}/etc/etcd/ssl/ca.pem`, `--cert=${master}/${cert}`, `--key=${master}/${key}`, ...args], 10_000);
      const apiserver = ['etc/etcd/ssl/apiserver-etcd-client.pem', 'etc/etcd/ssl/apiserver-etcd-client-key.pem'] as const;
      let health = { code: null as number | null, out: '' };
      for (let i = 0; i < 50 && health.code !== 0; i++) {
        assert.is(member.exitCode, null, 'etcd exited early');
        health = await ctl(...apiserver, 'endpoint', 'health');
        if (health.code !== 0) await new Promise((r) => setTimeout(r, 200));
      }
      assert.is(health.code, 0, health.out);
      assert.match(health.out, 'is healthy');
      assert.is((await ctl(...apiserver, 'put', '/kpki/cfssl', 'ok')).code, 0);
      assert.match((await ctl(...apiserver, 'get', '/kpki/cfssl', '--print-value-only')).out, 'ok');
      // kube-proxy.pem is signed by the Kubernetes CA, not the etcd CA: refused.
      const refused = await ctl('etc/kubernetes/ssl/kube-proxy.pem', 'etc/kubernetes/ssl/kube-proxy-key.pem', 'get', '/kpki/cfssl');
      assert.is.not(refused.code, 0, refused.out);
    } finally {
      member.kill('SIGKILL');
      children.delete(member);
    }
  });
}

test.run();
