/** `kpki renew`: options → one library call (pki/renew) → a printer. */
import { readPlanFile } from './plan-file.js';
import { KpkiError } from '../../pki/errors.js';
import { LEAF_IDS, renew, requestErrors, type RenewReport, type RenewRequest } from '../../pki/renew/renew.js';
import { describeRestarts, type NodeRestarts } from '../../pki/renew/restarts.js';
import { EXIT } from '../exit.js';
import { lockWaitNotice } from '../output/lock.js';
import { progressBar } from '../output/progress.js';
import { writeDocument } from '../output/document.js';
import { printableDeep } from '../output/escape.js';
import { bold, cyan, dim, green, table, yellow } from '../output/style.js';
import { closest } from '../suggest.js';
import { renewRoot, type RootRenewReport } from '../../pki/renew/root.js';

export interface RenewCliOptions {
  readonly ids: readonly string[];
  readonly plan?: string;
  readonly out?: string;
  /** In place on a host kpki did not make (pki/renew/root.ts). */
  readonly root?: string;
  readonly kubeletDir?: string;
  readonly nodes?: readonly string[];
  readonly beforeMs?: number;
  readonly reuseKeys: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly lockTimeoutMs?: number;
}

/** Beyond this many, nodes whose restart lines read the same are printed as one line. */
const MAX_NODE_LINES = 12;

/** Restart lines, nodes with the same line folded together when there are many. */
export function restartLines(restarts: readonly NodeRestarts[]): string[] {
  if (restarts.length <= MAX_NODE_LINES) return restarts.map(describeRestarts);
  const byText = new Map<string, string[]>();
  for (const r of restarts) {
    const text = describeRestarts({ ...r, node: '' }).slice(2);
    byText.set(text, [...(byText.get(text) ?? []), r.node]);
  }
  return [...byText].map(([text, nodes]) => `${nodes.length > 2 ? `${nodes[0]}, ${nodes[1]} and ${nodes.length - 2} more` : nodes.join(', ')}: ${text}`);
}

function printHuman(r: RenewReport): void {
  const out: string[] = [];
  const issued = r.items.filter((i) => i.action === 'issue' || i.action === 'rewrite');
  if (issued.length > 40) {
    const byId = new Map<string, number>();
    for (const i of issued) byId.set(i.id, (byId.get(i.id) ?? 0) + 1);
    out.push(table(['NAME', 'NODES', r.dryRun ? 'PLAN' : 'RESULT'], [...byId].map(([id, n]) => [id, String(n), green(r.dryRun ? 'will renew' : 'renewed')])), '');
  } else if (issued.length) {
    out.push(table(['NAME', 'NODE', 'EXPIRES', r.dryRun ? 'PLAN' : 'RESULT', 'WHY'],
      issued.map((i) => [i.id, i.node ?? '-', i.notAfter?.slice(0, 10) ?? '-', i.action === 'issue' ? green(r.dryRun ? 'will renew' : 'renewed') : yellow(r.dryRun ? 'will rewrite' : 'rewritten'), i.reasons.join('; ')])), '');
  }
  if (!issued.length) out.push(green(`Nothing to renew: no selected certificate in ${r.out} ${r.dryRun ? 'would change' : 'changed'}.`));
  else if (r.dryRun) out.push(`${r.renewed} certificates would be renewed. Nothing was written (dry run).`);
  else {
    const backups = r.files.filter((f) => f.backup).length;
    out.push(`Renewed ${r.renewed} certificates: wrote ${r.files.filter((f) => f.action === 'created' || f.action === 'updated').length} files in ${r.out}${backups ? `; previous versions in ${r.out}/backup/` : ''}.`);
  }
  if (r.restarts.length) {
    out.push('', bold(r.dryRun ? 'Afterwards, on each node:' : 'Now, on each node (after copying its tree there):'));
    for (const line of restartLines(r.restarts)) out.push(`  ${line}`);
  }
  if (r.caCertHash) out.push('', dim(`CA unchanged: --discovery-token-ca-cert-hash ${cyan(r.caCertHash)}`));
  process.stdout.write(`${out.join('\n')}\n`);
  const err = [...r.unapplied.map((u) => yellow(`not applied: ${u}`)), ...r.warnings.map((w) => yellow(`warning: ${w}`))];
  if (err.length) process.stderr.write(`${err.join('\n')}\n`);
}

