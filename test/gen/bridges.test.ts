/**
 * The bridges wired into generation: layouts (kubeadm / cfssl) for writing, reading back and
 * moving files; deploy: kubeadm trees that kubeadm's preflight accepts, with their kubeadm
 * configuration; the join secrets kept in the store; the binary flow's RBAC file; and the
 * in-memory pipeline against the disk one, byte for byte, for every fixture.
 * Expected file names and command lines are written out by hand.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import type { Deps, KeyMaterial } from '../../pki/deps.js';
import { KpkiError } from '../../pki/errors.js';
import { generate, generateFiles } from '../../pki/gen/generate.js';
import { joinFacts } from '../../pki/kubeadm/join-secrets.js';
import { diskSink } from '../../pki/sinks/disk.js';
import { bootstrapToken, caCertHash, certificateKey } from '../../pki/kubeadm/join.js';
import { preflightViolations, type KubeadmRole } from '../../pki/kubeadm/preflight.js';
import { loadPlan } from '../../pki/plan/load.js';
import { parsePlan } from '../../pki/plan/parse.js';
import type { KeyAlgorithm, Plan } from '../../pki/plan/types.js';
import type { MemoryFile } from '../../pki/sinks/memory.js';
import { generateKey } from '../../pki/x509/keys.js';
import { FIXTURES, hashTree, kpki, listFiles, modeOf, tempDir, writePlan } from '../support/cli.js';

const work = tempDir('kpki-bridges-');
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
let n = 0;
const dir = () => join(work, `o${n++}`);

// ------------------------------------------------------------ memory == disk, every fixture

/**
 * Deterministic deps: a fixed clock, a SHA-256 counter stream for randomness (serials, token),
 * keys drawn in call order from a pool made once. RSA everywhere: ECDSA signatures take a random
 * nonce inside OpenSSL, which no dep reaches, so only RSA (PKCS#1 v1.5) signs byte-identically.
 */
const POOL: KeyMaterial[] = [];
async function deterministicDeps(): Promise<Deps> {
  while (POOL.length < 5) POOL.push(await generateKey('rsa-2048'));
  let counter = 0;
  let keys = 0;
  return {
    now: () => new Date('2031-02-03T04:05:06Z'),
    randomBytes: (size) => {
      const out = new Uint8Array(size);
      for (let i = 0; i < size; i += 32) out.set(createHash('sha256').update(`kpki-test-${counter++}`).digest().subarray(0, Math.min(32, size - i)), i);
      return out;
    },
    generateKey: async (alg: KeyAlgorithm) => {
      assert.is(alg, 'rsa-2048');
      return POOL[keys++ % POOL.length]!;
    },
  };
}
const rsa = (p: Plan): Plan => ({ ...p, pki: { ...p.pki, keyAlgorithm: 'rsa-2048' } });
const FIXTURE_NAMES = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml')).sort();

test('the fixtures are the six plans (so the loop below covers every one)', () => {
  assert.equal(FIXTURE_NAMES, ['cfssl-binary.yaml', 'dual-stack.yaml', 'external-etcd.yaml', 'ha-cluster.yaml', 'kubeadm-ha.yaml', 'single-cp.yaml']);
});

for (const fixture of FIXTURE_NAMES) {
  test(`${fixture}: generateFiles (memory) equals the disk run byte for byte, modes included`, async () => {
    const plan = rsa(await loadPlan(join(FIXTURES, fixture)));
    const out = dir();
    const disk = await generate(plan, { out, deps: await deterministicDeps() });
    const mem = await generateFiles(plan, { deps: await deterministicDeps() });
    // The disk sink's tree index is its own cache of what it wrote; the memory sink has none.
    const onDisk = listFiles(out).filter((f) => f !== '.kpki-tree-index');
    assert.equal([...mem.files.keys()].sort(), onDisk);
    for (const f of onDisk) {
      assert.ok(mem.files.get(f)!.content === readFileSync(join(out, f), 'utf8'), `${f}: bytes differ`);
      assert.is(mem.files.get(f)!.mode, modeOf(join(out, f)), `${f}: mode`);
    }
    assert.equal(mem.report.items, disk.items);
    assert.equal(mem.report.files, disk.files);
    // Not vacuous: the certificates are real and chain to the CA.
    const ca = new X509Certificate(readFileSync(join(out, 'pki/ca.crt')));
    const kubelet = onDisk.find((f) => f.endsWith('kubelet.crt'))!;
    assert.ok(new X509Certificate(readFileSync(join(out, kubelet))).verify(ca.publicKey), kubelet);
  });
}

