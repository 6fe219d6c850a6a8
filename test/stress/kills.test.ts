/** Quick sample of the SIGKILL harness (test/stress/kills.ts); `npm run test:stress` runs the full count. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { FIXTURES, kpki, listFiles, tempDir } from '../support/cli.js';
import { COUNTS, FULL } from './config.js';
import { assertWhole, COMMANDS, kills } from './kills.js';

test('SIGKILL during gen (fresh, after a plan change, prune): CAs intact, nothing torn, next run and check OK', async () => {
  await kills(COUNTS.kills);
});

// The quick sample above reaches the first commands only; the rotation phases get their own (the full run covers all).
if (!FULL) {
  test('SIGKILL during rotation phases (ca issue, finalize, abort; sa finalize): the next run completes the phase', async () => {
    const intricate = /: issue|: finalize|--abort/;
    await kills(COUNTS.kills, 0x726f74, COMMANDS.filter((c) => c.rotation && intricate.test(c.name)));
  });
}

/** The message a judgement fails with ('' when it passes); uvu's assert.throws rethrows assertion failures. */
function failureOf(fn: () => unknown): string {
  try {
    fn();
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

test('the judge of a kill: a pair half replaced (certificate renewed, key not yet) passes only as what a kill between two renames leaves', () => {
  const dir = tempDir('kpki-kill-judge-');
  const plan = join(FIXTURES, 'single-cp.yaml');
  const out = join(dir, 'out');
  assert.is(kpki(['gen', '--plan', plan, '--out', out]).status, 0);
  const renewed = join(dir, 'renewed');
  cpSync(out, renewed, { recursive: true });
  assert.is(kpki(['renew', 'all', '--plan', plan, '--out', renewed]).status, 0);
  const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  const before = new Map(listFiles(out).map((f) => [f, sha(join(out, f))]));
  const crt = listFiles(out).find((f) => /^nodes\/.*\/apiserver\.crt$/.test(f))!;
  const key = crt.replace(/\.crt$/, '.key');
  assert.ok(assertWhole(out, 'as gen left it') > 0);
  // The new certificate in place, the old key still there: half replaced.
  writeFileSync(join(out, crt), readFileSync(join(renewed, crt)));
  assertWhole(out, 'half replaced', before);
  assert.match(failureOf(() => assertWhole(out, 'half replaced, judged as a finished run')), /do not match/);
  // Both changed and still not a pair: no kill leaves that.
  writeFileSync(join(out, key), readFileSync(join(renewed, listFiles(renewed).find((f) => f !== key && /^nodes\/.*\/front-proxy-client\.key$|apiserver-kubelet-client\.key$/.test(f))!)));
  assert.match(failureOf(() => assertWhole(out, 'both changed', before)), /not half replaced/);
});

test.run();
