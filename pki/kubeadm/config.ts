/**
 * kubeadm configuration files for a cluster whose certificates kpki made: one multi-document
 * YAML file per kubelet node. The init node gets InitConfiguration + ClusterConfiguration, the
 * other control planes and the workers a JoinConfiguration. Pure: plan and join facts in, text out.
 *
 * Every field written here was checked against kubeadm's published Go types (json tags) of the
 * API version it is written for (kubernetes/kubernetes, cmd/kubeadm/app/apis/kubeadm/):
 *   v1beta2/types.go  (commit 046d201c45cebd19eb1fc4612426761c64802825, the 1.20/1.21 copy)
 *   v1beta3/types.go  (commit 008b3652959ca58af8be3fb5b6ecfe9ae7638282)
 *   v1beta4/types.go  (commit 1329935739c3aa007d23cb9a4dadfee9d59ff79b, the 1.31 copy)
 *   bootstraptoken/v1/types.go (commit 2d350a359e7b251ffa047415af6bf64350f41888; v1beta3/v1beta4 tokens)
 * The differences that matter here: v1beta4 adds encryptionAlgorithm and the validity periods
 * to ClusterConfiguration (and turns extraArgs into name/value lists, which kpki does not write).
 *
 * No certificateKey goes into a JoinConfiguration: kpki places the shared certificates on every
 * control plane, so `kubeadm join --control-plane` finds them and downloads nothing.
 */
import { createRequire } from 'node:module';
import { CAS, CERTS } from '../catalog/entries.js';
import { selectNodes } from '../catalog/resolve.js';
import { formatHostPort } from '../plan/net.js';
import type { KeyAlgorithm, KubernetesVersion, Plan, PlanNode } from '../plan/types.js';

export type KubeadmApiVersion = 'kubeadm.k8s.io/v1beta2' | 'kubeadm.k8s.io/v1beta3' | 'kubeadm.k8s.io/v1beta4';

/** What every joining node needs to know; kpki keeps these in its store. */
export interface JoinFacts {
  /** Bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}`. */
  readonly token: string;
  /** `sha256:<64 hex>` over the Kubernetes CA's SubjectPublicKeyInfo. */
  readonly caCertHash: string;
  /** 64 hex characters; written into InitConfiguration for `kubeadm init --upload-certs` only. */
  readonly certificateKey?: string;
}

/** Where kubeadm looks for the certificates, and where kpki's node trees put them. */
export const CERTIFICATES_DIR = '/etc/kubernetes/pki';
/** kubeadm's default, written out so the file says where etcd keeps its data. */
const ETCD_DATA_DIR = '/var/lib/etcd';
const ETCD_CLIENT_PORT = 2379;

/** kubeadm's bootstrap token defaults (`kubeadm config print init-defaults`), written out. */
const TOKEN_TTL = '24h0m0s';
const TOKEN_USAGES = ['signing', 'authentication'];
const TOKEN_GROUPS = ['system:bootstrappers:kubeadm:default-node-token'];

/**
 * The config API the plan's release reads: v1beta2 up to 1.21 (v1beta3 arrived in 1.22),
 * v1beta3 for 1.22–1.30, v1beta4 from 1.31 (usable by init/join from 1.31, KK#125029). Without a
 * version, v1beta4: the releases still supported today all read it, and v1beta3 goes in 1.37.
 */
export function kubeadmApiVersion(version: KubernetesVersion | undefined): KubeadmApiVersion {
  if (version === undefined || version.minor >= 31) return 'kubeadm.k8s.io/v1beta4';
  return version.minor >= 22 ? 'kubeadm.k8s.io/v1beta3' : 'kubeadm.k8s.io/v1beta2';
}

/**
 * ClusterConfiguration.kubernetesVersion: `v1.31.2`, or for a minor-only plan the release label
 * `stable-1.31`, which kubeadm resolves to that minor's newest patch release (from dl.k8s.io;
 * offline it falls back to its own version with a warning). Name a patch release for air gaps.
 */
