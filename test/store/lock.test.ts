/**
 * One writer at a time: concurrent `kpki gen` runs on one store take turns; a lock left by a
 * dead process is taken over; a live holder makes a run wait and then give up with exit 4.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, ROOT, listFiles, tempDir, writePlan } from '../support/cli.js';
import { run as runBounded, runSync, start, type BoundedChild, type RunResult } from '../support/proc.js';

const PLAN = `apiVersion: kpki/v1alpha1
kind: Cluster
pki:
  keyAlgorithm: ecdsa-p256
nodes:
  - { name: cp-1, address: 192.0.2.10, roles: [control-plane] }
  - { name: w-1, address: 192.0.2.21, roles: [worker] }
`;

/**
 * A run that waits for a live holder for at most a second (or not at all) is done in well under
 * this, even on a loaded machine; one that is not has stopped giving up (the waitMs check).
 */
const SHORT_WAIT_BOUND_MS = 20_000;

/** `kpki <args>`, killed (and the test failed) if still running after `boundMs`. */
function run(args: readonly string[], boundMs?: number): Promise<RunResult> {
  return runBounded(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1' }, boundMs });
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function opensslVerify(caFile: string, certPem: string, what: string): void {
  const r = runSync('openssl', ['verify', '-CAfile', caFile], { input: certPem });
  assert.is(r.status, 0, `${what} does not verify against ${caFile}: ${r.stdout}${r.stderr}`);
}

/** A process that stays alive until killed (or its bound), and its start time as /proc/<pid>/stat field 22. */
function sleeper(): { child: BoundedChild; pid: number; procStart: string } {
  const child = start('sleep', ['600'], { stdio: 'ignore' });
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  return { child, pid: child.pid!, procStart: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]! };
}

function writeLock(out: string, holder: { pid: number; procStart?: string; startedAt?: string }): string {
  const record = {
    pid: holder.pid, startedAt: holder.startedAt ?? '2026-01-02T03:04:05.000Z', host: hostname(), command: 'kpki gen',
    ...(holder.procStart ? { procStart: holder.procStart } : {}), nonce: 'test-holder',
  };
  const text = `${JSON.stringify(record)}\n`;
  writeFileSync(join(out, '.kpki.lock'), text, { mode: 0o600 });
  return text;
}

/** Lock files, claims and temp files the lock leaves behind, if any. */
const lockLeftovers = (out: string) => readdirSync(out).filter((f) => f.startsWith('.kpki.lock'));

test('20 concurrent gen runs on a fresh store: all succeed, one set of CAs, every leaf verifies', async () => {
  const dir = tempDir();
  const plan = writePlan(PLAN, dir);
  const out = join(dir, 'out');
  const runs = await Promise.all(Array.from({ length: 20 }, () => run(['gen', '--plan', plan, '--out', out, '--json'])));
  for (const [i, r] of runs.entries()) assert.is(r.status, 0, `run ${i}: ${r.stderr}`);

  // Exactly one run created the CAs; every other one found them in place and had nothing to do.
  const reports = runs.map((r) => JSON.parse(r.stdout) as { changed: boolean; caCertHash: string; items: Array<{ ref: string; action: string }> });
  const creators = reports.filter((rep) => rep.items.some((i) => i.ref === 'ca' && i.action === 'create'));
  assert.is(creators.length, 1, 'one run creates the CA');
  assert.is(reports.filter((rep) => rep.changed).length, 1, 'one run writes; 19 find nothing to do');
  const hashes = new Set(reports.map((rep) => rep.caCertHash));
  assert.is(hashes.size, 1, `every run printed the same discovery hash: ${[...hashes].join(' ')}`);

  // The one set of CAs: every node's copy equals the store's.
  const store = { ca: join(out, 'pki/ca.crt'), fp: join(out, 'pki/front-proxy-ca.crt'), etcd: join(out, 'pki/etcd/ca.crt') };
  const cp = join(out, 'nodes/cp-1/etc/kubernetes/pki');
  const w = join(out, 'nodes/w-1/etc/kubernetes/pki');
  assert.is(sha(join(cp, 'ca.crt')), sha(store.ca));
  assert.is(sha(join(w, 'ca.crt')), sha(store.ca));
  assert.is(sha(join(cp, 'front-proxy-ca.crt')), sha(store.fp));
  assert.is(sha(join(cp, 'etcd/ca.crt')), sha(store.etcd));
  assert.is(sha(join(cp, 'ca.key')), sha(join(out, 'pki/ca.key')));

  // Every leaf certificate, in files and in kubeconfigs, verifies against the store's CA that signs it.
  let leaves = 0;
  for (const f of listFiles(join(out, 'nodes'))) {
    const abs = join(out, 'nodes', f);
    if (f.endsWith('.crt') && !/(^|\/)(ca|front-proxy-ca)\.crt$/.test(f)) {
      // kubeadm's layout: etcd-signed certs live in pki/etcd/, plus the apiserver's etcd client.
      const ca = f.includes('/pki/etcd/') || f.endsWith('apiserver-etcd-client.crt') ? store.etcd : f.endsWith('front-proxy-client.crt') ? store.fp : store.ca;
      opensslVerify(ca, readFileSync(abs, 'utf8'), f);
      leaves++;
    } else if (f.endsWith('.conf')) {
      const text = readFileSync(abs, 'utf8');
      const field = (name: string) => Buffer.from(new RegExp(`${name}: (\\S+)`).exec(text)![1]!, 'base64').toString();
      assert.is(field('certificate-authority-data'), readFileSync(store.ca, 'utf8'), `${f} embeds the store's CA`);
      opensslVerify(store.ca, field('client-certificate-data'), f);
      leaves++;
    }
  }
  // Control plane: 4 apiserver-side + 3 etcd certs + kubelet serving + 6 kubeconfigs;
  // worker: kubelet serving + kubelet.conf + kube-proxy.conf.
  assert.is(leaves, 14 + 3);
  assert.equal(lockLeftovers(out), [], 'no lock, claim or temp file is left');
  rmSync(dir, { recursive: true, force: true });
});

test('a lock left by a killed process is taken over, with a warning naming it', async () => {
  const dir = tempDir();
  const plan = writePlan(PLAN, dir);
  const out = join(dir, 'out');
  const { child, pid, procStart } = sleeper();
  child.kill('SIGKILL');
  await child.exited;
  runSync('mkdir', ['-p', out]);
  writeLock(out, { pid, procStart });
  // Several runs meet the same stale lock at once: one removes it, all succeed.
  const runs = await Promise.all(Array.from({ length: 6 }, () => run(['gen', '--plan', plan, '--out', out])));
  for (const r of runs) assert.is(r.status, 0, r.stderr);
  const warned = runs.filter((r) => r.stderr.includes(`took over a stale store lock left by PID ${pid} since 2026-01-02T03:04:05.000Z (kpki gen): PID ${pid} is not running`));
  assert.is(warned.length, 1, runs.map((r) => r.stderr).join('\n---\n'));
  assert.ok(existsSync(join(out, 'pki/ca.crt')));
  assert.equal(lockLeftovers(out), []);
  rmSync(dir, { recursive: true, force: true });
});

test('a lock whose PID now belongs to another process is stale', async () => {
  const dir = tempDir();
  const plan = writePlan(PLAN, dir);
  const out = join(dir, 'out');
  const s = sleeper();
  runSync('mkdir', ['-p', out]);
  // The PID is alive, but its start time is not the one the holder recorded: the PID was reused.
  writeLock(out, { pid: s.pid, procStart: String(Number(s.procStart) - 1) });
  const r = await run(['gen', '--plan', plan, '--out', out, '--lock-timeout', '0'], SHORT_WAIT_BOUND_MS).finally(() => s.child.kill());
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`took over a stale store lock left by PID ${s.pid} .*: PID ${s.pid} is now another process`));
  rmSync(dir, { recursive: true, force: true });
});

