/**
 * cluster.yaml text → validated, normalised Plan. Three passes, each reporting every problem
 * it finds: YAML syntax, structure (JSON Schema via ajv), semantics (rules.ts). Every problem
 * is located at the YAML node it concerns. Pure: no file system, no clock.
 *
 * Two YAML readers, one answer: a valid plan is read with js-yaml (a thousand-node plan in
 * ~50 ms cold where yaml takes ~250 ms, since yaml keeps every node's source position); any
 * plan js-yaml does not settle outright (a YAML error, a rule or schema problem, anchors,
 * aliases or tags) is read again with yaml, which reports each problem where it is. A test
 * holds the fast reading equal to yaml's on every fixture and thousands of mutated plans.
 */
import type { ErrorObject } from 'ajv';
import { createRequire } from 'node:module';
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import { PlanError, type PlanDiagnostic } from '../errors.js';
import { normalise } from './normalise.js';
// Compiled from planSchema with AJV_OPTIONS at build time (scripts/compile-validator.mjs); a
// static import so the bundled CLI carries it. This module loads only when a plan is parsed.
import validate from './schema-validator.cjs';

// Required, not imported: a bundler hoists static imports of packages into the CLI's start-up,
// and yaml is needed only when a plan has a problem to locate.
const requireHere = createRequire(import.meta.url);
const { load: quickLoad, CORE_SCHEMA } = requireHere('js-yaml') as typeof import('js-yaml');
let yamlLib: typeof import('yaml') | undefined;
const yaml = () => (yamlLib ??= requireHere('yaml') as typeof import('yaml'));
import { runRules, type FieldPath, type PathSegment, type RawPlan } from './rules.js';
import { markDuplicateKeys, PLAN_LIMITS, quickShapeOk, yamlShapeProblem } from './yaml-bounds.js';
import type { Plan, PlanInput } from './types.js';

interface Position {
  readonly line: number;
  readonly column: number;
}

const NOWHERE: Position = { line: 0, column: 0 };

/** Maps field paths to positions in the YAML source. */
class Locator {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  private pos(node: YamlNode | null | undefined): Position | undefined {
    if (!node?.range) return undefined;
    const { line, col } = this.lines.linePos(node.range[0]);
    return { line, column: col };
  }

  /** Follows `path` as far as the document goes; `key` is the key that introduced `node`. */
  private walk(path: FieldPath): { node: YamlNode | null; key: YamlNode | null; complete: boolean } {
    let node = this.doc.contents as YamlNode | null;
    let key: YamlNode | null = null;
    for (const segment of path) {
      const { isMap, isScalar, isSeq } = yaml();
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) return { node, key, complete: false };
        key = pair.key as YamlNode;
        node = (pair.value as YamlNode | null) ?? null;
      } else if (isSeq(node) && node.items[Number(segment)] !== undefined) {
        node = node.items[Number(segment)] as YamlNode;
        key = null;
      } else {
        return { node, key, complete: false };
      }
    }
    return { node, key, complete: true };
  }

  /**
   * A scalar's own position; for a collection (or an empty value) the key that introduces it,
   * which is the line a reader looks at. A missing field resolves to its nearest parent.
   */
  value(path: FieldPath): Position {
    const { node, key } = this.walk(path);
    if (yaml().isScalar(node) && node.value !== null) return this.pos(node) ?? NOWHERE;
    return this.pos(key) ?? this.pos(node) ?? NOWHERE;
  }

  /** The key of the last segment (for unknown fields). */
  key(path: FieldPath): Position {
    const { key, complete } = this.walk(path);
    return (complete && this.pos(key)) || this.value(path);
  }
}

/** `nodes[2].address` */
export function formatFieldPath(path: FieldPath): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

// ---------------------------------------------------------------------------- structure (ajv)

/**
 * Diagnostics from these keywords are dropped when a rule explains the same field better
 * (rules skip values of the wrong type, except where they explain one, as for a numeric version).
 */
const SUPERSEDED_BY_RULES = new Set(['pattern', 'minLength', 'maxLength', 'type']);

