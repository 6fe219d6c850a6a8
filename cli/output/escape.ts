/**
 * Text for a terminal: control characters (ESC, BEL, NUL, …), format characters (the bidi
 * overrides U+202E and friends, zero-width marks) and line separators are shown as escapes
 * (`\x1b`, `\u202e`), so a crafted file name or plan value cannot retitle, clear or reorder
 * what a person reads. JSON output is not passed through here: JSON.stringify is exact already.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
const UNSAFE_BUT_NEWLINE = /(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

function escapeOne(c: string): string {
  const n = c.codePointAt(0)!;
  if (n <= 0xff) return `\\x${n.toString(16).padStart(2, '0')}`;
  if (n <= 0xffff) return `\\u${n.toString(16).padStart(4, '0')}`;
  return `\\u{${n.toString(16)}}`;
}

/** `text` with every unsafe character escaped; `lines` keeps newlines (a message of several lines). */
export function printable(text: string, options: { readonly lines?: boolean } = {}): string {
  return text.replace(options.lines ? UNSAFE_BUT_NEWLINE : UNSAFE, escapeOne);
}

/** A copy of a plain JSON-like value with every string (keys too) made printable, for text renderers. */
export function printableDeep<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return printable(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [printable(k), walk(x)]));
    return v;
  };
  return walk(value) as T;
}
