/**
 * Start-up cost of the CLI as a ratio to a bare `node -e 0` on the same machine (absolute times
 * vary between machines; the ratio is what kpki controls). Commands are run in alternation,
 * the order rotating each round, so drift in machine load hits them all alike.
 *
 *   npm run build && node dist/bench/startup.js [--rounds 15] [--json] [--baseline OTHER/dist/cli/main.js]
 *
 * `--baseline` adds another build's `--help` and `--version` to the same alternation, for a
 * before/after comparison under the same load.
 *
 * Goal (issue 6): `kpki --help` and `kpki --version` at most 1.3× bare Node.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './stats.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export const STARTUP_GOAL_RATIO = 1.3;

type Command = readonly [name: string, args: readonly string[]];

const COMMANDS: readonly Command[] = [
  ['node -e 0', ['-e', '0']],
  ['kpki --help', [CLI, '--help']],
  ['kpki --version', [CLI, '--version']],
  ['kpki gen --help', [CLI, 'gen', '--help']],
  // A command that loads the full parser: for comparison, not held to the goal.
  ['kpki token', [CLI, 'token']],
];

export interface StartupResult {
  readonly command: string;
  readonly medianMs: number;
  readonly ratio: number;
}

function timeOnce(args: readonly string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return ms;
}

export function measureStartup(rounds: number, baseline?: string): StartupResult[] {
  const commands: Command[] = [...COMMANDS];
  if (baseline) commands.push(['baseline --help', [baseline, '--help']], ['baseline --version', [baseline, '--version']]);
  const samples = commands.map(() => [] as number[]);
  for (const [, args] of commands) timeOnce(args); // warm the page cache
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < commands.length; k++) {
      const i = (k + r) % commands.length;
      samples[i]!.push(timeOnce(commands[i]![1]));
    }
  }
  const bare = median(samples[0]!);
  return commands.map(([command], i) => ({ command, medianMs: median(samples[i]!), ratio: median(samples[i]!) / bare }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '15' }, json: { type: 'boolean', default: false }, baseline: { type: 'string' } },
  });
  const results = measureStartup(Number(values.rounds), values.baseline);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } else {
    for (const r of results) {
      const held = /^kpki (--help|--version|gen --help)$/.test(r.command);
      const verdict = held ? (r.ratio <= STARTUP_GOAL_RATIO ? '  ok' : `  over ${STARTUP_GOAL_RATIO}×`) : '';
      process.stdout.write(`${r.command.padEnd(16)} ${r.medianMs.toFixed(1).padStart(7)} ms  ${r.ratio.toFixed(2)}×${verdict}\n`);
    }
  }
}
