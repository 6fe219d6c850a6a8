/**
 * Every process a test starts has a bound (test/support/proc.ts), so a child that hangs fails its
 * test instead of hanging `npm test`. This keeps it that way: no test source but proc.ts may
 * import child_process. Reads the TypeScript sources, not dist.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './cli.js';

const TEST_DIR = join(ROOT, 'test');
const ALLOWED = 'test/support/proc.ts';

/** A static, side-effect, re-export, dynamic or require import of child_process, with or without `node:`. */
const IMPORTS_CHILD_PROCESS = /(?:\bfrom|\bimport|\brequire)\s*\(?\s*['"](?:node:)?child_process['"]/g;

function tsSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsSources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** `file:line` of each child_process import in `text`. */
function importsIn(file: string, text: string): string[] {
  return [...text.matchAll(IMPORTS_CHILD_PROCESS)].map((m) => `${file}:${text.slice(0, m.index).split('\n').length}`);
}

test('the detector sees every form of the import', () => {
  // Spelled in pieces so that this file does not trip its own check.
  const cp = ['child', 'process'].join('_');
  const forms = [
    `import { spawn } from 'node:${cp}';`,
    `import {\n  spawnSync,\n  type ChildProcess,\n} from "${cp}";`,
    `import * as cp from '${cp}';`,
    `import type { SpawnSyncReturns } from 'node:${cp}';`,
    `export { execFile } from 'node:${cp}';`,
    `import 'node:${cp}';`,
    `const cp = await import('node:${cp}');`,
    `const { execSync } = require('${cp}');`,
  ];
  for (const f of forms) assert.is(importsIn('x.ts', f).length, 1, f);
  assert.equal(importsIn('x.ts', "import { run } from './proc.js'; // child processes, bounded"), []);
});

test('no test source but test/support/proc.ts imports child_process', () => {
  const files = tsSources(TEST_DIR);
  // Reading the wrong directory would pass vacuously.
  assert.ok(files.length > 20, `only ${files.length} .ts files under ${TEST_DIR}`);
  const rel = (f: string) => relative(ROOT, f).split('\\').join('/');
  assert.ok(files.some((f) => rel(f) === ALLOWED), `${ALLOWED} is missing`);
  const offenders = files.filter((f) => rel(f) !== ALLOWED).flatMap((f) => importsIn(rel(f), readFileSync(f, 'utf8')));
  assert.equal(offenders, [], `these test sources import child_process; start processes through ${ALLOWED} (runSync, run, start) so each has a bound:\n  ${offenders.join('\n  ')}`);
});

test.run();
