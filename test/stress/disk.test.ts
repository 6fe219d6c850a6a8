/** Quick sample of the full-disk, read-only and EACCES runs (test/stress/disk.ts). */
import { test } from 'uvu';
import { COUNTS } from './config.js';
import { fullDisk } from './disk.js';

test('full disk at several levels, a read-only mount, EACCES: nothing replaced, one sentence', async () => {
  await fullDisk(COUNTS.diskLevels);
});

test.run();
