/**
 * What a run replaces is kept under backup/<time>/ byte for byte. On one file system the
 * backup is the replaced file itself (a hard link to its inode: nothing copied, nothing read);
 * where backup/ is another mount (a tmpfs here, in a private mount namespace) the link fails
 * with EXDEV and the file is copied instead (0600). Judged by inode numbers, bytes and openssl.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, FIXTURES, kpki, listFiles, sh, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');
const LEAF = 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt';
const KEY = 'nodes/cp-1/etc/kubernetes/pki/apiserver.key';

/** The one backup folder a run made, and the files in it (relative to it). */
function backupOf(out: string): { dir: string; files: string[] } {
  const stamps = readdirSync(join(out, 'backup'));
  assert.is(stamps.length, 1, 'one backup folder');
  const dir = join(out, 'backup', stamps[0]!);
  return { dir, files: listFiles(dir) };
}

test('on one file system: each replaced file becomes its own backup (same inode, same bytes), nothing else is kept', () => {
  const out = join(tempDir('kpki-backups-'), 'out');
  assert.is(kpki(['gen', '-p', PLAN, '-o', out]).status, 0);
  const before = new Map([LEAF, KEY].map((f) => [f, { ino: statSync(join(out, f)).ino, text: readFileSync(join(out, f), 'utf8') }]));
  assert.is(kpki(['renew', 'apiserver', '-p', PLAN, '-o', out]).status, 0);
  const { dir, files } = backupOf(out);
  assert.equal(files.sort(), [KEY, LEAF].sort());
  for (const [f, b] of before) {
    assert.is(statSync(join(dir, f)).ino, b.ino, `${f}: the replaced inode itself`);
    assert.is(readFileSync(join(dir, f), 'utf8'), b.text, `${f}: same bytes`);
    assert.is.not(readFileSync(join(out, f), 'utf8'), b.text, `${f}: replaced`);
  }
  assert.is(statSync(join(dir, 'nodes')).mode & 0o777, 0o700);
});

test('backup/ on another mount: the link fails (EXDEV), the files are copied, byte for byte, 0600', () => {
  const work = tempDir('kpki-backups-xdev-');
  const out = join(work, 'out');
  assert.is(kpki(['gen', '-p', PLAN, '-o', out]).status, 0);
  const old = new Map([LEAF, KEY].map((f) => [f, readFileSync(join(out, f), 'utf8')]));
  const inspect = join(work, 'inspect');
  mkdirSync(join(out, 'backup'), { mode: 0o700 });
  const script = [
    'set -e',
    `mount -t tmpfs -o size=4m,mode=0700 tmpfs "${out}/backup"`,
    `"${process.execPath}" "${CLI}" renew apiserver -p "${PLAN}" -o "${out}" >/dev/null`,
    `cp -a "${out}/backup" "${inspect}"`,
  ].join('\n');
  const r = runSync('unshare', ['-m', 'sh', '-c', script], { env: { ...process.env, NO_COLOR: '1' }, boundMs: 60_000 });
  if (r.status !== 0 && /mount|unshare/.test(r.stderr)) return console.log('  (skipped: no mount namespace here)');
  assert.is(r.status, 0, r.stderr);
  const stamp = readdirSync(inspect);
  assert.is(stamp.length, 1);
  for (const [f, text] of old) {
    const copy = join(inspect, stamp[0]!, f);
    assert.is(readFileSync(copy, 'utf8'), text, `${f}: same bytes`);
    assert.is(statSync(copy).mode & 0o777, 0o600, `${f}: a private copy`);
  }
  // The renewed pair is whole: openssl verifies it against the store's CA.
  sh('openssl', ['verify', '-CAfile', join(out, 'pki/ca.crt'), join(out, LEAF)]);
});

test.run();
