/**
 * Interop with kubectl (client only, offline): every kubeconfig of the ha-cluster and dual-stack
 * outputs is loaded by `kubectl config view` and its names, server URL and CA data are checked
 * against the hand-written expectations in ./expected.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FIXTURES, kpki, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';
import { expectFixture, type FixtureName } from './expected.js';

/**
 * The kubectl binary to run. Google Cloud SDK installs a "kubectl dispatcher" that first asks the
 * kubeconfig's API server for its version (to pick kubectl.1.NN) — on these unroutable
 * documentation addresses every call then waits ~3 s for a connect timeout. When `kubectl` is that
 * dispatcher, run its newest versioned sibling directly: same kubectl, fully offline.
 */
function findKubectl(): string | undefined {
  const v = runSync('kubectl', ['version', '--client']);
  if (v.status !== 0) return undefined;
  if (!/dispatcher/i.test(v.stdout)) return 'kubectl';
  const which = runSync('sh', ['-c', 'command -v kubectl']).stdout.trim();
  try {
    const dir = dirname(realpathSync(which));
    const versioned = readdirSync(dir)
      .map((f) => /^kubectl\.1\.(\d+)$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => Number(b[1]) - Number(a[1]));
    const best = versioned[0];
    if (best) return join(dir, best[0]);
  } catch {
    // fall through to the dispatcher itself
  }
  return 'kubectl';
}

const KUBECTL = findKubectl();
const HAVE_KUBECTL = KUBECTL !== undefined;
const WORK = tempDir('kpki-interop-kubectl-');
// kubectl must not read or write the real ~/.kube.
const ENV = { ...process.env, HOME: WORK, KUBECONFIG: '' };
const FIXTURE_LIST: readonly FixtureName[] = ['ha-cluster', 'dual-stack'];

interface KubeconfigJson {
  clusters?: Array<{ name: string; cluster: { server?: string; 'certificate-authority-data'?: string } }>;
  users?: Array<{ name: string; user: { 'client-certificate-data'?: string; 'client-key-data'?: string } }>;
  contexts?: Array<{ name: string; context: { cluster?: string; user?: string } }>;
  'current-context'?: string;
}

function kubectl(args: readonly string[]): KubeconfigJson {
  const r = runSync(KUBECTL!, args, { env: ENV });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as KubeconfigJson;
}

if (!HAVE_KUBECTL) {
  console.warn('SKIP kubectl.test: `kubectl` is not installed');
  test.skip('kubectl interop (kubectl not installed)', () => {});
} else {
  const outs = new Map<FixtureName, string>();
  test.before(() => {
    for (const name of FIXTURE_LIST) {
      const out = join(WORK, name);
      const r = kpki(['gen', '--plan', join(FIXTURES, `${name}.yaml`), '--out', out]);
      if (r.status !== 0) throw new Error(`kpki gen ${name} exited ${r.status}: ${r.stderr}`);
      outs.set(name, out);
    }
  });

  for (const name of FIXTURE_LIST) {
    const x = expectFixture(name);
    const all = x.nodes.flatMap((n) => n.kubeconfigs.map((k) => ({ node: n.name, k })));

    test(`${name}: kubectl config view --raw reads every kubeconfig with the expected names, server and CA`, () => {
      const out = outs.get(name)!;
      const caPem = readFileSync(join(out, 'pki/ca.crt'), 'utf8');
      assert.ok(all.length > 0);
      for (const { node, k } of all) {
        const label = `${node}:${k.file}`;
        const file = join(out, 'nodes', node, k.file);
        const v = kubectl(['config', 'view', '--raw', '-o', 'json', '--kubeconfig', file]);
        assert.equal(v.clusters?.map((c) => c.name), [k.cluster], `${label}: cluster name`);
        assert.equal(v.users?.map((u) => u.name), [k.user], `${label}: user name`);
        assert.equal(v.contexts?.map((c) => c.name), [k.context], `${label}: context name`);
        assert.is(k.context, `${k.user}@${k.cluster}`);
        assert.equal(v.contexts?.[0]?.context, { cluster: k.cluster, user: k.user }, `${label}: context refers to the cluster and user`);
        assert.is(v['current-context'], k.context, `${label}: current-context`);
        assert.is(v.clusters?.[0]?.cluster.server, k.server, `${label}: server URL`);
        const caData = v.clusters?.[0]?.cluster['certificate-authority-data'] ?? '';
        assert.is(Buffer.from(caData, 'base64').toString('utf8').trim(), caPem.trim(), `${label}: embedded CA = pki/ca.crt`);
        const u = v.users?.[0]?.user ?? {};
        assert.match(Buffer.from(u['client-certificate-data'] ?? '', 'base64').toString('utf8'), /^-----BEGIN CERTIFICATE-----/, `${label}: client cert embedded`);
        assert.match(Buffer.from(u['client-key-data'] ?? '', 'base64').toString('utf8'), /^-----BEGIN (EC|RSA) PRIVATE KEY-----/, `${label}: client key embedded`);
      }
    });

    test(`${name}: kubectl config view --minify --flatten works on every kubeconfig`, () => {
      const out = outs.get(name)!;
      const caPem = readFileSync(join(out, 'pki/ca.crt'), 'utf8');
      for (const { node, k } of all) {
        const label = `${node}:${k.file}`;
        const v = kubectl(['config', 'view', '--minify', '--flatten', '-o', 'json', '--kubeconfig', join(out, 'nodes', node, k.file)]);
        assert.is(v['current-context'], k.context, `${label}: current-context`);
        assert.is(v.clusters?.length, 1, `${label}: one cluster`);
        assert.is(v.clusters?.[0]?.cluster.server, k.server, `${label}: server URL`);
        assert.is(Buffer.from(v.clusters?.[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString('utf8').trim(), caPem.trim(),
          `${label}: flattened CA = pki/ca.crt`);
      }
    });
  }

  test('dual-stack: endpoint and local servers are bracketed IPv6 URLs', () => {
    const x = expectFixture('dual-stack');
    assert.is(x.endpointUrl, 'https://[fd00::10]:6443');
    const cm = x.nodes.find((n) => n.name === 'cp-1')!.kubeconfigs.find((k) => k.file.endsWith('controller-manager.conf'))!;
    assert.is(cm.server, 'https://[fd00::11]:6443');
    const out = outs.get('dual-stack')!;
    for (const [node, server] of [['cp-1', 'https://[fd00::11]:6443'], ['cp-2', 'https://[fd00::12]:6443']] as const) {
      for (const f of ['controller-manager.conf', 'scheduler.conf']) {
        const v = kubectl(['config', 'view', '--raw', '-o', 'json', '--kubeconfig', join(out, 'nodes', node, 'etc/kubernetes', f)]);
        assert.is(v.clusters?.[0]?.cluster.server, server, `${node}:${f}: local server`);
      }
      for (const f of ['admin.conf', 'kubelet.conf', 'kube-proxy.conf']) {
        const v = kubectl(['config', 'view', '--raw', '-o', 'json', '--kubeconfig', join(out, 'nodes', node, 'etc/kubernetes', f)]);
        assert.is(v.clusters?.[0]?.cluster.server, 'https://[fd00::10]:6443', `${node}:${f}: endpoint`);
      }
    }
  });
}

test.after(() => {
  rmSync(WORK, { recursive: true, force: true });
});

test.run();
