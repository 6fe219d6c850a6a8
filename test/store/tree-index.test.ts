/**
 * The disk sink's tree index (pki/sinks/tree-index.ts) lets a walk skip readdir and reads
 * for paths whose stamp is unchanged. It must change nothing: after each kind of change a
 * person or tool can make to a store (made with plain fs calls and the shell, not with kpki),
 * an observation through the index equals one made without it, content and modes included.
 * Both are also held to what the change made, written by hand (the workers' trees), and to the
 * bytes plain fs reads, so a mistake both walks share fails too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, kpki, sh, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';
import { generate } from '../../pki/gen/generate.js';
import { parsePlan } from '../../pki/plan/parse.js';
import { textDigest } from '../../pki/sinks/digest.js';
import { diskSink } from '../../pki/sinks/disk.js';
import { indexEntry } from '../../pki/sinks/disk-walk.js';
import { parseTreeIndex, serialiseTreeIndex, stampOf, TREE_INDEX_FILE } from '../../pki/sinks/tree-index.js';
import type { Observation, Sink } from '../../pki/sinks/types.js';

const TREES = ['pki', 'nodes'];

/** Everything an observation says, content read through whatever getter the sink gave. */
function snapshot(o: Observation): unknown {
  return {
    files: [...o.files].map(([p, f]) => [p, f.mode, f.content, f.error]).sort(),
    dirs: [...o.dirs].sort(),
    nodes: o.nodes,
  };
}

/** Observes `out` with its index, and again with the index moved away. */
async function both(out: string): Promise<{ indexed: Observation; plain: Observation }> {
  const indexed = await diskSink(out).observe(TREES);
  const index = join(out, TREE_INDEX_FILE);
  renameSync(index, `${index}.away`);
  try {
    return { indexed, plain: await diskSink(out).observe(TREES) };
  } finally {
    renameSync(`${index}.away`, index);
  }
}

const vouched = (o: Observation) => [...o.files.values()].filter((f) => f.digest !== undefined).length;

const gen = (out: string) => {
  const r = kpki(['gen', '--plan', join(FIXTURES, 'single-cp.yaml'), '--out', out]);
  assert.is(r.status, 0, r.stderr);
};

function store(): string {
  const out = join(tempDir(), 'out');
  gen(out);
  return out;
}

const regular = (o: Observation) => [...o.files.values()].filter((f) => f.error === undefined).length;

/** The workers' trees as an observation reports them: `path mode`, directories with a `/`, errors in brackets. */
function workerTrees(o: Observation): string[] {
  const ours = (p: string) => p.startsWith('nodes/worker-');
  return [
    ...[...o.files].filter(([p]) => ours(p)).map(([p, f]) => `${p} ${f.mode.toString(8)}${f.error === undefined ? '' : ` (${f.error})`}`),
    ...[...o.dirs].filter(([p]) => ours(p)).map(([p, mode]) => `${p}/ ${mode.toString(8)}`),
  ].sort();
}

/** A worker's tree as gen writes it (single-cp.yaml), by hand. */
const workerTree = (w: string) => [
  '/ 755', 'etc/ 755', 'etc/kubernetes/ 700', 'etc/kubernetes/kube-proxy.conf 600', 'etc/kubernetes/kubelet.conf 600',
  'etc/kubernetes/pki/ 755', 'etc/kubernetes/pki/ca.crt 644', 'var/ 755', 'var/lib/ 755', 'var/lib/kubelet/ 755',
  'var/lib/kubelet/pki/ 700', 'var/lib/kubelet/pki/kubelet.crt 644', 'var/lib/kubelet/pki/kubelet.key 600',
].map((l) => `nodes/${w}${l.startsWith('/') ? '' : '/'}${l}`);
const WORKERS = [...workerTree('worker-1'), ...workerTree('worker-2')];

/** Every regular file's content and mode, as plain fs reads them. */
function matchesFs(o: Observation, out: string) {
  for (const [p, f] of o.files) {
    if (f.error !== undefined) continue;
    assert.is(f.content, readFileSync(join(out, p), 'utf8'), `${p}: content`);
    assert.is(f.mode, statSync(join(out, p)).mode & 0o777, `${p}: mode`);
  }
}

