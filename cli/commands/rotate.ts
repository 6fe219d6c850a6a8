/**
 * `kpki ca rotate <ca>` and `kpki sa rotate`: options → one library call (pki/gen/rotate.ts) →
 * a printer: what the phase did, per node which files changed and what to restart (the
 * catalog's `readBy`, pki/renew/restarts.ts), and the command for the next phase.
 */
import { readPlanFile } from './plan-file.js';
import { KpkiError } from '../../pki/errors.js';
import { changedOnNodesOf, rotate, rotationStatus, type RotateReport, type RotationStatus } from '../../pki/gen/rotate.js';
import { resolve } from '../../pki/catalog/resolve.js';
import { signingCaPath } from '../../pki/layout/layout.js';
import { restartsFor, type NodeRestarts } from '../../pki/renew/restarts.js';
import type { RotationTarget } from '../../pki/rotate/state.js';
import type { Plan } from '../../pki/plan/types.js';
import { EXIT } from '../exit.js';
import { lockWaitNotice } from '../output/lock.js';
import { bold, cyan, green, yellow } from '../output/style.js';
import { restartLines } from './renew.js';

export const ROTATE_KIND = 'RotateReport';
export const STATUS_KIND = 'RotationStatus';

export interface RotateCliOptions {
  readonly target: RotationTarget;
  readonly plan?: string;
  readonly out?: string;
  readonly status: boolean;
  readonly abort: boolean;
  /** ca rotate, issue phase: keep the leaves' keys. */
  readonly reuseKeys?: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly lockTimeoutMs?: number;
}

/**
 * How long to wait before `sa rotate` finalizes, by default: the kubelet refreshes projected
 * tokens at 80 % of their lifetime or after 24 h, whichever is first. Tokens extended to a year
 * (--service-account-extend-token-expiration, on by default) and legacy Secret tokens outlive that.
 */
export const SA_TOKEN_WAIT = '24h (the kubelet refreshes projected tokens at 80 % of their lifetime or after 24 h; tokens handed out by hand, legacy Secret tokens and tokens extended by --service-account-extend-token-expiration, on by default, live up to a year or for ever)';

const command = (t: RotationTarget) => (t === 'sa' ? 'kpki sa rotate' : `kpki ca rotate ${t}`);

/** What each phase did, in one sentence. */
function phaseText(t: RotationTarget, phase: string): string {
  if (t === 'sa') {
    return phase === 'overlap' ? 'overlap: sa.pub holds the old and the new public key; sa.key (the signing key) is the new one'
      : phase === 'finalize' ? 'finalize: sa.pub holds the new public key alone; tokens signed with the old key are refused from now on'
      : 'abort: sa.key and sa.pub are the old pair again';
  }
  return phase === 'trust' ? `trust: every copy of ${t}.crt${t === 'ca' ? " and every kubeconfig's CA data" : ''} holds the old and the new CA; leaves are unchanged`
    : phase === 'issue' ? `issue: every leaf of ${t} is signed by the new CA; serving certificates carry the new CA cross-signed by the old one, so clients that trust only the old CA still verify them; bundles still hold both`
    : phase === 'finalize' ? `finalize: the old ${t} has left every bundle; the store's ${t} is the new one (the old one is in backup/)`
    : `abort: every tree trusts the old ${t} alone and its leaves are signed by it again`;
}

/** Per node, the restarts for the changed files; etcd's are rolling. */
function restartsOf(plan: Plan, r: RotateReport): NodeRestarts[] {
  return restartsFor(r.changedOnNodes, resolve({ ...plan, initNode: r.initNode }));
}

function printHuman(plan: Plan, o: RotateCliOptions, r: RotateReport, restarts: readonly NodeRestarts[]): void {
  const out: string[] = [];
  const rot = r.rotation;
  out.push(`${r.dryRun ? 'Would carry out' : 'Carried out'} ${bold(`${command(rot.target)}, phase ${rot.phase}`)}: ${phaseText(rot.target, rot.phase)}.`);
  const writes = r.files.filter((f) => f.action !== 'chmod');
  out.push(r.dryRun ? `${writes.length} files would change. Nothing was written (dry run).` : `${writes.length} files changed in ${r.out}; previous versions in ${r.out}/backup/.`);
  if (restarts.length) {
    out.push('', bold(r.dryRun ? 'Afterwards, on each node:' : 'Now, on each node (after copying its tree there):'));
    for (const line of restartLines(restarts)) out.push(`  ${line}`);
  }
  if (rot.target === 'etcd-ca' && restarts.some((n) => n.restarts.some((x) => x.component === 'etcd' && x.action === 'restart'))) {
    out.push(yellow('  etcd reads its trusted CAs only when it starts: restart the members one at a time, waiting until `etcdctl endpoint health` is good before the next, so the cluster keeps quorum.'));
  }
  if (rot.target === 'ca' && rot.phase === 'trust') {
    const file = `/${signingCaPath(plan)}`;
    const cps = plan.nodes.filter((n) => n.roles.includes('control-plane')).map((n) => n.name);
    out.push('', bold('kube-controller-manager cannot read a bundle in --client-ca-file and --cluster-signing-cert-file (kubernetes/kubeadm#1350):'));
    out.push(plan.deploy === 'kubeadm'
      ? `  on ${cps.join(', ')}: in /etc/kubernetes/manifests/kube-controller-manager.yaml set --client-ca-file=${file} and --cluster-signing-cert-file=${file} (the CA ca.key belongs to, alone)`
      : `  on ${cps.join(', ')}: point kube-controller-manager's --client-ca-file and --cluster-signing-cert-file at ${file} (the CA ca.key belongs to, alone)`);
  }
  if (rot.target === 'ca' && plan.deploy === 'kubeadm') {
    out.push(yellow(`kubeadm join wrote /etc/kubernetes/pki/ca.crt on each worker itself (kpki's worker trees have none): copy a control plane's ${signingCaPath(plan).replace('-signing', '')} there, then restart that kubelet.`));
  }
  if (rot.newCaCertHash) {
    out.push('', rot.phase === 'finalize'
      ? `New discovery hash: --discovery-token-ca-cert-hash ${cyan(rot.newCaCertHash)}`
      : `Discovery hashes while both CAs are trusted: --discovery-token-ca-cert-hash ${cyan(rot.oldCaCertHash!)} --discovery-token-ca-cert-hash ${cyan(rot.newCaCertHash)}`);
    if (rot.phase === 'finalize' && plan.deploy === 'kubeadm') out.push(yellow('Refresh the bootstrap tokens and the cluster-info ConfigMap in kube-public (its CA data must be the new CA) before joining nodes.'));
  }
  const where = `--plan ${o.plan} --out ${r.out}`;
  if (rot.next) {
    const wait = rot.target === 'sa' ? `, and after the longest token lifetime has passed (by default ${SA_TOKEN_WAIT})` : '';
    out.push('', `Next, once every node runs with these files${wait}: ${green(`${command(rot.target)} ${where}`)} (phase ${rot.next})${rot.phase !== 'finalize' ? `; to go back: ${command(rot.target)} ${where} --abort` : ''}`);
  } else out.push('', `The rotation of ${rot.target} is complete.`);
  process.stdout.write(`${out.join('\n')}\n`);
  if (r.warnings.length) process.stderr.write(`${r.warnings.map((w) => yellow(`warning: ${w}`)).join('\n')}\n`);
}