test('a live holder: gen waits, then exits 4 naming PID and start time; a dry run does not wait', async () => {
  const dir = tempDir();
  const plan = writePlan(PLAN, dir);
  const out = join(dir, 'out');
  const s = sleeper();
  runSync('mkdir', ['-p', out]);
  const lock = writeLock(out, { pid: s.pid, procStart: s.procStart });
  let r: RunResult, dry: RunResult, json: RunResult;
  try {
    r = await run(['gen', '--plan', plan, '--out', out, '--lock-timeout', '1s'], SHORT_WAIT_BOUND_MS);
    dry = await run(['gen', '--plan', plan, '--out', out, '--dry-run'], SHORT_WAIT_BOUND_MS);
    json = await run(['gen', '--plan', plan, '--out', out, '--lock-timeout', '0', '--json'], SHORT_WAIT_BOUND_MS);
  } finally {
    s.child.kill(); // also when a run failed its bound: the sleeper must not outlive the test
  }
  assert.is(r.status, 4, r.stderr);
  assert.match(r.stderr, new RegExp(`store ${out} is locked by PID ${s.pid} since 2026-01-02T03:04:05.000Z \\(kpki gen\\); waiting up to 1s`));
  assert.match(r.stderr, new RegExp(`store ${out} is locked by PID ${s.pid} since 2026-01-02T03:04:05.000Z \\(kpki gen\\); gave up`));
  assert.is(readFileSync(join(out, '.kpki.lock'), 'utf8'), lock, 'the holder\'s lock is untouched');
  assert.equal(readdirSync(out), ['.kpki.lock'], 'nothing was written');
  assert.is(dry.status, 0, dry.stderr);
  assert.match(dry.stderr, new RegExp(`warning: the store is locked by PID ${s.pid} since`));
  assert.is(json.status, 4);
  assert.is((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'ERR_LOCKED');
  rmSync(dir, { recursive: true, force: true });
});

test('SIGINT and SIGTERM release the lock and still end the process by that signal', async () => {
  const dir = tempDir();
  const lockJs = pathToFileURL(join(ROOT, 'dist/pki/store/lock.js')).href;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const out = join(dir, signal);
    const child = start(process.execPath, ['--input-type=module', '-e',
      `const { acquireStoreLock } = await import(${JSON.stringify(lockJs)});
       await acquireStoreLock(${JSON.stringify(out)}, { command: 'test' });
       process.stdout.write('locked\\n');
       setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'], boundMs: SHORT_WAIT_BOUND_MS });
    const locked = new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()));
    // A child that dies (or is killed by its bound) before it says so fails the test instead of leaving it waiting.
    const early = await Promise.race([locked, child.exited]);
    if (early) assert.unreachable(`${signal}: the child exited before taking the lock (${early.status ?? early.signal})`);
    assert.ok(existsSync(join(out, '.kpki.lock')));
    child.kill(signal);
    assert.is((await child.exited).signal, signal);
    assert.equal(lockLeftovers(out), [], `${signal}: the lock is gone`);
  }
  rmSync(dir, { recursive: true, force: true });
});

test.run();
