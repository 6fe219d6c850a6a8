/**
 * kubeadm configuration files: every emitted document is parsed with `yaml` and compared field
 * by field with the hand-written fixtures in fixtures/kubeadm/<case>/<node>.yaml, and every key
 * of every emitted document is checked against the json tags of kubeadm's published Go types for
 * that API version (kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/):
 *   v1beta2/types.go @ 046d201c45cebd19eb1fc4612426761c64802825 (1.20/1.21)
 *   v1beta3/types.go @ 008b3652959ca58af8be3fb5b6ecfe9ae7638282
 *   v1beta4/types.go @ 1329935739c3aa007d23cb9a4dadfee9d59ff79b (1.31)
 *   bootstraptoken/v1/types.go @ 2d350a359e7b251ffa047415af6bf64350f41888 (tokens of v1beta3/v1beta4)
 * The allowed-key lists below were copied by hand from those json tags, field by field.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { goDuration, kubeadmApiVersion, kubeadmConfigs, kubeadmKubernetesVersion, type JoinFacts } from '../../pki/kubeadm/config.js';
import { loadPlan } from '../../pki/plan/load.js';
import { parsePlan } from '../../pki/plan/parse.js';
import type { Plan } from '../../pki/plan/types.js';

const root = new URL('../../../', import.meta.url);
const repoPath = (rel: string): string => fileURLToPath(new URL(rel, root));

const FACTS: JoinFacts = {
  token: 'abcdef.0123456789abcdef',
  caCertHash: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
};
const CERT_KEY = 'fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210';

// ------------------------------------------------------------------ allowed keys (types.go json tags)

/** `leaf`: a scalar, or a value kpki never writes into (maps, opaque types); `[x]`: a list of x. */
type KeySchema = 'leaf' | { readonly [key: string]: KeySchema } | readonly [KeySchema];
type Version = 'v1beta2' | 'v1beta3' | 'v1beta4';

const L = 'leaf' as const;
const API_ENDPOINT = { advertiseAddress: L, bindPort: L };
const HOST_PATH_MOUNT = { name: L, hostPath: L, mountPath: L, readOnly: L, pathType: L };
const IMAGE_META = { imageRepository: L, imageTag: L };
const NETWORKING = { serviceSubnet: L, podSubnet: L, dnsDomain: L };
const EXTERNAL_ETCD = { endpoints: [L], caFile: L, certFile: L, keyFile: L } as const;
const TOKEN_DISCOVERY = { token: L, apiServerEndpoint: L, caCertHashes: [L], unsafeSkipCAVerification: L } as const;
const FILE_DISCOVERY = { kubeConfigPath: L };
const PATCHES = { directory: L };
/** v1beta2 BootstrapToken and bootstraptoken/v1 BootstrapToken have the same json tags. */
const BOOTSTRAP_TOKEN = { token: L, description: L, ttl: L, expires: L, usages: [L], groups: [L] } as const;
const ARG = { name: L, value: L };
const TIMEOUTS = {
  controlPlaneComponentHealthCheck: L, kubeletHealthCheck: L, kubernetesAPICall: L, etcdAPICall: L,
  tlsBootstrap: L, discovery: L, upgradeManifests: L,
};

function nodeRegistration(v: Version): KeySchema {
  const base = { name: L, criSocket: L, taints: L, ignorePreflightErrors: [L] } as const;
  if (v === 'v1beta2') return { ...base, kubeletExtraArgs: L };
  if (v === 'v1beta3') return { ...base, kubeletExtraArgs: L, imagePullPolicy: L };
  return { ...base, kubeletExtraArgs: [ARG], imagePullPolicy: L, imagePullSerial: L };
}

function component(v: Version): Record<string, KeySchema> {
  return v === 'v1beta4'
    ? { extraArgs: [ARG], extraVolumes: [HOST_PATH_MOUNT], extraEnvs: [L] }
    : { extraArgs: L, extraVolumes: [HOST_PATH_MOUNT] };
}

