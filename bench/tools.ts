/** The three certificate generators under test, each run as one timed child process. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KPKI_MAIN, RSS_HOOK_JS, SCRIPTS_DIR } from './paths.js';
import { timedRun, type TimedRun } from './proc.js';

export type ToolName = 'kpki' | 'openssl' | 'cfssl';
export const TOOLS: readonly ToolName[] = ['kpki', 'openssl', 'cfssl'];

/** The inputs one scenario gives every tool. */
export interface ToolInputs {
  /** kpki cluster.yaml */
  readonly planFile: string;
  /** Sourced shell spec for the scripts. */
  readonly specFile: string;
}

export interface ToolRun extends TimedRun {
  /** Peak RSS in KiB, when measured (kpki only). */
  readonly peakRssKb?: number;
}

/**
 * `kpki gen --plan PLAN --out OUT` in a fresh node process. The only bench instrumentation is the
 * tiny preloaded rss-hook module that records the peak RSS on exit.
 */
export function runKpki(plan: string, out: string): ToolRun {
  const rssFile = `${out}.rss`;
  rmSync(rssFile, { force: true });
  const env = { ...process.env, KPKI_BENCH_RSS_FILE: rssFile };
  const r = timedRun(process.execPath, ['--import', RSS_HOOK_JS, KPKI_MAIN, 'gen', '--plan', plan, '--out', out], env);
  const peak = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : Number.NaN;
  rmSync(rssFile, { force: true });
  return Number.isFinite(peak) ? { ...r, peakRssKb: peak } : r;
}

export function runOpensslScript(spec: string, out: string): ToolRun {
  return timedRun('bash', [join(SCRIPTS_DIR, 'openssl-gen.sh'), spec, out]);
}

export function runCfsslScript(spec: string, out: string): ToolRun {
  return timedRun('bash', [join(SCRIPTS_DIR, 'cfssl-gen.sh'), spec, out]);
}

export function runTool(tool: ToolName, inputs: ToolInputs, out: string): ToolRun {
  switch (tool) {
    case 'kpki':
      return runKpki(inputs.planFile, out);
    case 'openssl':
      return runOpensslScript(inputs.specFile, out);
    case 'cfssl':
      return runCfsslScript(inputs.specFile, out);
  }
}

/** Why a tool cannot run at all on this machine, or undefined when it can. */
export function unavailableReason(tool: ToolName): string | undefined {
  switch (tool) {
    case 'kpki':
      return existsSync(KPKI_MAIN) ? undefined : `${KPKI_MAIN} not found (build kpki first)`;
    case 'openssl':
      return onPath('openssl') ? undefined : 'openssl not on PATH';
    case 'cfssl':
      return onPath('cfssl') && onPath('cfssljson') ? undefined : 'cfssl/cfssljson not on PATH';
  }
}

function onPath(command: string): boolean {
  return timedRun('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** Median-of-N cold start of `kpki ARG` (e.g. --help), in milliseconds per sample. */
export function kpkiColdStartSamples(arg: string, samples: number): { samplesMs: number[]; failure?: string } {
  const samplesMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const r = timedRun(process.execPath, [KPKI_MAIN, arg]);
    if (r.status !== 0 || r.error) return { samplesMs, failure: r.error ?? `exit ${r.status}: ${r.stderr.trim().slice(0, 200)}` };
    samplesMs.push(r.wallMs);
  }
  return { samplesMs };
}
