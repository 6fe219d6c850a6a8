/**
 * The Kubernetes release `check` judges identities against (kubeadm changed them in 1.29):
 * given (`--kubernetes-version`, a plan, the release a kpki store's record names) or read from where a tree
 * shows it: the image tags of kubeadm's static pod manifests and a kubeadm ClusterConfiguration
 * (kubeadm-config), read through the caller's HostReader: a handful of named files per root.
 */
import { join } from 'node:path';
import { KpkiError } from '../errors.js';
import { parseKubernetesVersion } from '../plan/version.js';
import { MIN_KUBERNETES_MINOR, type KubernetesVersion } from '../plan/types.js';
import type { HostReader } from '../sinks/types.js';
import { readRecord, RECORD_PATH } from '../store/record.js';

export interface ClusterVersion {
  readonly minor: number;
  /** As found or given: `1.20.2`, `1.29`. */
  readonly text: string;
  /** Where it came from: `--kubernetes-version`, `plan`, or a file. */
  readonly source: string;
}

export const fromKubernetesVersion = (v: KubernetesVersion, source: string): ClusterVersion => ({ minor: v.minor, text: `${v.major}.${v.minor}${v.patch === undefined ? '' : `.${v.patch}`}`, source });

/**
 * `--kubernetes-version`: the plan's grammar (`v1.20.2`, `1.29`), or a sentence saying what is
 * wrong. Releases older than kpki writes for are still judged (as the oldest it knows).
 */
export function parseVersionFlag(text: string): ClusterVersion | string {
  const old = /^v?1\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?$/.exec(text);
  if (old && Number(old[1]) < MIN_KUBERNETES_MINOR) return { minor: Number(old[1]), text: text.replace(/^v/, ''), source: '--kubernetes-version' };
  const v = parseKubernetesVersion(text);
  return typeof v === 'string' ? v : fromKubernetesVersion(v, '--kubernetes-version');
}

// The control-plane images kubeadm (and most guides' manifests) run; etcd's tag is etcd's version.
const IMAGE = /^\s*(?:-\s*)?image:\s*["']?(?:[^\s"']*\/)?(?:kube-apiserver|kube-controller-manager|kube-scheduler|hyperkube)(?:-[a-z0-9]+)?:v?(1\.(\d+)(?:\.\d+)?)\b/m;
const CONFIG_VERSION = /^\s*kubernetesVersion:\s*["']?v?(1\.(\d+)(?:\.\d+)?)\b/m;

/** The release a file's text names: a control-plane image tag, or a ClusterConfiguration's kubernetesVersion. */
export function versionInText(text: string, source: string): ClusterVersion | undefined {
  const m = IMAGE.exec(text) ?? (/ClusterConfiguration/.test(text) ? CONFIG_VERSION.exec(text) : null);
  return m ? { minor: Number(m[2]), text: m[1]!, source } : undefined;
}

// Where a tree shows its release, below each root (`/`, an `/etc/kubernetes`, a copied node
// tree): kubeadm's static pod manifests first (what runs), then kubeadm's configuration files.
const BASES = ['', 'etc/kubernetes', 'kubernetes'];
const MANIFESTS = ['kube-apiserver.yaml', 'kube-controller-manager.yaml', 'kube-scheduler.yaml'];
const CONFIGS = ['kubeadm-config.yaml', 'kubeadm.yaml', 'kubeadm-init.yaml'];

/**
 * The release the trees under `roots` show, if any, read through the caller's reader (a
 * handful of named files per root, never a walk): manifests' image tags, then a kubeadm
 * ClusterConfiguration, then a kpki output directory's record.
 */
export async function detectVersion(reader: HostReader, roots: readonly string[]): Promise<ClusterVersion | undefined> {
  const manifests: string[] = [];
  const configs: string[] = [];
  const records: string[] = [];
  for (const root of roots) {
    const r = root.replace(/\/+$/, '') || '/';
    for (const base of BASES.map((b) => (b ? join(r, b) : r))) {
      manifests.push(...MANIFESTS.map((m) => join(base, 'manifests', m)));
      configs.push(...CONFIGS.map((c) => join(base, c)));
    }
    records.push(join(r, RECORD_PATH));
  }
  const found = await reader.read([...manifests, ...configs, ...records]);
  for (const file of [...manifests, ...configs]) {
    const text = found.get(file)?.content;
    const v = text === undefined ? undefined : versionInText(text, file);
    if (v) return v;
  }
  // A kpki output directory given as a path: the release its record names (a safe record only).
  for (const file of records) {
    const recorded = readRecord(found.get(file)).kubernetesVersion;
    const v = recorded === undefined ? undefined : parseVersionFlag(recorded);
    if (v !== undefined && typeof v !== 'string') return { ...v, source: file };
  }
  return undefined;
}

/**
 * The release to judge by: `--kubernetes-version`, else the plan's, else the one a kpki store's
 * record names (`recorded`: gen wrote the plan's there), else what the trees show. A flag that
 * contradicts the plan is refused.
 */
export async function resolveVersion(o: { flag?: string; plan?: { readonly kubernetesVersion?: KubernetesVersion; readonly source: string }; recorded?: string; roots: readonly string[]; reader: HostReader }): Promise<ClusterVersion | undefined> {
  const given = o.flag === undefined ? undefined : parseVersionFlag(o.flag);
  if (typeof given === 'string') throw new KpkiError('ERR_IO', `--kubernetes-version ${o.flag}: ${given}`);
  const planned = o.plan?.kubernetesVersion ? fromKubernetesVersion(o.plan.kubernetesVersion, o.plan.source) : undefined;
  if (given && planned && given.minor !== planned.minor) {
    throw new KpkiError('ERR_IO', `--kubernetes-version ${o.flag} contradicts kubernetesVersion ${planned.text} in ${planned.source}; give one of them`);
  }
  if (given ?? planned) return given ?? planned;
  const recorded = o.recorded === undefined ? undefined : parseVersionFlag(o.recorded);
  if (recorded !== undefined && typeof recorded !== 'string') return { ...recorded, source: 'pki/record' };
  return o.roots.length ? detectVersion(o.reader, o.roots) : undefined;
}
