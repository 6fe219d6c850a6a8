/**
 * Kubeconfig files as kubeadm writes them: cluster = clusterName, user = the client CN,
 * context `<user>@<cluster>`, CA and client credentials embedded as base64.
 */
import { parse } from 'yaml';
import { PemError } from './errors.js';

export interface KubeconfigData {
  readonly clusterName: string;
  readonly server: string;
  readonly caPem: string;
  readonly user: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: unknown) => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : '');

/** A YAML scalar: plain when unambiguous (as kubectl writes names and URLs), else double-quoted. */
function scalar(s: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._:@/[\]-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~|[0-9.]+)$/i.test(s) ? s : JSON.stringify(s);
}

/** Rendered from a template (thousands of these in a large cluster); the key order is kubectl's. */
export function renderKubeconfig(k: KubeconfigData): string {
  const cluster = scalar(k.clusterName);
  const user = scalar(k.user);
  const context = scalar(`${k.user}@${k.clusterName}`);
  return `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${b64(k.caPem)}
    server: ${scalar(k.server)}
  name: ${cluster}
contexts:
- context:
    cluster: ${cluster}
    user: ${user}
  name: ${context}
current-context: ${context}
kind: Config
preferences: {}
users:
- name: ${user}
  user:
    client-certificate-data: ${b64(k.certPem)}
    client-key-data: ${b64(k.keyPem)}
`;
}

interface RawKubeconfig {
  'current-context'?: string;
  contexts?: Array<{ name?: string; context?: { cluster?: string; user?: string } }>;
  clusters?: Array<{ name?: string; cluster?: { server?: string; 'certificate-authority-data'?: string } }>;
  users?: Array<{ name?: string; user?: { 'client-certificate-data'?: string; 'client-key-data'?: string } }>;
}

/** Reads back the current context's embedded credentials; a broken file names itself. */
export function parseKubeconfig(text: string, file: string): KubeconfigData {
  let raw: RawKubeconfig;
  try {
    raw = (parse(text) ?? {}) as RawKubeconfig;
  } catch (cause) {
    throw new PemError(file, 'not a readable kubeconfig (YAML does not parse)', { cause });
  }
  const ctx = raw.contexts?.find((c) => c.name === raw['current-context'])?.context;
  const cluster = raw.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  const user = raw.users?.find((u) => u.name === ctx?.user)?.user;
  if (!ctx || !cluster || !user) throw new PemError(file, 'kubeconfig has no complete current context');
  const data: KubeconfigData = {
    clusterName: ctx.cluster ?? '',
    server: cluster.server ?? '',
    caPem: unb64(cluster['certificate-authority-data']),
    user: ctx.user ?? '',
    certPem: unb64(user['client-certificate-data']),
    keyPem: unb64(user['client-key-data']),
  };
  if (!data.certPem.includes('BEGIN CERTIFICATE') || !data.keyPem.includes('PRIVATE KEY')) {
    throw new PemError(file, 'kubeconfig does not embed a client certificate and key');
  }
  return data;
}
