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

/** Whether a string needs escaping (no `g` flag: no state between calls). */
const HAS_UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/**
 * A plain JSON-like value with every string (keys too) made printable, for text renderers.
 * Copies only what changes: a report of thousands of clean items costs a scan, not a copy.
 */
export function printableDeep<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return HAS_UNSAFE.test(v) ? printable(v) : v;
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const w = walk(v[i]);
        if (w !== v[i]) (out ??= [...v])[i] = w;
      }
      return out ?? v;
    }
    if (v !== null && typeof v === 'object') {
      let out: Record<string, unknown> | undefined;
      for (const [k, x] of Object.entries(v)) {
        const w = walk(x);
        const key = HAS_UNSAFE.test(k) ? printable(k) : k;
        if (w === x && key === k) continue;
        out ??= { ...(v as Record<string, unknown>) };
        if (key !== k) delete out[k];
        out[key] = w;
      }
      return out ?? v;
    }
    return v;
  };
  return walk(value) as T;
}
