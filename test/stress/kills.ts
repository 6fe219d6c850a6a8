/**
 * SIGKILL at random moments of commands that write as they land. After each kill: the CA and
 * SA files are byte-identical to before (or, never written before, absent or complete), no file
 * at a final name is torn or empty, every certificate verifies against its CA and its key (or
 * the pair was caught between its two renames: exactly one of them replaced). Then the next run
 * completes (and keeps every CA file the killed run left), every pair matches, no temp file is
 * left, and `check --out --plan` (or, on a host tree, `check <dir>`) is OK. A command that lands
 * (renew, a rotation phase, install) is one more line in COMMANDS.
 */
import * as assert from 'uvu/assert';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, FIXTURES, listFiles, sh, tempDir } from '../support/cli.js';
import { kubeadm120 } from '../check/trees.js';
import { start } from '../support/proc.js';
import { cli, keep, learnSecrets, sampleProc } from './capture.js';
import { bump, deadline, expectCase, prng, tally } from './config.js';

const SINGLE = join(FIXTURES, 'single-cp.yaml');
const HA = join(FIXTURES, 'kubeadm-ha.yaml');
/** Temp names kpki writes before a rename, and the lock's. */
export const TEMP = /\.kpki-[0-9a-f]+\.tmp$|\.tmp$/;
/** The files gen must never replace once written: CAs, the SA pair, the join secrets. */
export const PROTECTED = /^pki\/(.*ca\.(crt|key)|sa\.(key|pub)|join\.json)$/;

interface Prepared {
  /** The store to copy before each kill, or undefined for a fresh run. */
  readonly seed?: string;
  /** The plan the killed run (and the next run, and check) use. */
  readonly plan: string;
  /** More arguments: the signed certificates an import places. */
  readonly files?: readonly string[];
  /** Where the command writes inside the copy of the seed (a host tree's etc/kubernetes); default the copy itself. */
  readonly within?: string;
}

interface KillCommand {
  readonly name: string;
  /** Makes the seed store and the plan, once per command, in `work`. */
  readonly prepare: (work: string) => Prepared;
  readonly args: (out: string, plan: string, files: readonly string[]) => string[];
  /** The audit after the next run, exit 0 expected; default `check --out --plan`. */
  readonly audit?: (out: string, plan: string) => string[];
  /** Protected files this command replaces on purpose (ca extend: the CA certificate), atomically: old or new, never torn. */
  readonly replaces?: RegExp;
  /** The run after the kill, when it is not the same command (extending twice in one second is refused: not longer). */
  readonly next?: (out: string, plan: string) => string[];
  /** A rotation phase: check after the next run may report the rotation in progress (and nothing else). */
  readonly rotation?: boolean;
}

/** A copy of `plan` with edits, in `work`. */
function planWith(work: string, name: string, plan: string, edit: (text: string) => string): string {
  const p = join(work, name);
  writeFileSync(p, edit(readFileSync(plan, 'utf8')));
  return p;
}

/** A store made by gen from `plan`, in `work`. */
function seedFrom(work: string, plan: string): string {
  const out = join(work, 'seed');
  const r = cli(['gen', '--plan', plan, '--out', out]);
  assert.is(r.status, 0, r.stderr);
  learnSecrets(out);
  return out;
}

const gen = (out: string, plan: string) => ['gen', '--plan', plan, '--out', out];

/**
 * An external CA's store: gen's store with its CA keys taken out (kept in `work` to sign
 * with), `kpki csr` run on it, and every request signed by openssl, ready to import.
 */
