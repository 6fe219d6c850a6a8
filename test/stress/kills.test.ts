/** Quick sample of the SIGKILL harness (test/stress/kills.ts); `npm run test:stress` runs the full count. */
import { test } from 'uvu';
import { COUNTS } from './config.js';
import { kills } from './kills.js';

test('SIGKILL during gen (fresh, after a plan change, prune): CAs intact, nothing torn, next run and check OK', async () => {
  await kills(COUNTS.kills);
});

test.run();
