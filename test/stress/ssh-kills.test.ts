/** Quick sample of SIGKILL during `kpki install` over SSH (test/stress/ssh-kills.ts); `npm run test:stress` runs the full count. */
import { test } from 'uvu';
import { COUNTS } from './config.js';
import { sshKills } from './ssh-kills.js';

test('SIGKILL during install over SSH: host files old or new, never torn; backups kept; nothing lingers; the next run completes', async () => {
  await sshKills(COUNTS.sshKills);
});

test.run();
