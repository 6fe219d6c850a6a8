/**
 * RBAC manifests for binary installs. Expectations are written by hand: kubeadm's binding
 * (kubeadm-bridge.md §4: name kubeadm:cluster-admins, ClusterRole cluster-admin, Group subject)
 * and the kubelet API role (kubernetes-pki.md §7: system:kubelet-api-admin, not bound by default).
 *
 * kubectl cannot run `apply --dry-run=client` without an API server: it needs discovery to map
 * the kind. The test serves discovery from a stub (the rbac.authorization.k8s.io/v1 resource list,
 * 404 for everything else) and runs `kubectl apply --dry-run=client --validate=false`: kubectl
 * parses the stream, maps every kind, requires names, looks each object up (404) and reports it
 * as created. Schema validation is off because kubectl downloads the OpenAPI v2 schema as
 * protobuf, which the stub does not serve; the field names are checked below against the json
 * tags of k8s.io/api/rbac/v1 (ClusterRoleBinding, RoleRef, Subject), written out by hand.
 */
import { mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { parsePlan } from '../../pki/plan/parse.js';
import type { Plan } from '../../pki/plan/types.js';
import { rbacManifests } from '../../pki/issue/rbac.js';
import { run, runSync } from '../support/proc.js';

function plan(version?: string): Plan {
  return parsePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
${version === undefined ? '' : `kubernetesVersion: "${version}"\n`}nodes:
  - { name: cp-1, address: 10.0.0.1, roles: [control-plane] }
  - { name: w-1, address: 10.0.0.2, roles: [worker] }
`);
}

const EXPECTED_1_29 = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'kubeadm:cluster-admins', labels: { 'app.kubernetes.io/managed-by': 'kpki' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubeadm:cluster-admins' }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'kpki:kube-apiserver-kubelet-client', labels: { 'app.kubernetes.io/managed-by': 'kpki' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:kubelet-api-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'kube-apiserver-kubelet-client' }],
  },
];

function docs(text: string): unknown[] {
  return parseAllDocuments(text).map((d) => {
    assert.equal(d.errors, []);
    return d.toJS() as unknown;
  });
}

for (const version of [undefined, '1.29', 'v1.31.2']) {
  test(`Kubernetes ${version ?? '(not named)'}: the kubeadm:cluster-admins binding and the kubelet API binding`, () => {
    assert.equal(docs(rbacManifests(plan(version))), EXPECTED_1_29);
  });
}

for (const version of ['1.20', 'v1.28.15']) {
  test(`Kubernetes ${version}: nothing to bind (admin identities are in system:masters)`, () => {
    assert.is(rbacManifests(plan(version)), '');
  });
}

/** json tags of k8s.io/api/rbac/v1 ClusterRoleBinding, RoleRef, Subject and the ObjectMeta fields used. */
const RBAC_V1_KEYS: Record<string, readonly string[]> = {
  '': ['apiVersion', 'kind', 'metadata', 'subjects', 'roleRef'],
  metadata: ['name', 'labels'],
  roleRef: ['apiGroup', 'kind', 'name'],
  subjects: ['kind', 'apiGroup', 'name', 'namespace'],
};

test('every field is a json tag of the rbac/v1 types', () => {
  for (const doc of docs(rbacManifests(plan())) as Array<Record<string, unknown>>) {
    for (const [path, allowed] of Object.entries(RBAC_V1_KEYS)) {
      const value = path === '' ? doc : doc[path];
      const objects = Array.isArray(value) ? value : [value];
      for (const o of objects as Array<Record<string, unknown>>) {
        for (const key of Object.keys(o)) assert.ok(allowed.includes(key), `${path || '(top)'}.${key}`);
      }
    }
  }
});

// ------------------------------------------------------------------------- kubectl

/** The kubectl binary; Google Cloud SDK's dispatcher is bypassed for its newest versioned sibling. */
function findKubectl(): string | undefined {
  const v = runSync('kubectl', ['version', '--client']);
  if (v.status !== 0) return undefined;
  if (!/dispatcher/i.test(v.stdout)) return 'kubectl';
  const which = runSync('sh', ['-c', 'command -v kubectl']).stdout.trim();
  const dir = dirname(realpathSync(which));
  const best = readdirSync(dir)
    .map((f) => /^kubectl\.1\.(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]))[0];
  return best ? join(dir, best[0]) : 'kubectl';
}

const RBAC_RESOURCES = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'rbac.authorization.k8s.io/v1',
  resources: [
    { name: 'clusterrolebindings', singularName: 'clusterrolebinding', namespaced: false, kind: 'ClusterRoleBinding', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
    { name: 'clusterroles', singularName: 'clusterrole', namespaced: false, kind: 'ClusterRole', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
  ],
};

/** Discovery for rbac.authorization.k8s.io/v1 only; every object lookup is a 404. */
function discoveryStub(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '').split('?')[0];
    if (path === '/api') return reply(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    if (path === '/api/v1') return reply(200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [] });
    if (path === '/apis') {
      const v1 = { groupVersion: 'rbac.authorization.k8s.io/v1', version: 'v1' };
      return reply(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: 'rbac.authorization.k8s.io', versions: [v1], preferredVersion: v1 }] });
    }
    if (path === '/apis/rbac.authorization.k8s.io/v1') return reply(200, RBAC_RESOURCES);
    return reply(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' });
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    ok({ server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` });
  }));
}

const KUBECTL = findKubectl();

if (KUBECTL === undefined) {
  console.warn('SKIP rbac kubectl test: `kubectl` is not installed');
  test.skip('kubectl apply --dry-run=client (kubectl not installed)', () => {});
} else {
  const work = mkdtempSync(join(tmpdir(), 'kpki-rbac-'));
  const apply = (url: string, manifest: string) => {
    const file = join(work, `m-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, manifest);
    // Async: the stub answers from this process's event loop.
    return run(KUBECTL, ['--server', url, 'apply', '--dry-run=client', '--validate=false', '-f', file], { env: { ...process.env, HOME: work, KUBECONFIG: '' } })
      .then((r) => ({ code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr }));
  };

  test('kubectl apply --dry-run=client accepts the manifests', async () => {
    const { server, url } = await discoveryStub();
    try {
      const r = await apply(url, rbacManifests(plan()));
      assert.is(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim().split('\n'), [
        'clusterrolebinding.rbac.authorization.k8s.io/kubeadm:cluster-admins created (dry run)',
        'clusterrolebinding.rbac.authorization.k8s.io/kpki:kube-apiserver-kubelet-client created (dry run)',
      ]);
      // The same setup refuses what kubectl can tell is wrong: an unknown kind, a missing name.
      const typo = await apply(url, rbacManifests(plan()).replace('kind: ClusterRoleBinding', 'kind: ClusterRoleBindng'));
      assert.is.not(typo.code, 0);
      assert.match(typo.stderr, 'ClusterRoleBindng');
      const nameless = await apply(url, rbacManifests(plan()).replace('name: kubeadm:cluster-admins\n', ''));
      assert.is.not(nameless.code, 0);
      assert.match(nameless.stderr, 'resource name may not be empty');
    } finally {
      server.close();
    }
  });

  test.after(() => rmSync(work, { recursive: true, force: true }));
}

test.run();
