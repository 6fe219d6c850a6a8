/** `kpki check`: options → one library call → table, JSON or Prometheus text; the exit code is the state. */
import { KpkiError } from '../../pki/errors.js';
import { check } from '../../pki/check/check.js';
import { renderPrometheus } from '../../pki/check/prometheus.js';
import { publishFile } from '../../pki/sinks/publish.js';
import { renderText } from '../../pki/check/report.js';
import { loadPlan } from '../../pki/plan/load.js';
import { formatDuration } from '../duration.js';
import { printableDeep } from '../output/escape.js';
import { bold, dim, green, red, yellow } from '../output/style.js';

export interface CheckCliOptions {
  readonly paths: readonly string[];
  readonly out?: string;
  readonly plan?: string;
  readonly node?: string;
  /** Durations in milliseconds (cli/duration.ts parsed and bounded them). */
  readonly warn?: number;
  readonly crit?: number;
  readonly json: boolean;
  readonly prometheus: boolean;
  /** Also write the metrics to this file, atomically (a textfile collector's directory). */
  readonly prometheusFile?: string;
  readonly probe?: readonly string[];
  readonly probeTimeout?: number;
  /** false (`--no-cache`): read every file of the store, whatever its record says. */
  readonly cache?: boolean;
  readonly kubernetesVersion?: string;
  readonly ca?: readonly string[];
  readonly wide?: boolean;
  /** With paths: walk into other file systems mounted inside them. */
  readonly crossMounts?: boolean;
  /** With --out and --plan: read each node's files from its host over SSH. */
  readonly remote?: boolean;
  readonly hosts?: readonly string[];
  readonly sshConfig?: string;
  readonly acceptNewHostKeys?: boolean;
}

/** Published before anything is printed: a failure is UNKNOWN (3), and the previous file stays. */
function publishMetrics(path: string, text: string): void {
  if (path === '') throw new KpkiError('ERR_IO', '--prometheus-file must name a file, e.g. /var/lib/node_exporter/textfile/kpki.prom');
  try {
    publishFile(path, text, 0o644);
  } catch (err) {
    if (err instanceof KpkiError) throw new KpkiError(err.code, `--prometheus-file ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * Errors go to the CLI's one reporter (app.ts): UNKNOWN (3) as monitoring plugins do, with a
 * `PKI UNKNOWN:` line, or a JSON error document with --json.
 */
export async function checkCommand(o: CheckCliOptions): Promise<number> {
  if (o.json && o.prometheus) throw new KpkiError('ERR_USAGE', '--json and --prometheus are two outputs; choose one');
  const critMs = o.crit;
  const warnMs = o.warn;
  if (critMs !== undefined && warnMs !== undefined && critMs > warnMs) throw new KpkiError('ERR_USAGE', `--crit ${formatDuration(critMs)} is longer than --warn ${formatDuration(warnMs)}`);
  const plan = o.plan ? await loadPlan(o.plan) : undefined;
  if (!o.remote && (o.hosts?.length || o.sshConfig !== undefined)) throw new KpkiError('ERR_USAGE', '--hosts and --ssh-config go with --remote');
  const transport = o.remote ? (await import('../../pki/sinks/ssh-transport.js')).openSshTransport({ ...(o.sshConfig ? { configFile: o.sshConfig } : {}), acceptNewHostKeys: o.acceptNewHostKeys === true }) : undefined;
  const hosts = o.hosts?.flatMap((h) => h.split(',')).map((h) => h.trim()).filter(Boolean);
  const report = await check({
    ...(transport ? { remote: { transport, ...(hosts?.length ? { hosts } : {}) } } : {}),
    ...(o.out ? { out: o.out } : {}),
    ...(o.paths.length ? { roots: o.paths } : {}),
    ...(plan ? { plan } : {}),
    ...(o.node ? { node: o.node } : {}),
    ...(o.kubernetesVersion !== undefined ? { kubernetesVersion: o.kubernetesVersion } : {}),
    ...(o.ca?.length ? { cas: o.ca } : {}),
    thresholds: { ...(critMs !== undefined ? { critMs } : {}), ...(warnMs !== undefined ? { warnMs } : {}) },
    ...(o.probe ? { probe: o.probe.length ? o.probe : true } : {}),
    ...(o.probeTimeout !== undefined ? { probeTimeoutMs: o.probeTimeout } : {}),
    ...(o.cache === false ? { useRecord: false } : {}),
    ...(o.crossMounts ? { crossMounts: true } : {}),
  }).finally(() => transport?.close());
  if (o.prometheusFile !== undefined) publishMetrics(o.prometheusFile, renderPrometheus(report));
  if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (o.prometheus) process.stdout.write(renderPrometheus(report));
  else process.stdout.write(renderText(printableDeep(report), { bold, dim, green, red, yellow }, { wide: o.wide === true }));
  return report.exitCode;
}
