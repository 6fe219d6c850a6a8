/**
 * An unusable --out: one plain sentence naming the path and the cause, exit 2, nothing written,
 * for the real run and the dry run alike (writability only matters to a real run).
 */
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, FIXTURES, kpki, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');

function refused(args: readonly string[], message: RegExp, cwd?: string): void {
  const r = kpki(['gen', '--plan', PLAN, ...args], cwd ? { cwd } : {});
  assert.is(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  assert.match(r.stderr, message);
  assert.not.match(r.stderr, /\n\s+at |ENOENT|ENOTDIR|EROFS|EACCES/, 'no stack trace, no errno');
  assert.is(r.stdout, '');
}

test('--out "": exit 2 for the dry run and the real run, nothing written', () => {
  const cwd = tempDir();
  for (const dry of [[], ['--dry-run']]) refused(['--out', '', ...dry], /^kpki: --out must name a directory/, cwd);
  assert.equal(readdirSync(cwd), []);
  rmSync(cwd, { recursive: true, force: true });
});

test('--out naming a file, or a path below a file: exit 2 naming the file, the file untouched', () => {
  const dir = tempDir();
  const file = join(dir, 'notes.txt');
  writeFileSync(file, 'keep me\n');
  for (const dry of [[], ['--dry-run']]) {
    refused(['--out', file, ...dry], new RegExp(`^kpki: ${file} is not a directory \\(it is a file\\)$`, 'm'));
    refused(['--out', join(file, 'sub', 'out'), ...dry], new RegExp(`^kpki: ${file}/sub/out is not a directory \\(${file} is a file\\)$`, 'm'));
  }
  assert.is(readFileSync(file, 'utf8'), 'keep me\n');
  assert.equal(readdirSync(dir), ['notes.txt']);
  rmSync(dir, { recursive: true, force: true });
});

test('--out on a read-only filesystem: exit 2 saying so; a dry run may read it', () => {
  const dir = tempDir();
  const mnt = join(dir, 'ro');
  mkdirSync(mnt);
  // A read-only tmpfs in a private mount namespace: visible to this command only, gone after it.
  const inNamespace = (args: string) =>
    runSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs ${mnt} && exec ${process.execPath} ${CLI} gen --plan ${PLAN} ${args}`], {
      env: { ...process.env, NO_COLOR: '1' },
    });
  const probe = runSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs ${mnt}`]);
  if (probe.status !== 0) {
    console.log(`  skipped: cannot mount a read-only tmpfs in a private namespace (${probe.stderr.trim() || probe.error}); needs root or CAP_SYS_ADMIN`);
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const out of [mnt, join(mnt, 'new', 'out')]) {
    const r = inNamespace(`--out ${out}`);
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^kpki: ${out} is on a read-only filesystem`, 'm'));
    assert.not.match(r.stderr, /ENOENT|EROFS|\n\s+at /);
  }
  const dry = inNamespace(`--out ${mnt} --dry-run`);
  assert.is(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /would change.*\. Nothing was written \(dry run\)/);
  assert.equal(readdirSync(mnt), [], 'the mount point underneath is untouched');
  rmSync(dir, { recursive: true, force: true });
});

test('--out where the user may not write: exit 2, permission denied, naming the directory', () => {
  if (process.getuid?.() !== 0) {
    console.log('  skipped: needs root to run kpki as another user');
    return;
  }
  const dir = tempDir();
  chmodSync(dir, 0o755); // readable by nobody, writable only by root
  const plan = join(dir, 'cluster.yaml');
  writeFileSync(plan, readFileSync(PLAN), { mode: 0o644 });
  for (const out of [join(dir, 'out'), dir]) {
    const r = runSync(process.execPath, [CLI, 'gen', '--plan', plan, '--out', out], { uid: 65534, gid: 65534, cwd: '/' });
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^kpki: ${out}: permission denied \\(cannot write in ${dir}\\)$`, 'm'));
  }
  assert.equal(readdirSync(dir), ['cluster.yaml']);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
