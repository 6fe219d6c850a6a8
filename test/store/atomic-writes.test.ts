/**
 * A write that fails part way replaces nothing: every file at its final name is either what was
 * there before or a complete new file, never a torn one. The failure is real, not injected: gen
 * runs on a small tmpfs (in a private mount namespace, gone after the run) that fills up at a
 * different point in each run, fresh and over an existing store, down to 0 bytes free. A failed
 * run says so in one sentence naming the path and the errno (exit 2, no stack trace) and leaves
 * nothing of its own behind: no temp file, no lock, no backup of a file it did not replace.
 * Files are judged with openssl and byte comparisons, never with kpki's own reader.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, FIXTURES, hashTree, kpki, listFiles, sh, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');
/** The same cluster with a shorter certValidity: every leaf is reissued (backups + new files). */
const SHORTER = readFileSync(PLAN, 'utf8').replace('certValidity: 8760h', 'certValidity: 2160h');
/** Temp files are not at a final name: what they hold is never in use. */
const TEMP = /\.kpki-[0-9a-f]+\.tmp$|\.tmp$/;

interface Run { status: number; stderr: string; out: string }

/**
 * Runs `gen` on a tmpfs of `size` (e.g. `96k`), seeded with a copy of `seed` and filled so that
 * only `freeKiB` remain, then copies what is left on it to a plain directory to inspect.
 * Returns undefined where a tmpfs cannot be mounted (not root, no CAP_SYS_ADMIN).
 */
function genOnTmpfs(opts: { size: string; plan: string; seed?: string; freeKiB?: number }): Run | undefined {
  const work = tempDir('kpki-atomic-');
  const mnt = join(work, 'mnt');
  const inspect = join(work, 'inspect');
  mkdirSync(mnt);
  mkdirSync(inspect);
  const script = [
    'set -e',
    `mount -t tmpfs -o size=${opts.size},mode=0700 tmpfs "${mnt}"`,
    opts.seed ? `cp -a "${opts.seed}" "${mnt}/out"` : ':',
    // Fill the filesystem, then give back exactly what this run may use.
    opts.freeKiB !== undefined ? `dd if=/dev/zero of="${mnt}/filler" bs=4096 2>/dev/null || true; truncate -s -${opts.freeKiB}K "${mnt}/filler"` : ':',
    'set +e',
    `"${process.execPath}" "${CLI}" gen --plan "${opts.plan}" --out "${mnt}/out" >/dev/null 2>"${inspect}/stderr"`,
    `echo $? > "${inspect}/status"`,
    `if [ -d "${mnt}/out" ]; then cp -a "${mnt}/out" "${inspect}/out"; else mkdir "${inspect}/out"; fi`,
  ].join('\n');
  const r = runSync('unshare', ['-m', 'sh', '-c', script], { env: { ...process.env, NO_COLOR: '1' }, boundMs: 120_000 });
  if (r.status !== 0 && /mount|unshare/.test(r.stderr)) return undefined;
  assert.is(r.status, 0, `the namespace script failed: ${r.stderr}`);
  return { status: Number(readFileSync(join(inspect, 'status'), 'utf8')), stderr: readFileSync(join(inspect, 'stderr'), 'utf8'), out: join(inspect, 'out') };
}

/** Files at their final names (temp files, backups and the filler aside), with their hashes. */
function finalFiles(out: string): Map<string, string> {
  return new Map([...hashTree(out)].filter(([f]) => !TEMP.test(f) && !f.startsWith('backup/')));
}

