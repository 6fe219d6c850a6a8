/** `kpki ca extend <ca>`: options → one library call (pki/renew/extend) → a printer. */
import { readPlanFile } from './plan-file.js';
import type { CaId } from '../../pki/catalog/types.js';
import { KpkiError } from '../../pki/errors.js';
import { CA_IDS, extendCa, type ExtendCaReport } from '../../pki/renew/extend.js';
import { EXIT } from '../exit.js';
import { lockWaitNotice } from '../output/lock.js';
import { writeDocument } from '../output/document.js';
import { printableDeep } from '../output/escape.js';
import { bold, cyan, green } from '../output/style.js';
import { closest } from '../suggest.js';
import { restartLines } from './renew.js';
import { extendCaRoot, type RootExtendReport } from '../../pki/renew/root-extend.js';
import { CAS } from '../../pki/catalog/entries.js';

function printRoot(r: RootExtendReport): void {
  const out = r.extended.map((e) => `${r.dryRun ? 'Would extend' : 'Extended'} CA ${e.ca} in ${r.root}: NotAfter ${e.previousNotAfter.slice(0, 10)} → ${green(e.notAfter.slice(0, 10))}; same subject, key and key identifier.`);
  if (r.kubeconfigs.length) out.push(`${r.dryRun ? 'Would rewrite' : 'Rewrote'} the CA data of ${r.kubeconfigs.join(', ')}.`);
  out.push(r.dryRun ? 'Nothing was written (dry run).' : `Previous versions in ${r.root}/backup/. No CA key was touched.`);
  for (const e of r.extended) out.push(`${e.ca === 'ca' ? 'Discovery hash (unchanged)' : `Public key hash of ${e.ca} (unchanged)`}: ${cyan(e.publicKeyHash)}`);
  const readers = new Set<string>(r.extended.flatMap((e) => CAS.find((c) => c.id === e.ca)?.readBy ?? []));
  if (r.kubeconfigs.length) ['kube-controller-manager', 'kube-scheduler', 'kubelet'].forEach((c) => readers.add(c));
  readers.delete('admin');
  out.push('', bold('Then:'), `  restart ${[...readers].join(', ')}; copy the new CA certificate to the other nodes${r.kubeconfigs.some((k) => k.endsWith('admin.conf')) ? '; hand out admin.conf again' : ''}`);
  if (r.extended.some((e) => Date.parse(e.previousNotAfter) <= Date.now())) out.push(`  renew what the expired CA left expired: kpki renew all --root ${r.root}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** `ca rotate <ca>`: one CA at a time (cli/commands/rotate.ts). */
async function rotateCa(o: CaCliOptions, cas: readonly string[]): Promise<number> {
  if (cas.length !== 1) throw new KpkiError('ERR_USAGE', `name one CA to rotate: ${CA_IDS.join(', ')}${cas.length ? ' (one rotation at a time)' : ''}`);
  const ca = cas[0]!;
  if (!CA_IDS.includes(ca as CaId)) {
    const guess = closest(ca, CA_IDS);
    throw new KpkiError('ERR_USAGE', `unknown CA '${ca}'${guess ? `; did you mean ${guess}?` : ''} (the CAs are ${CA_IDS.join(', ')})`);
  }
  if (o.root !== undefined || o.validityMs !== undefined) throw new KpkiError('ERR_USAGE', 'ca rotate works on a store: --plan and --out (no --root, no --validity: the new CA lasts the plan\'s caValidity)');
  return (await import('./rotate.js')).rotateCommand({
    target: ca as CaId, plan: o.plan, out: o.out, status: o.status ?? false, abort: o.abort ?? false, reuseKeys: o.reuseKeys ?? false, dryRun: o.dryRun, json: o.json, lockTimeoutMs: o.lockTimeoutMs,
  });
}

export interface CaCliOptions {
  /** `extend <ca…>`. */
  readonly args: readonly string[];
  readonly plan?: string;
  readonly out?: string;
  /** In place on a host tree (pki/renew/root-extend.ts). */
  readonly root?: string;
  readonly validityMs?: number;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly lockTimeoutMs?: number;
  /** `rotate`: print the recorded phase; go back to the old CA. */
  readonly status?: boolean;
  readonly abort?: boolean;
  readonly reuseKeys?: boolean;
}

const ACTIONS = ['extend', 'rotate'];

function printHuman(r: ExtendCaReport): void {
  const out: string[] = [];
  const day = (iso: string) => iso.slice(0, 10);
  for (const e of r.extended) {
    out.push(`${r.dryRun ? 'Would extend' : 'Extended'} CA ${e.ca}: NotAfter ${day(e.previousNotAfter)} → ${green(day(e.notAfter))}; same subject, key and key identifier, so every certificate it signed stays valid.`);
  }
  const writes = r.files.filter((f) => f.action === 'created' || f.action === 'updated');
  out.push(r.dryRun
    ? `${writes.length} files would be replaced (the CA certificates, their copies in the node trees, kubeconfigs embedding them). Nothing was written (dry run).`
    : `Wrote ${writes.length} files in ${r.out} (the CA certificates, their copies in the node trees, kubeconfigs embedding them); previous versions in ${r.out}/backup/. No CA key was touched.`);
  for (const e of r.extended) out.push(`${e.ca === 'ca' ? 'Discovery hash (unchanged)' : `Public key hash of ${e.ca} (unchanged)`}: ${cyan(e.publicKeyHash)}`);
  if (r.restarts.length) {
    out.push('', bold(r.dryRun ? 'Afterwards, on each node:' : 'Now, on each node (after copying its tree there):'));
    for (const line of restartLines(r.restarts)) out.push(`  ${line}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  if (r.warnings.length) process.stderr.write(`${r.warnings.map((w) => `warning: ${w}`).join('\n')}\n`);
}

export async function caCommand(o: CaCliOptions): Promise<number> {
  const [action, ...cas] = o.args;
  if (action === undefined || !ACTIONS.includes(action)) {
    const guess = action && closest(action, ACTIONS);
    throw new KpkiError('ERR_USAGE', action === undefined ? 'name what to do: kpki ca extend <ca…>' : `unknown ca action '${action}'${guess ? `; did you mean ${guess}?` : ''} (kpki ca extend <ca…>)`);
  }
  if (action === 'rotate') return rotateCa(o, cas);
  if (!cas.length) throw new KpkiError('ERR_USAGE', `name the CA to extend: ${CA_IDS.join(', ')}`);
  const wrong = cas.filter((c) => !CA_IDS.includes(c as CaId)).map((c) => {
    const guess = closest(c, CA_IDS);
    return `unknown CA '${c}'${guess ? `; did you mean ${guess}?` : ''} (the CAs are ${CA_IDS.join(', ')})`;
  });
  if (wrong.length) throw new KpkiError('ERR_USAGE', wrong.join('\n'));
  if (o.out !== undefined && o.root !== undefined) throw new KpkiError('ERR_USAGE', 'give --out (a kpki store) or --root (a host tree such as /etc/kubernetes), not both');
  if (o.root !== undefined) {
    const r = await extendCaRoot({ root: o.root, cas: [...new Set(cas)] as CaId[], validityMs: o.validityMs, dryRun: o.dryRun });
    if (o.json) writeDocument('RootCaExtendReport', r);
    else printRoot(printableDeep(r));
    return EXIT.ok;
  }
  if (o.out === undefined) throw new KpkiError('ERR_USAGE', 'ca extend needs the store: --out DIR (the directory kpki gen wrote) or a host tree: --root /etc/kubernetes');
  if (o.plan === undefined) throw new KpkiError('ERR_USAGE', 'ca extend --out needs the plan: --plan cluster.yaml');
  const plan = await readPlanFile(o.plan);
  const report = await extendCa(plan, {
    cas: [...new Set(cas)] as CaId[], out: o.out, validityMs: o.validityMs, dryRun: o.dryRun,
    lockTimeoutMs: o.lockTimeoutMs, onLockWait: lockWaitNotice(o.out, o.lockTimeoutMs),
  });
  if (o.json) writeDocument('CaExtendReport', report);
  else printHuman(printableDeep(report));
  return EXIT.ok;
}