// ------------------------------------------------------------------------------- cfssl layout

const CFSSL = readFileSync(join(FIXTURES, 'cfssl-binary.yaml'), 'utf8').replace('keyAlgorithm: rsa-2048', 'keyAlgorithm: ecdsa-p256');
const cfsslPlan = (layout: 'cfssl' | 'kubeadm') => writePlan(CFSSL.replace('layout: cfssl', `layout: ${layout}`), tempDir());
const cfsslOut = dir();

test("layout cfssl: the guides' file names in each tree, nothing else", () => {
  const r = kpki(['gen', '--plan', cfsslPlan('cfssl'), '--out', cfsslOut]);
  assert.is(r.status, 0, r.stderr);
  const tree = (node: string) => listFiles(join(cfsslOut, 'nodes', node));
  assert.equal(tree('node-1'), [
    'etc/kubernetes/kube-proxy.kubeconfig',
    'etc/kubernetes/kubelet.kubeconfig',
    'etc/kubernetes/ssl/ca.pem',
    'etc/kubernetes/ssl/kube-proxy-key.pem',
    'etc/kubernetes/ssl/kube-proxy.pem',
    'etc/kubernetes/ssl/kubelet.crt',
    'etc/kubernetes/ssl/kubelet.key',
  ]);
  assert.equal(tree('etcd-2'), [
    'etc/etcd/ssl/ca.pem',
    'etc/etcd/ssl/healthcheck-client-key.pem',
    'etc/etcd/ssl/healthcheck-client.pem',
    'etc/etcd/ssl/peer-key.pem',
    'etc/etcd/ssl/peer.pem',
    'etc/etcd/ssl/server-key.pem',
    'etc/etcd/ssl/server.pem',
  ]);
  const master = tree('master-1');
  for (const f of ['etc/kubernetes/ssl/ca.pem', 'etc/kubernetes/ssl/ca-key.pem', 'etc/kubernetes/ssl/server.pem', 'etc/kubernetes/ssl/server-key.pem',
    'etc/kubernetes/ssl/sa.pub', 'etc/kubernetes/ssl/sa-key.pem', 'etc/etcd/ssl/ca.pem', 'etc/etcd/ssl/apiserver-etcd-client.pem',
    'etc/kubernetes/admin.kubeconfig', 'etc/kubernetes/ssl/admin.pem', 'etc/kubernetes/kube-controller-manager.kubeconfig']) {
    assert.ok(master.includes(f), `master-1 lacks ${f}`);
  }
  assert.ok(master.every((f) => f.startsWith('etc/kubernetes/') || f.startsWith('etc/etcd/ssl/')), master.join('\n'));
  // 1.28: no super-admin anywhere; the separate admin.pem is the kubeconfig's own client cert.
  assert.not.ok(master.some((f) => f.includes('super-admin')));
  const conf = parse(readFileSync(join(cfsslOut, 'nodes/master-1/etc/kubernetes/admin.kubeconfig'), 'utf8')) as { users: Array<{ user: Record<string, string> }> };
  assert.is(Buffer.from(conf.users[0]!.user['client-certificate-data']!, 'base64').toString(), readFileSync(join(cfsslOut, 'nodes/master-1/etc/kubernetes/ssl/admin.pem'), 'utf8'));
  assert.is(modeOf(join(cfsslOut, 'nodes/master-1/etc/kubernetes/ssl/admin-key.pem')), 0o600);
});