export async function renewCommand(o: RenewCliOptions): Promise<number> {
  if (o.out !== undefined && o.root !== undefined) throw new KpkiError('ERR_USAGE', 'give --out (a kpki store) or --root (a host tree such as /etc/kubernetes), not both');
  if (o.kubeletDir !== undefined && o.root === undefined) throw new KpkiError('ERR_USAGE', '--kubelet-dir goes with --root');
  if (o.out === undefined && o.root === undefined) throw new KpkiError('ERR_USAGE', 'renew needs what to renew: --out DIR (the directory kpki gen wrote) or --root /etc/kubernetes (a kubeadm host, in place)');
  const ids: readonly string[] | 'all' = o.ids.length === 1 && o.ids[0] === 'all' ? 'all' : o.ids;
  if (ids !== 'all' && ids.includes('all')) throw new KpkiError('ERR_USAGE', "'all' renews every leaf: give it alone, not with ids");
  if (o.root !== undefined && o.nodes?.length) throw new KpkiError('ERR_USAGE', '--node goes with --out; --root renews the one host whose tree it is');
  if (o.root !== undefined) return renewRootCommand(o, ids);
  if (o.out === undefined) throw new KpkiError('ERR_USAGE', 'renew needs --out');
  if (o.plan === undefined) throw new KpkiError('ERR_USAGE', 'renew --out needs the plan: --plan cluster.yaml');
  const plan = await readPlanFile(o.plan);
  const request: RenewRequest = { ids, nodes: o.nodes, beforeMs: o.beforeMs, reuseKeys: o.reuseKeys };
  // Checked here first for the did-you-mean (the library says the same without it).
  const errors = requestErrors(plan, request).map((e) => {
    const m = /^unknown certificate id '(.+)'/.exec(e) ?? /^node '(.+)' is not in the plan/.exec(e);
    const guess = m && closest(m[1]!, e.startsWith('node') ? plan.nodes.map((n) => n.name) : LEAF_IDS);
    return guess ? `${e}; did you mean ${guess}?` : e;
  });
  if (errors.length) throw new KpkiError('ERR_USAGE', errors.join('\n'));
  const progress = progressBar(!o.json);
  const label = { issue: 'signing', write: 'writing' } as const;
  const report = await renew(plan, {
    ...request, out: o.out, dryRun: o.dryRun, onProgress: (phase, d, t) => progress.update(label[phase], d, t),
    lockTimeoutMs: o.lockTimeoutMs, onLockWait: lockWaitNotice(o.out, o.lockTimeoutMs),
  });
  progress.stop();
  if (o.json) writeDocument('RenewReport', report);
  else printHuman(printableDeep(report));
  return EXIT.ok;
}

function printRoot(r: RootRenewReport): void {
  const out: string[] = [];
  out.push(dim(`${r.root}${r.kubeletDir ? ` and ${r.kubeletDir}` : ''}: node ${r.node}; identities as for Kubernetes ${r.version ? `${r.version.text} (from ${r.version.source})` : '1.29+ (no release found in the tree)'}`));
  const shown = r.items.filter((i) => i.action !== 'keep');
  if (shown.length) {
    out.push(table(['NAME', 'IDENTITY', 'SANS FROM', 'EXPIRES', r.dryRun ? 'PLAN' : 'RESULT', 'WHY'], shown.map((i) => [
      i.id, `${i.cn}${i.o.length ? ` (${i.o.join(', ')})` : ''}`, i.sans, (i.notAfter ?? i.previousNotAfter).slice(0, 10),
      i.action === 'blocked' ? yellow('not renewed') : green(r.dryRun ? 'will renew' : 'renewed'), i.reasons.join('; '),
    ])), '');
  }
  if (!r.renewed) out.push(green(`Nothing to renew in ${r.root}.`));
  else if (r.dryRun) out.push(`${r.renewed} certificates would be renewed. Nothing was written (dry run).`);
  else {
    const backups = r.files.filter((f) => f.backup).length;
    out.push(`Renewed ${r.renewed} certificates in place${backups ? `; previous versions in ${r.root}/backup/${r.kubeletDir && r.files.some((f) => f.backup && f.path.startsWith(r.kubeletDir!)) ? ` and ${r.kubeletDir}/backup/` : ''}` : ''}.`);
  }
  if (r.link) out.push(`${r.link.path} → ${r.link.to} (was ${r.link.from})`);
  if (r.restarts.length) {
    out.push('', bold(r.dryRun ? 'Afterwards, on this host:' : 'Now, on this host:'));
    for (const line of restartLines(r.restarts)) out.push(`  ${line}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  const err = [...r.warnings.map((w) => yellow(`warning: ${w}`)), ...r.blocked.map((b) => yellow(b.message))];
  if (err.length) process.stderr.write(`${err.join('\n')}\n`);
}

async function renewRootCommand(o: RenewCliOptions, ids: readonly string[] | 'all'): Promise<number> {
  const plan = o.plan === undefined ? undefined : await readPlanFile(o.plan);
  if (ids !== 'all') {
    const unknown = ids.filter((id) => !LEAF_IDS.includes(id) && !['ca', 'front-proxy-ca', 'etcd-ca', 'sa'].includes(id));
    if (unknown.length) {
      throw new KpkiError('ERR_USAGE', unknown.map((id) => {
        const guess = closest(id, LEAF_IDS);
        return `unknown certificate id '${id}' (kpki catalog lists them)${guess ? `; did you mean ${guess}?` : ''}`;
      }).join('\n'));
    }
  }
  const report = await renewRoot({
    root: o.root!, kubeletDir: o.kubeletDir, plan, ids, beforeMs: o.beforeMs, reuseKeys: o.reuseKeys, dryRun: o.dryRun,
  });
  if (o.json) writeDocument('RootRenewReport', report);
  else printRoot(printableDeep(report));
  return report.blocked.length ? EXIT.conflict : EXIT.ok;
}