function externalSeed(work: string, plan: string): Prepared {
  const seed = seedFrom(work, plan);
  const keys = new Map<string, string>();
  for (const [crt, key] of [['pki/ca.crt', 'pki/ca.key'], ['pki/front-proxy-ca.crt', 'pki/front-proxy-ca.key'], ['pki/etcd/ca.crt', 'pki/etcd/ca.key']] as const) {
    const kept = join(work, key.replace(/\//g, '_'));
    cpSync(join(seed, key), kept);
    rmSync(join(seed, key));
    keys.set(crt, kept);
  }
  // Nor does any node tree hold a copy: the external CA's key is nowhere in the store.
  for (const f of listFiles(seed).filter((x) => /^nodes\/.*\/(ca|front-proxy-ca|etcd\/ca)\.key$/.test(x))) rmSync(join(seed, f));
  const r = cli(['csr', '--plan', plan, '--out', seed]);
  assert.is(r.status, 0, r.stderr);
  learnSecrets(seed);
  const files = listFiles(seed).filter((f) => f.endsWith('.csr')).map((csr, i) => {
    const ca = /etcd/.test(csr) ? 'pki/etcd/ca.crt' : /front-proxy/.test(csr) ? 'pki/front-proxy-ca.crt' : 'pki/ca.crt';
    const signed = join(work, `signed-${i}.crt`);
    sh('openssl', ['x509', '-req', '-in', join(seed, csr), '-CA', join(seed, ca), '-CAkey', keys.get(ca)!, '-set_serial', String(7000 + i), '-days', '90', '-copy_extensions', 'copyall', '-out', signed]);
    return signed;
  });
  return { seed, plan, files };
}

/**
 * A kubeadm 1.20 control plane made with openssl (test/check/trees.ts), for renew --root.
 * Copied with its links as they are (cpSync would otherwise make kubelet-client-current.pem
 * an absolute link into the tree it was copied from).
 */
function kubeadmSeed(work: string): Prepared {
  const seed = join(work, 'host');
  cpSync(kubeadm120().root, seed, { recursive: true, verbatimSymlinks: true });
  return { seed, plan: SINGLE, within: 'etc/kubernetes' };
}

/** A store made by gen, then taken through the given rotation commands (each one phase). */
function rotatedSeed(work: string, plan: string, steps: ReadonlyArray<readonly string[]>): string {
  const out = seedFrom(work, plan);
  for (const step of steps) {
    const r = cli([...step, '--plan', plan, '--out', out]);
    assert.is(r.status, 0, `${step.join(' ')}: ${r.stderr}`);
  }
  learnSecrets(out);
  return out;
}
const CA_ROTATE = ['ca', 'rotate', 'ca'] as const;
const SA_ROTATE = ['sa', 'rotate'] as const;
/** One rotation phase killed: the seed holds the phases before it. */
const rotation = (name: string, before: ReadonlyArray<readonly string[]>, cmd: readonly string[], replaces?: RegExp): KillCommand => ({
  name, rotation: true, ...(replaces ? { replaces } : {}),
  prepare: (w) => ({ seed: rotatedSeed(w, SINGLE, before), plan: SINGLE }),
  args: (out, plan) => [...cmd, '--plan', plan, '--out', out],
});

/** Every command killed: one line each. */
export const COMMANDS: readonly KillCommand[] = [
  { name: 'gen fresh', prepare: () => ({ plan: SINGLE }), args: gen },
  { name: 'gen fresh (kubeadm, HA)', prepare: () => ({ plan: HA }), args: gen },
  {
    name: 'gen after a plan change (every leaf reissued)',
    prepare: (w) => ({ seed: seedFrom(w, SINGLE), plan: planWith(w, 'shorter.yaml', SINGLE, (t) => t.replace('certValidity: 8760h', 'certValidity: 2160h')) }),
    args: gen,
  },
  {
    name: 'gen --prune (a node removed)',
    prepare: (w) => ({ seed: seedFrom(w, HA), plan: planWith(w, 'pruned.yaml', HA, (t) => t.replace(/  - name: worker-2\.example\.internal\n.*\n.*\n/, '')) }),
    args: (out, plan) => [...gen(out, plan), '--prune'],
  },
  { name: 'renew all', prepare: (w) => ({ seed: seedFrom(w, SINGLE), plan: SINGLE }), args: (out, plan) => ['renew', 'all', '--plan', plan, '--out', out] },
  {
    name: 'renew all --reuse-keys', prepare: (w) => ({ seed: seedFrom(w, HA), plan: HA }),
    args: (out, plan) => ['renew', 'all', '--reuse-keys', '--plan', plan, '--out', out],
  },
  {
    name: 'renew all --root (kubeadm 1.20 host, in place)', prepare: kubeadmSeed,
    args: (out) => ['renew', 'all', '--root', out],
    audit: (out) => ['check', out],
  },
  {
    name: 'import (external CA)', prepare: (w) => externalSeed(w, SINGLE),
    args: (out, plan, files) => ['import', '--plan', plan, '--out', out, ...files],
  },
  {
    name: 'ca extend (all three CAs)', prepare: (w) => ({ seed: seedFrom(w, SINGLE), plan: SINGLE }),
    args: (out, plan) => ['ca', 'extend', 'ca', 'front-proxy-ca', 'etcd-ca', '--plan', plan, '--out', out, '--validity', '175200h'],
    replaces: /^pki\/(etcd\/)?(front-proxy-)?ca\.crt$/,
    next: gen,
  },
  // Rotations: each phase, resumed by the same command (the record says which phase to complete).
  // A kill after the phase completed makes the next run the next phase: after issue (overlap) that is
  // finalize, which replaces the store's CA (SA pair) on purpose.
  rotation('ca rotate ca: trust', [], CA_ROTATE),
  rotation('ca rotate ca: issue', [CA_ROTATE], CA_ROTATE, /^pki\/ca\.(crt|key)$/),
  rotation('ca rotate ca: finalize', [CA_ROTATE, CA_ROTATE], CA_ROTATE, /^pki\/ca\.(crt|key)$/),
  {
    // Killed after it finished, there is nothing left to abort: the next run is gen.
    ...rotation('ca rotate ca --abort after issue', [CA_ROTATE, CA_ROTATE], [...CA_ROTATE, '--abort']),
    next: (out, plan) => (existsSync(join(out, 'pki/rotation/ca.json')) ? [...CA_ROTATE, '--abort', '--plan', plan, '--out', out] : gen(out, plan)),
  },
  rotation('sa rotate: overlap', [], SA_ROTATE, /^pki\/sa\.(key|pub)$/),
  rotation('sa rotate: finalize', [SA_ROTATE], SA_ROTATE, /^pki\/sa\.(key|pub)$/),
];

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function hashes(dir: string, filter: (f: string) => boolean): Map<string, string> {
  if (!existsSync(dir)) return new Map();
  return new Map(listFiles(dir).filter(filter).map((f) => [f, sha(readFileSync(join(dir, f)))]));
}

const CA_FILES = ['pki/ca.crt', 'pki/etcd/ca.crt', 'pki/front-proxy-ca.crt'];

/**
 * Every file at a final name is whole: certificates parse and verify against their key and a
 * store CA, keys parse, kubeconfigs carry a verifying client pair. Judged with node:crypto
 * (OpenSSL), not kpki's reader. Returns the number of files judged.
 *
 * `killedFrom`: the files' hashes before a run that was killed. Each file is replaced on its
 * own (temp file, rename), so a kill between the renames of a certificate and its key leaves
 * the pair half replaced: that, and only that (exactly one of the two changed), is allowed
 * then; the next run must leave every pair matching.
 */
export function assertWhole(out: string, what: string, killedFrom?: ReadonlyMap<string, string>): number {
  if (!existsSync(out)) return 0;
  const files = listFiles(out).filter((f) => !TEMP.test(f) && !f.startsWith('backup/') && !f.includes('.kpki-tree-index') && !f.endsWith('.lock'));
  // A rotation in progress: its new CA (in the record) signs leaves before it reaches pki/.
  const records = files.filter((f) => f.startsWith('pki/rotation/')).map((f) => JSON.parse(readFileSync(join(out, f), 'utf8')) as { target: string; phase: string; done: boolean; oldCertPem?: string; newCertPem?: string; newKeyPem: string });
  // An unfinished finalize swaps the store's CA pair file by file: each is the old or the new one
  // (the record says which pair to complete), the pair may be mixed until the next run.
  const swapping = new Map(records.filter((r) => r.phase === 'finalize' && !r.done && r.newCertPem).map((r) => [`pki/${r.target === 'etcd-ca' ? 'etcd/ca' : r.target}.crt`, r]));
  const cas = [
    ...CA_FILES.filter((f) => existsSync(join(out, f))).map((f) => new X509Certificate(readFileSync(join(out, f)))),
    ...records.flatMap((r) => [r.newCertPem, r.oldCertPem].flatMap((pem) => (pem ? [new X509Certificate(pem)] : []))),
  ];
  // A node's copy of a CA or SA key is the store's or the record's new one, byte for byte.
  const storeKeys = new Set(['pki/ca.key', 'pki/sa.key'].filter((f) => existsSync(join(out, f))).map((f) => readFileSync(join(out, f), 'utf8')));
  for (const r of records) storeKeys.add(r.newKeyPem);
  for (const f of files.filter((x) => /^nodes\/[^/]+\/.*\/pki\/(ca|sa)\.key$/.test(x))) {
    assert.ok(storeKeys.has(readFileSync(join(out, f), 'utf8')), `${what}: ${f} is neither the store's key nor the rotation's new one`);
  }
  const signedByStoreCa = (c: X509Certificate, f: string) =>
    assert.ok(cas.some((ca) => c.checkIssued(ca) && c.verify(ca.publicKey)), `${what}: ${f} does not verify against a CA in pki/`);
  for (const f of files) {
    const buf = readFileSync(join(out, f));
    assert.ok(buf.length > 0, `${what}: ${f} is empty`);
    if (f.endsWith('.crt')) {
      const c = new X509Certificate(buf);
      signedByStoreCa(c, f);
      const keyFile = join(out, f.replace(/\.crt$/, '.key'));
      const swap = swapping.get(f);
      if (swap) {
        assert.ok([swap.oldCertPem, swap.newCertPem].includes(buf.toString('utf8')), `${what}: ${f} is neither the old nor the new CA`);
        const key = readFileSync(keyFile, 'utf8');
        assert.ok(key === swap.newKeyPem || new X509Certificate(swap.oldCertPem!).checkPrivateKey(createPrivateKey(key)), `${what}: ${f.replace(/\.crt$/, '.key')} is neither the old nor the new key`);
      } else if (existsSync(keyFile) && !c.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))) {
        const key = f.replace(/\.crt$/, '.key');
        const changed = (p: string) => killedFrom?.get(p) !== sha(readFileSync(join(out, p)));
        assert.ok(killedFrom && changed(f) !== changed(key), `${what}: ${f} and its key do not match${killedFrom ? ' (and the pair is not half replaced: both or neither changed)' : ''}`);
        bump('pairs caught half replaced by a kill');
      }
    } else if (f.endsWith('.key')) createPrivateKey(buf);
    else if (f.endsWith('.conf')) {
      const text = buf.toString('utf8');
      const data = (k: string) => Buffer.from(new RegExp(`${k}: (\\S+)`).exec(text)?.[1] ?? '', 'base64');
      assert.ok(/server: https:/.test(text), `${what}: ${f} is not a whole kubeconfig`);
      const cert = data('client-certificate-data');
      if (cert.length) {
        const c = new X509Certificate(cert);
        signedByStoreCa(c, f);
        assert.ok(c.checkPrivateKey(createPrivateKey(data('client-key-data'))), `${what}: ${f}'s client pair does not match`);
      }
    } else if (f.endsWith('.json')) JSON.parse(buf.toString('utf8'));
  }
  return files.length;
}