test('layout cfssl: a re-run reads the cfssl names back and writes nothing', async () => {
  const before = hashTree(cfsslOut);
  const report = await generate(await loadPlan(cfsslPlan('cfssl')), { out: cfsslOut });
  assert.is(report.changed, false);
  assert.ok(report.items.every((i) => i.action === 'keep'), report.items.filter((i) => i.action !== 'keep').map((i) => i.ref).join(', '));
  assert.equal([...hashTree(cfsslOut)], [...before]);
});

test('switching layout moves the files: only the apiservers reissued (cfssl adds 127.0.0.1), old names removed with the reason and backed up', () => {
  const out = dir();
  assert.is(kpki(['gen', '--plan', cfsslPlan('kubeadm'), '--out', out]).status, 0);
  const old = readFileSync(join(out, 'nodes/master-1/etc/kubernetes/pki/apiserver.crt'), 'utf8');
  const client = readFileSync(join(out, 'nodes/master-1/etc/kubernetes/pki/apiserver-kubelet-client.crt'), 'utf8');
  const r = kpki(['gen', '--plan', cfsslPlan('cfssl'), '--out', out, '--json']);
  assert.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { items: Array<{ action: string; ref: string; reasons: string[] }>; files: Array<{ path: string; action: string; reason?: string; backup?: string }> };
  assert.equal(report.items.filter((i) => i.action === 'issue').map((i) => [i.ref, i.reasons]), [
    ['apiserver@master-1', ['IP SANs changed: +127.0.0.1']],
    ['apiserver@master-2', ['IP SANs changed: +127.0.0.1']],
  ]);
  assert.is(readFileSync(join(out, 'nodes/master-1/etc/kubernetes/ssl/apiserver-kubelet-client.pem'), 'utf8'), client, 'the same certificate, moved');
  const removed = report.files.find((f) => f.path === 'nodes/master-1/etc/kubernetes/pki/apiserver.crt')!;
  assert.is(removed.action, 'removed');
  assert.is(removed.reason, "apiserver has its kubeadm-layout name here; the plan's layout is cfssl (now etc/kubernetes/ssl/server.pem)");
  assert.is(readFileSync(join(out, removed.backup!), 'utf8'), old);
  assert.not.ok(existsSync(join(out, 'nodes/master-1/etc/kubernetes/pki')), 'the emptied kubeadm directory is gone');
  assert.equal(listFiles(join(out, 'nodes/node-1')), listFiles(join(cfsslOut, 'nodes/node-1')));
});

// ------------------------------------------------------------------------------- deploy: kubeadm

const KUBEADM_HA = readFileSync(join(FIXTURES, 'kubeadm-ha.yaml'), 'utf8');
const EXTERNAL_KUBEADM = `apiVersion: kpki/v1alpha1
kind: Cluster
kubernetesVersion: v1.28.4
deploy: kubeadm
controlPlaneEndpoint: 10.0.0.100:6443
etcd: { external: true }
nodes:
  - { name: e-1, address: 10.0.0.5, roles: [etcd] }
  - { name: cp-1, address: 10.0.0.1, roles: [control-plane] }
  - { name: cp-2, address: 10.0.0.2, roles: [control-plane] }
  - { name: w-1, address: 10.0.0.9, roles: [worker] }
`;

/** Node name → its tree's files (root-relative) in a generated file set. */
function trees(files: ReadonlyMap<string, MemoryFile>): Map<string, Map<string, MemoryFile>> {
  const out = new Map<string, Map<string, MemoryFile>>();
  for (const [path, f] of files) {
    const m = /^nodes\/([^/]+)\/(.+)$/.exec(path);
    if (!m) continue;
    if (!out.has(m[1]!)) out.set(m[1]!, new Map());
    out.get(m[1]!)!.set(m[2]!, f);
  }
  return out;
}

