/** Validity arithmetic at leap days and month ends, and a far-off clock (test/stress/time.ts). */
import { test } from 'uvu';
import { farClock, validityArithmetic } from './time.js';

test('NotAfter = issue time + validity exactly, NotBefore 5 minutes back, across leap days, month and year ends, 2050', async () => {
  await validityArithmetic();
});

test('a clock decades off gives a warning', async () => {
  await farClock();
});

test.run();
