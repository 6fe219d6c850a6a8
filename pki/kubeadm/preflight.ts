/**
 * The file checks of kubeadm's preflight, as data: which files a node must NOT have (or must
 * have) before `kubeadm init` / `kubeadm join` runs, so kpki's node trees for deploy: kubeadm can
 * leave those out and the lead's planner can say why.
 *
 * Source: kubernetes/kubernetes cmd/kubeadm/app/preflight/checks.go (commit 00b6a4c7, 1.31+):
 *  - JoinNodeChecks, run by every join (cmd/phases/join/preflight.go runPreflight, commit 0ccffeb):
 *      FileAvailableCheck /etc/kubernetes/kubelet.conf and /etc/kubernetes/bootstrap-kubelet.conf,
 *      and FileAvailableCheck{cfg.CACertPath} (/etc/kubernetes/pki/ca.crt) when cfg.ControlPlane == nil.
 *  - InitNodeChecks, run by init and, with isSecondaryControlPlane, by join --control-plane:
 *      FileAvailableCheck on the four static Pod manifests in /etc/kubernetes/manifests,
 *      DirAvailableCheck{cfg.Etcd.Local.DataDir} with local (stacked) etcd, and with external etcd
 *      FileExistingCheck (label ExternalEtcdClientCertificates) on caFile, certFile and keyFile.
 *  - Check names: FileAvailable-/DirAvailable-/FileExisting- + the path with "/" turned into "-".
 * Up to 1.22, JoinNodeChecks also had DirAvailableCheck /etc/kubernetes/manifests (the whole
 * directory must be empty); kubernetes/kubernetes#104942 (1.23) removed it.
 * A control-plane join refuses kubelet.conf too: its kubelet still registers by TLS bootstrap.
 */
import { CAS, CERTS } from '../catalog/entries.js';
import type { KubernetesMinor } from '../catalog/types.js';
import type { Plan } from '../plan/types.js';
import { runsAtLeast } from '../plan/version.js';
import { CERTIFICATES_DIR } from './config.js';

/** Which kubeadm command the node runs. */
export type KubeadmRole = 'init' | 'join-control-plane' | 'join-worker';

export interface PreflightCheck {
  /** The name kubeadm prints (`[ERROR <name>]`) and `--ignore-preflight-errors` takes. */
  readonly name: string;
  /** Absolute path on the node. */
  readonly path: string;
  /** `absent`: the file must not exist; `empty-dir`: absent or empty; `present`: must exist. */
  readonly rule: 'absent' | 'empty-dir' | 'present';
  readonly roles: readonly KubeadmRole[];
  /** The last kubeadm minor release that runs the check. */
  readonly until?: KubernetesMinor;
  /** Only with this etcd topology. */
  readonly etcd?: 'stacked' | 'external';
}

/** checks.go `Name()`: e.g. `FileAvailable--etc-kubernetes-kubelet.conf`. */
function named(prefix: 'FileAvailable' | 'DirAvailable', path: string): string {
  return `${prefix}-${path.replaceAll('/', '-')}`;
}

const JOIN: readonly KubeadmRole[] = ['join-control-plane', 'join-worker'];
const CONTROL_PLANES: readonly KubeadmRole[] = ['init', 'join-control-plane'];
const MANIFESTS = '/etc/kubernetes/manifests';

function file(path: string, roles: readonly KubeadmRole[], more: Partial<PreflightCheck> = {}): PreflightCheck {
  return { name: named('FileAvailable', path), path, rule: 'absent', roles, ...more };
}

/** External etcd client files, where kubeadmConfigs tells kubeadm to find them. */
function externalEtcdFiles(): PreflightCheck[] {
  const client = CERTS.find((e) => e.id === 'apiserver-etcd-client');
  const ca = CAS.find((e) => e.id === 'etcd-ca');
  if (!client || !ca) throw new Error('internal error: etcd client entries missing from the catalog');
  return [`${CERTIFICATES_DIR}/${ca.stem}.crt`, `/${client.path}.crt`, `/${client.path}.key`].map((path) => ({
    name: 'ExternalEtcdClientCertificates',
    path,
    rule: 'present',
    roles: CONTROL_PLANES,
    etcd: 'external',
  }));
}

/** Every file check of init and join preflight, across the releases kpki supports. */
export const PREFLIGHT_FILE_CHECKS: readonly PreflightCheck[] = [
  { name: named('DirAvailable', MANIFESTS), path: MANIFESTS, rule: 'empty-dir', roles: JOIN, until: '1.22' },
  file('/etc/kubernetes/kubelet.conf', JOIN),
  file('/etc/kubernetes/bootstrap-kubelet.conf', JOIN),
  file(`${CERTIFICATES_DIR}/ca.crt`, ['join-worker']),
  ...['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'].map((c) => file(`${MANIFESTS}/${c}.yaml`, CONTROL_PLANES)),
  { name: named('DirAvailable', '/var/lib/etcd'), path: '/var/lib/etcd', rule: 'empty-dir', roles: CONTROL_PLANES, etcd: 'stacked' },
  ...externalEtcdFiles(),
];

/** The checks kubeadm runs for `role` on the plan's release and etcd topology. */
export function preflightChecks(plan: Plan, role: KubeadmRole): PreflightCheck[] {
  const etcd = plan.etcd.external ? 'external' : 'stacked';
  return PREFLIGHT_FILE_CHECKS.filter(
    (c) =>
      c.roles.includes(role) &&
      (c.etcd === undefined || c.etcd === etcd) &&
      (c.until === undefined || !runsAtLeast(plan.kubernetesVersion, Number(c.until.slice(2)) + 1)),
  );
}

export interface PreflightViolation {
  readonly check: PreflightCheck;
  /** The tree file that trips it (root-relative), or, for `present`, the missing path. */
  readonly file: string;
}

/**
 * The checks a node tree would fail. `files` are the tree's paths relative to the node root
 * (`etc/kubernetes/kubelet.conf`), as kpki's layout writes them.
 */
export function preflightViolations(plan: Plan, role: KubeadmRole, files: Iterable<string>): PreflightViolation[] {
  const absolute = [...files].map((f) => `/${f.replace(/^\/+/, '')}`);
  const present = new Set(absolute);
  const out: PreflightViolation[] = [];
  for (const check of preflightChecks(plan, role)) {
    if (check.rule === 'absent' && present.has(check.path)) out.push({ check, file: check.path.slice(1) });
    if (check.rule === 'empty-dir') {
      const inside = absolute.filter((f) => f.startsWith(`${check.path}/`));
      out.push(...inside.map((f) => ({ check, file: f.slice(1) })));
    }
    if (check.rule === 'present' && !present.has(check.path)) out.push({ check, file: check.path.slice(1) });
  }
  return out;
}
