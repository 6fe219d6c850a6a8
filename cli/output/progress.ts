/**
 * A progress bar on stderr for runs that last more than about a second. Only on a TTY, never
 * in CI or with --json, so logs and machine output stay clean.
 */
export interface Progress {
  update(label: string, done: number, total: number): void;
  stop(): void;
}

export interface ProgressOptions {
  readonly stream?: { readonly isTTY?: boolean; write(text: string): unknown };
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => number;
  /** How long a run goes before the bar appears. */
  readonly afterMs?: number;
}

const SILENT: Progress = { update() {}, stop() {} };

/**
 * TEST ONLY, not a supported interface: `KPKI_TEST_PROGRESS_AFTER_MS` lowers the one-second
 * delay, so the CLI test can show the bar on a terminal with a plan that takes milliseconds
 * instead of a thousand-node plan that takes seconds.
 */
function delayFrom(env: NodeJS.ProcessEnv): number {
  const v = Number(env.KPKI_TEST_PROGRESS_AFTER_MS);
  return env.KPKI_TEST_PROGRESS_AFTER_MS !== undefined && Number.isFinite(v) && v >= 0 ? v : 1000;
}

export function progressBar(enabled: boolean, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  if (!enabled || !stream.isTTY || env.CI) return SILENT;
  const afterMs = options.afterMs ?? delayFrom(env);
  const started = now();
  let shown = false;
  return {
    update(label, done, total) {
      if (!shown && now() - started < afterMs) return;
      shown = true;
      const width = 30;
      const filled = total ? Math.round((done / total) * width) : width;
      stream.write(`\r${label.padEnd(8)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}\x1b[K`);
    },
    stop() {
      if (shown) stream.write('\r\x1b[2K');
    },
  };
}
