/**
 * A store another user can change is a store whose CA that user can replace. Every directory
 * gen creates has an explicit mode, whatever the umask (the root 0700, nothing group- or
 * world-writable), and gen refuses (exit 3, naming the path and the fix) a store whose root,
 * pki/ or nodes/ another user could write or owns, as OpenSSH refuses a group-writable ~/.ssh.
 * The attack is played for real: an unprivileged user (nobody) renames pki/ away and puts a CA
 * of their own there. Modes are read with stat; the attacker's CA is made by kpki run as nobody.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, FIXTURES, hashTree, kpki, sh, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** Every directory below (and including) `dir`, relative ('' for `dir`), with its permission bits. */
function dirModes(dir: string, rel = ''): Array<[string, number]> {
  const out: Array<[string, number]> = [[rel, lstatSync(join(dir, rel)).mode & 0o7777]];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...dirModes(dir, rel ? `${rel}/${e.name}` : e.name));
  }
  return out;
}

/** `kpki gen` under `umask 000`. */
function genUmask000(out: string, plan = PLAN) {
  return runSync('sh', ['-c', `umask 000 && exec "${process.execPath}" "${CLI}" gen --plan "${plan}" --out "${out}"`], { env: { ...process.env, NO_COLOR: '1' } });
}

test('under umask 000, every directory gen creates has an explicit mode: the root 0700, none writable by group or others', () => {
  const work = tempDir();
  const out = join(work, 'a', 'b', 'out'); // two missing parents too
  let r = genUmask000(out);
  assert.is(r.status, 0, r.stderr);
  // A shorter certValidity reissues every leaf: backups under the same umask.
  const shorter = join(work, 'shorter.yaml');
  writeFileSync(shorter, readFileSync(PLAN, 'utf8').replace('certValidity: 8760h', 'certValidity: 2160h'));
  r = genUmask000(out, shorter);
  assert.is(r.status, 0, r.stderr);
  const modes = new Map(dirModes(out));
  assert.is(modes.get(''), 0o700, 'the output root');
  assert.is(modes.get('pki'), 0o700);
  assert.is(modes.get('nodes'), 0o755);
  assert.is(modes.get('backup'), 0o700);
  assert.is(lstatSync(join(work, 'a')).mode & 0o777, 0o755, 'a parent gen created');
  assert.is(lstatSync(join(work, 'a', 'b')).mode & 0o777, 0o755, 'a parent gen created');
  const writable = [...modes].filter(([, m]) => (m & 0o022) !== 0).map(([d, m]) => `${d || '.'} ${m.toString(8)}`);
  assert.equal(writable, [], 'no directory writable by group or others');
  assert.ok(modes.size > 20, `${modes.size} directories looked at`);
  rmSync(work, { recursive: true, force: true });
});