test('after gen, the index vouches for the files (all of them after a re-run): nothing is read, and the observation is the same', async () => {
  const out = store();
  // Files written in the index's own clock tick are "racy" and read again next time (on a
  // kernel with coarse timestamps, the last few the run wrote).
  let { indexed, plain } = await both(out);
  assert.ok(regular(plain) > 40);
  assert.ok(vouched(indexed) >= regular(plain) * 0.8, `${vouched(indexed)} of ${regular(plain)} vouched for`);
  assert.is(vouched(plain), 0);
  assert.equal(snapshot(indexed), snapshot(plain));
  assert.equal(workerTrees(indexed), [...WORKERS].sort());
  matchesFs(indexed, out);
  gen(out); // the no-op re-run writes the index again if some entries were racy
  ({ indexed, plain } = await both(out));
  assert.is(vouched(indexed), regular(plain), 'every regular file vouched for by digest');
  assert.equal(snapshot(indexed), snapshot(plain));
});

const kubelet = 'nodes/worker-1/var/lib/kubelet/pki';
/** The workers' trees after a change, from the hand-written tree: lines dropped and lines added. */
const edit = (drop: string[], add: string[] = []) => (t: string[]) => [...t.filter((l) => !drop.includes(l)), ...add];
const same = (t: string[]) => t;
const changes: Array<[string, (out: string) => void, (tree: string[]) => string[]]> = [
  ['a certificate rewritten in place with the same size (its directory unchanged)', (out) => {
    const f = join(out, kubelet, 'kubelet.crt');
    const text = readFileSync(f, 'utf8');
    const i = text.indexOf('\n') + 10;
    writeFileSync(f, text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1));
  }, same],
  ['a key made 0644', (out) => chmodSync(join(out, kubelet, 'kubelet.key'), 0o644),
    edit([`${kubelet}/kubelet.key 600`], [`${kubelet}/kubelet.key 644`])],
  ['a key directory made 0755', (out) => chmodSync(join(out, kubelet), 0o755),
    edit([`${kubelet}/ 700`], [`${kubelet}/ 755`])],
  // Modes set explicitly where the umask would decide them.
  ['a foreign file added', (out) => {
    writeFileSync(join(out, 'nodes/worker-1/etc/kubernetes/extra.conf'), 'x');
    chmodSync(join(out, 'nodes/worker-1/etc/kubernetes/extra.conf'), 0o640);
  }, edit([], ['nodes/worker-1/etc/kubernetes/extra.conf 640'])],
  ['a file removed', (out) => rmSync(join(out, kubelet, 'kubelet.key')), edit([`${kubelet}/kubelet.key 600`])],
  ['a file replaced by a symbolic link', (out) => {
    rmSync(join(out, kubelet, 'kubelet.crt'));
    symlinkSync('/etc/hostname', join(out, kubelet, 'kubelet.crt'));
  }, edit([`${kubelet}/kubelet.crt 644`], [`${kubelet}/kubelet.crt 777 (a symbolic link)`])],
  ['a file replaced by a directory', (out) => {
    rmSync(join(out, kubelet, 'kubelet.crt'));
    mkdirSync(join(out, kubelet, 'kubelet.crt'));
    chmodSync(join(out, kubelet, 'kubelet.crt'), 0o750);
  }, edit([`${kubelet}/kubelet.crt 644`], [`${kubelet}/kubelet.crt/ 750`])],
  ['two files swapped by rename', (out) => {
    const a = join(out, 'nodes/worker-1/etc/kubernetes/kubelet.conf');
    const b = join(out, 'nodes/worker-2/etc/kubernetes/kubelet.conf');
    renameSync(a, `${a}.tmp`);
    renameSync(b, a);
    renameSync(`${a}.tmp`, b);
  }, same],
  ['a node tree renamed', (out) => renameSync(join(out, 'nodes/worker-2'), join(out, 'nodes/worker-9')),
    () => [...workerTree('worker-1'), ...workerTree('worker-9')]],
  ['only the times changed (touch -d)', (out) => utimesSync(join(out, kubelet, 'kubelet.crt'), new Date(2020, 1, 1), new Date(2020, 1, 1)), same],
  ['a file copied over another with cp -p (same mtime as before)', (out) => {
    sh('cp', ['-p', join(out, 'nodes/worker-2/var/lib/kubelet/pki/kubelet.crt'), join(out, kubelet, 'kubelet.crt')]);
  }, same],
  ['a FIFO in a node tree', (out) => {
    sh('mkfifo', ['-m', '640', join(out, kubelet, 'fifo.crt')]);
  }, edit([], [`${kubelet}/fifo.crt 640 (not a regular file)`])],
];

for (const [what, change, after] of changes) {
  test(`${what}: the observation through the index equals the one without, and what the change made`, async () => {
    const out = store();
    change(out);
    const { indexed, plain } = await both(out);
    assert.equal(snapshot(indexed), snapshot(plain));
    assert.equal(workerTrees(indexed), [...after(WORKERS)].sort(), 'paths and modes');
    matchesFs(indexed, out);
  });
}

