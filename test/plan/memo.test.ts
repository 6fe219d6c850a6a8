/**
 * The plan memo in pki/state.json: a re-run of an unchanged plan gets the plan gen recorded,
 * equal in every field to a fresh parse (every fixture); any changed byte parses again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpki, tempDir } from '../support/cli.js';
import { loadPlan, planDigest } from '../../pki/plan/load.js';
import { parsePlan } from '../../pki/plan/parse.js';
import { PLAN_MEMO_PATH, readPlanMemo, serialisePlanMemo } from '../../pki/store/state.js';

const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml'));

test('a memo round trip through state.json equals a fresh parse, for every fixture', async () => {
  assert.ok(fixtures.length >= 5);
  for (const f of fixtures) {
    const file = join(FIXTURES, f);
    const fresh = await loadPlan(file);
    const out = tempDir();
    mkdirSync(join(out, 'pki'));
    writeFileSync(join(out, PLAN_MEMO_PATH), serialisePlanMemo(fresh)!);
    const memo = readPlanMemo(out);
    assert.ok(memo, f);
    assert.is(memo!.digest, planDigest(readFileSync(file, 'utf8')), f);
    const memoised = await loadPlan(file, { memo: memo! });
    assert.equal(memoised, fresh, f);
    assert.equal({ ...memoised, digest: undefined }, { ...parsePlan(readFileSync(file, 'utf8'), file), digest: undefined }, f);
  }
});

test('a changed byte is parsed again (and its errors still reported), never served from the memo', async () => {
  const dir = tempDir();
  const file = join(dir, 'cluster.yaml');
  const text = readFileSync(join(FIXTURES, 'single-cp.yaml'), 'utf8');
  writeFileSync(file, text);
  const out = join(dir, 'out');
  assert.is(kpki(['gen', '--plan', file, '--out', out]).status, 0);
  const memo = readPlanMemo(out);
  assert.ok(memo, 'gen records the plan it used');
  assert.is(memo!.digest, planDigest(text));
  writeFileSync(file, text.replace('address: 192.0.2.10', 'address: 999.1.1.1'));
  const r = kpki(['gen', '--plan', file, '--out', out]);
  assert.is(r.status, 2, 'the edited plan is validated, not taken from the memo');
  assert.match(r.stderr, /cluster\.yaml:\d+:\d+: nodes\[0\]\.address/);
});

test.run();
