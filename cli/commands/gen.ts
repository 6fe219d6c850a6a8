/** `kpki gen`: options → one library call → a printer. */
import { readPlanFile } from './plan-file.js';
import { generate, type GenerateReport, type ReportItem } from '../../pki/gen/generate.js';
import { EXIT } from '../exit.js';
import { lockWaitNotice } from '../output/lock.js';
import { progressBar } from '../output/progress.js';
import { printableDeep } from '../output/escape.js';
import { writeDocument } from '../output/document.js';
import { bold, cyan, dim, green, red, table, yellow } from '../output/style.js';
import type { Plan } from '../../pki/plan/types.js';

export interface GenOptions {
  readonly plan: string;
  readonly out: string;
  readonly dryRun: boolean;
  readonly prune: boolean;
  readonly json: boolean;
  readonly wide: boolean;
  /** How long to wait for another run holding the store's lock. */
  readonly lockTimeoutMs?: number;
}

/** Beyond this many rows the table groups one kind of leaf across nodes into one row. */
const MAX_ROWS = 40;

const PAST: Record<ReportItem['action'], string> = { keep: 'kept', create: 'created', issue: 'issued', rewrite: 'rewritten' };

function actionText(a: ReportItem['action'], dry: boolean): string {
  const word = dry ? (a === 'keep' ? 'keep' : `will ${a}`) : PAST[a];
  return a === 'keep' ? dim(word) : a === 'rewrite' ? yellow(word) : green(word);
}

const identity = (i: ReportItem) => (i.cn ? (i.o?.length ? `${i.cn} / ${i.o.join(',')}` : i.cn) : '-');
const day = (iso?: string) => iso?.slice(0, 10) ?? '-';

interface Row {
  name: string;
  node: string;
  identity: string;
  signer: string;
  expires: string;
  action: ReportItem['action'];
}

function rows(items: readonly ReportItem[], wide: boolean): Row[] {
  const one = (i: ReportItem): Row => ({
    name: i.id, node: i.node ?? '-', identity: identity(i), signer: i.kind === 'ca' ? 'self' : i.signer ?? '-',
    expires: day(i.notAfter), action: i.action,
  });
  if (wide || items.length <= MAX_ROWS) return items.map(one);
  const groups = new Map<string, ReportItem[]>();
  for (const i of items) {
    const key = `${i.id}\0${i.action}`;
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  }
  return [...groups.values()].map((g) => {
    const first = one(g[0]!);
    if (g.length === 1) return first;
    const names = new Set(g.map((i) => identity(i)));
    const earliest = g.map((i) => i.notAfter ?? '').sort()[0];
    return { ...first, node: `${g.length} nodes`, identity: names.size === 1 ? first.identity : `(per node)`, expires: day(earliest || undefined) };
  });
}

function printHuman(r: GenerateReport, wide: boolean, deploy: Plan['deploy']): void {
  const changes = r.items.filter((i) => i.action !== 'keep');
  const out: string[] = [];
  const touched = r.files.filter((f) => f.action !== 'unchanged');
  // A run that changed nothing prints one line; the table is for what was (or would be) done.
  const shown = r.dryRun || !r.changed ? changes : r.items;
  const body = rows(shown, wide).map((x) => [x.name, x.node, x.identity, x.signer, x.expires, actionText(x.action, r.dryRun)]);
  if (body.length) out.push(table(['NAME', 'NODE', 'CN / O', 'SIGNER', 'EXPIRES', r.dryRun ? 'PLAN' : 'RESULT'], body), '');
  if (changes.length && (r.dryRun || changes.length <= MAX_ROWS || wide)) {
    const why = changes.filter((c) => !(c.reasons.length === 1 && c.reasons[0] === 'missing'));
    if (why.length) {
      out.push(bold(r.dryRun ? 'Why:' : 'Reissued because:'));
      for (const c of why) out.push(`  ${c.ref}: ${c.reasons.join('; ')}`);
      out.push('');
    }
  }
  // Files removed from node trees and permissions restored: always listed, with the reason.
  const housekeeping = touched.filter((f) => f.action === 'removed' || f.action === 'chmod');
  if (housekeeping.length) {
    out.push(bold(r.dryRun ? 'Files that would be removed or re-permissioned:' : 'Files removed or re-permissioned:'));
    for (const f of housekeeping) out.push(`  ${f.action === 'removed' ? red(r.dryRun ? 'remove' : 'removed') : yellow(r.dryRun ? 'chmod' : 'chmod')} ${f.path}: ${f.reason ?? ''}${f.backup ? dim(` (saved as ${f.backup})`) : ''}`);
    out.push('');
  }
  const writes = touched.filter((f) => f.action === 'created' || f.action === 'updated');
  const count = (a: string) => writes.filter((f) => f.action === a).length;
  if (!r.changed) {
    out.push(r.unapplied.length
      ? yellow(`Nothing written: the ${r.items.length} credentials in ${r.out} are current, but ${r.unapplied.length} plan change(s) are not applied by gen (see below).`)
      : green(`Nothing to do: all ${r.items.length} credentials in ${r.out} match the plan.`));
  } else if (r.dryRun) {
    out.push(`${changes.length} of ${r.items.length} credentials would change, ${housekeeping.length} files would be removed or re-permissioned. Nothing was written (dry run).`);
  } else {
    const backups = touched.filter((f) => f.backup).length;
    const removed = housekeeping.filter((f) => f.action === 'removed').length;
    out.push(`Wrote ${writes.length} files in ${r.out} (${count('created')} new, ${count('updated')} replaced${removed ? `, ${removed} removed` : ''}${backups ? `; previous versions in ${r.out}/backup/` : ''}).`);
  }
  // Only kubeadm joins with a discovery hash; a binary install has no join step to give it to.
  if (r.caCertHash && deploy === 'kubeadm') out.push(`Join: --discovery-token-ca-cert-hash ${cyan(r.caCertHash)}`);
  process.stdout.write(`${out.join('\n')}\n`);
  // Warnings and unapplied plan changes go to stderr, so stdout stays the report.
  const err = [...r.unapplied.map((u) => yellow(`not applied: ${u}`)), ...r.warnings.map((w) => yellow(`warning: ${w}`))];
  if (err.length) process.stderr.write(`${err.join('\n')}\n`);
}

export async function gen(o: GenOptions): Promise<number> {
  const plan = await readPlanFile(o.plan);
  const progress = progressBar(!o.json);
  const label = { issue: 'signing', write: 'writing' } as const;
  const report = await generate(plan, {
    out: o.out, dryRun: o.dryRun, prune: o.prune, onProgress: (phase, d, t) => progress.update(label[phase], d, t),
    lockTimeoutMs: o.lockTimeoutMs, onLockWait: lockWaitNotice(o.out, o.lockTimeoutMs),
  });
  progress.stop();
  if (o.json) writeDocument('GenReport', report);
  else printHuman(printableDeep(report), o.wide, plan.deploy);
  return EXIT.ok;
}
