/**
 * `pki/facts.json`: what `kpki check` reports about each leaf (x509/facts.ts), by the same
 * key as the leaf's reading (readings.ts), so check can audit an unchanged store without
 * parsing its certificates. gen writes it and never needs it: on a re-run that changes no
 * leaf it is not even read (the disk sink reads large files on demand). One line per leaf
 * (`<key> <facts JSON>`), so carrying the unchanged lines over costs a split, not a parse.
 * A missing line only means that leaf is read in full.
 */
import { KPKI_VERSION } from './version.js';
import { asStoredFacts, type StoredFacts } from './x509/facts.js';

export const FACTS_PATH = 'pki/facts.json';

const header = () => `kpki-facts ${KPKI_VERSION}`;
/** How every line storeFacts writes begins (the vouched CA digest first); older lines do not. */
const CURRENT = '{"ca":"';

export interface FactsFile {
  /** The facts under `key`, if present and well formed. */
  get(key: string): StoredFacts | undefined;
  /** Whether `key` has a line in this format (cheap: not parsed, so a damaged line still reads as absent only in `get`). */
  has(key: string): boolean;
  /** Facts made in this run. */
  set(key: string, facts: StoredFacts): void;
  /** Whether this run made facts (the file is to be written). */
  changed(): boolean;
  /** The file's text for these keys (in use), from this run's facts and the lines kept. */
  render(keys: Iterable<string>): string;
}

/** `text` is the file as found (read on first use); another version's file is not used. */
export function factsFile(text: () => string | undefined): FactsFile {
  let lines: Map<string, string> | undefined;
  const found = () => {
    if (lines) return lines;
    lines = new Map();
    const t = text();
    if (t === undefined || !t.startsWith(`${header()}\n`)) return lines;
    for (const line of t.split('\n').slice(1)) {
      const sp = line.indexOf(' ');
      if (sp > 0) lines.set(line.slice(0, sp), line.slice(sp + 1));
    }
    return lines;
  };
  const made = new Map<string, string>();
  return {
    get(key) {
      const json = made.get(key) ?? found().get(key);
      if (json === undefined) return undefined;
      try {
        return asStoredFacts(JSON.parse(json));
      } catch {
        return undefined;
      }
    },
    has(key) {
      return (made.get(key) ?? found().get(key))?.startsWith(CURRENT) === true;
    },
    set(key, facts) {
      made.set(key, JSON.stringify(facts));
    },
    changed: () => made.size > 0,
    render(keys) {
      const out = [header()];
      for (const k of [...new Set(keys)].sort()) {
        const json = made.get(k) ?? found().get(k);
        if (json !== undefined) out.push(`${k} ${json}`);
      }
      return `${out.join('\n')}\n`;
    },
  };
}