/** With the plan: per node, what the recorded phase's files ask to restart. */
function statusRestarts(plan: Plan | undefined, s: RotationStatus): NodeRestarts[] | undefined {
  if (!plan) return undefined;
  return restartsFor(changedOnNodesOf(plan, undefined, s.planned), resolve(plan));
}

function printStatus(out: string, target: RotationTarget, s: readonly RotationStatus[], plan: Plan | undefined): void {
  if (!s.length) {
    process.stdout.write(`No rotation of ${target} is in progress in ${out}.\n`);
    return;
  }
  const lines = s.map((r) => {
    const next = r.done ? `next: ${command(r.target)} (phase ${r.next})` : `interrupted: ${command(r.target)} completes it`;
    return `${r.target}: phase ${r.phase} ${r.done ? 'done' : 'in progress'} since ${r.phaseStarted} (rotation started ${r.started}); ${next}${r.target === 'sa' && r.phase === 'overlap' ? `; before finalize wait the longest token lifetime, by default ${SA_TOKEN_WAIT}` : ''}`;
  });
  for (const r of s) {
    const restarts = statusRestarts(plan, r);
    if (restarts?.length) lines.push(bold(`${r.target}, phase ${r.phase}: on each node (after copying its tree there)`), ...restartLines(restarts).map((l) => `  ${l}`));
    else if (!plan && r.planned.length) lines.push(`${r.planned.length} files written by phase ${r.phase}; with --plan, what each node must restart`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function rotateCommand(o: RotateCliOptions): Promise<number> {
  if (o.reuseKeys && (o.target === 'sa' || o.abort)) throw new KpkiError('ERR_USAGE', '--reuse-keys goes with ca rotate\'s issue phase (leaves signed again with their keys)');
  if (o.status && (o.abort || o.dryRun)) throw new KpkiError('ERR_USAGE', '--status only reads the record: give it alone (no --abort, --dry-run)');
  if (o.out === undefined) throw new KpkiError('ERR_USAGE', `${command(o.target)} needs the store: --out DIR (the directory kpki gen wrote)`);
  if (o.status) {
    const s = await rotationStatus(o.out, o.target);
    const plan = o.plan === undefined ? undefined : await readPlanFile(o.plan);
    const rotations = s.map(({ planned, ...r }) => {
      const restarts = statusRestarts(plan, { ...r, planned });
      return { ...r, files: planned.length, ...(restarts ? { restarts } : {}) };
    });
    if (o.json) process.stdout.write(`${JSON.stringify({ apiVersion: 'kpki/v1alpha1', kind: STATUS_KIND, out: o.out, rotations, ...(o.target === 'sa' ? { tokenWait: SA_TOKEN_WAIT } : {}) }, null, 2)}\n`);
    else printStatus(o.out, o.target, s, plan);
    return EXIT.ok;
  }
  if (o.plan === undefined) throw new KpkiError('ERR_USAGE', `${command(o.target)} needs the plan: --plan cluster.yaml`);
  const plan = await readPlanFile(o.plan);
  const report = await rotate(plan, {
    target: o.target, abort: o.abort, reuseKeys: o.reuseKeys, out: o.out, dryRun: o.dryRun,
    lockTimeoutMs: o.lockTimeoutMs, onLockWait: lockWaitNotice(o.out, o.lockTimeoutMs),
  });
  const restarts = restartsOf(plan, report);
  if (o.json) {
    const { dryRun, out, rotation, files, warnings, changed, caCertHash } = report;
    const doc = { apiVersion: 'kpki/v1alpha1', kind: ROTATE_KIND, dryRun, out, rotation, files, restarts, warnings, changed, ...(caCertHash ? { caCertHash } : {}) };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else printHuman(plan, o, report, restarts);
  return EXIT.ok;
}
