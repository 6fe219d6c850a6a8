/**
 * The join secrets of a `deploy: kubeadm` cluster, kept in the store as `pki/join.json` (0600):
 * the bootstrap token written into every node's kubeadm configuration and a certificate key for
 * installers that use `--upload-certs`. Made once by `gen`, reused on every re-run, and shown
 * only when asked (`kpki join-command`, `joinFacts`): never in a report or a log.
 */
import { formatHostPort } from '../plan/net.js';
import type { Plan, PlanNode } from '../plan/types.js';
import { caCertHash } from './join.js';
import { KpkiError } from '../errors.js';
import { chooseInitNode, nodeRoot, NODE_CONFIGS } from '../layout/layout.js';
import type { ObservedFile, Sink } from '../sinks/types.js';
import { readRecord, RECORD_PATH } from '../store/record.js';

export const JOIN_PATH = 'pki/join.json';

export interface JoinSecrets {
  /** `[a-z0-9]{6}.[a-z0-9]{16}`. */
  readonly token: string;
  /** 64 hex characters: only for `kubeadm init --upload-certs`; kpki's trees do not need it. */
  readonly certificateKey: string;
}

/** Everything `kubeadm join` needs, as an object. */
export interface ClusterJoinFacts {
  /** `host:port` of the control-plane endpoint. */
  readonly endpoint: string;
  readonly token: string;
  /** `sha256:<hex>` of the Kubernetes CA's public key. */
  readonly caCertHash: string;
  readonly certificateKey: string;
  /** The node `kubeadm init` runs on: the one gen chose (layout.ts chooseInitNode), if any. */
  readonly initNode?: string;
}

const TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const CERT_KEY = /^[0-9a-f]{64}$/;

export function serialiseJoinSecrets(s: JoinSecrets): string {
  return `${JSON.stringify({ apiVersion: 'kpki/v1alpha1', kind: 'JoinSecrets', token: s.token, certificateKey: s.certificateKey }, null, 1)}\n`;
}

/** The stored secrets; a file kpki cannot read stops the run (a new token would strand joined nodes). */
export function readJoinSecrets(found: ObservedFile, where: string): JoinSecrets {
  let parsed: { token?: unknown; certificateKey?: unknown } = {};
  try {
    parsed = JSON.parse(found.content ?? '') as typeof parsed;
  } catch {
    // reported below
  }
  if (typeof parsed.token === 'string' && TOKEN.test(parsed.token) && typeof parsed.certificateKey === 'string' && CERT_KEY.test(parsed.certificateKey)) {
    return { token: parsed.token, certificateKey: parsed.certificateKey };
  }
  throw new KpkiError(
    'ERR_STORE_CONFLICT',
    `${where}: ${found.content === undefined ? `cannot be read (${found.error})` : 'is not a join file kpki can read (token [a-z0-9]{6}.[a-z0-9]{16}, certificateKey 64 hex)'}; ` +
      'fix it, or remove it to have gen make a new token (nodes not yet joined then need their new kubeadm-config.yaml)',
  );
}

const endpointOf = (plan: Plan) => formatHostPort(plan.controlPlaneEndpoint.host, plan.controlPlaneEndpoint.port);

/**
 * The join facts of a store, read through the caller's sink (a directory, a memory file set):
 * the plan's endpoint, the store's token and certificate key, the hash of the store's CA, and
 * the init node as gen chooses it (the plan's, the recorded one, or the node holding
 * super-admin.conf), so join-command and gen never disagree after a plan edit.
 */
export async function joinFacts(plan: Plan, sink: Sink): Promise<ClusterJoinFacts> {
  // super-admin.conf lives on a control plane: only their trees are read.
  const cps = plan.nodes.filter((n) => n.roles.includes('control-plane')).map((n) => nodeRoot(n.name));
  const obs = await sink.observe(['pki', ...cps]);
  const ca = obs.files.get('pki/ca.crt');
  const secrets = obs.files.get(JOIN_PATH);
  if (!ca?.content || !secrets) {
    const why = plan.deploy === 'kubeadm' ? 'run kpki gen with this plan first' : 'the plan says deploy: binary; set deploy: kubeadm and run kpki gen';
    throw new KpkiError('ERR_BAD_ARGUMENT', `${sink.name}/${ca?.content ? JOIN_PATH : 'pki/ca.crt'} does not exist: ${why}`);
  }
  const { token, certificateKey } = readJoinSecrets(secrets, `${sink.name}/${JOIN_PATH}`);
  const initNode = chooseInitNode(plan, readRecord(obs.files.get(RECORD_PATH)).initNode, (p) => obs.files.has(p));
  return { endpoint: endpointOf(plan), token, caCertHash: caCertHash(ca.content), certificateKey, ...(initNode ? { initNode } : {}) };
}

/**
 * `kubeadm join <endpoint> --token … --discovery-token-ca-cert-hash sha256:…` for one node,
 * `--control-plane` (and its advertise address) for control planes. No `--certificate-key`:
 * the control planes' shared certificates are already in their trees. `--node-name` pins the
 * name kpki issued for, in case the host's name differs.
 */
export function joinCommand(plan: Plan, facts: ClusterJoinFacts, nodeName: string): string {
  const node: PlanNode | undefined = plan.nodes.find((n) => n.name === nodeName);
  if (!node) throw new KpkiError('ERR_BAD_ARGUMENT', `${nodeName} is not a node of ${plan.source} (nodes: ${plan.nodes.map((n) => n.name).join(', ')})`);
  const cp = node.roles.includes('control-plane');
  if (!cp && !node.roles.includes('worker')) throw new KpkiError('ERR_BAD_ARGUMENT', `${nodeName} runs no kubelet (roles: ${node.roles.join(', ')}): it does not join with kubeadm`);
  if (nodeName === facts.initNode) {
    throw new KpkiError('ERR_BAD_ARGUMENT', `${nodeName} is the init node: run \`kubeadm init --config /${NODE_CONFIGS[0].path}\` there (from its tree ${nodeRoot(nodeName)}/); the other nodes join`);
  }
  return [
    'kubeadm join', facts.endpoint, '--token', facts.token, '--discovery-token-ca-cert-hash', facts.caCertHash,
    ...(cp ? ['--control-plane', '--apiserver-advertise-address', node.address] : []),
    '--node-name', node.name,
  ].join(' ');
}