export function kubeadmKubernetesVersion(version: KubernetesVersion): string {
  return version.patch === undefined ? `stable-${version.major}.${version.minor}` : `v${version.major}.${version.minor}.${version.patch}`;
}

/** v1beta4 `encryptionAlgorithm` values (EncryptionAlgorithmType in v1beta4/types.go). */
const ENCRYPTION_ALGORITHMS: Partial<Record<KeyAlgorithm, string>> = {
  'rsa-2048': 'RSA-2048',
  'rsa-3072': 'RSA-3072',
  'rsa-4096': 'RSA-4096',
  'ecdsa-p256': 'ECDSA-P256',
  // ECDSA-P384 exists only from kubeadm 1.34 and is not in the types read above: left unset,
  // kubeadm then renews with its default, RSA-2048.
};

/** A Go `time.Duration` string as metav1.Duration prints it (`8760h0m0s`). */
export function goDuration(ms: number): string {
  const totalSeconds = ms / 1000;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds - h * 3600) / 60);
  const s = Math.round((totalSeconds - h * 3600 - m * 60) * 1000) / 1000;
  return `${h}h${m}m${s}s`;
}

const TOKEN_PATTERN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;
const CERT_KEY_PATTERN = /^[0-9a-f]{64}$/;

function checkFacts(facts: JoinFacts): void {
  // Programming errors, not user input: the facts come from kpki's own store.
  if (!TOKEN_PATTERN.test(facts.token)) throw new RangeError('kubeadmConfigs: token must match [a-z0-9]{6}.[a-z0-9]{16}');
  if (!HASH_PATTERN.test(facts.caCertHash)) throw new RangeError('kubeadmConfigs: caCertHash must be sha256:<64 lower-case hex>');
  if (facts.certificateKey !== undefined && !CERT_KEY_PATTERN.test(facts.certificateKey)) {
    throw new RangeError('kubeadmConfigs: certificateKey must be 64 lower-case hex characters');
  }
}

type Doc = Record<string, unknown>;

function entryPath(id: string): string {
  const entry = CERTS.find((e) => e.id === id);
  if (!entry) throw new Error(`internal error: no catalog entry ${id}`);
  return `/${entry.path}`;
}

/** External etcd: the members, and the client files kpki writes on every control plane. */
function etcdSection(plan: Plan): Doc {
  if (!plan.etcd.external) return { local: { dataDir: ETCD_DATA_DIR } };
  const etcdCa = CAS.find((c) => c.id === 'etcd-ca');
  if (!etcdCa) throw new Error('internal error: no etcd-ca in the catalog');
  const client = entryPath('apiserver-etcd-client');
  return {
    external: {
      endpoints: selectNodes(plan, 'etcd-member').map((n) => `https://${formatHostPort(n.address, ETCD_CLIENT_PORT)}`),
      caFile: `${CERTIFICATES_DIR}/${etcdCa.stem}.crt`,
      certFile: `${client}.crt`,
      keyFile: `${client}.key`,
    },
  };
}

function clusterConfiguration(plan: Plan, apiVersion: KubeadmApiVersion): Doc {
  const { networking } = plan;
  const doc: Doc = {
    apiVersion,
    kind: 'ClusterConfiguration',
    clusterName: plan.clusterName,
    ...(plan.kubernetesVersion && { kubernetesVersion: kubeadmKubernetesVersion(plan.kubernetesVersion) }),
    controlPlaneEndpoint: formatHostPort(plan.controlPlaneEndpoint.host, plan.controlPlaneEndpoint.port),
    certificatesDir: CERTIFICATES_DIR,
    networking: {
      serviceSubnet: networking.serviceSubnets.map((c) => c.text).join(','),
      ...(networking.podSubnets.length > 0 && { podSubnet: networking.podSubnets.map((c) => c.text).join(',') }),
      dnsDomain: networking.dnsDomain,
    },
    ...(plan.apiServer.certSANs.length > 0 && { apiServer: { certSANs: [...plan.apiServer.certSANs] } }),
    etcd: etcdSection(plan),
  };
  if (apiVersion === 'kubeadm.k8s.io/v1beta4') {
    const algorithm = ENCRYPTION_ALGORITHMS[plan.pki.keyAlgorithm];
    if (algorithm) doc['encryptionAlgorithm'] = algorithm;
    doc['certificateValidityPeriod'] = goDuration(plan.pki.certValidityMs);
    doc['caCertificateValidityPeriod'] = goDuration(plan.pki.caValidityMs);
  }
  return doc;
}

