/**
 * A progress bar on stderr for runs that last more than about a second. Only on a TTY, never
 * in CI or with --json, so logs and machine output stay clean.
 */
export interface Progress {
  update(label: string, done: number, total: number): void;
  stop(): void;
}

const SILENT: Progress = { update() {}, stop() {} };

export function progressBar(enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY || process.env.CI) return SILENT;
  const started = Date.now();
  let shown = false;
  return {
    update(label, done, total) {
      if (Date.now() - started < 1000 && !shown) return;
      shown = true;
      const width = 30;
      const filled = total ? Math.round((done / total) * width) : width;
      process.stderr.write(`\r${label.padEnd(8)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}\x1b[K`);
    },
    stop() {
      if (shown) process.stderr.write('\r\x1b[2K');
    },
  };
}
