/**
 * Kubeconfig files as kubeadm writes them: cluster = clusterName, user = the client CN,
 * context `<user>@<cluster>`, CA and client credentials embedded as base64.
 */
import { createRequire } from 'node:module';
import { PemError } from '../errors.js';
import { KUBECONFIG_LIMITS, markDuplicateKeys, yamlShapeProblem } from '../plan/yaml-bounds.js';

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
export function scalar(s: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._:@/[\]-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~|[0-9.]+)$/i.test(s) ? s : JSON.stringify(s);
}

/** Rendered from a template (thousands of these in a large cluster); the key order is kubectl's. */
export function renderKubeconfig(k: KubeconfigData): string {
  return template({ clusterName: k.clusterName, server: k.server, user: k.user, ca: b64(k.caPem), cert: b64(k.certPem), key: b64(k.keyPem) });
}

interface TemplateFields { clusterName: string; server: string; user: string; ca: string; cert: string; key: string }

/** The kubeconfig text around already-encoded credentials (base64), as its pieces in order. */
function templateParts(k: TemplateFields): string[] {
  const cluster = scalar(k.clusterName);
  const user = scalar(k.user);
  const context = scalar(`${k.user}@${k.clusterName}`);
  return [
    'apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ', k.ca,
    '\n    server: ', scalar(k.server), '\n  name: ', cluster,
    '\ncontexts:\n- context:\n    cluster: ', cluster, '\n    user: ', user, '\n  name: ', context,
    '\ncurrent-context: ', context, '\nkind: Config\npreferences: {}\nusers:\n- name: ', user,
    '\n  user:\n    client-certificate-data: ', k.cert, '\n    client-key-data: ', k.key, '\n',
  ];
}

function template(k: TemplateFields): string {
  return templateParts(k).join('');
}

/** Whether `text` is exactly the template around these fields, compared piece by piece (no copy of the text). */
function isTemplate(text: string, k: TemplateFields): boolean {
  let at = 0;
  for (const part of templateParts(k)) {
    if (!text.startsWith(part, at)) return false;
    at += part.length;
  }
  return at === text.length;
}

/** The CA is the same text in every kubeconfig of a cluster: decoded once. */
let lastCa: { b64: string; pem: string } | undefined;
function caPemOf(b64: string): string {
  if (lastCa?.b64 !== b64) lastCa = { b64, pem: unb64(b64) };
  return lastCa.pem;
}

/**
 * A kubeconfig as found on disk. Credentials are either embedded (`*-data`) or referenced
 * by path, as kubeadm nodes do (`client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem`);
 * the caller resolves references against the tree the file came from.
 */
export interface FoundKubeconfig {
  readonly clusterName: string;
  readonly server: string;
  readonly user: string;
  /** Embedded PEM, or undefined when referenced (see `*File`) or absent. */
  readonly caPem?: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Written by kpki's template: rendering these fields again gives the same text. */
  readonly own?: boolean;
}

interface RawKubeconfig {
  'current-context'?: string;
  contexts?: Array<{ name?: string; context?: { cluster?: string; user?: string } }>;
  clusters?: Array<{ name?: string; cluster?: { server?: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string } }>;
  users?: Array<{
    name?: string;
    user?: { 'client-certificate-data'?: string; 'client-key-data'?: string; 'client-certificate'?: string; 'client-key'?: string };
  }>;
}

const OWN_CA_DATA = 'apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ';

/** The CA of a kubeconfig in kpki's own layout (its fourth line), without reading the rest. */
export function ownKubeconfigCaPem(text: string): string | undefined {
  if (!text.startsWith(OWN_CA_DATA)) return undefined;
  const end = text.indexOf('\n', OWN_CA_DATA.length);
  return end === -1 ? undefined : caPemOf(text.slice(OWN_CA_DATA.length, end));
}

/**
 * kpki's own files, read without a YAML parser: pull the six fields out of the template
 * and accept them only if rendering them again gives the same text byte for byte, so the
 * shortcut can never read a file differently from the YAML path (a thousand-node re-run
 * reads two thousand of these).
 */
