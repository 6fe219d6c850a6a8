/**
 * `kpki check <dir>` on hostile or odd trees: pseudo-filesystems, very deep trees, symbolic
 * links out of the roots and in loops, FIFOs, sockets and devices, other file systems mounted
 * inside a root. Every run goes through the bounded runner: a walk that hangs fails the test
 * instead of holding the suite. Expected codes, files and severities are written here by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CLI, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';
import { findingsOf, opensslCa, runCheck, type Report } from './tools.js';

/** A self-signed CA made by openssl at `dir/name.crt` (its key beside it). */
function ca(dir: string, name: string, cn = name): string {
  mkdirSync(dir, { recursive: true });
  const crt = join(dir, `${name}.crt`);
  opensslCa(cn, crt, join(dir, `${name}.key`));
  return crt;
}

const cns = (r: Report) => [...r.certificates, ...r.authorities].map((c) => c.subject.cn).sort();

test('check /proc and /sys: refused at once (UNKNOWN, exit 3) naming the pseudo-filesystem, not walked', () => {
  for (const [root, type] of [['/proc', 'proc'], ['/sys', 'sysfs']] as const) {
    // Before: /proc/<pid>/root led the walk over the whole host (minutes, 400 MB, no output).
    const r = runSync(process.execPath, [CLI, 'check', root], { env: { ...process.env, NO_COLOR: '1' }, boundMs: 60_000 });
    assert.is(r.status, 3, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^PKI UNKNOWN: cannot read ${root} \\(the ${type} pseudo-filesystem`));
  }
});

test('a certificate 64 directories down is found; below the depth limit the walk says where it stopped (never a silent OK)', () => {
  const root = tempDir('kpki-walk-deep-');
  const at64 = join(root, ...Array<string>(64).fill('d'));
  ca(at64, 'deep-ca', 'sixty-four down');
  const ok = runCheck([root]);
  assert.equal(cns(ok.report), ['sixty-four down'], JSON.stringify(ok.report.findings));
  assert.equal(findingsOf(ok.report, 'walk-limit'), []);

  const at300 = join(root, ...Array<string>(300).fill('d'));
  ca(at300, 'deeper-ca', 'three hundred down');
  const cut = runCheck([root]);
  assert.equal(cns(cut.report), ['sixty-four down']);
  const limits = findingsOf(cut.report, 'walk-limit');
  assert.is(limits.length, 1, JSON.stringify(cut.report.findings));
  // The first directory not read: 129 levels below the root (the limit is 128).
  assert.is(limits[0]!.file, `${join(root, ...Array<string>(129).fill('d'))}/`);
  assert.is(limits[0]!.severity, 'warning');
  assert.is(cut.report.status, 'WARNING');
  assert.is(cut.status, 1);
});

test('links out of the root are reported, not followed; link loops end; links inside the roots are followed', () => {
  const base = tempDir('kpki-walk-links-');
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  ca(join(root, 'pki'), 'ca', 'inside');
  ca(outside, 'elsewhere', 'outside');
  symlinkSync(outside, join(root, 'elsewhere')); // a directory outside
  symlinkSync('/etc/shadow', join(root, 'shadow.key')); // a secret outside, under a credential's name
  symlinkSync('/etc/shadow', join(root, 'shadow')); // ... under another name: not even reported
  symlinkSync('/proc', join(root, 'proc')); // kernel state outside
  symlinkSync('.', join(root, 'pki', 'again')); // a directory loop
  symlinkSync('b.crt', join(root, 'a.crt')); // a file loop
  symlinkSync('a.crt', join(root, 'b.crt'));
  symlinkSync('pki/ca.crt', join(root, 'same.crt')); // inside: read
  const r = runSync(process.execPath, [CLI, 'check', root, '--json'], { env: { ...process.env, NO_COLOR: '1' }, boundMs: 60_000 });
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(cns(report).filter((cn) => cn !== 'inside'), [], 'nothing from outside the root');
  assert.ok(cns(report).includes('inside'));
  const outsideLinks = findingsOf(report, 'link-outside').map((f) => f.file).sort();
  assert.equal(outsideLinks, [join(root, 'elsewhere'), join(root, 'proc'), join(root, 'shadow.key')]);
  assert.match(findingsOf(report, 'link-outside', join(root, 'shadow.key'))[0]!.message, /links to \/etc\/shadow/);
  if (existsSync('/etc/shadow')) assert.ok(!r.stdout.includes(readFileSync('/etc/shadow', 'utf8').split('\n')[0]!), '/etc/shadow was not read into the report');
  // The looping pair cannot be read: reported as such, once each.
  assert.equal(report.findings.filter((f) => f.file === join(root, 'a.crt') || f.file === join(root, 'b.crt')).map((f) => [f.code, f.message]),
    [['unreadable', 'cannot be read (ELOOP)'], ['unreadable', 'cannot be read (ELOOP)']]);
  assert.equal(report.findings.filter((f) => f.file.startsWith(join(root, 'pki', 'again'))), [], 'the loop is read once');

  // Given as a root too, the outside directory is inside the roots: the link is followed.
  const both = runCheck([root, outside]);
  assert.ok(cns(both.report).includes('outside'));
  assert.equal(findingsOf(both.report, 'link-outside', join(root, 'elsewhere')), []);
});

test('FIFOs, sockets and devices under a credential\'s name: reported, never opened; under other names: ignored', async () => {
  const root = tempDir('kpki-walk-special-');
  const pki = join(root, 'pki');
  ca(pki, 'ca', 'a real one');
  runSync('mkfifo', [join(pki, 'front-proxy-ca.crt'), join(root, 'admin.conf'), join(root, 'just-a-fifo')]);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(pki, 'sa.key'), resolve));
  const device = runSync('mknod', [join(root, 'null.pem'), 'c', '1', '3']).status === 0;
  try {
    // Opening a FIFO blocks until a writer comes: the bound turns a hang into a failure.
    const r = runSync(process.execPath, [CLI, 'check', root, '--json'], { env: { ...process.env, NO_COLOR: '1' }, boundMs: 60_000 });
    const report = JSON.parse(r.stdout) as Report;
    const special = findingsOf(report, 'not-a-regular-file').map((f) => [f.file, f.severity, f.message]).sort();
    assert.equal(special, [
      [join(root, 'admin.conf'), 'critical', 'a FIFO, not a regular file; not opened'],
      ...(device ? [[join(root, 'null.pem'), 'critical', 'a character device, not a regular file; not opened']] : []),
      [join(pki, 'front-proxy-ca.crt'), 'critical', 'a FIFO, not a regular file; not opened'],
      [join(pki, 'sa.key'), 'critical', 'a socket, not a regular file; not opened'],
    ]);
    assert.equal(report.findings.filter((f) => f.file.endsWith('just-a-fifo')), []);
    assert.equal(cns(report), ['a real one']);
    assert.is(r.status, 2);
  } finally {
    server.close();
  }
});

/**
 * Runs `kpki check` twice inside a private mount namespace where a tmpfs (holding a CA) and a
 * proc are mounted inside the root; returns both reports, or undefined where nothing can be
 * mounted (not root, no CAP_SYS_ADMIN).
 */
function checkWithMounts(root: string, prepared: string): { plain: Report; crossed: Report } | undefined {
  const work = tempDir('kpki-walk-mnt-');
  const script = [
    'set -e',
    `mkdir -p "${root}/mnt" "${root}/proc"`,
    `mount -t tmpfs -o size=1m tmpfs "${root}/mnt"`,
    `mount -t proc proc "${root}/proc"`,
    `cp "${prepared}" "${root}/mnt/mounted.crt"`,
    'set +e',
    // Bounded here too: a child of the namespace's shell outlives a kill of the shell.
    `timeout -s KILL 60 "${process.execPath}" "${CLI}" check "${root}" --json > "${work}/plain.json"`,
    `timeout -s KILL 60 "${process.execPath}" "${CLI}" check "${root}" --cross-mounts --json > "${work}/crossed.json"`,
    'exit 0',
  ].join('\n');
  const r = runSync('unshare', ['-m', 'sh', '-c', script], { env: { ...process.env, NO_COLOR: '1' }, boundMs: 120_000 });
  if (r.status !== 0 && /mount|unshare/.test(r.stderr)) return undefined;
  assert.is(r.status, 0, `the namespace script failed: ${r.stderr}`);
  const read = (name: string) => JSON.parse(readFileSync(join(work, name), 'utf8')) as Report;
  return { plain: read('plain.json'), crossed: read('crossed.json') };
}

test('another file system mounted inside the root: skipped and said so by default, read with --cross-mounts; a proc mount never', () => {
  const root = tempDir('kpki-walk-mounts-');
  ca(join(root, 'pki'), 'ca', 'on the root file system');
  const prepared = ca(tempDir(), 'mounted', 'on the tmpfs');
  const runs = checkWithMounts(root, prepared);
  if (!runs) {
    console.log('  skipped: cannot mount in a private namespace (needs root or CAP_SYS_ADMIN)');
    return;
  }
  assert.equal(cns(runs.plain), ['on the root file system']);
  const skipped = findingsOf(runs.plain, 'mount-skipped');
  assert.equal(skipped.map((f) => [f.file, f.severity, f.message]), [[`${join(root, 'mnt')}/`, 'info', 'a tmpfs file system is mounted there; not read']]);
  assert.equal(cns(runs.crossed), ['on the root file system', 'on the tmpfs']);
  assert.equal(findingsOf(runs.crossed, 'mount-skipped'), []);
  for (const r of [runs.plain, runs.crossed]) {
    // Walked, /proc/<pid>/root and friends would show up as links out of the root.
    assert.equal(r.findings.filter((f) => f.file.startsWith(join(root, 'proc'))), []);
  }
});

test.run();