/** Every certificate, key and kubeconfig below `out` is complete: openssl reads and verifies each. */
function assertComplete(out: string): void {
  const files = [...finalFiles(out).keys()];
  const bundle = join(tempDir(), 'cas.pem');
  writeFileSync(bundle, ['pki/ca.crt', 'pki/front-proxy-ca.crt', 'pki/etcd/ca.crt'].map((f) => readFileSync(join(out, f), 'utf8')).join(''));
  const certs = files.filter((f) => f.endsWith('.crt')).map((f) => join(out, f));
  assert.ok(certs.length > 10, 'certificates were written');
  sh('openssl', ['verify', '-CAfile', bundle, ...certs]);
  for (const f of files.filter((f) => f.endsWith('.key'))) sh('openssl', ['pkey', '-noout', '-in', join(out, f)]);
  for (const f of files.filter((f) => f.endsWith('.conf'))) {
    const m = /client-certificate-data: (\S+)/.exec(readFileSync(join(out, f), 'utf8'));
    assert.ok(m, `${f} holds a client certificate`);
    sh('openssl', ['verify', '-CAfile', bundle], Buffer.from(m[1]!, 'base64').toString('utf8'));
  }
  // The record is whole: its header, then tab-separated lines of JSON.
  const [head, ...lines] = readFileSync(join(out, 'pki/record'), 'utf8').trimEnd().split('\n');
  assert.match(head!, /^kpki-record 1 \S+$/);
  for (const l of lines) for (const field of l.split('\t').slice(/^(init|kubernetes)\t/.test(l) ? 2 : 1)) JSON.parse(field);
}

/** Exit 2 and one line: `kpki: cannot <do> <path>: no space left on device (ENOSPC)[; what was left as it was]`. */
function assertOneSentence(r: Run, what: string): void {
  assert.is(r.status, 2, `${what}: ${r.stderr}`);
  assert.match(r.stderr, /^kpki: cannot [a-z ]+ \/[^\n]*: no space left on device \(ENOSPC\)(; [^\n]+)?\n$/, `${what}: ${r.stderr}`);
  assert.not.match(r.stderr, /\n\s+at |Error:/, `${what}: no stack trace`);
}

test('fresh gen on a filesystem that fills up at different points: all files or none at their final names', () => {
  const seen = { failed: 0, completed: 0 };
  for (const [size, freeKiB] of [['1m', 0], ['48k'], ['80k'], ['112k'], ['144k'], ['176k'], ['208k'], ['1m']] as const) {
    const r = genOnTmpfs({ size, plan: PLAN, ...(freeKiB !== undefined ? { freeKiB } : {}) });
    if (!r) {
      console.log('  skipped: cannot mount a tmpfs in a private namespace (needs root or CAP_SYS_ADMIN)');
      return;
    }
    if (r.status === 0) {
      seen.completed++;
      assertComplete(r.out);
    } else {
      seen.failed++;
      assertOneSentence(r, size);
      assert.equal(listFiles(r.out), [], `${size}: a failed fresh run leaves no file at all (no temp file, no lock)`);
    }
  }
  // Both outcomes happened, so both assertions above were exercised.
  assert.ok(seen.failed >= 2 && seen.completed >= 1, JSON.stringify(seen));
});

test('reissuing every leaf of a store on a filesystem that fills up: old files or complete new ones, never a mix on failure', () => {
  const seed = join(tempDir('kpki-atomic-seed-'), 'out');
  assert.is(kpki(['gen', '--plan', PLAN, '--out', seed]).status, 0);
  const before = finalFiles(seed);
  const seedTree = hashTree(seed);
  const shorter = join(tempDir(), 'cluster.yaml');
  writeFileSync(shorter, SHORTER);
  const seen = { failed: 0, completed: 0 };
  for (const freeKiB of [0, 8, 24, 64, 128, 192, 256, 1024]) {
    const r = genOnTmpfs({ size: '4m', plan: shorter, seed, freeKiB });
    if (!r) {
      console.log('  skipped: cannot mount a tmpfs in a private namespace (needs root or CAP_SYS_ADMIN)');
      return;
    }
    const after = finalFiles(r.out);
    if (r.status === 0) {
      seen.completed++;
      assertComplete(r.out);
      const apiserver = 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt';
      assert.is.not(after.get(apiserver), before.get(apiserver), 'the leaves were reissued');
    } else {
      seen.failed++;
      assertOneSentence(r, `${freeKiB} KiB free`);
      assert.equal(after, before, `${freeKiB} KiB free: a failed run replaced nothing`);
      assert.equal(hashTree(r.out), seedTree, `${freeKiB} KiB free: and left nothing behind (temp files, backups, the lock)`);
    }
  }
  assert.ok(seen.failed >= 2 && seen.completed >= 1, JSON.stringify(seen));
  rmSync(seed, { recursive: true, force: true });
});

test.run();
