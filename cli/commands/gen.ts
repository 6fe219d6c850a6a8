/** `kpki gen`: options → one library call → a printer. */
import { loadPlan } from '../../pki/plan/load.js';
import { generate, type GenerateReport, type ReportItem } from '../../pki/generate.js';
import { EXIT } from '../exit.js';
import { lockWaitNotice } from '../output/lock.js';
import { progressBar } from '../output/progress.js';
import { bold, cyan, dim, green, table, yellow } from '../output/style.js';

export interface GenOptions {
  readonly plan: string;
  readonly out: string;
  readonly dryRun: boolean;
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
    groups.set(key, [...(groups.get(key) ?? []), i]);
  }
  return [...groups.values()].map((g) => {
    const first = one(g[0]!);
    if (g.length === 1) return first;
    const names = new Set(g.map((i) => identity(i)));
    const earliest = g.map((i) => i.notAfter ?? '').sort()[0];
    return { ...first, node: `${g.length} nodes`, identity: names.size === 1 ? first.identity : `(per node)`, expires: day(earliest || undefined) };
  });
}

function printHuman(r: GenerateReport, wide: boolean): void {
  const changes = r.items.filter((i) => i.action !== 'keep');
  const out: string[] = [];
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
  for (const w of r.warnings) out.push(yellow(`warning: ${w}`));
  const count = (a: string) => r.files.filter((f) => f.action === a).length;
  if (!r.changed) {
    out.push(green(`Nothing to do: all ${r.items.length} credentials in ${r.out} match the plan.`));
  } else if (r.dryRun) {
    out.push(`${changes.length} of ${r.items.length} credentials would change. Nothing was written (dry run).`);
  } else {
    const backups = r.files.filter((f) => f.backup).length;
    out.push(`Wrote ${count('created') + count('updated')} files in ${r.out} (${count('created')} new, ${count('updated')} replaced${backups ? `, previous versions in ${r.out}/backup/` : ''}; ${count('unchanged')} unchanged).`);
  }
  if (r.caCertHash) out.push(`Join: --discovery-token-ca-cert-hash ${cyan(r.caCertHash)}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

export async function gen(o: GenOptions): Promise<number> {
  const plan = await loadPlan(o.plan);
  const progress = progressBar(!o.json);
  const label = { issue: 'signing', write: 'writing' } as const;
  const report = await generate(plan, {
    out: o.out, dryRun: o.dryRun, onProgress: (phase, d, t) => progress.update(label[phase], d, t),
    lockTimeoutMs: o.lockTimeoutMs, onLockWait: lockWaitNotice(o.out, o.lockTimeoutMs),
  });
  progress.stop();
  if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else printHuman(report, o.wide);
  return EXIT.ok;
}
