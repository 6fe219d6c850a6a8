/** `kpki check`: options → one library call → table, JSON or Prometheus text; the exit code is the state. */
import { KpkiError } from '../../pki/errors.js';
import { check } from '../../pki/check/check.js';
import { renderPrometheus } from '../../pki/check/prometheus.js';
import { renderText } from '../../pki/check/report.js';
import { STATUS_EXIT } from '../../pki/check/types.js';
import { parseDuration } from '../../pki/plan/duration.js';
import { loadPlan } from '../../pki/plan/load.js';
import { readPlanMemo } from '../../pki/store/state.js';
import { bold, dim, green, red, yellow } from '../output/style.js';

export interface CheckCliOptions {
  readonly paths: readonly string[];
  readonly out?: string;
  readonly plan?: string;
  readonly node?: string;
  readonly warn?: string;
  readonly crit?: string;
  readonly json: boolean;
  readonly prometheus: boolean;
  readonly probe?: readonly string[];
  readonly probeTimeout?: string;
  /** With paths: walk into other file systems mounted inside them. */
  readonly crossMounts?: boolean;
}

/** Monitoring plugins report UNKNOWN (3) when they could not check: bad arguments, unreadable roots. */
function unknown(message: string): number {
  process.stdout.write(`PKI UNKNOWN: ${message}\n`);
  process.stderr.write(`kpki: ${message}\n`);
  return STATUS_EXIT.UNKNOWN;
}

function duration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // Days are what operators think in for certificates; the rest is the plan's Go-style grammar.
  if (/^\d+d$/.test(value)) return Number(value.slice(0, -1)) * 86_400_000;
  try {
    return parseDuration(value);
  } catch (e) {
    throw new KpkiError('ERR_IO', `--${flag}: ${(e as Error).message.replace('days, weeks and years are not units; use hours', 'use whole days (7d) or hours')}`);
  }
}

export async function checkCommand(o: CheckCliOptions): Promise<number> {
  try {
    if (o.json && o.prometheus) throw new KpkiError('ERR_IO', '--json and --prometheus are two outputs; choose one');
    const critMs = duration('crit', o.crit);
    const warnMs = duration('warn', o.warn);
    if (critMs !== undefined && warnMs !== undefined && critMs > warnMs) throw new KpkiError('ERR_IO', `--crit ${o.crit} is longer than --warn ${o.warn}`);
    const memo = o.plan && o.out ? readPlanMemo(o.out) : undefined;
    const plan = o.plan ? await loadPlan(o.plan, memo ? { memo } : {}) : undefined;
    const report = await check({
      ...(o.out ? { out: o.out } : {}),
      ...(o.paths.length ? { roots: o.paths } : {}),
      ...(plan ? { plan } : {}),
      ...(o.node ? { node: o.node } : {}),
      thresholds: { ...(critMs !== undefined ? { critMs } : {}), ...(warnMs !== undefined ? { warnMs } : {}) },
      ...(o.probe ? { probe: o.probe.length ? o.probe : true } : {}),
      ...(o.probeTimeout ? { probeTimeoutMs: duration('probe-timeout', o.probeTimeout) } : {}),
      ...(o.crossMounts ? { crossMounts: true } : {}),
    });
    if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (o.prometheus) process.stdout.write(renderPrometheus(report));
    else process.stdout.write(renderText(report, { bold, dim, green, red, yellow }));
    return report.exitCode;
  } catch (err) {
    if (err instanceof KpkiError) return unknown(err.message);
    throw err;
  }
}