test('a re-run after a change writes the index again: the next walk vouches for the changed files too', async () => {
  const out = store();
  chmodSync(join(out, kubelet, 'kubelet.key'), 0o644);
  writeFileSync(join(out, 'nodes/worker-1/etc/kubernetes/extra.conf'), 'x');
  gen(out);
  assert.is((await diskSink(out).observe(TREES)).files.get(`${kubelet}/kubelet.key`)?.mode, 0o600, 'the mode was restored');
  gen(out); // as above: racy entries of the last write are vouched for after one more run
  const { indexed, plain } = await both(out);
  assert.equal(snapshot(indexed), snapshot(plain));
  assert.is(vouched(indexed), regular(plain));
  // The foreign file went (node trees hold exactly what the plan wants), the key is 0600 again.
  assert.equal(workerTrees(indexed), [...WORKERS].sort());
  matchesFs(indexed, out);
});

test('an index that is damaged, foreign, a link or writable by others is not used', async () => {
  const out = store();
  gen(out);
  const index = join(out, TREE_INDEX_FILE);
  const good = readFileSync(index, 'utf8');
  const cases: Array<[string, () => void]> = [
    ['garbage', () => writeFileSync(index, 'not an index\n')],
    ['another version', () => writeFileSync(index, good.replace(/^kpki-tree-index \d+/, 'kpki-tree-index 999'))],
    ['group-writable', () => { writeFileSync(index, good); chmodSync(index, 0o660); }],
    ['a symbolic link', () => { writeFileSync(`${index}.real`, good, { mode: 0o600 }); rmSync(index); symlinkSync(`${index}.real`, index); }],
  ];
  for (const [what, damage] of cases) {
    damage();
    const o = await diskSink(out).observe(TREES);
    assert.is(vouched(o), 0, what);
    rmSync(index, { force: true });
    writeFileSync(index, good, { mode: 0o600 });
  }
  // Digests that are not digests are never vouched for, whatever the stamp says.
  writeFileSync(index, good.replace(/\t[A-Za-z0-9_-]{43}$/m, '\tnot-a-digest'), { mode: 0o600 });
  const { indexed, plain } = await both(out);
  assert.is(vouched(indexed), regular(plain) - 1);
  assert.equal(snapshot(indexed), snapshot(plain));
});

test('a file changed after its lstat reads as an error, never as other bytes under the old digest', async () => {
  const out = store();
  const o = await diskSink(out).observe(TREES);
  const f = o.files.get(`${kubelet}/kubelet.crt`)!;
  assert.ok(f.digest !== undefined);
  writeFileSync(join(out, kubelet, 'kubelet.crt'), 'changed');
  assert.is(f.content, undefined);
  assert.match(f.error ?? '', /changed while kpki was reading it/);
});

/** Waits until the file system's clock is past the ctime of `file` by `byMs` (bounded: a tick is milliseconds). */
function tickAfter(file: string, byMs = 0): void {
  const ctime = statSync(file).ctimeMs;
  const probe = `${file}.clock`;
  for (let i = 0; i < 1_000_000; i++) {
    writeFileSync(probe, String(i));
    if (statSync(probe).mtimeMs > ctime + byMs) {
      rmSync(probe);
      return;
    }
  }
  throw new Error('the file system clock did not move');
}

/** One base64 character of the body changed: same size, other bytes (the signature, near the end). */
function tamper(text: string): string {
  const i = text.lastIndexOf('-----END') - 20;
  return text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
}

