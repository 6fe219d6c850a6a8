/**
 * The Kubernetes release `check` judges identities against (kubeadm changed them in 1.29):
 * given (`--kubernetes-version`, a plan, a kpki store's plan memo) or read from where a tree
 * shows it: the image tags of kubeadm's static pod manifests and a kubeadm ClusterConfiguration
 * (kubeadm-config). The disk side reads a handful of known files per root, never a walk.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { KpkiError } from '../errors.js';
import { parseKubernetesVersion } from '../plan/version.js';
import { MIN_KUBERNETES_MINOR, type KubernetesVersion } from '../plan/types.js';

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
  const m = IMAGE.exec(text) ?? (/ClusterConfiguration|PlanMemo/.test(text) ? CONFIG_VERSION.exec(text) : null);
  return m ? { minor: Number(m[2]), text: m[1]!, source } : undefined;
}

/** A kpki store's plan memo (pki/plan.json): the version the store was generated for. */
export function versionInMemo(text: string, source: string): ClusterVersion | undefined {
  try {
    const v = (JSON.parse(text) as { kind?: unknown; value?: { kubernetesVersion?: KubernetesVersion } });
    const k = v.kind === 'PlanMemo' ? v.value?.kubernetesVersion : undefined;
    return k && typeof k.minor === 'number' && typeof k.major === 'number' ? fromKubernetesVersion(k, source) : undefined;
  } catch {
    return undefined;
  }
}

const MAX_BYTES = 256 * 1024;
const MAX_FILES = 64;

function readSmall(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return st.isFile() && st.size <= MAX_BYTES ? fs.readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

function yamlFiles(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => /\.ya?ml$/i.test(n)).sort().map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/**
 * The release the trees under `roots` show, if any: static pod manifests first (what runs),
 * then kubeadm configuration files, then a kpki store's plan memo. Each root may be `/`, an
 * `/etc/kubernetes`, a copied node tree or a kpki output directory.
 */
export function detectVersion(roots: readonly string[]): ClusterVersion | undefined {
  const manifests: string[] = [];
  const configs: string[] = [];
  const memos: string[] = [];
  for (const root of roots) {
    const r = root.replace(/\/+$/, '') || '/';
    for (const base of [r, join(r, 'etc/kubernetes'), join(r, 'kubernetes')]) {
      manifests.push(...yamlFiles(join(base, 'manifests')));
      configs.push(...yamlFiles(base));
    }
    memos.push(join(r, 'pki/plan.json'));
  }
  let read = 0;
  for (const file of [...manifests, ...configs]) {
    if (read++ >= MAX_FILES) break;
    const text = readSmall(file);
    const v = text === undefined ? undefined : versionInText(text, file);
    if (v) return v;
  }
  for (const file of memos) {
    const text = readSmall(file);
    const v = text === undefined ? undefined : versionInMemo(text, file);
    if (v) return v;
  }
  return undefined;
}

/**
 * The release to judge by: `--kubernetes-version`, else the plan's, else what the trees show
 * (`memo`: a kpki store's pki/plan.json text). A flag that contradicts the plan is refused.
 */
export function resolveVersion(o: { flag?: string; plan?: { readonly kubernetesVersion?: KubernetesVersion; readonly source: string }; memo?: () => string | undefined; roots: readonly string[] }): ClusterVersion | undefined {
  const given = o.flag === undefined ? undefined : parseVersionFlag(o.flag);
  if (typeof given === 'string') throw new KpkiError('ERR_IO', `--kubernetes-version ${o.flag}: ${given}`);
  const planned = o.plan?.kubernetesVersion ? fromKubernetesVersion(o.plan.kubernetesVersion, o.plan.source) : undefined;
  if (given && planned && given.minor !== planned.minor) {
    throw new KpkiError('ERR_IO', `--kubernetes-version ${o.flag} contradicts kubernetesVersion ${planned.text} in ${planned.source}; give one of them`);
  }
  if (given ?? planned) return given ?? planned;
  const memo = o.memo?.();
  return (memo === undefined ? undefined : versionInMemo(memo, 'pki/plan.json')) ?? detectVersion(o.roots);
}
