/**
 * The plan's `kubernetesVersion`: parsing, and the comparisons the catalog and the kubeadm
 * configuration writer make against it. Kubernetes only has major version 1; kpki writes
 * identities and kubeadm configuration for 1.20 and later.
 */
import { MIN_KUBERNETES_MINOR, type KubernetesVersion } from './types.js';

/**
 * `v1.31.2`, `1.31.2`, `v1.31` or `1.31` → the version, or a message saying what is wrong.
 * Pre-release suffixes (`-rc.1`) are not taken: a plan names the release it runs.
 */
export function parseKubernetesVersion(text: string): KubernetesVersion | string {
  const m = /^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?$/.exec(text);
  if (!m) {
    return `"${text}" is not a Kubernetes version; expected v1.31.2, 1.31.2 or 1.31`;
  }
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major !== 1) return `"${text}" is not a Kubernetes version: every Kubernetes release is 1.x`;
  if (minor < MIN_KUBERNETES_MINOR) {
    return `Kubernetes ${major}.${minor} is not supported: kpki writes identities and kubeadm configuration for 1.${MIN_KUBERNETES_MINOR} and later`;
  }
  return m[3] === undefined ? { major, minor, text } : { major, minor, patch: Number(m[3]), text };
}

/**
 * True when the plan's cluster runs `1.<minor>` or later. A plan without a version counts as
 * the newest release, so the newest rules are the default.
 */
export function runsAtLeast(version: KubernetesVersion | undefined, minor: number): boolean {
  return version === undefined || version.minor >= minor;
}