interface Draft {
  readonly path: FieldPath;
  readonly position: Position;
  readonly message: string;
  readonly keyword?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON pointer → path, with array indexes as numbers (decided by walking the data). */
function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  const path: PathSegment[] = [];
  let current = data;
  for (const raw of pointer.split('/').slice(1)) {
    const text = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const segment: PathSegment = Array.isArray(current) ? Number(text) : text;
    path.push(segment);
    current = Array.isArray(current) ? current[Number(text)] : isRecord(current) ? current[text] : undefined;
  }
  return path;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  null: 'empty',
};

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The closest candidate when it is plausibly a typo: same letters in another case, or a few edits away. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const sameCase = candidates.find((c) => c.toLowerCase() === lower);
  if (sameCase) return sameCase;
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function schemaProperties(schema: unknown): string[] {
  return isRecord(schema) && isRecord(schema['properties']) ? Object.keys(schema['properties']) : [];
}

function enumMessage(allowed: readonly unknown[], data: unknown): string {
  const hint = typeof data === 'string' ? suggest(data, allowed.map(String)) : undefined;
  return `must be one of ${allowed.join(', ')} (got ${describe(data)})${hint ? `; did you mean "${hint}"?` : ''}`;
}

function typeMessage(expected: string, data: unknown): string {
  const base = `must be ${TYPE_NAMES[expected] ?? expected} (got ${describe(data)})`;
  if (expected === 'boolean' && typeof data === 'string' && /^(yes|no|on|off|y|n)$/i.test(data)) {
    return `${base}; YAML 1.2 reads ${JSON.stringify(data)} as a string, write true or false`;
  }
  return base;
}

/** One ajv error as a located, human-worded draft diagnostic. */
function fromAjv(err: ErrorObject, data: RawPlan, at: Locator): Draft {
  const path = pointerToPath(err.instancePath, data);
  const p = err.params as Record<string, unknown>;
  const keyword = err.keyword;
  switch (keyword) {
    case 'required': {
      const missing = String(p['missingProperty']);
      return { path: [...path, missing], position: at.value(path), message: `missing required field "${missing}"`, keyword };
    }
    case 'additionalProperties': {
      const name = String(p['additionalProperty']);
      const allowed = schemaProperties(err.parentSchema);
      const hint = suggest(name, allowed);
      const message = hint
        ? `unknown field "${name}" (did you mean "${hint}"?)`
        : `unknown field "${name}"; expected one of ${allowed.join(', ')}`;
      return { path: [...path, name], position: at.key([...path, name]), message, keyword };
    }
    case 'uniqueItems': {
      const later = Math.max(Number(p['i']), Number(p['j']));
      const items = Array.isArray(err.data) ? err.data : [];
      return { path, position: at.value([...path, later]), message: `lists ${describe(items[later])} more than once`, keyword };
    }
    default:
      return { path, position: at.value(path), message: ajvMessage(err), keyword };
  }
}

function ajvMessage(err: ErrorObject): string {
  const p = err.params as Record<string, unknown>;
  const parent = isRecord(err.parentSchema) ? err.parentSchema : {};
  switch (err.keyword) {
    case 'type':
      return typeMessage(String(p['type']), err.data);
    case 'const':
      return `must be ${JSON.stringify(p['allowedValue'])} (got ${describe(err.data)})`;
    case 'enum':
      return enumMessage(Array.isArray(p['allowedValues']) ? p['allowedValues'] : [], err.data);
    case 'minimum':
    case 'maximum':
      return `must be ${err.keyword === 'minimum' ? 'at least' : 'at most'} ${String(p['limit'])} (got ${describe(err.data)})`;
    case 'minItems':
      return Number(p['limit']) === 1 ? 'must not be empty' : `must have at least ${String(p['limit'])} entries`;
    case 'minLength':
      return 'must not be empty';
    case 'maxLength':
      return `must be at most ${String(p['limit'])} characters long`;
    case 'pattern':
      return `${describe(err.data)} is not valid here; expected: ${String(parent['description'] ?? p['pattern'])}`;
    default:
      return err.message ?? `fails schema keyword ${err.keyword}`;
  }
}

/** Problems located and listed per kind (schema, rules): each one walks the document. */
const MAX_LOCATED = 1000;

