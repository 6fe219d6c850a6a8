/**
 * Full disk at every write, a read-only mount and EACCES. gen runs on a small tmpfs in a
 * private mount namespace (gone after the run; the pattern of test/store/atomic-writes),
 * filled so that only N KiB remain, over an existing store whose every leaf the plan reissues.
 * A failed run: exit 2, one sentence naming the errno, nothing replaced, no debris.
 */
import * as assert from 'uvu/assert';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, FIXTURES, hashTree, listFiles, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';
import { cli, keep, learnSecrets } from './capture.js';
import { assertNoStack, bump, expectCase } from './config.js';
import { assertWhole, TEMP } from './kills.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');

interface Outcome { status: number; stderr: string; out: string }

/** gen on a tmpfs seeded with `seed`, with `freeKiB` left (or remounted read-only); the result copied out. */
function genInNamespace(work: string, plan: string, seed: string, opts: { freeKiB?: number; readOnly?: boolean }): Outcome | undefined {
  const mnt = join(work, 'mnt');
  const inspect = join(work, 'inspect');
  rmSync(inspect, { recursive: true, force: true });
  mkdirSync(mnt, { recursive: true });
  mkdirSync(inspect);
  const script = [
    'set -e',
    `mount -t tmpfs -o size=4m,mode=0700 tmpfs "${mnt}"`,
    `cp -a "${seed}" "${mnt}/out"`,
    opts.freeKiB !== undefined ? `dd if=/dev/zero of="${mnt}/filler" bs=4096 2>/dev/null || true; truncate -s -${opts.freeKiB}K "${mnt}/filler"` : ':',
    opts.readOnly ? `mount -o remount,ro "${mnt}"` : ':',
    'set +e',
    `"${process.execPath}" "${CLI}" gen --plan "${plan}" --out "${mnt}/out" >"${inspect}/stdout" 2>"${inspect}/stderr"`,
    `echo $? > "${inspect}/status"`,
    `cp -a "${mnt}/out" "${inspect}/out"`,
  ].join('\n');
  const r = runSync('unshare', ['-m', 'sh', '-c', script], { env: { ...process.env, NO_COLOR: '1' }, boundMs: 120_000 });
  if (r.status !== 0 && /mount|unshare/.test(r.stderr)) return undefined;
  assert.is(r.status, 0, `the namespace script failed: ${r.stderr}`);
  const stderr = readFileSync(join(inspect, 'stderr'), 'utf8');
  keep('gen on a full disk (stdout)', readFileSync(join(inspect, 'stdout'), 'utf8'));
  keep('gen on a full disk (stderr)', stderr);
  return { status: Number(readFileSync(join(inspect, 'status'), 'utf8')), stderr, out: join(inspect, 'out') };
}

const finalFiles = (out: string) => new Map([...hashTree(out)].filter(([f]) => !TEMP.test(f) && !f.startsWith('backup/')));

/** A failed write: one sentence, nothing replaced, no temp file or backup left behind. */
async function assertCleanFailure(o: Outcome, before: Map<string, string>, what: string, errno: RegExp): Promise<void> {
  assert.ok(o.status !== 0, `${what}: exit 0`);
  assert.match(o.stderr, errno, `${what}: ${o.stderr}`);
  assert.equal(finalFiles(o.out), before, `${what}: a failed run replaced files`);
  await expectCase('14.5 full disk: stack trace or debris', () => {
    assert.is(o.status, 2, `${what}: exit ${o.status}: ${o.stderr}`);
    assertNoStack(o.stderr, what);
    assert.is(o.stderr.trim().split('\n').length, 1, `${what}: not one sentence: ${o.stderr}`);
    const debris = listFiles(o.out).filter((f) => TEMP.test(f) || (f.startsWith('backup/') && !before.has(f)));
    assert.equal(debris, [], `${what}: debris left`);
  });
}

export async function fullDisk(levels: readonly number[]): Promise<void> {
  const work = tempDir('kpki-stress-disk-');
  const seed = join(work, 'seed');
  assert.is(cli(['gen', '--plan', PLAN, '--out', seed]).status, 0);
  learnSecrets(seed);
  const shorter = join(work, 'shorter.yaml');
  writeFileSync(shorter, readFileSync(PLAN, 'utf8').replace('certValidity: 8760h', 'certValidity: 2160h'));
  const before = finalFiles(seed);
  const seen = { failed: 0, completed: 0 };
  for (const freeKiB of levels) {
    const o = genInNamespace(work, shorter, seed, { freeKiB });
    if (!o) return console.log('  skipped: cannot mount a tmpfs in a private namespace (needs root or CAP_SYS_ADMIN)');
    const what = `gen with ${freeKiB} KiB free`;
    if (o.status === 0) {
      seen.completed++;
      assertWhole(o.out, what);
    } else {
      seen.failed++;
      await assertCleanFailure(o, before, what, /no space left|ENOSPC/i);
    }
    bump('full-disk levels');
  }
  assert.ok(seen.failed >= 1, `no level filled the disk: ${JSON.stringify(seen)}`);

  // read-only: the same, with EROFS
  const ro = genInNamespace(work, shorter, seed, { readOnly: true });
  if (ro) {
    await assertCleanFailure(ro, before, 'gen on a read-only mount', /read-only|EROFS/i);
    bump('read-only mounts');
  }

  // EACCES: an unprivileged user (uid 65534) whose store has a directory it cannot write
  const own = join(work, 'eacces');
  cpSync(seed, own, { recursive: true });
  runSync('chown', ['-R', '65534:65534', own]);
  chmodSync(own, 0o755);
  chmodSync(join(work), 0o755);
  // owned by root, so gen (as 65534) cannot fix its mode as it would its own directory's
  const dir = join(own, 'nodes/cp-1/etc/kubernetes/pki');
  runSync('chown', ['0:0', dir]);
  chmodSync(dir, 0o755);
  const beforeOwn = finalFiles(own);
  const r = runSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'gen', '--plan', shorter, '--out', own], { boundMs: 60_000 });
  keep('gen on EACCES', r.stdout + r.stderr);
  if (r.status === 127 || /setpriv:/.test(r.stderr)) return;
  await assertCleanFailure({ status: r.status!, stderr: r.stderr, out: own }, beforeOwn, 'gen as uid 65534 with a directory it cannot write', /permission denied|EACCES|owned by/i);
  bump('EACCES runs');
  if (existsSync(work)) rmSync(work, { recursive: true, force: true });
}