const ALLOWED: Record<Version, Record<'InitConfiguration' | 'ClusterConfiguration' | 'JoinConfiguration', KeySchema>> = {
  v1beta2: {
    InitConfiguration: {
      apiVersion: L, kind: L, bootstrapTokens: [BOOTSTRAP_TOKEN], nodeRegistration: nodeRegistration('v1beta2'),
      localAPIEndpoint: API_ENDPOINT, certificateKey: L,
    },
    ClusterConfiguration: {
      apiVersion: L, kind: L,
      etcd: { local: { ...IMAGE_META, dataDir: L, extraArgs: L, serverCertSANs: [L], peerCertSANs: [L] }, external: EXTERNAL_ETCD },
      networking: NETWORKING, kubernetesVersion: L, controlPlaneEndpoint: L,
      apiServer: { ...component('v1beta2'), certSANs: [L], timeoutForControlPlane: L },
      controllerManager: component('v1beta2'), scheduler: component('v1beta2'),
      dns: { type: L, ...IMAGE_META }, certificatesDir: L, imageRepository: L, useHyperKubeImage: L, featureGates: L, clusterName: L,
    },
    JoinConfiguration: {
      apiVersion: L, kind: L, nodeRegistration: nodeRegistration('v1beta2'), caCertPath: L,
      discovery: { bootstrapToken: TOKEN_DISCOVERY, file: FILE_DISCOVERY, tlsBootstrapToken: L, timeout: L },
      controlPlane: { localAPIEndpoint: API_ENDPOINT, certificateKey: L },
    },
  },
  v1beta3: {
    InitConfiguration: {
      apiVersion: L, kind: L, bootstrapTokens: [BOOTSTRAP_TOKEN], nodeRegistration: nodeRegistration('v1beta3'),
      localAPIEndpoint: API_ENDPOINT, certificateKey: L, skipPhases: [L], patches: PATCHES,
    },
    ClusterConfiguration: {
      apiVersion: L, kind: L,
      etcd: { local: { ...IMAGE_META, dataDir: L, extraArgs: L, serverCertSANs: [L], peerCertSANs: [L] }, external: EXTERNAL_ETCD },
      networking: NETWORKING, kubernetesVersion: L, controlPlaneEndpoint: L,
      apiServer: { ...component('v1beta3'), certSANs: [L], timeoutForControlPlane: L },
      controllerManager: component('v1beta3'), scheduler: component('v1beta3'),
      dns: IMAGE_META, certificatesDir: L, imageRepository: L, featureGates: L, clusterName: L,
    },
    JoinConfiguration: {
      apiVersion: L, kind: L, nodeRegistration: nodeRegistration('v1beta3'), caCertPath: L,
      discovery: { bootstrapToken: TOKEN_DISCOVERY, file: FILE_DISCOVERY, tlsBootstrapToken: L, timeout: L },
      controlPlane: { localAPIEndpoint: API_ENDPOINT, certificateKey: L }, skipPhases: [L], patches: PATCHES,
    },
  },
  v1beta4: {
    InitConfiguration: {
      apiVersion: L, kind: L, bootstrapTokens: [BOOTSTRAP_TOKEN], dryRun: L, nodeRegistration: nodeRegistration('v1beta4'),
      localAPIEndpoint: API_ENDPOINT, certificateKey: L, skipPhases: [L], patches: PATCHES, timeouts: TIMEOUTS,
    },
    ClusterConfiguration: {
      apiVersion: L, kind: L,
      etcd: {
        local: { ...IMAGE_META, dataDir: L, extraArgs: [ARG], extraEnvs: [L], serverCertSANs: [L], peerCertSANs: [L] },
        external: EXTERNAL_ETCD,
      },
      networking: NETWORKING, kubernetesVersion: L, controlPlaneEndpoint: L,
      apiServer: { ...component('v1beta4'), certSANs: [L] },
      controllerManager: component('v1beta4'), scheduler: component('v1beta4'),
      dns: { ...IMAGE_META, disabled: L }, proxy: { disabled: L }, certificatesDir: L, imageRepository: L, featureGates: L,
      clusterName: L, encryptionAlgorithm: L, certificateValidityPeriod: L, caCertificateValidityPeriod: L,
    },
    JoinConfiguration: {
      apiVersion: L, kind: L, dryRun: L, nodeRegistration: nodeRegistration('v1beta4'), caCertPath: L,
      discovery: { bootstrapToken: TOKEN_DISCOVERY, file: FILE_DISCOVERY, tlsBootstrapToken: L },
      controlPlane: { localAPIEndpoint: API_ENDPOINT, certificateKey: L }, skipPhases: [L], patches: PATCHES, timeouts: TIMEOUTS,
    },
  },
};

