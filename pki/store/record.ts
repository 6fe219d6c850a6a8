/**
 * The store's record (`pki/record`): one line per leaf, keyed by the digests of the leaf's
 * files (readingKey), holding what reading those files found (readings.ts: dates, profile,
 * kubeconfig fields, that the key matched and the signature verified against a CA) and what
 * `kpki check` reports of the certificate (x509/facts.ts). gen writes it after it has decided
 * and applied; gen reads it so that an unchanged leaf is judged without reading its files,
 * and check so that an unchanged store is audited without parsing its certificates.
 *
 * A shortcut, never a source of truth: any changed byte in a leaf's files misses its line,
 * and the whole file is ignored (every certificate read) unless
 *  - this very build wrote it (build.ts: a fingerprint of the compiled code, not the version),
 *  - it is a regular file, mode 0600, owned by the user running kpki,
 *  - and the caller did not ask to bypass it (`kpki check --no-cache`).
 * Why it was or was not used is part of what reading it returns (`use`).
 *
 *     kpki-record 1 <build fingerprint>
 *     init <TAB> <init node>
 *     kubernetes <TAB> <the plan's kubernetesVersion, e.g. 1.28.3>
 *     =<n> <TAB> <facts shared by many leaves (issuer, key type, usages...) as JSON>
 *     <key> <TAB> <n> <TAB> <the leaf's own facts as JSON> <TAB> <its reading as JSON>
 *
 * Lines are split when the file is first consulted and parsed one by one as they are asked
 * for; a line carried over to the next file is copied, not parsed. JSON escapes tabs and
 * newlines, so neither appears inside a field. No secret is stored: digests and certificate
 * facts only.
 */
import { BUILD_FINGERPRINT } from '../build.js';
import type { ObservedFile } from '../sinks/types.js';
import { asStoredFacts, type StoredFacts } from '../x509/facts.js';
import { readingFromJson, readingToJson, type LeafReading } from './readings.js';

export const RECORD_PATH = 'pki/record';
const FORMAT = 1;

/** Whether the stored record was used, and if not, why (for reports: an audit says what it trusted). */
export type RecordUse = { readonly used: true } | { readonly used: false; readonly why: string };

export interface StoreRecord {
  readonly use: RecordUse;
  /** The node holding super-admin.conf, recorded so it never moves on its own. */
  readonly initNode?: string;
  /** The Kubernetes release the store was generated for (the plan's), for audits without the plan. */
  readonly kubernetesVersion?: string;
  /** What reading the files under `key` found, if recorded and well formed. */
  reading(key: string): LeafReading | undefined;
  /** The certificate facts under `key`, if recorded and well formed. */
  facts(key: string): StoredFacts | undefined;
  /** The keys of the leaf lines found (all of them, whether or not anything still uses them). */
  foundKeys(): Iterable<string>;
  /** A leaf read (or issued) in this run: remembered for the next. */
  set(key: string, reading: LeafReading, facts: StoredFacts): void;
  /** Whether render(store, keys) would give back the file as found (then it need not be written). */
  unchangedFor(store: StoreFacts, keys: Iterable<string>): boolean;
  /** The file's text for the leaves still in use: this run's lines and the lines kept. */
  render(store: StoreFacts, keys: Iterable<string>): string;
}

/** What the record says of the store as a whole: choices, not readings (kept from any safe record). */
export interface StoreFacts {
  readonly initNode?: string | undefined;
  readonly kubernetesVersion?: string | undefined;
}

/** Recorded certificate facts, by readingKey (what `kpki check` audits unchanged leaves from). */
export interface FactsLookup {
  get(key: string): StoredFacts | undefined;
}

export interface ReadRecordOptions {
  /** Read every file whatever the record says (`kpki check --no-cache`). */
  readonly bypass?: boolean;
  /** The user the record must belong to: by default the one running kpki. */
  readonly uid?: number;
  /** This build's fingerprint (tests pass another). */
  readonly build?: string;
}

/** Why a found record must not be read at all (not the caller's, not private, not a file), or undefined. */
export function unsafeRecord(file: ObservedFile, uid: number | undefined): string | undefined {
  if (file.error !== undefined) return file.error === 'not a regular file' || file.error === 'a symbolic link' ? file.error : `unreadable (${file.error})`;
  if ((file.mode & 0o777) !== 0o600) return `mode ${(file.mode & 0o777).toString(8).padStart(4, '0')}, not 0600`;
  if (uid !== undefined && file.uid !== undefined && file.uid !== uid) return `owned by uid ${file.uid}, not by uid ${uid}`;
  if (file.content === undefined) return 'unreadable';
  return undefined;
}

/** Why a safe record's leaf lines must not be used (another format or build), or undefined. */
function foreignRecord(text: string, build: string): string | undefined {
  const eol = text.indexOf('\n');
  const head = (eol < 0 ? text : text.slice(0, eol)).split(' ');
  if (head[0] !== 'kpki-record' || head[1] !== String(FORMAT)) return 'not a kpki record of this format';
  if (build === '') return 'this kpki is not a build (no fingerprint): nothing recorded is trusted';
  if (head[2] !== build) return 'written by another build of kpki';
  return undefined;
}

/** A line kept as its three JSON texts (the shape by value: its number changes from file to file). */
interface Line {
  readonly shape: string;
  readonly own: string;
  readonly reading: string;
}

/** The facts that differ from leaf to leaf; everything else is the leaf's shape, written once. */
const OWN = ['fp', 'serial', 'subject', 'nb', 'na', 'san', 'ski'] as const;

