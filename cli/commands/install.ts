/** `kpki install --stage`: options → one library call → a printer. */
import { readPlanFile } from './plan-file.js';
import { install, type InstallReport } from '../../bootstrap/install.js';
import { EXIT } from '../exit.js';
import { lockWaitNotice } from '../output/lock.js';
import { printableDeep } from '../output/escape.js';
import { bold, dim, green, table, yellow } from '../output/style.js';

/** `install --json`'s document (schema/install-report.schema.json). */
export const INSTALL_API_VERSION = 'kpki/v1alpha1';
export const INSTALL_KIND = 'InstallReport';

export interface InstallCommandOptions {
  readonly plan: string;
  readonly out: string;
  readonly stage: string;
  readonly hosts?: readonly string[];
  readonly json: boolean;
  readonly lockTimeoutMs?: number;
}

/** Beyond this many hosts the table shows the first ones and a count. */
const MAX_ROWS = 40;

function printHuman(r: InstallReport): void {
  const out: string[] = [];
  const rows = r.hosts.slice(0, MAX_ROWS).map((h) => [h.name, h.address, h.roles.join(','), String(h.files), h.units.map((u) => u.replace(/\.service$/, '')).join(' ') || dim('-')]);
  out.push(table(['HOST', 'ADDRESS', 'ROLES', 'FILES', 'UNITS'], rows));
  if (r.hosts.length > MAX_ROWS) out.push(dim(`… and ${r.hosts.length - MAX_ROWS} more hosts (--json lists them all)`));
  out.push('');
  for (const n of r.notes) out.push(yellow(n));
  const removed = r.files.filter((f) => f.action === 'removed');
  if (removed.length) {
    out.push(bold('Removed:'));
    for (const f of removed.slice(0, MAX_ROWS)) out.push(`  ${f.path}: ${f.reason ?? ''}${f.backup ? dim(` (saved as ${f.backup})`) : ''}`);
  }
  const c = r.counts;
  out.push(r.changed
    ? `Staged ${r.hosts.length} hosts in ${r.stage}: ${c.created} files created, ${c.updated} replaced, ${c.removed} removed, ${c.chmod} re-permissioned, ${c.unchanged} unchanged${c.updated + c.removed ? `; previous versions in ${r.stage}/backup/` : ''}.`
    : green(`Nothing to do: the ${r.hosts.length} host trees in ${r.stage} match the plan and the store.`));
  out.push(dim(`Hosts and addresses: ${r.stage}/hosts.txt. Copy each ${r.stage}/<host>/ to / on that host (tar --no-overwrite-dir keeps existing directories), then systemctl daemon-reload.`));
  process.stdout.write(`${out.join('\n')}\n`);
}

export async function installCommand(o: InstallCommandOptions): Promise<number> {
  const plan = await readPlanFile(o.plan);
  const report = await install(plan, {
    out: o.out, stage: o.stage, ...(o.hosts && { hosts: o.hosts }), lockTimeoutMs: o.lockTimeoutMs, onLockWait: lockWaitNotice(o.out, o.lockTimeoutMs),
  });
  if (o.json) process.stdout.write(`${JSON.stringify({ apiVersion: INSTALL_API_VERSION, kind: INSTALL_KIND, ...report }, null, 2)}\n`);
  else printHuman(printableDeep(report));
  return EXIT.ok;
}
