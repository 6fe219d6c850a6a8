/**
 * Bounds on YAML before a parser builds it. Both YAML readers build every node and recurse
 * once per nesting level: a 1 MB kubeconfig of `[[[[…]]]]` cost `check` 2.8 s and 650 MB, a
 * 10 MB plan of them exhausted the heap, a 4 MB one the stack. So the text is first lexed with
 * yaml's own lexer (linear, constant memory, the grammar the parser then applies) and refused
 * at the first token past a nesting depth or a number of values: the cost of refusing is
 * bounded by the limits, not by the file.
 */
import { createRequire } from 'node:module';
import type { Document } from 'yaml';

export interface YamlLimits {
  /** Collections inside collections (an over-estimate: block levels count their indentation). */
  readonly maxDepth: number;
  /** Scalars, collections and key/value indicators. */
  readonly maxNodes: number;
}

/** A plan for 5,000 nodes (Kubernetes' largest supported cluster) is about 60,000 values and 6 levels deep. */
export const PLAN_LIMITS: YamlLimits = { maxDepth: 64, maxNodes: 100_000 };
/** A kubeconfig is a few dozen values; one with a thousand contexts about 20,000. */
export const KUBECONFIG_LIMITS: YamlLimits = { maxDepth: 64, maxNodes: 50_000 };

export interface YamlShapeProblem {
  /** 1-based line and column of the token past the limit. */
  readonly line: number;
  readonly column: number;
  /** `nests deeper than 64 levels`, `holds more than 100,000 values`. */
  readonly message: string;
}

const requireHere = createRequire(import.meta.url);

// Lexer tokens that are markers, not source text (yaml's CST: document, flow error end, scalar).
const DOC = '\x02';
const FLOW_END = '\x18';
const SCALAR = '\x1f';

/**
 * The first place where `text` goes past `limits`, or undefined. Depth is flow nesting plus the
 * block levels open on the line where it starts (indentation levels, and `- `, `? `, `: `
 * indicators on that line): never less than the parser's own nesting.
 */
export function yamlShapeProblem(text: string, limits: YamlLimits): YamlShapeProblem | undefined {
  const { Lexer } = requireHere('yaml') as typeof import('yaml');
  let offset = 0; // source characters consumed
  let flow = 0;
  let block = 0; // block levels of the line a flow collection (or the current token) sits on
  let lineStart = true;
  let indent = 0;
  const indents: number[] = [];
  let nodes = 0;
  const at = (message: string): YamlShapeProblem => {
    const before = text.slice(0, offset);
    const lineBreak = before.lastIndexOf('\n');
    let line = 1;
    for (let i = before.indexOf('\n'); i !== -1; i = before.indexOf('\n', i + 1)) line++;
    return { line, column: offset - lineBreak, message };
  };
  let body = 0; // 1: a block scalar's header was seen; 2: its body is the next token
  for (const token of new Lexer().lex(text)) {
    if (token === DOC || token === FLOW_END) continue;
    if (token === SCALAR) {
      if (body === 1) body = 2;
      if (++nodes > limits.maxNodes) return at(`holds more than ${limits.maxNodes.toLocaleString('en')} values`);
      continue;
    }
    const c = token[0];
    if (body === 2) {
      // A block scalar's text (up to the end of its last line): data, never structure.
      body = 0;
      lineStart = flow === 0;
      indent = 0;
    } else if (token === '' || c === '\n' || c === '\r') {
      // A new line; in a flow collection the line it opened on still counts.
      if (flow === 0) lineStart = true;
      indent = 0;
    } else if ((c === ' ' || c === '\t') && token.trim() === '') {
      if (lineStart) indent = token.length;
    } else if (c !== '#') {
      if (lineStart) {
        lineStart = false;
        while (indents.length && indents[indents.length - 1]! >= indent) indents.pop();
        indents.push(indent);
        block = indents.length;
      }
      if (token.length === 1 && (c === '-' || c === '?' || c === ':')) {
        nodes++;
        if (flow === 0) block++;
      } else if (token === '[' || token === '{') {
        nodes++;
        flow++;
      } else if (token === ']' || token === '}') {
        if (flow > 0) flow--;
      } else if (c === '|' || c === '>') {
        nodes++;
        body = 1;
      } else if (c === '"' || c === "'" || c === '*') nodes++;
      if (flow + block > limits.maxDepth) return at(`nests deeper than ${limits.maxDepth} levels`);
      if (nodes > limits.maxNodes) return at(`holds more than ${limits.maxNodes.toLocaleString('en')} values`);
    }
    offset += token.length;
  }
  return undefined;
}

/**
 * A cheap guard for the fast plan reader (js-yaml), which must not load yaml: an upper bound on
 * the values (every `,` `[` `{` `-` `:` `?` and line counts one) and on flow nesting (every
 * `[` `{`, whatever quotes surround it, minus the closings). Over-counting only sends a plan to
 * the located reader, whose lexer decides exactly.
 */
export function quickShapeOk(text: string, limits: YamlLimits): boolean {
  let nodes = 0;
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      nodes++;
      if (++depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) {
      if (depth > 0) depth--;
    } else if (c === 0x2c || c === 0x2d || c === 0x3a || c === 0x3f || c === 0x0a) nodes++;
  }
  return nodes <= limits.maxNodes && deepest <= limits.maxDepth;
}

/**
 * yaml's DUPLICATE_KEY error for every key seen before in the same mapping (its rule: equal
 * scalar values), in one pass. For documents parsed with `uniqueKeys: false`: yaml's own check
 * compares each key with every other (20,000 keys: 1.5 s; 50,000: 18 s).
 */
export function markDuplicateKeys(doc: Document.Parsed): void {
  const { isScalar, visit, YAMLParseError } = requireHere('yaml') as typeof import('yaml');
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        if (!seen.has(key.value)) seen.add(key.value);
        else {
          const at = key.range?.[0] ?? 0;
          doc.errors.push(new YAMLParseError([at, at + 1], 'DUPLICATE_KEY', 'Map keys must be unique'));
        }
      }
    },
  });
}
