/**
 * Preloaded into the kpki process by the bench (`node --import rss-hook.js ...`): on exit, writes
 * the process's peak resident set size (getrusage ru_maxrss, KiB; includes worker threads) to the
 * file named by KPKI_BENCH_RSS_FILE. Works without GNU time. Child processes do not inherit it.
 */
import { writeFileSync } from 'node:fs';

const target = process.env['KPKI_BENCH_RSS_FILE'];
delete process.env['KPKI_BENCH_RSS_FILE'];
if (target) {
  process.on('exit', () => {
    writeFileSync(target, String(process.resourceUsage().maxRSS));
  });
}
