/** `kpki preflight`: plan → the hosts' readiness over SSH → table or JSON; exit 1 when a check failed. */
import { KpkiError } from '../../pki/errors.js';
import { loadPlan } from '../../pki/plan/load.js';
import { preflight, renderPreflight } from '../../pki/preflight/preflight.js';
import { openSshTransport } from '../../pki/sinks/ssh-transport.js';
import { printableDeep } from '../output/escape.js';

export interface PreflightCliOptions {
  readonly plan: string;
  readonly hosts?: readonly string[];
  readonly sshConfig?: string;
  readonly acceptNewHostKeys: boolean;
  readonly binDir?: string;
  readonly parallel: number;
  readonly json: boolean;
}

export async function preflightCommand(o: PreflightCliOptions): Promise<number> {
  if (!Number.isInteger(o.parallel) || o.parallel < 1) throw new KpkiError('ERR_USAGE', `--parallel must be a whole number of hosts, 1 or more (got ${o.parallel})`);
  const plan = await loadPlan(o.plan);
  const transport = openSshTransport({ ...(o.sshConfig ? { configFile: o.sshConfig } : {}), acceptNewHostKeys: o.acceptNewHostKeys });
  try {
    const hosts = o.hosts?.flatMap((h) => h.split(',')).map((h) => h.trim()).filter(Boolean);
    const report = await preflight(plan, {
      transport, parallel: o.parallel,
      ...(hosts?.length ? { hosts } : {}),
      ...(o.binDir ? { binDir: o.binDir } : {}),
    });
    process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : renderPreflight(printableDeep(report)));
    return report.exitCode;
  } finally {
    await transport.close();
  }
}