/** The observable state a kill left: which files changed, which temp names and backups exist. */
function pointOf(command: string, out: string, before: Map<string, string>): string {
  if (!existsSync(out)) return `${command}: nothing`;
  const now = hashes(out, () => true);
  const changed = [...now].filter(([f, h]) => !TEMP.test(f) && !f.startsWith('backup/') && before.get(f) !== h).map(([f]) => f).sort();
  const temps = [...now.keys()].filter((f) => TEMP.test(f)).length;
  const backups = [...now.keys()].filter((f) => f.startsWith('backup/')).length;
  return `${command}: ${changed.length} written [${changed.slice(-3).join(',')}], ${temps > 0 ? 'temp files' : 'no temp'}, ${backups > 0 ? 'backups' : 'no backup'}`;
}

/** How long an unkilled run takes, so the kills spread over the whole run. */
function timeRun(cmd: KillCommand, prep: Prepared, work: string): number {
  const out = join(work, 'timed');
  if (prep.seed) cpSync(prep.seed, out, { recursive: true, verbatimSymlinks: true });
  const t = Date.now();
  const r = cli(cmd.args(prep.within ? join(out, prep.within) : out, prep.plan, prep.files ?? []));
  const ms = Date.now() - t;
  assert.is(r.status, 0, `${cmd.name}: ${r.stderr}`);
  learnSecrets(out);
  rmSync(out, { recursive: true, force: true });
  return ms;
}

