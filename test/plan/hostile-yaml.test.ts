/**
 * Plans no person writes, made to exhaust the YAML readers: deep nesting (flow and block) and
 * huge numbers of values. kpki runs with a 200 MB heap (NODE_OPTIONS), so unbounded memory
 * shows as a crash (exit 134, "FATAL ... heap out of memory") instead of a slow pass; each must
 * end as an ordinary invalid plan (exit 2) naming the file and the line. Duplicate keys, found
 * without yaml's pairwise check, are still reported where they are.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PlanError } from '../../pki/errors.js';
import { parsePlan } from '../../pki/plan/index.js';
import { CLI, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';

const HEAD = 'apiVersion: kpki/v1alpha1\nkind: Cluster\n';

/** `kpki gen --dry-run` on `text` with a 200 MB heap: status and stderr. */
function genBounded(text: string): { status: number | null; stderr: string; file: string } {
  const dir = tempDir('kpki-hostile-plan-');
  const file = join(dir, 'cluster.yaml');
  writeFileSync(file, text);
  const r = runSync(process.execPath, [CLI, 'gen', '--plan', file, '--out', join(dir, 'out'), '--dry-run'], {
    env: { ...process.env, NO_COLOR: '1', NODE_OPTIONS: '--max-old-space-size=200' }, boundMs: 60_000,
  });
  return { status: r.status, stderr: r.stderr, file };
}

function assertCleanRefusal(r: { status: number | null; stderr: string }, message: RegExp): void {
  assert.is(r.status, 2, r.stderr.slice(0, 2000));
  assert.match(r.stderr, message);
  assert.not.match(r.stderr, /FATAL|heap out of memory|Maximum call stack|RangeError|\n\s+at /);
}

test('a 10 MB plan of nested flow sequences: refused at the nesting, not parsed', () => {
  const n = 5_000_000;
  const r = genBounded(`${HEAD}nodes: ${'['.repeat(n)}${']'.repeat(n)}\n`);
  assertCleanRefusal(r, /cluster\.yaml:3:\d+: the YAML nests deeper than 64 levels/);
});

test('a 4 MB plan of nested block sequences (`- - - …`): refused at the nesting', () => {
  const r = genBounded(`${HEAD}nodes:\n${'- '.repeat(2_000_000)}x\n`);
  assertCleanRefusal(r, /cluster\.yaml:4:\d+: the YAML nests deeper than 64 levels/);
});

test('nesting by indentation: refused at the line that goes too deep', () => {
  const lines = Array.from({ length: 100 }, (_, i) => `${' '.repeat(i)}k${i}:`);
  const r = genBounded(`${HEAD}${lines.join('\n')} x\n`);
  assertCleanRefusal(r, /cluster\.yaml:\d+:\d+: the YAML nests deeper than 64 levels/);
  const line = Number(/cluster\.yaml:(\d+):/.exec(r.stderr)![1]);
  assert.ok(line > 30 && line < 70, `line ${line}`);
});

test('a plan of hundreds of thousands of values: refused with a count, whichever reader sees it first', () => {
  assertCleanRefusal(genBounded(`${HEAD}nodes: [${Array(300_000).fill('0').join(',')}]\n`), /cluster\.yaml:3:\d+: the YAML holds more than 100,000 values/);
  // Anchors send a plan straight to the located reader.
  assertCleanRefusal(genBounded(`${HEAD}x: &a 1\nnodes:\n${Array(150_000).fill('- 0').join('\n')}\n`), /cluster\.yaml:\d+:\d+: the YAML holds more than 100,000 values/);
});

test('tens of thousands of problems: the first of each kind listed, and how many there were', () => {
  const r = genBounded(`${HEAD}${Array.from({ length: 30_000 }, (_, i) => `k${i}: v`).join('\n')}\n`);
  assert.is(r.status, 2);
  assert.match(r.stderr, /30,001 problems; the first 1,000 of each kind are listed/);
  assert.ok(r.stderr.split('\n').length < 1100, `${r.stderr.split('\n').length} lines`);
});

test('duplicate keys are still reported at the second one, in small and in large mappings', () => {
  const err = (text: string) => {
    try {
      parsePlan(text, 'p.yaml');
    } catch (e) {
      if (e instanceof PlanError) return e.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`);
      throw e;
    }
    return [];
  };
  assert.equal(err(`${HEAD}clusterName: a\nnodes: []\nclusterName: b\n`), ['5:1 YAML syntax error: this key appears twice in the same mapping']);
  assert.equal(err(`${HEAD}nodes: [{ name: a, address: 10.0.0.1, name: b }]\n`), ['3:39 YAML syntax error: this key appears twice in the same mapping']);
  const many = Array.from({ length: 20_000 }, (_, i) => `k${i}: v`);
  many.push('k7: again');
  assert.equal(err(`${HEAD}${many.join('\n')}\n`).filter((d) => d.includes('twice')), [`20003:1 YAML syntax error: this key appears twice in the same mapping`]);
});

test.run();
