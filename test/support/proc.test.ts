/**
 * The bounded process helpers themselves: a child past its bound is killed and the call fails
 * naming the command and the bound; a child the test stops itself ends normally; the kill timer
 * never keeps the test process alive.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './cli.js';
import { BoundExceeded, run, runSync, start } from './proc.js';

// `sleep 30` against a half-second bound: only the bound can end it in time.
const HANG = ['sleep', ['30']] as const;

function bounded(err: unknown): BoundExceeded {
  assert.instance(err, BoundExceeded);
  return err as BoundExceeded;
}

test('runSync: past its bound the child is killed and the call throws naming it', () => {
  try {
    runSync(...HANG, { boundMs: 500 });
    assert.unreachable('runSync returned');
  } catch (err) {
    assert.match(bounded(err).message, '`sleep 30` killed after 0.5 s');
  }
  // Within the bound: spawnSync's result as it was.
  const r = runSync('sh', ['-c', 'cat; echo oops >&2; exit 3'], { input: 'in\n' });
  assert.equal([r.status, r.stdout, r.stderr], [3, 'in\n', 'oops\n']);
});

test('run: past its bound the child is killed and the promise rejects with its output so far', async () => {
  try {
    await run('sh', ['-c', 'echo started >&2; exec sleep 30'], { boundMs: 500 });
    assert.unreachable('run resolved');
  } catch (err) {
    const e = bounded(err);
    assert.match(e.message, /^`sh -c "echo started >&2; exec sleep 30"` killed after 0\.5 s/);
    assert.is(e.stderr, 'started\n');
  }
  const r = await run('sh', ['-c', 'cat; exit 2'], { input: Buffer.from([0xff, 0x00]) });
  assert.is(r.status, 2);
  assert.equal([...r.stdoutBytes], [0xff, 0x00]);
});

test('start: a child the test stops itself ends normally, not as a bound kill', async () => {
  const child = start(...HANG, { stdio: 'ignore', boundMs: 60_000 });
  child.kill('SIGTERM');
  assert.equal(await child.exited, { status: null, signal: 'SIGTERM' });
  const early = start(...HANG, { stdio: 'ignore', boundMs: 500 });
  try {
    await early.exited;
    assert.unreachable('exited resolved');
  } catch (err) {
    assert.match(bounded(err).message, '`sleep 30` killed after 0.5 s');
  }
});

test('start: the kill timer does not keep the process alive', () => {
  // A process whose only pending work is a bounded child's timer (the child itself unref'd) ends
  // at once; were the timer ref'd, it would wait a minute for it and this runSync's bound would fail.
  const proc = pathToFileURL(join(ROOT, 'dist/test/support/proc.js')).href;
  const r = runSync(process.execPath, ['--input-type=module', '-e',
    `const { start } = await import(${JSON.stringify(proc)});
     const c = start('sleep', ['30'], { stdio: 'ignore', boundMs: 60_000 });
     c.unref();
     process.stdout.write(String(c.pid));`], { boundMs: 20_000 });
  assert.is(r.status, 0, r.stderr);
  process.kill(Number(r.stdout), 'SIGKILL'); // the orphaned sleep
});

test.run();
