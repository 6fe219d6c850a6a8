/**
 * Durations as the plan and every command-line flag write them: Go-style (`87600h`, `8760h0m0s`,
 * `1h30m`, as kubeadm and cert-manager print them) plus days (`30d`, `365d`), the unit operators
 * think in for certificates. Whole numbers of d, h, m, s and ms only: certificate lifetimes need
 * nothing finer, and a smaller grammar gives clearer errors. Weeks and years are not units
 * (a year is 365 or 366 days; say which in days).
 */

const UNIT_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** Exactly what parseDuration accepts, for messages. */
export const DURATION_GRAMMAR = 'whole numbers with units d, h, m, s or ms, like 30d, 12h or 1h30m';

const EXPECTED = `expected ${DURATION_GRAMMAR}`;

/** Why `text` is not a duration; checked only after the strict grammar failed. */
function explain(text: string): string {
  if (text.trim() === '') return `an empty string is not a duration; ${EXPECTED}`;
  if (/^[+-]/.test(text)) return `"${text}": a sign is not allowed; durations here are positive, ${EXPECTED}`;
  if (/^[0-9]+$/.test(text)) return `"${text}" has no unit; ${EXPECTED}`;
  if (/[0-9]\.[0-9]/.test(text)) return `"${text}": fractions are not supported; ${EXPECTED}`;
  if (/[0-9](w|y)$/.test(text)) return `"${text}": weeks and years are not units; use days (1w = 7d, 1y = 365d); ${EXPECTED}`;
  return `"${text}" is not a duration; ${EXPECTED}`;
}

/**
 * Parses a duration to milliseconds. `0` alone is accepted, like Go.
 * Throws a RangeError whose message says what is wrong and what is expected.
 */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const re = /([0-9]+)(ms|d|h|m|s)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new RangeError(explain(text));
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    pos = re.lastIndex;
  }
  if (pos === 0) throw new RangeError(explain(text));
  if (!Number.isSafeInteger(total)) throw new RangeError(`"${text}" is too long a duration`);
  return total;
}
