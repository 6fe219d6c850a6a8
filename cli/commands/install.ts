/** `kpki install`: --stage (a directory), over SSH, or --ansible: options → one library call → a printer. */
import { readPlanFile } from './plan-file.js';
import { install, type InstallReport } from '../../bootstrap/install.js';
import { EXIT } from '../exit.js';
import { lockWaitNotice } from '../output/lock.js';
import { printableDeep } from '../output/escape.js';
import { bold, dim, green, red, table, yellow } from '../output/style.js';
import { installRemote, writeAnsibleHandOff, type RemoteInstallReport } from '../../bootstrap/remote.js';
import { KpkiError } from '../../pki/errors.js';
import { renderInstall } from '../../pki/install/install.js';
import { openSshTransport } from '../../pki/sinks/ssh-transport.js';

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

/** `install --json` over SSH (schema/install-hosts-report.schema.json). */
export const INSTALL_HOSTS_KIND = 'InstallHostsReport';

export interface InstallSshCommandOptions {
  readonly plan: string;
  readonly out: string;
  readonly hosts?: readonly string[];
  readonly dryRun: boolean;
  readonly parallel: number;
  readonly start: boolean;
  readonly binaries?: string;
  readonly sshConfig?: string;
  readonly acceptNewHostKeys: boolean;
  readonly ansible?: string;
  readonly json: boolean;
  readonly lockTimeoutMs?: number;
}

function printHosts(r: RemoteInstallReport): void {
  const out: string[] = [];
  for (const n of r.notes) out.push(yellow(n));
  // Per host: the files that change (or would), certificates by subject and dates, never contents.
  const detail = renderInstall({ ...r, hosts: r.hosts.filter((h) => h.status !== 'unchanged') });
  if (r.hosts.some((h) => h.status !== 'unchanged')) out.push(detail.trimEnd(), '');
  const rows = r.hosts.slice(0, MAX_ROWS).map((h) => {
    const c = h.counts;
    const bins = (h.binaries ?? []).filter((b) => b.action !== 'unchanged').length;
    return [
      h.node, h.host,
      h.status === 'failed' ? red('failed') : h.status === 'unchanged' ? green('unchanged') : r.dryRun ? yellow('would change') : 'changed',
      String(c.added), String(c.changed + c.mode), String(c.unchanged), String(bins),
      (h.restarted ?? []).map((u) => u.replace(/\.service$/, '')).join(' ') || dim('-'),
    ];
  });
  out.push(table(['HOST', 'ADDRESS', 'STATUS', 'CREATED', 'UPDATED', 'UNCHANGED', 'BINARIES', 'RESTARTED'], rows));
  if (r.hosts.length > MAX_ROWS) out.push(dim(`… and ${r.hosts.length - MAX_ROWS} more hosts (--json lists them all)`));
  const failed = r.hosts.filter((h) => h.status === 'failed');
  for (const h of failed) out.push(red(`${h.node}: ${h.error ?? 'failed'}`));
  const changed = r.hosts.filter((h) => h.status === 'changed').length;
  out.push(failed.length
    ? `${failed.length} of ${r.hosts.length} hosts failed; the others ${r.dryRun ? 'were read' : 'are done'}.`
    : r.dryRun
      ? `Dry run: ${changed} of ${r.hosts.length} hosts would change; nothing was written.`
      : changed ? green(`Installed: ${changed} of ${r.hosts.length} hosts changed, the others already matched.`) : green(`Nothing to do: all ${r.hosts.length} hosts match the plan and the store.`));
  process.stdout.write(`${out.join('\n')}\n`);
}

export async function installSshCommand(o: InstallSshCommandOptions): Promise<number> {
  if (!Number.isInteger(o.parallel) || o.parallel < 1) throw new KpkiError('ERR_USAGE', `--parallel must be a whole number of hosts, 1 or more (got ${o.parallel})`);
  if (o.ansible !== undefined && (o.json || o.dryRun || o.binaries !== undefined)) {
    throw new KpkiError('ERR_USAGE', `--ansible writes a playbook and connects to no host; ${o.json ? '--json' : o.dryRun ? '--dry-run' : '--binaries'} is for installing over SSH`);
  }
  const plan = await readPlanFile(o.plan);
  const common = { out: o.out, ...(o.hosts?.length ? { hosts: o.hosts } : {}), lockTimeoutMs: o.lockTimeoutMs, onLockWait: lockWaitNotice(o.out, o.lockTimeoutMs) };
  if (o.ansible !== undefined) {
    const r = await writeAnsibleHandOff(plan, o.ansible, common);
    process.stdout.write(`Wrote the Ansible hand-off for ${r.hosts} hosts (${r.files} files) to ${o.ansible}: cd ${o.ansible} && ansible-playbook playbook.yml (add --check to see what would change, -e kpki_start=false to place files only).\n`);
    return EXIT.ok;
  }
  const transport = openSshTransport({ ...(o.sshConfig ? { configFile: o.sshConfig } : {}), acceptNewHostKeys: o.acceptNewHostKeys });
  try {
    const report = await installRemote(plan, {
      ...common, transport, dryRun: o.dryRun, parallel: o.parallel, noStart: !o.start,
      ...(o.binaries !== undefined ? { binaries: o.binaries } : {}),
      onHost: (h, done, total) => {
        if (total > 1) process.stderr.write(`${dim(`[${done}/${total}]`)} ${h.node}: ${h.status}${h.error ? ` (${h.error})` : ''}\n`);
      },
    });
    if (o.json) process.stdout.write(`${JSON.stringify({ apiVersion: INSTALL_API_VERSION, kind: INSTALL_HOSTS_KIND, ...report }, null, 2)}\n`);
    else printHosts(printableDeep(report));
    return report.exitCode === 0 ? EXIT.ok : EXIT.failure;
  } finally {
    await transport.close();
  }
}
