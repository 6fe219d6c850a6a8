/**
 * The test bed cleans up after itself and after crashed runs: a bed whose creating process is
 * gone (namespaces, bridge, temp dir named after its pid) is removed when the next bed starts,
 * and teardown leaves no namespace, bridge, process or directory of its own.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runSync, start } from '../support/proc.js';
import { bedUnavailable, startTestBed } from '../support/testbed.js';

const unavailable = bedUnavailable();

test('a crashed run\'s bed is removed by the next one; teardown leaves nothing behind', async () => {
  if (unavailable) {
    console.log(`skipped: ${unavailable}`);
    return;
  }
  // A pid that no process has any more: a child that has exited.
  const gone = start('true', []);
  await gone.exited;
  const pid = gone.pid!;
  const ns = `kpkibed-${pid}-0`;
  const bridge = `kpb${pid}`;
  assert.is(runSync('ip', ['netns', 'add', ns]).status, 0);
  assert.is(runSync('ip', ['link', 'add', bridge, 'type', 'bridge']).status, 0);
  const dir = mkdtempSync(join(tmpdir(), `kpki-bed-${pid}-`));

  const bed = await startTestBed([{ name: 'solo' }]);
  const netns = (await run('ip', ['netns', 'list'])).stdout;
  assert.not.match(netns, new RegExp(`\\b${ns}\\b`));
  assert.is(runSync('ip', ['link', 'show', bridge]).status !== 0, true);
  assert.not.ok(existsSync(dir));
  // The bed itself works, then goes away whole.
  const r = await run('ssh', ['-F', bed.sshConfig, '-o', 'BatchMode=yes', bed.host('solo').address, 'hostname']);
  assert.is(r.stdout.trim(), 'solo', r.stderr);
  const sshd = bed.host('solo').sshd!;
  bed.teardown();
  await sshd.exited;
  assert.not.match((await run('ip', ['netns', 'list'])).stdout, new RegExp(`kpkibed-${process.pid}-`));
  assert.is(runSync('ip', ['link', 'show', `kpb${process.pid}`]).status !== 0, true);
  assert.not.ok(existsSync(bed.dir));
});

test.run();