// ---------------------------------------------------------------------------- assembly

function sortDiagnostics(list: readonly PlanDiagnostic[]): PlanDiagnostic[] {
  return [...list].sort(
    (a, b) => a.line - b.line || a.column - b.column || a.field.localeCompare(b.field) || a.message.localeCompare(b.message),
  );
}

function fail(file: string, drafts: readonly Draft[]): never {
  const seen = new Set<string>();
  const diagnostics: PlanDiagnostic[] = [];
  for (const d of drafts) {
    const diagnostic = { file, ...d.position, field: formatFieldPath(d.path), message: d.message };
    const id = JSON.stringify(diagnostic);
    if (!seen.has(id)) diagnostics.push(diagnostic);
    seen.add(id);
  }
  throw new PlanError(sortDiagnostics(diagnostics));
}

/** Schema findings, minus those a rule reports better, plus rule findings. */
function merge(structural: readonly Draft[], semantic: readonly Draft[]): Draft[] {
  const ruled = new Set(semantic.map((d) => formatFieldPath(d.path)));
  const kept = structural.filter((d) => !(d.keyword && SUPERSEDED_BY_RULES.has(d.keyword) && ruled.has(formatFieldPath(d.path))));
  return [...kept, ...semantic];
}

/** Rewordings of yaml messages that speak to programmers rather than to plan authors. */
const YAML_MESSAGES: Readonly<Record<string, string>> = {
  MULTIPLE_DOCS: 'a plan is a single YAML document; remove the "---" separator and what follows',
  DUPLICATE_KEY: 'this key appears twice in the same mapping',
};

/** yaml reports an unterminated construct at end of input; point at the last character instead. */
function syntaxOffset(text: string, offset: number): number {
  const end = text.trimEnd().length;
  return end > 0 && offset >= end ? end - 1 : offset;
}

/**
 * Parses and validates cluster.yaml. Throws a PlanError carrying every problem found,
 * sorted by position. `file` is used in diagnostics and becomes `Plan.source`.
 */
export function parsePlan(text: string, file = '<memory>'): Plan {
  if (text.length > MAX_PLAN_CHARS) {
    fail(file, [{ path: [], position: NOWHERE, message: `the plan is ${(text.length / 2 ** 20).toFixed(1)} MiB; kpki reads plans of up to ${MAX_PLAN_CHARS / 2 ** 20} MiB (one for 5,000 nodes is under 1 MiB)` }]);
  }
  return readPlanQuickly(text, file) ?? readPlanLocated(text, file);
}

/** Bounds the text the readers are given (the YAML inside it is bounded by yaml-bounds.ts). */
const MAX_PLAN_CHARS = 16 * 2 ** 20;

// yaml's path for: anchors and aliases (yaml bounds alias expansion; js-yaml shares objects),
// tags, and a '#' not preceded by white space (js-yaml reads `]#` as a comment; YAML does not).
const NOT_QUICK = /[&*!]|[^\s]#/;

/**
 * Every quoted scalar and flow collection ({...}, [...]) closes on the line it opens. js-yaml
 * is lenient where yaml follows the spec (a continuation line indented too little), so a plan
 * with multi-line quotes or flows is left to yaml. A quote character inside a plain scalar
 * (`it's`) reads as an open quote here: that plan too just takes yaml's path.
 */
function singleLineConstructs(text: string): boolean {
  let depth = 0;
  let quote = 0; // the open quote character, or 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote === 0x22) {
      if (c === 0x5c) i++; // backslash escape
      else if (c === 0x22) quote = 0;
      else if (c === 0x0a) return false;
    } else if (quote === 0x27) {
      if (c === 0x27 && text.charCodeAt(i + 1) === 0x27) i++; // '' is an escaped quote
      else if (c === 0x27) quote = 0;
      else if (c === 0x0a) return false;
    } else if (c === 0x22 || c === 0x27) quote = c;
    else if (c === 0x23 && (i === 0 || text.charCodeAt(i - 1) === 0x20 || text.charCodeAt(i - 1) === 0x0a)) {
      const eol = text.indexOf('\n', i); // a comment: skip to its end
      if (eol === -1) break;
      i = eol - 1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (--depth < 0) return false;
    } else if (c === 0x0a && depth !== 0) return false;
  }
  return depth === 0 && quote === 0;
}

