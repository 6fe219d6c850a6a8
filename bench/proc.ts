/** Running and timing child processes. */
import { spawnSync } from 'node:child_process';

export interface TimedRun {
  /** Wall time of the whole child process, spawn to exit, in milliseconds. */
  readonly wallMs: number;
  readonly status: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly error?: string;
}

export function timedRun(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): TimedRun {
  const start = process.hrtime.bigint();
  const r = spawnSync(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ?? process.env,
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  return {
    wallMs,
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    ...(r.error ? { error: r.error.message } : {}),
  };
}

export function succeeded(r: TimedRun): boolean {
  return r.error === undefined && r.status === 0;
}

/** A one-line reason for a failed run. */
export function failureText(r: TimedRun): string {
  if (r.error) return r.error;
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ');
  return `exit ${r.status ?? r.signal}: ${tail.slice(0, 400)}`;
}

/** stdout of a quick command, trimmed; '' when it fails. */
export function commandOutput(command: string, args: readonly string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout ?? '').trim() : '';
}
