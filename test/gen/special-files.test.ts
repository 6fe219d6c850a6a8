/**
 * Things in the store that are not regular files (a FIFO, a link) are never opened for
 * reading: open(2) on a FIFO blocks until a writer comes, and a synchronous call blocked in
 * the kernel keeps even SIGTERM from being handled while the store's lock is held. gen moves
 * each aside into the backup (a rename, which opens nothing) and writes a regular file in its
 * place. Every run here is bounded: a hang fails the test instead of holding the suite.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, lstatSync, readdirSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, FIXTURES, kpki, listFiles, sh, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');
/** gen takes about a second here; a run still going after this is blocked. */
const BOUND_MS = 30_000;
const gen = (out: string) => runSync(process.execPath, [CLI, 'gen', '--plan', PLAN, '--out', out], { env: { ...process.env, NO_COLOR: '1' }, boundMs: BOUND_MS });

const PKI = 'nodes/cp-1/etc/kubernetes/pki';

test('a FIFO in place of a certificate, a FIFO beside it and a link to a FIFO in place of a key: moved aside, never read', () => {
  const work = tempDir();
  const out = join(work, 'out');
  assert.is(kpki(['gen', '--plan', PLAN, '--out', out]).status, 0);
  rmSync(join(out, PKI, 'apiserver.crt'));
  sh('mkfifo', [join(out, PKI, 'apiserver.crt')]);
  sh('mkfifo', [join(out, PKI, 'extra.crt')]);
  // A link pointing out of the store, at a FIFO: followed, it would block as well.
  const outside = join(work, 'outside.fifo');
  sh('mkfifo', [outside]);
  rmSync(join(out, 'nodes/worker-1/var/lib/kubelet/pki/kubelet.key'));
  symlinkSync(outside, join(out, 'nodes/worker-1/var/lib/kubelet/pki/kubelet.key'));

  const r = gen(out);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /apiserver@cp-1: cannot be read \(not a regular file\)/);
  assert.match(r.stdout, /removed nodes\/cp-1\/etc\/kubernetes\/pki\/extra\.crt: .*\(saved as backup\/[^/]+\/nodes\/cp-1\/etc\/kubernetes\/pki\/extra\.crt\)/);
  // In place: regular files, issued again and verifying against the store's CA.
  for (const f of [join(PKI, 'apiserver.crt'), 'nodes/worker-1/var/lib/kubelet/pki/kubelet.key']) assert.ok(lstatSync(join(out, f)).isFile(), f);
  sh('openssl', ['verify', '-CAfile', join(out, 'pki/ca.crt'), join(out, PKI, 'apiserver.crt')]);
  sh('openssl', ['pkey', '-noout', '-in', join(out, 'nodes/worker-1/var/lib/kubelet/pki/kubelet.key')]);
  assert.not.ok(existsSync(join(out, PKI, 'extra.crt')));
  // Aside: the FIFOs and the link themselves, as they were.
  const [stamp] = readdirSync(join(out, 'backup'));
  const backup = join(out, 'backup', stamp!);
  assert.ok(lstatSync(join(backup, PKI, 'apiserver.crt')).isFIFO());
  assert.ok(lstatSync(join(backup, PKI, 'extra.crt')).isFIFO());
  assert.ok(lstatSync(join(backup, 'nodes/worker-1/var/lib/kubelet/pki/kubelet.key')).isSymbolicLink());
  assert.ok(lstatSync(outside).isFIFO(), 'the link target is untouched');
  assert.match(gen(out).stdout, /Nothing to do/);
  rmSync(work, { recursive: true, force: true });
});

test('a FIFO in place of the store lock: treated as an unreadable lock and taken over, never opened', () => {
  const work = tempDir();
  const out = join(work, 'out');
  assert.is(kpki(['gen', '--plan', PLAN, '--out', out]).status, 0);
  const lock = join(out, '.kpki.lock');
  sh('mkfifo', ['-m', '600', lock]);
  const old = new Date(Date.now() - 60_000); // past the grace an unreadable lock gets while being written
  utimesSync(lock, old, old);
  const r = gen(out);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /took over a stale store lock: the lock file is unreadable/);
  assert.equal(listFiles(out).filter((f) => f.startsWith('.kpki.lock')), []);
  rmSync(work, { recursive: true, force: true });
});

test.run();