function localApiEndpoint(plan: Plan, node: PlanNode): Doc {
  return { advertiseAddress: node.address, bindPort: plan.apiServer.bindPort };
}

function initConfiguration(plan: Plan, node: PlanNode, facts: JoinFacts, apiVersion: KubeadmApiVersion): Doc {
  return {
    apiVersion,
    kind: 'InitConfiguration',
    bootstrapTokens: [
      {
        token: facts.token,
        description: 'kpki: token for kubeadm join',
        ttl: TOKEN_TTL,
        usages: TOKEN_USAGES,
        groups: TOKEN_GROUPS,
      },
    ],
    // The kubelet registers under this name; kpki's kubelet.conf is system:node:<name>.
    nodeRegistration: { name: node.name },
    localAPIEndpoint: localApiEndpoint(plan, node),
    ...(facts.certificateKey !== undefined && { certificateKey: facts.certificateKey }),
  };
}

function joinConfiguration(plan: Plan, node: PlanNode, facts: JoinFacts, apiVersion: KubeadmApiVersion, controlPlane: boolean): Doc {
  return {
    apiVersion,
    kind: 'JoinConfiguration',
    nodeRegistration: { name: node.name },
    discovery: {
      bootstrapToken: {
        apiServerEndpoint: formatHostPort(plan.controlPlaneEndpoint.host, plan.controlPlaneEndpoint.port),
        token: facts.token,
        caCertHashes: [facts.caCertHash],
      },
    },
    ...(controlPlane && { controlPlane: { localAPIEndpoint: localApiEndpoint(plan, node) } }),
  };
}

/**
 * kubeadm reads YAML with a YAML 1.1 resolver (go-yaml through sigs.k8s.io/yaml), where a plain
 * `1:2:3:4:5:6:7:8` is a base-60 integer and `on` a boolean: writing for 1.1 quotes such strings.
 */
function render(docs: readonly Doc[]): string {
  // Loaded here, not at start-up: only deploy: kubeadm plans render these.
  const { stringify } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return docs.map((d) => stringify(d, { lineWidth: 0, version: '1.1' })).join('---\n');
}

/**
 * One kubeadm configuration per kubelet node (control planes and workers), keyed by node name,
 * in plan order. Nodes without a kubelet (dedicated etcd members, load balancers) get none.
 * The init node is `selectNodes(plan, 'init-node')`: to pin another, pass a plan whose
 * `initNode` names it.
 */
export function kubeadmConfigs(plan: Plan, facts: JoinFacts): Map<string, string> {
  checkFacts(facts);
  const apiVersion = kubeadmApiVersion(plan.kubernetesVersion);
  const init = selectNodes(plan, 'init-node')[0];
  const out = new Map<string, string>();
  for (const node of selectNodes(plan, 'kubelet')) {
    const controlPlane = node.roles.includes('control-plane');
    const docs =
      node.name === init?.name
        ? [initConfiguration(plan, node, facts, apiVersion), clusterConfiguration(plan, apiVersion)]
        : [joinConfiguration(plan, node, facts, apiVersion, controlPlane)];
    out.set(node.name, render(docs));
  }
  return out;
}