/** Every key of `value` that `schema` does not know, as dotted paths. */
function unknownKeys(value: unknown, schema: KeySchema, path: string): string[] {
  if (schema === 'leaf') {
    return typeof value === 'object' && value !== null ? [`${path} (an object or list where the type has a scalar)`] : [];
  }
  if (Array.isArray(schema)) {
    if (!Array.isArray(value)) return [`${path} (not a list)`];
    return value.flatMap((item, i) => unknownKeys(item, schema[0] as KeySchema, `${path}[${i}]`));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path} (not a mapping)`];
  const known = schema as { readonly [key: string]: KeySchema };
  return Object.entries(value).flatMap(([k, v]) =>
    k in known ? unknownKeys(v, known[k] as KeySchema, path ? `${path}.${k}` : k) : [path ? `${path}.${k}` : k],
  );
}

// ------------------------------------------------------------------ field-by-field comparison

function differences(actual: unknown, expected: unknown, path: string): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected a list, got ${JSON.stringify(actual)}`];
    const out = actual.length === expected.length ? [] : [`${path}: expected ${expected.length} items, got ${actual.length}`];
    for (let i = 0; i < Math.min(actual.length, expected.length); i++) out.push(...differences(actual[i], expected[i], `${path}[${i}]`));
    return out;
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return [`${path}: expected a mapping, got ${JSON.stringify(actual)}`];
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const out: string[] = [];
    for (const k of Object.keys(e)) out.push(...(k in a ? differences(a[k], e[k], `${path}.${k}`) : [`${path}.${k}: missing`]));
    for (const k of Object.keys(a)) if (!(k in e)) out.push(`${path}.${k}: not expected (${JSON.stringify(a[k])})`);
    return out;
  }
  return Object.is(actual, expected) ? [] : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

/** `version: '1.1'` reads as kubeadm's Go YAML does (base-60 integers, yes/no/on/off booleans). */
function parseDocs(text: string, what: string, version: '1.1' | '1.2' = '1.2'): Array<Record<string, unknown>> {
  return parseAllDocuments(text, { version }).map((doc, i) => {
    assert.equal(doc.errors.map((e) => e.message), [], `${what} document ${i}: YAML errors`);
    assert.equal(doc.warnings.map((e) => e.message), [], `${what} document ${i}: YAML warnings`);
    const value: unknown = doc.toJS();
    assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${what} document ${i} is a mapping`);
    return value as Record<string, unknown>;
  });
}

// ------------------------------------------------------------------ cases

interface Case {
  readonly dir: string;
  readonly plan: string;
  readonly version: Version;
  readonly facts: JoinFacts;
}

const CASES: readonly Case[] = [
  { dir: 'v1beta4-ha', plan: 'fixtures/kubeadm-ha.yaml', version: 'v1beta4', facts: { ...FACTS, certificateKey: CERT_KEY } },
  { dir: 'v1beta4-no-version', plan: 'fixtures/single-cp.yaml', version: 'v1beta4', facts: FACTS },
  { dir: 'v1beta3-external-etcd', plan: 'fixtures/kubeadm/v1beta3-external-etcd/plan.yaml', version: 'v1beta3', facts: FACTS },
  { dir: 'v1beta2-dual-stack', plan: 'fixtures/kubeadm/v1beta2-dual-stack/plan.yaml', version: 'v1beta2', facts: FACTS },
];

for (const c of CASES) {
  test(`${c.dir}: each node's documents equal the hand-written fixture, field by field`, async () => {
    const configs = kubeadmConfigs(await loadPlan(repoPath(c.plan)), c.facts);
    const dir = repoPath(`fixtures/kubeadm/${c.dir}`);
    const expectedNodes = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'plan.yaml').map((f) => f.slice(0, -5));
    assert.equal([...configs.keys()].sort(), expectedNodes.sort(), 'one file per kubelet node');
    for (const [node, text] of configs) {
      const expected = parseDocs(readFileSync(`${dir}/${node}.yaml`, 'utf8'), `fixture ${node}`);
      // Read as YAML 1.2 (kpki, JS tools) and as YAML 1.1 (kubeadm): both must give the fixture.
      for (const version of ['1.2', '1.1'] as const) {
        const actual = parseDocs(text, node, version);
        assert.is(actual.length, expected.length, `${node}: number of documents`);
        const diffs = actual.flatMap((doc, i) => differences(doc, expected[i], `${node}[${i}] (YAML ${version})`));
        assert.equal(diffs, [], diffs.join('\n'));
      }
    }
  });

  test(`${c.dir}: every key exists in kubeadm ${c.version} types (emitted and fixture)`, async () => {
    const configs = kubeadmConfigs(await loadPlan(repoPath(c.plan)), c.facts);
    const dir = repoPath(`fixtures/kubeadm/${c.dir}`);
    for (const [node, text] of configs) {
      const sources = { emitted: text, fixture: readFileSync(`${dir}/${node}.yaml`, 'utf8') };
      for (const [source, yaml] of Object.entries(sources)) {
        for (const doc of parseDocs(yaml, `${source} ${node}`)) {
          assert.is(doc['apiVersion'], `kubeadm.k8s.io/${c.version}`, `${source} ${node}`);
          const kind = doc['kind'] as keyof (typeof ALLOWED)[Version];
          const schema = ALLOWED[c.version][kind];
          assert.ok(schema, `${source} ${node}: unexpected kind ${String(kind)}`);
          assert.equal(unknownKeys(doc, schema, ''), [], `${source} ${node} ${String(kind)}: unknown fields`);
        }
      }
    }
  });
}