export async function kills(count: number, seed = 0x6b696c6c, commands: readonly KillCommand[] = COMMANDS): Promise<void> {
  const rand = prng(seed);
  const work = tempDir('kpki-stress-kill-');
  const prepared = commands.map((c) => {
    const prep = c.prepare(join(work, c.name.replace(/\W+/g, '-')));
    return { c, prep, ms: 0 };
  });
  for (const p of prepared) p.ms = timeRun(p.c, p.prep, work);
  const points = new Set<string>();
  const done = deadline();
  for (let i = 0; i < count && !done(); i++) {
    const { c, prep, ms } = prepared[i % prepared.length]!;
    const copy = join(work, `kill-${i}`);
    if (prep.seed) cpSync(prep.seed, copy, { recursive: true, verbatimSymlinks: true });
    const out = prep.within ? join(copy, prep.within) : copy;
    const args = (f: (out: string, plan: string, files: readonly string[]) => string[]) => f(out, prep.plan, prep.files ?? []);
    const before = hashes(out, () => true);
    const protectedBefore = new Map([...before].filter(([f]) => PROTECTED.test(f)));
    const delay = Math.floor(rand() * ms * 1.1);
    const what = `kill ${i} (${c.name}, after ${delay} ms, seed ${seed})`;

    const child = start(process.execPath, [CLI, ...args(c.args)], { stdio: ['ignore', 'pipe', 'pipe'], boundMs: 60_000 });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d));
    child.stderr!.on('data', (d: Buffer) => (output += d));
    await new Promise((r) => setTimeout(r, delay));
    sampleProc(child.pid!);
    child.kill('SIGKILL');
    const exit = await child.exited;
    keep(`${what} (output)`, output);
    bump(exit.signal === 'SIGKILL' ? 'kills (landed mid-run)' : 'kills (run had finished)');
    points.add(pointOf(c.name, out, before));

    // the killed run's leftovers
    const afterKill = hashes(out, (f) => PROTECTED.test(f));
    for (const [f, h] of protectedBefore) if (!c.replaces?.test(f)) assert.is(afterKill.get(f), h, `${what}: ${f} changed`);
    assertWhole(out, what, before);

    // the next run completes, keeps what the killed run wrote of the CAs, and cleans up
    const next = cli(args(c.next ?? c.args));
    assert.is(next.status, 0, `${what}: the next run failed: ${next.stderr}`);
    learnSecrets(out);
    const afterNext = hashes(out, (f) => PROTECTED.test(f));
    for (const [f, h] of afterKill) if (!c.replaces?.test(f)) assert.is(afterNext.get(f), h, `${what}: the next run replaced ${f}`);
    assertWhole(out, `${what}, then the next run`);
    await expectCase('14.6 orphaned temp key files stay in pki/', () => {
      const left = listFiles(out).filter((f) => TEMP.test(f) && !f.startsWith('backup/'));
      assert.equal(left, [], `${what}: temp files left after the next run`);
    });
    const audit = c.audit ? c.audit(out, prep.plan) : ['check', '--out', out, '--plan', prep.plan];
    const chk = cli(audit);
    if (chk.status !== 0) {
      // Between rotation phases check says so (a warning naming the next step), and nothing else.
      const doc = JSON.parse(cli([...audit, '--json']).stdout) as { findings: Array<{ severity: string; code: string; file: string; message: string }> };
      const bad = doc.findings.filter((f) => f.severity !== 'info' && !(c.rotation && f.code === 'rotation-in-progress'));
      if (bad.length || !c.rotation) {
        assert.unreachable(`${what}: check after the next run exited ${chk.status}:\n${bad.map((f) => `${f.severity} ${f.code} ${f.file}: ${f.message}`).join('\n')}${chk.stderr}`);
      }
    }
    rmSync(copy, { recursive: true, force: true });
  }
  tally['kill points (distinct file states)'] = (tally['kill points (distinct file states)'] ?? 0) + points.size;
  rmSync(work, { recursive: true, force: true });
}
