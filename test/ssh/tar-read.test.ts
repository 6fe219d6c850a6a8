/** The SSH sink's tar reader against archives GNU tar really writes (gnu and pax formats). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { readTar } from '../../pki/sinks/tar-read.js';
import { tempDir } from '../support/cli.js';
import { run, runSync } from '../support/proc.js';

const LONG = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(70)}.crt`;

function tree(): string {
  const dir = tempDir('kpki-tar-');
  fs.mkdirSync(join(dir, 'pki', LONG.slice(0, LONG.lastIndexOf('/'))), { recursive: true, mode: 0o700 });
  fs.chmodSync(join(dir, 'pki'), 0o750);
  fs.writeFileSync(join(dir, 'pki', LONG), 'long name\n', { mode: 0o640 });
  fs.writeFileSync(join(dir, 'pki', 'ca.key'), 'ünïcode key\n', { mode: 0o600 });
  fs.linkSync(join(dir, 'pki', 'ca.key'), join(dir, 'pki', 'hard.key'));
  fs.symlinkSync('/etc/passwd', join(dir, 'pki', 'link.crt'));
  runSync('mkfifo', [join(dir, 'pki', 'fifo.crt')]);
  return dir;
}

for (const format of ['gnu', 'pax']) {
  test(`tar --format=${format}: long names, modes, owners, links and FIFOs as such, hard links with content`, async () => {
    const dir = tree();
    const r = await run('tar', ['-cf', '-', `--format=${format}`, '--numeric-owner', '--hard-dereference', '-C', dir, 'pki']);
    assert.is(r.status, 0, r.stderr);
    const entries = readTar(r.stdoutBytes);
    const by = new Map(entries.map((e) => [e.path, e]));
    assert.is(by.get('pki')?.type, 'dir');
    assert.is(by.get('pki')?.mode, 0o750);
    assert.is(by.get(`pki/${LONG}`)?.content?.toString(), 'long name\n');
    assert.is(by.get(`pki/${LONG}`)?.mode, 0o640);
    assert.is(by.get('pki/ca.key')?.content?.toString(), 'ünïcode key\n');
    assert.is(by.get('pki/ca.key')?.uid, process.getuid!());
    assert.is(by.get('pki/hard.key')?.content?.toString(), 'ünïcode key\n');
    assert.is(by.get('pki/link.crt')?.type, 'symlink');
    assert.is(by.get('pki/link.crt')?.content, undefined);
    assert.is(by.get('pki/fifo.crt')?.type, 'other');
  });
}

test('a stream cut inside a file is an error, not a short file', async () => {
  const dir = tree();
  const whole = (await run('tar', ['-cf', '-', '-C', dir, 'pki/ca.key'])).stdoutBytes;
  assert.throws(() => readTar(whole.subarray(0, 520)), /ended inside a file/);
});

test.run();