test('the allowed-key check catches fields that moved between versions', () => {
  // v1beta4 moved apiServer.timeoutForControlPlane and discovery.timeout into timeouts (doc.go).
  assert.equal(
    unknownKeys({ apiServer: { timeoutForControlPlane: '4m0s' } }, ALLOWED.v1beta4.ClusterConfiguration, ''),
    ['apiServer.timeoutForControlPlane'],
  );
  assert.equal(unknownKeys({ discovery: { timeout: '5m0s' } }, ALLOWED.v1beta4.JoinConfiguration, ''), ['discovery.timeout']);
  // skipPhases arrived in v1beta3; encryptionAlgorithm in v1beta4; map-form extraArgs are v1beta2/v1beta3 only.
  assert.equal(unknownKeys({ skipPhases: ['addon/kube-proxy'] }, ALLOWED.v1beta2.InitConfiguration, ''), ['skipPhases']);
  assert.equal(unknownKeys({ encryptionAlgorithm: 'RSA-2048' }, ALLOWED.v1beta3.ClusterConfiguration, ''), ['encryptionAlgorithm']);
  assert.equal(
    unknownKeys({ nodeRegistration: { kubeletExtraArgs: { 'node-ip': '10.0.0.1' } } }, ALLOWED.v1beta4.JoinConfiguration, ''),
    ['nodeRegistration.kubeletExtraArgs (not a list)'],
  );
});

test('API version by Kubernetes release: v1beta2 below 1.22, v1beta3 to 1.30, v1beta4 from 1.31 and by default', () => {
  const v = (minor: number) => kubeadmApiVersion({ major: 1, minor, text: `1.${minor}` });
  assert.equal([20, 21, 22, 28, 30, 31, 35].map(v), [
    'kubeadm.k8s.io/v1beta2', 'kubeadm.k8s.io/v1beta2', 'kubeadm.k8s.io/v1beta3', 'kubeadm.k8s.io/v1beta3',
    'kubeadm.k8s.io/v1beta3', 'kubeadm.k8s.io/v1beta4', 'kubeadm.k8s.io/v1beta4',
  ]);
  assert.is(kubeadmApiVersion(undefined), 'kubeadm.k8s.io/v1beta4');
});

test('kubernetesVersion: a patch release as vX.Y.Z, a minor-only plan as the stable-X.Y label', () => {
  assert.is(kubeadmKubernetesVersion({ major: 1, minor: 28, patch: 3, text: '1.28.3' }), 'v1.28.3');
  assert.is(kubeadmKubernetesVersion({ major: 1, minor: 30, text: 'v1.30' }), 'stable-1.30');
});

