/** "Did you mean …?" for mistyped commands and flags. */

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate `word` was most likely meant as: the nearest within a third of its length
 * (at least one edit), or the only candidate it is a prefix of. None when nothing is close,
 * or two are equally close.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const limit = Math.max(1, Math.floor(w.length / 3));
  const scored = candidates.map((c) => ({ c, d: editDistance(w, c.toLowerCase()) })).filter((s) => s.d <= limit);
  if (scored.length) {
    const best = Math.min(...scored.map((s) => s.d));
    const at = scored.filter((s) => s.d === best);
    return at.length === 1 ? at[0]!.c : undefined;
  }
  const prefixed = w.length >= 3 ? candidates.filter((c) => c.toLowerCase().startsWith(w)) : [];
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** What the command line can hold: command names, and each command's long flags. */
export interface CommandLineShape {
  readonly commands: readonly string[];
  /** Long flags (without dashes) of a command, or of the top level for `undefined`. */
  readonly flagsOf: (command: string | undefined) => readonly string[];
}

/**
 * Rewrites yargs' "Unknown argument(s): a, b" as one line per argument, each with a suggestion
 * when one is close. yargs lists a mistyped `--dry-runn` twice (also as `dryRunn`); the camel-case
 * copy is dropped. Returns undefined for any other message.
 */
export function explainUnknown(message: string, argv: readonly string[], shape: CommandLineShape): string | undefined {
  const m = /^Unknown arguments?: (.+)$/.exec(message);
  if (!m) return undefined;
  const names = m[1]!.split(', ');
  const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const unique = names.filter((n) => !(/[A-Z]/.test(n) && names.includes(kebab(n))));
  const command = argv.find((t) => shape.commands.includes(t));
  const asFlag = (n: string) => argv.some((t) => t === `--${n}` || t.startsWith(`--${n}=`) || t === `-${n}`);
  return unique
    .map((n) => {
      const guess = asFlag(n)
        ? n.length > 1 && closest(n, shape.flagsOf(command))
        : command === undefined && closest(n, shape.commands);
      const prefix = asFlag(n) ? '--' : '';
      return `Unknown argument: ${n}.${guess ? ` Did you mean ${prefix}${guess}?` : ''}`;
    })
    .join('\n');
}

/**
 * The flags on the command line that are not in `known` (long names and one-letter aliases,
 * without dashes), in order. `--no-x` is known when `x` is (yargs' negation), `--dryRun` when
 * `dry-run` is; nothing after `--` is a flag.
 */
export function strayFlags(argv: readonly string[], known: readonly string[]): string[] {
  const stray: string[] = [];
  const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  for (const t of argv) {
    if (t === '--') break;
    const m = /^--([^=]+)/.exec(t) ?? /^-([A-Za-z])$/.exec(t);
    if (!m) continue;
    const name = m[1]!;
    const plain = kebab(name);
    const ok = known.includes(name) || known.includes(plain) || (plain.startsWith('no-') && known.includes(plain.slice(3)));
    if (!ok && !stray.includes(name)) stray.push(name);
  }
  return stray;
}
