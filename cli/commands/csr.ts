/** `kpki csr` and `kpki import`: options → one library call (pki/renew/csr.ts, import.ts) → a printer. */
import { readFileSync } from 'node:fs';
import { readPlanFile } from './plan-file.js';
import { KpkiError, PemError } from '../../pki/errors.js';
import { csr } from '../../pki/renew/csr.js';
import { importSigned, type SignedInput } from '../../pki/renew/import.js';
import { EXIT } from '../exit.js';
import { lockWaitNotice } from '../output/lock.js';
import { printable, printableDeep } from '../output/escape.js';
import { writeDocument } from '../output/document.js';
import { green, table } from '../output/style.js';

export interface CsrCliOptions {
  readonly plan: string;
  readonly out?: string;
  readonly nodes?: readonly string[];
  readonly json?: boolean;
  readonly lockTimeoutMs?: number;
}

const ACTION = { created: 'new key and request', kept: 'kept', 'new-request': 'key kept, new request' } as const;

export async function csrCommand(o: CsrCliOptions): Promise<number> {
  if (o.out === undefined) throw new KpkiError('ERR_USAGE', 'csr needs the store: --out DIR (node trees go to DIR/nodes/<name>/)');
  const plan = await readPlanFile(o.plan);
  const report = await csr(plan, { out: o.out, nodes: o.nodes, lockTimeoutMs: o.lockTimeoutMs, onLockWait: lockWaitNotice(o.out, o.lockTimeoutMs) });
  if (o.json) {
    writeDocument('CsrReport', report);
    return EXIT.ok;
  }
  const r = printableDeep(report);
  const lines: string[] = [];
  if (r.items.length <= 60) {
    lines.push(table(['REQUEST', 'CA', 'CN', 'RESULT'], r.items.map((i) => [`${r.out}/${i.csr}`, i.signer, i.cn, i.action === 'kept' ? ACTION.kept : green(ACTION[i.action])])), '');
  }
  const fresh = r.items.filter((i) => i.action !== 'kept').length;
  lines.push(`${r.items.length} requests in ${r.out} (${fresh} written, ${r.items.length - fresh} kept).`);
  lines.push('Have each signed by the CA in the CA column (its certificate is pki/<CA>.crt in the store), then: kpki import --plan <plan> --out <store> FILE...');
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

export interface ImportCliOptions {
  readonly plan: string;
  readonly out?: string;
  readonly files: readonly string[];
  readonly json?: boolean;
  readonly lockTimeoutMs?: number;
}

export async function importCommand(o: ImportCliOptions): Promise<number> {
  if (o.out === undefined) throw new KpkiError('ERR_USAGE', 'import needs the store kpki csr wrote to: --out DIR');
  if (!o.files.length) throw new KpkiError('ERR_USAGE', 'name the signed certificates to import: kpki import --plan <plan> --out <store> FILE...');
  const certificates: SignedInput[] = o.files.map((f) => {
    try {
      return { source: f, text: readFileSync(f, 'utf8') };
    } catch (e) {
      throw new PemError(printable(f), `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  });
  const plan = await readPlanFile(o.plan);
  const report = await importSigned(plan, { out: o.out, certificates, lockTimeoutMs: o.lockTimeoutMs, onLockWait: lockWaitNotice(o.out, o.lockTimeoutMs) });
  if (o.json) {
    writeDocument('ImportReport', report);
    return EXIT.ok;
  }
  const r = printableDeep(report);
  const lines = [table(['FILE', 'CERTIFICATE', 'NODE', 'EXPIRES'], r.items.map((i) => [i.source, i.id, i.node, i.notAfter.slice(0, 10)])), ''];
  const written = r.files.filter((f) => f.action === 'created' || f.action === 'updated');
  lines.push(`Imported ${r.items.length} certificates: wrote ${written.length} files in ${r.out}${r.files.some((f) => f.backup) ? `; previous versions in ${r.out}/backup/` : ''}.`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