test('Go durations as metav1.Duration prints them', () => {
  const H = 3_600_000;
  assert.is(goDuration(8760 * H), '8760h0m0s');
  assert.is(goDuration(87600 * H), '87600h0m0s');
  assert.is(goDuration(90 * 60_000), '1h30m0s');
  assert.is(goDuration(1500), '0h0m1.5s');
});

function minimal(extra: string, nodes: string): Plan {
  return parsePlan(`apiVersion: kpki/v1alpha1\nkind: Cluster\n${extra}nodes:\n${nodes}`);
}

test('nodes without a kubelet get no file; v1beta4 leaves ECDSA-P384 unset (absent from the 1.31 types)', () => {
  const plan = minimal(
    'controlPlaneEndpoint: 10.0.0.100:6443\netcd: { external: true }\npki: { keyAlgorithm: ecdsa-p384 }\n',
    `  - { name: lb, address: 10.0.0.100, roles: [load-balancer] }
  - { name: e1, address: 10.0.0.5, roles: [etcd] }
  - { name: cp, address: 10.0.0.1, roles: [control-plane] }
`,
  );
  const configs = kubeadmConfigs(plan, FACTS);
  assert.equal([...configs.keys()], ['cp']);
  const cluster = parseDocs(configs.get('cp') ?? '', 'cp')[1] ?? {};
  assert.is(cluster['kind'], 'ClusterConfiguration');
  assert.not.ok('encryptionAlgorithm' in cluster);
  assert.equal(cluster['etcd'], {
    external: {
      endpoints: ['https://10.0.0.5:2379'],
      caFile: '/etc/kubernetes/pki/etcd/ca.crt',
      certFile: '/etc/kubernetes/pki/apiserver-etcd-client.crt',
      keyFile: '/etc/kubernetes/pki/apiserver-etcd-client.key',
    },
  });
});

test('an IPv6 etcd member is bracketed in its endpoint URL', () => {
  const plan = minimal(
    'etcd: { external: true }\n',
    `  - { name: e1, address: "fd00::5", roles: [etcd] }
  - { name: cp, address: "fd00::1", roles: [control-plane] }
`,
  );
  const cluster = parseDocs(kubeadmConfigs(plan, FACTS).get('cp') ?? '', 'cp')[1] ?? {};
  assert.equal((cluster['etcd'] as { external: { endpoints: string[] } }).external.endpoints, ['https://[fd00::5]:2379']);
});

test('an all-digit IPv6 address stays a string for a YAML 1.1 reader (not a base-60 integer)', () => {
  const plan = minimal('', '  - { name: cp, address: "1:2:3:4:5:6:7:8", roles: [control-plane] }\n');
  const init = parseDocs(kubeadmConfigs(plan, FACTS).get('cp') ?? '', 'cp', '1.1')[0] ?? {};
  assert.equal(init['localAPIEndpoint'], { advertiseAddress: '1:2:3:4:5:6:7:8', bindPort: 6443 });
});

test('the certificate key goes into InitConfiguration only, never into a JoinConfiguration', () => {
  const configs = kubeadmConfigs(parsePlan(readFileSync(repoPath('fixtures/ha-cluster.yaml'), 'utf8')), { ...FACTS, certificateKey: CERT_KEY });
  const withKey = [...configs].filter(([, text]) => text.includes(CERT_KEY)).map(([node]) => node);
  assert.equal(withKey, ['cp-1']);
  assert.is(parseDocs(configs.get('cp-1') ?? '', 'cp-1')[0]?.['certificateKey'], CERT_KEY);
});

test('malformed join facts are refused', () => {
  const plan = minimal('', '  - { name: cp, address: 10.0.0.1, roles: [control-plane] }\n');
  assert.throws(() => kubeadmConfigs(plan, { ...FACTS, token: 'ABCDEF.0123456789abcdef' }), /token must match/);
  assert.throws(() => kubeadmConfigs(plan, { ...FACTS, caCertHash: 'sha256:abc' }), /caCertHash must be/);
  assert.throws(() => kubeadmConfigs(plan, { ...FACTS, certificateKey: 'xyz' }), /certificateKey must be/);
});

test.run();
