/**
 * Hostile trees for check and gen: special files (FIFO, socket, device nodes), symlink loops
 * and links out of the root, a file that grows while read, huge and deeply nested files, a
 * store owned or writable by another user. Every run is bounded; the outcome must be a finding
 * or a clean one-sentence error naming the path, never a hang or a stack trace.
 */
import * as assert from 'uvu/assert';
import { chmodSync, cpSync, mkdirSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, FIXTURES, tempDir } from '../support/cli.js';
import { BoundExceeded, run, runSync, start } from '../support/proc.js';
import { keep, learnSecrets } from './capture.js';
import { assertNoStack, bump, expectCase, FULL } from './config.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');
const PKI = 'nodes/cp-1/etc/kubernetes/pki';
const CRT = `${PKI}/apiserver.crt`;
/** Bound for one hostile run: a hang detector, generous for a loaded runner. */
const BOUND_MS = FULL ? 30_000 : 15_000;

interface Case {
  readonly name: string;
  /** Makes the tree hostile; returns the path (store-relative) a finding or error must name, and a cleanup. */
  readonly make: (out: string) => { path: string; stop?: () => void };
  /** Known failures per command, as on KNOWN_FAILURES. */
  readonly known?: Partial<Record<Command, string>>;
  /** What gen must do: work around the file (default), refuse (exit 3), or either. */
  readonly gen?: 'refuse' | 'either';
}

type Command = 'gen' | 'check --out' | 'check DIR';

