/** The stress suite's hostile trees and arguments (test/stress/hostile.ts); KNOWN_FAILURES lists what main still fails. */
import { test } from 'uvu';
import { hostileArguments, hostileTrees } from './hostile.js';

test('hostile trees: a finding or one clean sentence naming the path, never a hang or a stack trace', async () => {
  await hostileTrees();
});

test('hostile file names and arguments', async () => {
  await hostileArguments();
});

test.run();