test('a file changed in place between gen\'s rename (or chmod) and its stamp is never vouched for with the digest gen wrote', async () => {
  const out = store();
  const crt = 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt';
  const key = `${kubelet}/kubelet.key`;
  rmSync(join(out, crt)); // gen issues the apiserver again: written, renamed into place
  chmodSync(join(out, key), 0o644); // gen restores the mode: a chmod, its content known from the walk
  tickAfter(join(out, key), 200); // settled before the run starts, so the walk's stamp of it is trusted
  const keyText = readFileSync(join(out, key), 'utf8');
  const planFile = join(FIXTURES, 'single-cp.yaml');
  const disk = diskSink(out);
  const tampered = new Map<string, string>();
  // Exactly in the window: after the renames and chmods, before the stamps are taken.
  const sink: Sink = {
    name: out,
    observe: (trees) => disk.observe(trees),
    apply: (set, options) => disk.apply(set, {
      ...options,
      afterRenames: () => {
        for (const p of [crt, key]) {
          const text = tamper(p === key ? keyText : readFileSync(join(out, p), 'utf8'));
          writeFileSync(join(out, p), text); // in place: same inode, same size
          tampered.set(p, text);
          tickAfter(join(out, p)); // so the change is not "racy" by the index's own clock either
        }
      },
    }),
  };
  await generate(parsePlan(readFileSync(planFile, 'utf8'), planFile), { out, sink });
  assert.is(tampered.size, 2, 'the window was reached');
  const o = await diskSink(out).observe(TREES);
  for (const p of [crt, key]) {
    assert.is(readFileSync(join(out, p), 'utf8'), tampered.get(p));
    const f = o.files.get(p)!;
    assert.ok(f.digest === undefined || f.digest === textDigest(tampered.get(p)!), `${p}: vouched for with a digest of other content`);
    assert.is(f.content, tampered.get(p), `${p}: read as it is`);
  }
  assert.is.not(runSync('openssl', ['verify', '-CAfile', join(out, 'pki/ca.crt'), join(out, crt)]).status, 0, 'the tampered certificate does not verify');
  // So the next run sees it: the certificate is issued again and verifies, the key replaced.
  const again = kpki(['gen', '--plan', planFile, '--out', out]);
  assert.is(again.status, 0, again.stderr);
  assert.not.match(again.stdout, /Nothing to do/);
  sh('openssl', ['verify', '-CAfile', join(out, 'pki/ca.crt'), join(out, crt)]);
  assert.is.not(readFileSync(join(out, key), 'utf8'), tampered.get(key));
});

test('a stamp a walk took itself is kept only if the path last changed before the walk started (git\'s racy rule)', () => {
  const at = 1795798554055.1;
  const stamp = stampOf({ ino: 7, size: 10, mtimeMs: at - 5, ctimeMs: at });
  const file = { mode: 0o600, content: 'x' };
  // Changed in an earlier tick than the walk: any later change gives another stamp.
  assert.equal(indexEntry({ kind: 'file', stamp, file, fresh: true }, at + 1), { kind: 'file', stamp, digest: textDigest('x') });
  assert.equal(indexEntry({ kind: 'dir', stamp, fresh: true }, at + 1), { kind: 'dir', stamp });
  // Changed in the walk's own tick (ctime, or an mtime set into the future): read again next time.
  assert.equal(indexEntry({ kind: 'file', stamp, file, fresh: true }, at), { kind: 'other' });
  assert.equal(indexEntry({ kind: 'dir', stamp, fresh: true }, at), { kind: 'dir' });
  const future = stampOf({ ino: 7, size: 10, mtimeMs: at + 60_000, ctimeMs: at - 5 });
  assert.equal(indexEntry({ kind: 'file', stamp: future, file, fresh: true }, at), { kind: 'other' });
  // A stamp the index vouched for was judged when it was recorded.
  assert.equal(indexEntry({ kind: 'file', stamp, file: { ...file, digest: textDigest('x') } }, at), { kind: 'file', stamp, digest: textDigest('x') });
});

test('serialise/parse: stamps round-trip; racy entries (ctime not older than the index) and unsafe names are not vouched for', () => {
  const st = { ino: 12, size: 570, mtimeMs: 1795798554055.0042, ctimeMs: 1795798554055.1 };
  const stamp = stampOf(st);
  const digest = 'A'.repeat(43);
  const entries = new Map([
    ['pki', { kind: 'dir' as const, stamp }],
    ['pki/ca.crt', { kind: 'file' as const, stamp, digest }],
    ['odd', { kind: 'dir' as const, stamp }],
    ['odd/a\tb', { kind: 'file' as const, stamp, digest }],
  ]);
  const later = parseTreeIndex(serialiseTreeIndex(entries, st.ctimeMs + 1))!;
  assert.equal(later.names('pki', stamp), ['ca.crt']);
  assert.is(later.digest('pki/ca.crt', stamp), digest);
  assert.is(later.digest('pki/ca.crt', stampOf({ ...st, ctimeMs: st.ctimeMs + 1 })), undefined);
  assert.is(later.names('odd', stamp), undefined, 'a directory holding a name a line cannot hold is read');
  const racy = parseTreeIndex(serialiseTreeIndex(entries, st.ctimeMs))!;
  assert.is(racy.names('pki', stamp), undefined);
  assert.is(racy.digest('pki/ca.crt', stamp), undefined);
  assert.is(racy.kind('pki/ca.crt'), 'f');
});

test.run();