test('another user who can write the store root plants a CA: gen refuses (exit 3) naming the path and the fix, and writes nothing', () => {
  if (!isRoot) {
    console.log('  skipped: needs root to act as another user');
    return;
  }
  const work = tempDir();
  chmodSync(work, 0o755); // nobody may pass through, not write
  const plan = join(work, 'cluster.yaml');
  writeFileSync(plan, readFileSync(PLAN), { mode: 0o644 });
  const store = join(work, 'store');
  assert.is(kpki(['gen', '--plan', plan, '--out', store]).status, 0);
  const rootCa = readFileSync(join(store, 'pki/ca.crt'), 'utf8');
  chmodSync(store, 0o777); // as a store made under umask 000 by an earlier kpki was
  // nobody makes a CA of their own and swaps it in.
  const evil = join(work, 'evil');
  mkdirSync(evil);
  chownSync(evil, NOBODY, NOBODY);
  const asNobody = (cmd: string, args: string[]) => runSync(cmd, args, { uid: NOBODY, gid: NOBODY, cwd: '/', env: { ...process.env, NO_COLOR: '1' } });
  const made = asNobody(process.execPath, [CLI, 'gen', '--plan', plan, '--out', join(evil, 'out')]);
  assert.is(made.status, 0, made.stderr);
  const swap = asNobody('sh', ['-c', `mv "${store}/pki" "${store}/pki.orig" && cp -r "${evil}/out/pki" "${store}/pki"`]);
  assert.is(swap.status, 0, swap.stderr);
  const before = hashTree(store);

  const r = kpki(['gen', '--plan', plan, '--out', store]);
  assert.is(r.status, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`^kpki: ${store} is writable by its group and others \\(mode 0777\\); kpki gen refuses a store another user can change: chmod go-w ${store}$`, 'm'));
  assert.match(r.stderr, new RegExp(`^${store}/pki is owned by uid ${NOBODY}, not by this user \\(uid 0\\); .*: chown -R 0 ${store}/pki, or use another --out$`, 'm'));
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(hashTree(store), before, 'nothing was written');
  // Every leaf still verifies against the CA root made, not the planted one.
  sh('openssl', ['verify', '-CAfile', join(store, 'pki.orig/ca.crt'), join(store, 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt')]);

  // The root fixed, the planted pki/ (nobody's) is still refused.
  chmodSync(store, 0o700);
  const again = kpki(['gen', '--plan', plan, '--out', store]);
  assert.is(again.status, 3, again.stderr);
  assert.match(again.stderr, new RegExp(`^kpki: ${store}/pki is owned by uid ${NOBODY}`, 'm'));
  assert.not.match(again.stderr, new RegExp(`^kpki: ${store} is`, 'm'));
  // Put back as it was: gen runs again.
  rmSync(join(store, 'pki'), { recursive: true });
  sh('mv', [join(store, 'pki.orig'), join(store, 'pki')]);
  const ok = kpki(['gen', '--plan', plan, '--out', store]);
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /Nothing to do/);
  assert.is(readFileSync(join(store, 'pki/ca.crt'), 'utf8'), rootCa);
  rmSync(work, { recursive: true, force: true });
});

test('a group-writable nodes/, a pki/ that is a link, a parent others may write: refused; a sticky parent (as /tmp) is fine', () => {
  const work = tempDir();
  const out = join(work, 'out');
  assert.is(kpki(['gen', '--plan', PLAN, '--out', out]).status, 0);
  const elsewhere = join(work, 'pki-elsewhere');
  // The store's files, wherever pki/ is at the moment.
  const snapshot = () => [hashTree(join(out, 'nodes')), hashTree(lstatSync(join(out, 'pki')).isSymbolicLink() ? elsewhere : join(out, 'pki'))];
  const before = snapshot();
  const refused = (pattern: RegExp) => {
    const r = kpki(['gen', '--plan', PLAN, '--out', out]);
    assert.is(r.status, 3, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(snapshot(), before, 'nothing was written');
  };
  chmodSync(join(out, 'nodes'), 0o775);
  refused(new RegExp(`^kpki: ${out}/nodes is writable by its group \\(mode 0775\\); .*: chmod go-w ${out}/nodes$`, 'm'));
  // check warns about the same (and still audits).
  const check = kpki(['check', '--out', out, '--json']);
  const warned = (JSON.parse(check.stdout) as { findings: Array<{ code: string; severity: string; file: string }> }).findings.filter((f) => f.code === 'store-permissions');
  assert.equal(warned.map((f) => [f.file, f.severity]), [['nodes', 'warning']]);
  chmodSync(join(out, 'nodes'), 0o755);
  chmodSync(join(out, 'pki/etcd'), 0o703);
  refused(new RegExp(`^kpki: ${out}/pki/etcd is writable by others \\(mode 0703\\)`, 'm'));
  chmodSync(join(out, 'pki/etcd'), 0o700);
  sh('mv', [join(out, 'pki'), elsewhere]);
  symlinkSync(elsewhere, join(out, 'pki'));
  refused(new RegExp(`^kpki: ${out}/pki is a symbolic link; kpki writes only into directories it made`, 'm'));
  rmSync(join(out, 'pki'));
  sh('mv', [elsewhere, join(out, 'pki')]);
  assert.match(kpki(['gen', '--plan', PLAN, '--out', out]).stdout, /Nothing to do/);

  // Above the store: a directory anyone may write (not sticky) could hold a store of theirs instead.
  const shared = join(work, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  const r = kpki(['gen', '--plan', PLAN, '--out', join(shared, 'out')]);
  assert.is(r.status, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`^kpki: ${shared} is writable by its group and others \\(mode 0777\\), so another user could put a store of their own in place of ${shared}/out`, 'm'));
  assert.equal(readdirSync(shared), [], 'nothing was created');
  // A link to a good store, kept in such a directory, can be swapped as well.
  symlinkSync(out, join(shared, 'link'));
  const linked = kpki(['gen', '--plan', PLAN, '--out', join(shared, 'link')]);
  assert.is(linked.status, 3, linked.stderr);
  assert.match(linked.stderr, new RegExp(`^kpki: ${shared} is writable by its group and others`, 'm'));
  rmSync(join(shared, 'link'));
  chmodSync(shared, 0o1777);
  const sticky = kpki(['gen', '--plan', PLAN, '--out', join(shared, 'out')]);
  assert.is(sticky.status, 0, sticky.stderr);
  rmSync(work, { recursive: true, force: true });
});

test.run();