/**
 * The plan, when js-yaml (YAML 1.2 core schema) reads a mapping that passes every rule and
 * the schema; otherwise undefined, and readPlanLocated says what is wrong and where.
 * Exported for the test that holds it to readPlanLocated.
 */
export function readPlanQuickly(text: string, file = '<memory>'): Plan | undefined {
  if (NOT_QUICK.test(text) || !singleLineConstructs(text) || !quickShapeOk(text, PLAN_LIMITS)) return undefined;
  let data: unknown;
  try {
    data = quickLoad(text, { schema: CORE_SCHEMA });
  } catch {
    return undefined;
  }
  if (!isRecord(data) || runRules(data).length > 0 || !validate(data)) return undefined;
  return normalise(data as unknown as PlanInput, file);
}

/** The plan read with yaml, every problem located at its line and column; throws a PlanError. */
export function readPlanLocated(text: string, file = '<memory>'): Plan {
  // Refused before yaml builds it: nesting and size a plan never has cost yaml unbounded memory.
  const shape = yamlShapeProblem(text, PLAN_LIMITS);
  if (shape) fail(file, [{ path: [], position: { line: shape.line, column: shape.column }, message: `the YAML ${shape.message}; a plan never does (one for 5,000 nodes is about 6 levels and 60,000 values)` }]);
  const lines = new (yaml().LineCounter)();
  // Duplicate keys are found below in one pass: yaml's own check compares every key of a
  // mapping with every other (20,000 keys: 1.5 s).
  const doc = yaml().parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  markDuplicateKeys(doc);
  const at = new Locator(doc, lines);
  if (doc.errors.length > 0) {
    fail(
      file,
      [
        ...doc.errors.slice(0, MAX_LOCATED).map((e): Draft => {
          const { line, col } = lines.linePos(syntaxOffset(text, e.pos[0]));
          return { path: [], position: { line, column: col }, message: `YAML syntax error: ${YAML_MESSAGES[e.code] ?? e.message}` };
        }),
        ...(doc.errors.length > MAX_LOCATED ? [{ path: [], position: NOWHERE, message: `${doc.errors.length.toLocaleString('en')} YAML syntax errors; the first ${MAX_LOCATED.toLocaleString('en')} are listed` }] : []),
      ],
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    fail(file, [{ path: [], position: NOWHERE, message: `cannot read the YAML: ${(err as Error).message}` }]);
  }
  if (!isRecord(data)) {
    const message =
      data === null || data === undefined
        ? 'the plan is empty; expected a mapping with apiVersion, kind and nodes'
        : `the plan must be a mapping with apiVersion, kind and nodes (got ${describe(data)})`;
    fail(file, [{ path: [], position: at.value([]), message }]);
  }
  // Locating a problem walks the document: a plan with tens of thousands of problems gets the first MAX_LOCATED of each kind.
  const rules = runRules(data);
  const semantic = rules.slice(0, MAX_LOCATED).map((f): Draft => ({ path: f.path, position: at.value(f.at ?? f.path), message: f.message }));
  // `if` (the layout's two forms) only says a branch failed; the branch's own errors say how.
  const structural = validate(data) ? [] : (validate.errors ?? []).filter((e) => e.keyword !== 'if');
  const drafts = merge(structural.slice(0, MAX_LOCATED).map((e) => fromAjv(e, data, at)), semantic);
  if (rules.length > MAX_LOCATED || structural.length > MAX_LOCATED) {
    drafts.push({ path: [], position: NOWHERE, message: `${(rules.length + structural.length).toLocaleString('en')} problems; the first ${MAX_LOCATED.toLocaleString('en')} of each kind are listed` });
  }
  if (drafts.length > 0) fail(file, drafts);
  return normalise(data as unknown as PlanInput, file);
}

// ---------------------------------------------------------------------------- normalisation

/** Validation guarantees these; a failure here is a kpki bug, not a user error. */
