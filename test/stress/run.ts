/**
 * `npm run test:stress`: every stress suite at its standing counts (KPKI_STRESS=full), then the
 * counts, the known failures seen, and the wall time. Exits 1 on any unexpected failure.
 * `node dist/test/stress/run.js --only kills` runs one suite.
 */
import { COUNTS, FULL, KNOWN_FAILURES, knownSeen, tally } from './config.js';
import { fullDisk } from './disk.js';
import { hostileArguments, hostileTrees } from './hostile.js';
import { cliInputs, pemMutations, planGenerated, planMutations } from './inputs.js';
import { kills } from './kills.js';
import { sshKills } from './ssh-kills.js';
import { procSamples, scanAll, umasks } from './secrets.js';
import { farClock, validityArithmetic } from './time.js';

const SUITES: [string, () => Promise<void> | void][] = [
  ['time', async () => (await validityArithmetic(), await farClock())],
  ['plans', async () => (await planMutations(COUNTS.planMutations), await planGenerated(COUNTS.planGenerated))],
  ['credentials', () => pemMutations(COUNTS.pemMutations)],
  ['cli', () => cliInputs(COUNTS.cliInputs)],
  ['hostile', async () => (await hostileTrees(), await hostileArguments())],
  ['disk', () => fullDisk(COUNTS.diskLevels)],
  ['kills', () => kills(COUNTS.kills)],
  ['ssh-kills', () => sshKills(COUNTS.sshKills)],
  ['umask', () => umasks(COUNTS.umasks)],
  // last: scans what every suite above captured
  ['secrets', async () => (await procSamples(), scanAll())],
];

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const started = Date.now();
let failed = 0;
console.log(`kpki stress suite (${FULL ? 'full counts' : 'quick sample'})`);
for (const [name, fn] of SUITES) {
  if (only && name !== only && name !== 'secrets') continue;
  const t = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${((Date.now() - t) / 1000).toFixed(0)} s)`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${(err as Error).message}`);
  }
}
console.log('\ncounts:');
for (const [k, v] of Object.entries(tally).sort()) console.log(`  ${k}: ${v}`);
console.log(`\nknown failures still failing (${knownSeen.failing.size}):`);
for (const k of KNOWN_FAILURES) if (knownSeen.failing.has(k)) console.log(`  ${k}`);
const passing = [...knownSeen.passing].filter((k) => !knownSeen.failing.has(k));
if (passing.length) console.log(`known failures that now pass (remove them from KNOWN_FAILURES in test/stress/config.ts):\n  ${passing.join('\n  ')}`);
console.log(`\nwall time: ${((Date.now() - started) / 1000).toFixed(0)} s; ${failed ? `${failed} suite(s) FAILED` : 'all suites passed'}`);
process.exit(failed ? 1 : 0);
