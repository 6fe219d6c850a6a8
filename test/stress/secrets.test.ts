/** Secret hygiene (test/stress/secrets.ts): modes under every umask, and no secret in any output or /proc. */
import { test } from 'uvu';
import { COUNTS } from './config.js';
import { procSamples, scanAll, umasks } from './secrets.js';

test('keys 0600 in 0700 directories, no group/world-writable directory, under each umask', async () => {
  await umasks(COUNTS.umasks);
});

test('no private key, token secret or key material in any captured output, argv or environment', async () => {
  await procSamples();
  scanAll();
});

test.run();