function sh(cmd: string, args: string[]): void {
  const r = runSync(cmd, args, { boundMs: 30_000 });
  assert.is(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

const replace = (out: string, rel: string) => {
  rmSync(join(out, rel), { force: true });
  return join(out, rel);
};

export const CASES: readonly Case[] = [
  { name: 'FIFO in place of a certificate', make: (o) => (sh('mkfifo', [replace(o, CRT)]), { path: CRT }), known: { gen: '14.2 gen hangs on a FIFO', 'check DIR': '14.2 check of a directory skips a FIFO silently' } },
  { name: 'socket in place of a key', make: (o) => (sh('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', replace(o, `${PKI}/apiserver.key`)]), { path: `${PKI}/apiserver.key` }), known: { gen: '14.2 gen fails on a socket (ENXIO, exit 1)', 'check DIR': '14.2 check of a directory skips a FIFO silently' } },
  { name: '/dev/zero device node in place of a certificate', make: (o) => (sh('mknod', [replace(o, CRT), 'c', '1', '5']), { path: CRT }), known: { gen: '14.2 gen hangs on a device node (/dev/zero)', 'check DIR': '14.2 check of a directory skips a FIFO silently' } },
  { name: 'symlink loop in place of a certificate', make: (o) => (symlinkSync('loop-b.crt', replace(o, CRT)), symlinkSync('apiserver.crt', join(o, PKI, 'loop-b.crt')), { path: CRT }), known: { gen: '14.2 gen fails on a symlink loop (ELOOP, exit 1)' } },
  { name: 'directory symlink loop', make: (o) => (symlinkSync('..', join(o, PKI, 'up')), { path: '' }), known: { gen: '14.2 gen fails on a directory symlink in a node tree (EISDIR, exit 1)' } },
  { name: 'key linked to /etc/shadow', make: (o) => (symlinkSync('/etc/shadow', replace(o, `${PKI}/apiserver.key`)), { path: `${PKI}/apiserver.key` }) },
  { name: 'directory linked to /', make: (o) => (symlinkSync('/', join(o, PKI, 'root')), { path: '' }), known: { gen: '14.2 gen fails on a directory symlink in a node tree (EISDIR, exit 1)', 'check DIR': '14.8 check follows a link out of the root (walks /)' } },
  {
    name: 'a certificate that grows while read',
    make: (o) => {
      const p = replace(o, CRT);
      writeFileSync(p, '');
      const child = start('sh', ['-c', `while :; do printf 'MIIB%.0s' 1 2 3 4 5 6 7 8 >> "${p}"; done`], { stdio: 'ignore', boundMs: 120_000 });
      return { path: CRT, stop: () => child.kill('SIGKILL') };
    },
    gen: 'either',
  },
  { name: `a ${FULL ? 200 : 20} MB certificate`, make: (o) => (writeFileSync(replace(o, CRT), ''), truncateSync(join(o, CRT), (FULL ? 200 : 20) * 1048576), { path: CRT }) },
  {
    name: 'a kubeconfig of deeply nested flow sequences',
    make: (o) => (writeFileSync(join(o, 'nodes/cp-1/etc/kubernetes/admin.conf'), `${'['.repeat(FULL ? 500_000 : 50_000)}${']'.repeat(FULL ? 500_000 : 50_000)}\n`), { path: 'nodes/cp-1/etc/kubernetes/admin.conf' }),
    known: { gen: '14.7 deeply nested kubeconfig: unbounded parse', 'check --out': '14.7 deeply nested kubeconfig: unbounded parse', 'check DIR': '14.7 deeply nested kubeconfig: unbounded parse' },
  },
  {
    name: 'a certificate 64 directories deep',
    make: (o) => {
      const deep = join(o, PKI, ...Array.from({ length: 64 }, (_, i) => `d${i}`));
      mkdirSync(deep, { recursive: true });
      writeFileSync(join(deep, 'deep.crt'), 'not a certificate\n');
      return { path: 'deep.crt' };
    },
    known: { 'check DIR': '14.8 deep tree silently cut' },
  },
  { name: 'a store owned by another user (uid 65534)', make: (o) => (sh('chown', ['-R', '65534:65534', o]), { path: o.split('/').pop()! }), known: { gen: '14.1 a store owned or writable by another user is used' }, gen: 'refuse' },
  { name: 'a store whose pki/ is world-writable', make: (o) => (chmodSync(join(o, 'pki'), 0o777), { path: 'pki' }), known: { gen: '14.1 a store owned or writable by another user is used' }, gen: 'refuse' },
];

/** A store to copy for each case. */
async function seedStore(work: string): Promise<string> {
  const seed = join(work, 'seed');
  const r = await run(process.execPath, [CLI, 'gen', '--plan', PLAN, '--out', seed]);
  assert.is(r.status, 0, r.stderr);
  learnSecrets(seed);
  return seed;
}

async function runCase(c: Case, seed: string, work: string, i: number): Promise<void> {
  const out = join(work, `case-${i}`);
  cpSync(seed, out, { recursive: true });
  const { path, stop } = c.make(out);
  const env = { ...process.env, NO_COLOR: '1' };
  const commands: [Command, string[]][] = [
    ['check --out', ['check', '--out', out, '--plan', PLAN]],
    ['check DIR', ['check', join(out, 'nodes/cp-1')]],
    ['gen', ['gen', '--plan', PLAN, '--out', out]],
  ];
  try {
    for (const [name, args] of commands) {
      const what = `${c.name}: kpki ${name}`;
      const body = async () => {
        let r;
        try {
          r = await run(process.execPath, [CLI, ...args], { env, boundMs: BOUND_MS });
        } catch (err) {
          if (err instanceof BoundExceeded) assert.unreachable(`${what}: still running after ${BOUND_MS / 1000} s (a hang)`);
          throw err;
        }
        keep(`${what} (stdout)`, r.stdout);
        keep(`${what} (stderr)`, r.stderr);
        assertNoStack(r.stderr, what);
        assert.not.match(r.stdout + r.stderr, /root:[^:]*:\d+:/, `${what}: printed /etc/shadow`);
        if (name === 'gen') {
          const ok = c.gen === 'refuse' ? r.status === 3 : r.status === 0 || (c.gen === 'either' && [2, 3].includes(r.status!));
          assert.ok(ok, `${what}: exit ${r.status}: ${r.stderr}`);
          if (r.status !== 0) assert.ok(r.stderr.includes(path), `${what}: the error does not name ${path}: ${r.stderr}`);
        } else {
          assert.ok([0, 1, 2, 3].includes(r.status!), `${what}: exit ${r.status}: ${r.stderr}`);
          // a store owned or writable by another user is gen's to refuse; check reads it as it is
          if (path && c.gen !== 'refuse') assert.ok(r.stdout.includes(path.split('/').pop()!) || r.stderr.includes(path.split('/').pop()!), `${what}: nothing names ${path} (exit ${r.status}):\n${r.stdout.slice(-800)}${r.stderr}`);
        }
      };
      await expectCase(c.known?.[name] ?? `hostile: ${what}`, body);
      bump('hostile runs');
    }
  } finally {
    stop?.();
  }
  bump('hostile trees');
  rmSync(out, { recursive: true, force: true });
}

export async function hostileTrees(): Promise<void> {
  const work = tempDir('kpki-stress-hostile-');
  const seed = await seedStore(work);
  // Two at a time: a hang costs its bound once, not once per case.
  const queue = CASES.map((c, i) => () => runCase(c, seed, work, i));
  const failures: unknown[] = [];
  await Promise.all([0, 1].map(async () => {
    for (let job = queue.shift(); job; job = queue.shift()) await job().catch((e) => failures.push(e));
  }));
  try {
    unlinkSync(join(work, 'seed', '.lock'));
  } catch { /* none */ }
  rmSync(work, { recursive: true, force: true });
  if (failures.length) throw failures[0];
}

/** Hostile names and arguments: a file name with escape sequences, a nested plan, a zero probe timeout. */
export async function hostileArguments(): Promise<void> {
  const work = tempDir('kpki-stress-args-');
  const env = { ...process.env, NO_COLOR: '1' };
  const runCli = async (args: string[]) => {
    const r = await run(process.execPath, [CLI, ...args], { env, boundMs: BOUND_MS });
    keep(`kpki ${args.join(' ')}`, r.stdout + r.stderr);
    return r;
  };
  mkdirSync(join(work, 'names'));
  writeFileSync(join(work, 'names', 'a\x1b]0;pwned\x07\x1b[2J\u202e.crt'), 'not a certificate\n');
  await expectCase('14.ctl control characters printed raw', async () => {
    const r = await runCli(['check', join(work, 'names')]);
    assert.not.match(r.stdout + r.stderr, /[\x00-\x08\x0b-\x1f\x7f\u202e]/, 'check printed raw control characters');
  });
  const nested = join(work, 'nested.yaml');
  const depth = FULL ? 2_000_000 : 200_000;
  writeFileSync(nested, `apiVersion: kpki/v1alpha1\nkind: Cluster\nnodes: ${'['.repeat(depth)}${']'.repeat(depth)}\n`);
  await expectCase('14.7 deeply nested plan: unbounded parse', async () => {
    const r = await runCli(['gen', '--plan', nested, '--out', join(work, 'out')]);
    assert.is(r.status, 2, `nested plan: exit ${r.status}: ${r.stderr.slice(0, 300)}`);
    assertNoStack(r.stderr, 'nested plan');
    assert.not.match(r.stderr, /Maximum call stack|heap/, `nested plan: ${r.stderr.slice(0, 300)}`);
  });
  await expectCase('14.9 probe timeout 0 is a raw RangeError', async () => {
    const r = await runCli(['check', join(work, 'names'), '--probe', '127.0.0.1:1', '--probe-timeout', '0']);
    assert.is(r.status, 3, `--probe-timeout 0: exit ${r.status}`);
    assertNoStack(r.stderr, '--probe-timeout 0');
  });
  bump('hostile arguments', 3);
  rmSync(work, { recursive: true, force: true });
}