for (const [name, text, init] of [['kubeadm-ha', KUBEADM_HA, 'cp-1.example.internal'], ['external etcd 1.28', EXTERNAL_KUBEADM, 'cp-1']] as const) {
  test(`deploy kubeadm (${name}): every tree passes kubeadm preflight for its command, and its config names files the tree has`, async () => {
    const plan = parsePlan(text);
    const { files } = await generateFiles(plan);
    let checked = 0;
    for (const node of plan.nodes) {
      const tree = trees(files).get(node.name) ?? new Map<string, MemoryFile>();
      const cp = node.roles.includes('control-plane');
      if (!cp && !node.roles.includes('worker')) {
        assert.not.ok(tree.has('etc/kubernetes/kubeadm-config.yaml'), `${node.name} runs no kubeadm`);
        continue;
      }
      const role: KubeadmRole = node.name === init ? 'init' : cp ? 'join-control-plane' : 'join-worker';
      assert.equal(preflightViolations(plan, role, tree.keys()).map((v) => `${v.check.name} ${v.file}`), [], `${node.name} (${role})`);
      const config = tree.get('etc/kubernetes/kubeadm-config.yaml');
      assert.ok(config, `${node.name}: no kubeadm-config.yaml`);
      assert.is(config.mode, 0o600, 'it holds the token');
      const docs = parseAllDocuments(config.content).map((d) => d.toJS() as Record<string, any>);
      assert.equal(docs.map((d) => d['kind']), role === 'init' ? ['InitConfiguration', 'ClusterConfiguration'] : ['JoinConfiguration']);
      const has = (abs: string) => assert.ok(tree.has(abs.slice(1)), `${node.name}: the config names ${abs}, the tree lacks it`);
      if (role === 'init') {
        const cluster = docs[1]!;
        assert.is(cluster['certificatesDir'], '/etc/kubernetes/pki');
        for (const f of ['ca.crt', 'ca.key', 'sa.key', 'sa.pub', 'front-proxy-ca.crt', 'apiserver.crt', 'apiserver-kubelet-client.crt', 'front-proxy-client.crt']) has(`/etc/kubernetes/pki/${f}`);
        const external = cluster['etcd']['external'];
        if (plan.etcd.external) {
          assert.equal(external['endpoints'], ['https://10.0.0.5:2379']);
          for (const k of ['caFile', 'certFile', 'keyFile']) has(external[k]);
        } else assert.is(external, undefined);
        assert.ok(tree.has('etc/kubernetes/kubelet.conf'), 'kubeadm init uses the init node\'s kubelet.conf');
      } else {
        const discovery = docs[0]!['discovery']['bootstrapToken'];
        assert.match(discovery['token'], /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
        assert.equal(discovery['caCertHashes'], [caCertHash(files.get('pki/ca.crt')!.content)]);
        assert.is(docs[0]!['controlPlane'] !== undefined, cp);
        assert.not.ok(tree.has('etc/kubernetes/kubelet.conf'));
      }
      if (role === 'join-worker') {
        assert.equal([...tree.keys()].sort(), ['etc/kubernetes/kubeadm-config.yaml', 'var/lib/kubelet/pki/kubelet.crt', 'var/lib/kubelet/pki/kubelet.key']);
      }
      assert.not.ok(tree.has('etc/kubernetes/kube-proxy.conf'), 'kubeadm runs kube-proxy with a service account');
      checked++;
    }
    assert.is(checked, plan.etcd.external ? 3 : 5);
  });
}

test('binary → kubeadm: the files kubeadm join refuses leave the trees, each with the reason, backed up', () => {
  const out = dir();
  const binary = writePlan(KUBEADM_HA.replace('deploy: kubeadm', 'deploy: binary'), tempDir());
  assert.is(kpki(['gen', '--plan', binary, '--out', out]).status, 0);
  assert.ok(existsSync(join(out, 'nodes/worker-1.example.internal/etc/kubernetes/kubelet.conf')));
  assert.ok(existsSync(join(out, 'pki/rbac.yaml')), 'a 1.31 binary install gets the RBAC file');
  const r = kpki(['gen', '--plan', join(FIXTURES, 'kubeadm-ha.yaml'), '--out', out, '--json']);
  assert.is(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as { files: Array<{ path: string; action: string; reason?: string; backup?: string }> }).files;
  const why = (p: string) => files.find((f) => f.path === p && f.action === 'removed')?.reason;
  const w = 'nodes/worker-1.example.internal/etc/kubernetes';
  assert.is(why(`${w}/kubelet.conf`), 'kubeadm join makes kubelet.conf by TLS bootstrap and its preflight refuses an existing one; only the init node gets it');
  assert.is(why(`${w}/pki/ca.crt`), 'kubeadm join writes pki/ca.crt on a worker itself (from discovery) and its preflight refuses an existing one');
  assert.is(why(`${w}/kube-proxy.conf`), 'kubeadm runs kube-proxy as a DaemonSet with a service-account token; nothing reads kube-proxy.conf');
  assert.is(why('nodes/cp-2.example.internal/etc/kubernetes/kubelet.conf'), 'kubeadm join makes kubelet.conf by TLS bootstrap and its preflight refuses an existing one; only the init node gets it');
  assert.is(why('nodes/cp-1.example.internal/etc/kubernetes/kubelet.conf'), undefined, 'the init node keeps it');
  assert.ok(files.filter((f) => f.action === 'removed').every((f) => f.backup && existsSync(join(out, f.backup))));
  assert.equal(listFiles(join(out, 'nodes/worker-1.example.internal')), ['etc/kubernetes/kubeadm-config.yaml', 'var/lib/kubelet/pki/kubelet.crt', 'var/lib/kubelet/pki/kubelet.key']);
});

// ------------------------------------------------------------------------------- join secrets

const joinOut = dir();
let firstToken = '';

test('the bootstrap token is made once, kept in pki/join.json (0600), and never in the report', () => {
  const r = kpki(['gen', '--plan', join(FIXTURES, 'kubeadm-ha.yaml'), '--out', joinOut, '--json']);
  assert.is(r.status, 0, r.stderr);
  const stored = JSON.parse(readFileSync(join(joinOut, 'pki/join.json'), 'utf8')) as { token: string; certificateKey: string };
  assert.match(stored.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  assert.match(stored.certificateKey, /^[0-9a-f]{64}$/);
  assert.is(statSync(join(joinOut, 'pki/join.json')).mode & 0o777, 0o600);
  firstToken = stored.token;
  assert.not.ok(r.stdout.includes(stored.token) || r.stderr.includes(stored.token), 'token in --json output');
  assert.not.ok(r.stdout.includes(stored.certificateKey), 'certificate key in --json output');
  assert.match(readFileSync(join(joinOut, 'nodes/worker-2.example.internal/etc/kubernetes/kubeadm-config.yaml'), 'utf8'), `token: ${stored.token}`);
  const human = kpki(['gen', '--plan', join(FIXTURES, 'kubeadm-ha.yaml'), '--out', joinOut]);
  assert.is(human.status, 0, human.stderr);
  assert.not.ok(human.stdout.includes(stored.token) || human.stderr.includes(stored.token));
  assert.match(human.stdout, /Nothing to do/);
});

test('a re-run reuses the token: join.json and every kubeadm config unchanged', () => {
  const before = hashTree(joinOut);
  assert.is(kpki(['gen', '--plan', join(FIXTURES, 'kubeadm-ha.yaml'), '--out', joinOut]).status, 0);
  assert.equal([...hashTree(joinOut)], [...before]);
  assert.is((JSON.parse(readFileSync(join(joinOut, 'pki/join.json'), 'utf8')) as { token: string }).token, firstToken);
});

test('kpki join-command: the kubeadm join line for a worker and a control plane; refused for the init node and non-kubelet nodes', async () => {
  const plan = join(FIXTURES, 'kubeadm-ha.yaml');
  const hash = kpki(['ca-hash', '--out', joinOut]).stdout.trim();
  assert.match(hash, /^sha256:[0-9a-f]{64}$/);
  const worker = kpki(['join-command', 'worker-1.example.internal', '--plan', plan, '--out', joinOut]);
  assert.is(worker.status, 0, worker.stderr);
  assert.is(worker.stdout, `kubeadm join k8s-api.example.internal:6443 --token ${firstToken} --discovery-token-ca-cert-hash ${hash} --node-name worker-1.example.internal\n`);
  const cp = kpki(['join-command', 'cp-3.example.internal', '--plan', plan, '--out', joinOut]);
  assert.is(cp.status, 0, cp.stderr);
  assert.is(cp.stdout, `kubeadm join k8s-api.example.internal:6443 --token ${firstToken} --discovery-token-ca-cert-hash ${hash} --control-plane --apiserver-advertise-address 192.0.2.13 --node-name cp-3.example.internal\n`);
  assert.not.match(cp.stdout, /certificate-key/);
  const init = kpki(['join-command', 'cp-1.example.internal', '--plan', plan, '--out', joinOut]);
  assert.is(init.status, 2);
  assert.match(init.stderr, 'cp-1.example.internal is the init node: run `kubeadm init --config /etc/kubernetes/kubeadm-config.yaml` there');
  const lb = kpki(['join-command', 'lb.example.internal', '--plan', plan, '--out', joinOut]);
  assert.is(lb.status, 2);
  assert.match(lb.stderr, 'lb.example.internal runs no kubelet');
  const binary = kpki(['join-command', 'node-1', '--plan', join(FIXTURES, 'cfssl-binary.yaml'), '--out', joinOut]);
  assert.is(binary.status, 2);
  assert.match(binary.stderr, 'deploy: binary');
  // The library object carries the same facts.
  const facts = await joinFacts(await loadPlan(plan), diskSink(joinOut));
  assert.equal({ ...facts, certificateKey: facts.certificateKey.length }, { endpoint: 'k8s-api.example.internal:6443', token: firstToken, caCertHash: hash, certificateKey: 64, initNode: 'cp-1.example.internal' });
});

// ------------------------------------------------------------------------------- binary RBAC

test('binary installs: pki/rbac.yaml binds kubeadm:cluster-admins on 1.29+, and is not written for 1.28', async () => {
  const v131 = parsePlan(KUBEADM_HA.replace('deploy: kubeadm', 'deploy: binary'));
  const { files } = await generateFiles(v131);
  const docs = parseAllDocuments(files.get('pki/rbac.yaml')!.content).map((d) => d.toJS() as Record<string, any>);
  assert.equal(docs.map((d) => [d['kind'], d['metadata']['name'], d['roleRef']['name'], d['subjects'][0]['name']]), [
    ['ClusterRoleBinding', 'kubeadm:cluster-admins', 'cluster-admin', 'kubeadm:cluster-admins'],
    ['ClusterRoleBinding', 'kpki:kube-apiserver-kubelet-client', 'system:kubelet-api-admin', 'kube-apiserver-kubelet-client'],
  ]);
  assert.is(files.get('pki/rbac.yaml')!.mode, 0o644);
  assert.not.ok((await generateFiles(parsePlan(CFSSL))).files.has('pki/rbac.yaml'));
  assert.not.ok((await generateFiles(parsePlan(KUBEADM_HA))).files.has('pki/rbac.yaml'), 'kubeadm makes its own bindings');
});

// ------------------------------------------------------------------------------- embeddable API

test('caCertHash takes the CA as PEM or as SPKI DER; token and certificate key need no arguments', () => {
  const pem = readFileSync(join(joinOut, 'pki/ca.crt'), 'utf8');
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  assert.is(caCertHash(pem), `sha256:${createHash('sha256').update(spki).digest('hex')}`);
  assert.is(caCertHash(new Uint8Array(spki)), caCertHash(pem));
  assert.throws(() => caCertHash('not a certificate'), (e: unknown) => e instanceof KpkiError && e.code === 'ERR_PEM_INVALID');
  const [a, b] = [bootstrapToken(), bootstrapToken()];
  assert.match(a, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  assert.is.not(a, b);
  assert.match(certificateKey(), /^[0-9a-f]{64}$/);
});

test('a dry run reports, for each credential to be issued, its SANs, identity and NotAfter', async () => {
  const plan = parsePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: api.example.internal:6443
pki: { certValidity: 2160h }
nodes:
  - { name: cp-1, address: 10.1.0.1, roles: [control-plane] }
`);
  const now = new Date('2032-05-06T07:08:09Z');
  const { report, files } = await generateFiles(plan, { dryRun: true, deps: { now: () => now } });
  assert.is(files.size, 0, 'nothing written');
  const api = report.items.find((i) => i.ref === 'apiserver@cp-1')!;
  assert.equal(
    { action: api.action, cn: api.cn, o: api.o, dns: api.dns, ips: api.ips, notAfter: api.notAfter },
    {
      action: 'issue', cn: 'kube-apiserver', o: [],
      dns: ['api.example.internal', 'cp-1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
      ips: ['10.96.0.1', '10.1.0.1'], notAfter: '2032-08-04T07:08:09.000Z',
    },
  );
  const admin = report.items.find((i) => i.ref === 'admin.conf@cp-1')!;
  assert.equal([admin.cn, admin.o], ['kubernetes-admin', ['kubeadm:cluster-admins']]);
});

test('loadPlan: a missing file is ERR_IO naming it; the CLI exits 2 with the file named', async () => {
  const missing = join(work, 'nope.yaml');
  try {
    await loadPlan(missing);
    assert.unreachable();
  } catch (e) {
    assert.is((e as KpkiError).code, 'ERR_IO');
    assert.match((e as Error).message, missing);
  }
  for (const args of [['gen', '--plan', missing, '--out', dir()], ['join-command', 'x', '--plan', missing]]) {
    const r = kpki(args);
    assert.is(r.status, 2, r.stderr);
    assert.is(r.stderr, `kpki: ${missing}: cannot read the plan: no such file\n`);
  }
});

// ------------------------------------------------------------------------------- kpki init

test('kpki init writes a commented starter plan that gen accepts, and never overwrites one', () => {
  const d = tempDir();
  const r = kpki(['init'], { cwd: d });
  assert.is(r.status, 0, r.stderr);
  const text = readFileSync(join(d, 'cluster.yaml'), 'utf8');
  assert.match(text, /^# yaml-language-server: \$schema=/);
  assert.match(text, /\n# How the cluster is assembled:/);
  const plan = parsePlan(text, 'cluster.yaml');
  assert.equal([plan.deploy, plan.layout, plan.nodes.length, plan.initNode], ['kubeadm', 'kubeadm', 4, 'cp-1']);
  const dry = kpki(['gen', '--plan', 'cluster.yaml', '--out', 'out', '--dry-run'], { cwd: d });
  assert.is(dry.status, 0, dry.stderr);
  const again = kpki(['init'], { cwd: d });
  assert.is(again.status, 3);
  assert.match(again.stderr, 'cluster.yaml exists; kpki init never overwrites a plan');
  assert.is(readFileSync(join(d, 'cluster.yaml'), 'utf8'), text);
  assert.is(kpki(['init', '--stdout']).stdout, text);
  assert.not.match(kpki(['gen', '--help']).stdout, /fixtures\//, 'gen --help points at kpki init, not at fixtures/');
  rmSync(d, { recursive: true, force: true });
});

test.run();
