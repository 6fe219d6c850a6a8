/**
 * The tree shows the pipeline, and the imports keep to it: no module imports one from a later
 * step (a sink never imports the planner, the reader never imports the catalog), and no import
 * circles, type-only imports included. Read from the TypeScript sources, so a refactor that
 * breaks the order fails here first, naming the import.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from '../support/cli.js';

/**
 * Steps in pipeline order: a module may import from its own step or an earlier one. Written
 * by hand; a new folder must be placed here (the test below says so).
 */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['pki/errors.ts', 'pki/version.ts', 'pki/build.ts', 'pki/deps.ts', 'pki/findings.ts', 'pki/process.ts', 'pki/plan'],
  ['pki/x509'],
  ['pki/catalog'],
  ['pki/sinks', 'pki/kubeconfig'],
  ['pki/layout'],
  ['pki/store'],
  ['pki/observe'],
  ['pki/assess'],
  ['pki/decide'],
  ['pki/issue'],
  ['pki/kubeadm'],
  ['pki/rotate'],
  ['pki/gen', 'pki/check', 'pki/preflight', 'pki/install'],
  ['pki/renew'],
  ['pki/index.ts'],
  ['bootstrap'],
  ['cli'],
];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const FILES = ['pki', 'bootstrap', 'cli'].flatMap(sources);

function layerOf(file: string): number {
  const i = LAYERS.findIndex((l) => l.some((p) => file === p || file.startsWith(`${p}/`)));
  return i;
}

/** Relative imports of a module (static, dynamic and type-only), as repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs
    .filter((s) => s.endsWith('.js'))
    .map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)).replace(/\.js$/, '.ts'));
}

const GRAPH = new Map(FILES.map((f) => [f, importsOf(f)]));

test('every module belongs to a step', () => {
  const orphans = FILES.filter((f) => layerOf(f) < 0);
  assert.equal(orphans, [], `place these in LAYERS (test/structure/layers.test.ts): ${orphans.join(', ')}`);
});

test('no module imports from a later step', () => {
  const upward: string[] = [];
  for (const [file, deps] of GRAPH) {
    for (const d of deps) {
      if (!GRAPH.has(d)) continue; // generated or outside the tree (e.g. plan/schema-validator.cjs)
      if (layerOf(d) > layerOf(file)) upward.push(`${file} → ${d}`);
    }
  }
  assert.equal(upward, [], `imports running back up the pipeline:\n${upward.join('\n')}`);
});

test('no import circles', () => {
  // Tarjan's strongly connected components: any component of more than one module is a circle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of GRAPH.get(v) ?? []) {
      if (!GRAPH.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) circles.push(scc.sort());
    }
  };
  for (const f of GRAPH.keys()) if (!idx.has(f)) visit(f);
  assert.equal(circles, [], `import circles:\n${circles.map((c) => c.join(' ⇄ ')).join('\n')}`);
});

test('the check itself sees the graph (a planted upward import would be found)', () => {
  // Guards against a regex that silently matches nothing.
  assert.ok(GRAPH.get('pki/gen/generate.ts')!.some((d) => d.startsWith('pki/decide/')));
  assert.ok([...GRAPH.values()].reduce((n, d) => n + d.length, 0) > 150);
});

test.run();
