/** Quick sample of the SIGKILL harness (test/stress/kills.ts); `npm run test:stress` runs the full count. */
import { test } from 'uvu';
import { COUNTS, FULL } from './config.js';
import { COMMANDS, kills } from './kills.js';

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

test.run();
