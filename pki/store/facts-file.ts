/**
 * `pki/facts.json`: what `kpki check` reports about each leaf (x509/facts.ts), by the same
 * key as the leaf's reading (readings.ts), so check can audit an unchanged store without
 * parsing its certificates. gen writes it and never needs it: on a re-run that changes no
 * leaf it is not even read (the disk sink reads large files on demand). A missing line only
 * means that leaf is read in full.
 *
 * What a thousand leaves share (issuer, key type, usages, the CA gen vouched for: half of
 * each leaf's facts) is written once, as numbered shapes; each leaf's line holds its own facts
 * and the number of its shape:
 *
 *     kpki-facts 2 <kpki version>
 *     =0 <shared facts JSON>
 *     <key> 0 <the leaf's own facts JSON>
 *
 * Carrying unchanged lines over costs a split, not a parse.
 */
import { KPKI_VERSION } from '../version.js';
import { asStoredFacts, type StoredFacts } from '../x509/facts.js';

export const FACTS_PATH = 'pki/facts.json';

const header = () => `kpki-facts 2 ${KPKI_VERSION}`;

/** The facts that differ from leaf to leaf; everything else is the leaf's shape. */
const OWN = ['fp', 'serial', 'subject', 'nb', 'na', 'san', 'ski'] as const;

export interface FactsFile {
  /** The facts under `key`, if present and well formed. */
  get(key: string): StoredFacts | undefined;
  /** Whether `key` has a line (cheap: not parsed, so a damaged line reads as absent only in `get`). */
  has(key: string): boolean;
  /** Facts made in this run. */
  set(key: string, facts: StoredFacts): void;
  /** Whether this run made facts (the file is to be written). */
  changed(): boolean;
  /** The file's text for these keys (in use), from this run's facts and the lines kept. */
  render(keys: Iterable<string>): string;
}

/** A leaf's facts as two JSON texts: its shape (shared) and its own. */
interface Split {
  readonly shape: string;
  readonly own: string;
}

function split(facts: StoredFacts): Split {
  const own: Record<string, unknown> = {};
  const shape: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(facts)) ((OWN as readonly string[]).includes(k) ? own : shape)[k] = v;
  return { shape: JSON.stringify(shape), own: JSON.stringify(own) };
}

/** `text` is the file as found (read on first use); another version's or format's file is not used. */
export function factsFile(text: () => string | undefined): FactsFile {
  let lines: Map<string, Split> | undefined;
  const found = (): Map<string, Split> => {
    if (lines) return lines;
    lines = new Map();
    const t = text();
    if (t === undefined || !t.startsWith(`${header()}\n`)) return lines;
    const shapes = new Map<string, string>();
    for (const line of t.split('\n')) {
      const a = line.indexOf(' ');
      if (a <= 0) continue;
      if (line.charCodeAt(0) === 61 /* = */) {
        shapes.set(line.slice(1, a), line.slice(a + 1));
        continue;
      }
      const b = line.indexOf(' ', a + 1);
      const shape = b < 0 ? undefined : shapes.get(line.slice(a + 1, b));
      if (shape !== undefined) lines.set(line.slice(0, a), { shape, own: line.slice(b + 1) });
    }
    return lines;
  };
  const made = new Map<string, Split>();
  // Each shape parsed once (a thousand leaves share it); a leaf's facts are its shape and its own.
  const shapes = new Map<string, object | null>();
  const shapeOf = (json: string): object | null => {
    let v = shapes.get(json);
    if (v === undefined) {
      try {
        const parsed: unknown = JSON.parse(json);
        v = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : null;
      } catch {
        v = null;
      }
      shapes.set(json, v);
    }
    return v;
  };
  return {
    get(key) {
      const s = made.get(key) ?? found().get(key);
      const shape = s && shapeOf(s.shape);
      if (!s || !shape) return undefined;
      try {
        const own: unknown = JSON.parse(s.own);
        return typeof own === 'object' && own !== null && !Array.isArray(own) ? asStoredFacts({ ...shape, ...own }) : undefined;
      } catch {
        return undefined;
      }
    },
    has: (key) => made.has(key) || found().has(key),
    set(key, facts) {
      made.set(key, split(facts));
    },
    changed: () => made.size > 0,
    render(keys) {
      const numbers = new Map<string, number>();
      const body: string[] = [];
      for (const k of [...new Set(keys)].sort()) {
        const s = made.get(k) ?? found().get(k);
        if (!s) continue;
        let n = numbers.get(s.shape);
        if (n === undefined) numbers.set(s.shape, (n = numbers.size));
        body.push(`${k} ${n} ${s.own}`);
      }
      const head = [header(), ...[...numbers].map(([shape, n]) => `=${n} ${shape}`)];
      return `${[...head, ...body].join('\n')}\n`;
    },
  };
}