function splitFacts(facts: StoredFacts): { shape: string; own: string } {
  const own: Record<string, unknown> = {};
  const shape: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(facts)) ((OWN as readonly string[]).includes(k) ? own : shape)[k] = v;
  return { shape: JSON.stringify(shape), own: JSON.stringify(own) };
}

function parseObject(json: string): object | undefined {
  try {
    const v: unknown = JSON.parse(json);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function parseLines(text: string): { store: StoreFacts; lines: Map<string, Line> } {
  const lines = new Map<string, Line>();
  const shapes = new Map<string, string>();
  let initNode: string | undefined;
  let kubernetesVersion: string | undefined;
  let at = text.indexOf('\n') + 1;
  while (at > 0 && at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const a = text.indexOf('\t', at);
    if (a > at && a < end) {
      const first = text.slice(at, a);
      if (first === 'init') initNode = text.slice(a + 1, end);
      else if (first === 'kubernetes') kubernetesVersion = text.slice(a + 1, end);
      else if (first.charCodeAt(0) === 61 /* = */) shapes.set(first.slice(1), text.slice(a + 1, end));
      else {
        const b = text.indexOf('\t', a + 1);
        const c = b < 0 || b > end ? -1 : text.indexOf('\t', b + 1);
        const shape = c < 0 || c > end ? undefined : shapes.get(text.slice(a + 1, b));
        if (shape !== undefined) lines.set(first, { shape, own: text.slice(b + 1, c), reading: text.slice(c + 1, end) });
      }
    }
    at = end + 1;
  }
  return { store: { ...(initNode ? { initNode } : {}), ...(kubernetesVersion ? { kubernetesVersion } : {}) }, lines };
}

/**
 * The record as found (`file`: what the sink observed at RECORD_PATH, if anything), or an
 * empty one that says why the found one is not used. Never throws: a bad record is no record.
 */
export function readRecord(file: ObservedFile | undefined, options: ReadRecordOptions = {}): StoreRecord {
  const build = options.build ?? BUILD_FINGERPRINT;
  const empty = new Map<string, Line>();
  if (!file) return storeRecord({ used: false, why: 'none in the store' }, {}, empty, build);
  const unsafe = unsafeRecord(file, options.uid ?? process.getuid?.());
  if (unsafe !== undefined) return storeRecord({ used: false, why: unsafe }, {}, empty, build);
  const text = file.content!;
  const foreign = foreignRecord(text, build);
  const { store, lines } = parseLines(text);
  // The init node and the release are choices, not readings: kept from any safe record (another build's too).
  if (foreign !== undefined || options.bypass) {
    return storeRecord({ used: false, why: options.bypass ? 'bypassed (--no-cache)' : foreign! }, text.startsWith('kpki-record ') ? store : {}, empty, build);
  }
  return storeRecord({ used: true }, store, lines, build);
}

function storeRecord(use: RecordUse, stored: StoreFacts, found: ReadonlyMap<string, Line>, build: string): StoreRecord {
  const made = new Map<string, Line>();
  const readings = new Map<string, LeafReading | null>();
  const shapes = new Map<string, object | undefined>();
  const line = (key: string) => made.get(key) ?? found.get(key);
  return {
    use,
    ...(stored.initNode ? { initNode: stored.initNode } : {}),
    ...(stored.kubernetesVersion ? { kubernetesVersion: stored.kubernetesVersion } : {}),
    reading(key) {
      let r = readings.get(key);
      if (r === undefined) {
        const l = line(key);
        r = (l && readingFromJson(l.reading)) ?? null;
        readings.set(key, r);
      }
      return r ?? undefined;
    },
    facts(key) {
      const l = line(key);
      if (!l) return undefined;
      let shape = shapes.get(l.shape);
      // Each shape parsed once: a thousand leaves share it.
      if (!shapes.has(l.shape)) shapes.set(l.shape, (shape = parseObject(l.shape)));
      const own = shape && parseObject(l.own);
      return own ? asStoredFacts({ ...shape, ...own }) : undefined;
    },
    foundKeys: () => found.keys(),
    set(key, reading, facts) {
      made.set(key, { ...splitFacts(facts), reading: readingToJson(reading) });
      readings.set(key, reading);
    },
    unchangedFor(store, keys) {
      if (!use.used || made.size > 0) return false;
      if ((store.initNode || undefined) !== (stored.initNode || undefined) || (store.kubernetesVersion || undefined) !== (stored.kubernetesVersion || undefined)) return false;
      const wanted = new Set(keys);
      if (wanted.size !== found.size) return false;
      for (const k of wanted) if (!found.has(k)) return false;
      return true;
    },
    render(store, keys) {
      const numbers = new Map<string, number>();
      const body: string[] = [];
      for (const k of [...new Set(keys)].sort()) {
        const l = line(k);
        if (!l) continue;
        let n = numbers.get(l.shape);
        if (n === undefined) numbers.set(l.shape, (n = numbers.size));
        body.push(`${k}\t${n}\t${l.own}\t${l.reading}`);
      }
      const head = [
        `kpki-record ${FORMAT} ${build}`,
        ...(store.initNode ? [`init\t${store.initNode}`] : []),
        ...(store.kubernetesVersion ? [`kubernetes\t${store.kubernetesVersion}`] : []),
        ...[...numbers].map(([shape, n]) => `=${n}\t${shape}`),
      ];
      return `${[...head, ...body].join('\n')}\n`;
    },
  };
}
