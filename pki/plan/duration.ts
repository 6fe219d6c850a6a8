/**
 * Go-style durations as kubeadm and cert-manager write them (`87600h`, `8760h0m0s`, `1h30m`),
 * limited to whole numbers of h, m, s and ms: certificate lifetimes need nothing finer,
 * and a smaller grammar gives clearer errors.
 */

const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

const EXPECTED = 'expected whole numbers with units h, m, s or ms, like 8760h, 90m or 1h30m';

/** Why `text` is not a duration; checked only after the strict grammar failed. */
function explain(text: string): string {
  if (text.trim() === '') return `an empty string is not a duration; ${EXPECTED}`;
  if (/^[+-]/.test(text)) return `"${text}": a sign is not allowed; durations here are positive, ${EXPECTED}`;
  if (/^[0-9]+$/.test(text)) return `"${text}" has no unit; ${EXPECTED}`;
  if (/[0-9]\.[0-9]/.test(text)) return `"${text}": fractions are not supported; ${EXPECTED}`;
  if (/[0-9](d|w|y)\b/.test(text)) return `"${text}": days, weeks and years are not units; use hours (1d = 24h, 1y = 8760h)`;
  return `"${text}" is not a duration; ${EXPECTED}`;
}

/**
 * Parses a duration to milliseconds. `0` alone is accepted, like Go.
 * Throws a RangeError whose message says what is wrong and what is expected.
 */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const re = /([0-9]+)(ms|h|m|s)/y;
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
