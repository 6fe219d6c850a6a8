/**
 * The one duration parser of the command line: the plan's grammar (pki/plan/duration.ts), plus
 * what each flag's use needs, so a bad value is one usage error naming the flag instead of a
 * timer that fires at once (Node caps timers at 2^31-1 ms) or a RangeError from deep inside.
 */
import { KpkiError } from '../pki/errors.js';
import { parseDuration } from '../pki/plan/duration.js';

/** The longest delay Node's setTimeout honours; a longer one fires after 1 ms. */
export const TIMER_MAX_MS = 2 ** 31 - 1;

export interface DurationUse {
  /** Zero makes no sense (a timeout that expires before it starts). */
  readonly positive?: boolean;
  /** The value is a timer's delay: at most TIMER_MAX_MS. */
  readonly timer?: boolean;
}

export function flagDuration(flag: string, text: string, use: DurationUse = {}): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new KpkiError('ERR_USAGE', `--${flag}: ${(err as Error).message}`);
  }
  if (use.positive && ms === 0) throw new KpkiError('ERR_USAGE', `--${flag} ${text}: must be longer than zero, like 3s or 500ms`);
  if (use.timer && ms > TIMER_MAX_MS) {
    throw new KpkiError('ERR_USAGE', `--${flag} ${text}: at most ${TIMER_MAX_MS} ms (about 24.8 days), the longest a timer can wait`);
  }
  return ms;
}

/** For yargs' `coerce`: the flag's value in milliseconds, or a usage error. */
export const durationFlag = (flag: string, use: DurationUse = {}) => (text: string): number => flagDuration(flag, text, use);

/** `36h` → `1d12h`: milliseconds in the grammar above, for messages. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let left = ms;
  let text = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]] as const) {
    const n = Math.floor(left / size);
    if (n > 0) text += `${n}${unit}`;
    left -= n * size;
  }
  return text;
}