function readOwn(text: string): KubeconfigData | undefined {
  const m =
    /^apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ([A-Za-z0-9+/=]*)\n    server: (.*)\n  name: (.*)\n[\s\S]*?\n    client-certificate-data: ([A-Za-z0-9+/=]*)\n    client-key-data: ([A-Za-z0-9+/=]*)\n$/.exec(
      text,
    );
  const user = /\nusers:\n- name: (.*)\n/.exec(text);
  if (!m || !user) return undefined;
  const unquote = (s: string) => (s.startsWith('"') ? (JSON.parse(s) as string) : s);
  try {
    const fields = { clusterName: unquote(m[3]!), server: unquote(m[2]!), user: unquote(user[1]!), ca: m[1]!, cert: m[4]!, key: m[5]! };
    // Rendered around the same base64 text: equal means a YAML parser would read exactly these.
    if (!isTemplate(text, fields)) return undefined;
    return { clusterName: fields.clusterName, server: fields.server, user: fields.user, caPem: caPemOf(fields.ca), certPem: unb64(fields.cert), keyPem: unb64(fields.key) };
  } catch {
    return undefined;
  }
}

/**
 * Reads the current context of any kubeconfig: embedded or referenced credentials. A file
 * that is not YAML, or has no complete current context, is an error naming the file.
 */
export function readKubeconfig(text: string, file: string): FoundKubeconfig {
  const own = readOwn(text);
  if (own) return { ...own, own: true };
  // Nesting and size no kubeconfig has would cost the parser unbounded memory: refused first.
  const shape = yamlShapeProblem(text, KUBECONFIG_LIMITS);
  if (shape) throw new PemError(file, `not a readable kubeconfig: the YAML ${shape.message} at line ${shape.line}; a kubeconfig never does`);
  let raw: RawKubeconfig;
  try {
    // Loaded only for kubeconfigs kpki did not write: its own files never need a YAML parser.
    const { parseDocument } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    const doc = parseDocument(text, { uniqueKeys: false });
    markDuplicateKeys(doc);
    if (doc.errors.length) throw doc.errors[0];
    raw = (doc.toJS() ?? {}) as RawKubeconfig;
  } catch (cause) {
    throw new PemError(file, 'not a readable kubeconfig (YAML does not parse)', { cause });
  }
  if (typeof raw !== 'object' || raw === null) throw new PemError(file, 'not a kubeconfig (no mapping at the top)');
  const byName = <T extends { name?: string }>(list: unknown, name: unknown): T | undefined =>
    Array.isArray(list) ? (list as T[]).find((x) => x?.name === name) : undefined;
  const ctx = byName<NonNullable<RawKubeconfig['contexts']>[number]>(raw.contexts, raw['current-context'])?.context;
  const cluster = byName<NonNullable<RawKubeconfig['clusters']>[number]>(raw.clusters, ctx?.cluster)?.cluster;
  const user = byName<NonNullable<RawKubeconfig['users']>[number]>(raw.users, ctx?.user)?.user;
  if (!ctx || !cluster || !user) throw new PemError(file, 'kubeconfig has no complete current context');
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const data = (v: unknown) => (str(v) === undefined ? undefined : unb64(v));
  return {
    clusterName: str(ctx.cluster) ?? '',
    server: str(cluster.server) ?? '',
    user: str(ctx.user) ?? '',
    caPem: data(cluster['certificate-authority-data']),
    certPem: data(user['client-certificate-data']),
    keyPem: data(user['client-key-data']),
    caFile: str(cluster['certificate-authority']),
    certFile: str(user['client-certificate']),
    keyFile: str(user['client-key']),
  };
}

/** Reads back a kubeconfig that must embed its client credentials (kpki's own files). */
export function parseKubeconfig(text: string, file: string): KubeconfigData {
  const k = readKubeconfig(text, file);
  if (!k.certPem?.includes('BEGIN CERTIFICATE') || !k.keyPem?.includes('PRIVATE KEY')) {
    throw new PemError(file, 'kubeconfig does not embed a client certificate and key');
  }
  return { clusterName: k.clusterName, server: k.server, user: k.user, caPem: k.caPem ?? '', certPem: k.certPem, keyPem: k.keyPem };
}
