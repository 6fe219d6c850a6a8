/**
 * Secret hygiene: file modes under every umask (keys 0600 in 0700 directories, no directory
 * group/world-writable), and the scan of every output the suite captured (capture.ts) plus
 * /proc samples of running gens. The scan runs last, over what the other suites kept.
 */
import * as assert from 'uvu/assert';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLI, FIXTURES, listFiles, tempDir } from '../support/cli.js';
import { runSync, start } from '../support/proc.js';
import { cli, keep, learnSecrets, sampleProc, scanOutputs, secretCount } from './capture.js';
import { bump, expectCase } from './config.js';

const PLAN = join(FIXTURES, 'kubeadm-ha.yaml');

function dirsBelow(root: string): string[] {
  const out = [root];
  for (const e of readdirSync(root, { withFileTypes: true })) if (e.isDirectory()) out.push(...dirsBelow(join(root, e.name)));
  return out;
}

export async function umasks(masks: readonly number[]): Promise<void> {
  const work = tempDir('kpki-stress-umask-');
  for (const mask of masks) {
    const out = join(work, `u${mask.toString(8)}`);
    const r = runSync('sh', ['-c', `umask ${mask.toString(8).padStart(3, '0')} && exec "$0" "$@"`, process.execPath, CLI, 'gen', '--plan', PLAN, '--out', out], { boundMs: 60_000 });
    keep(`gen under umask ${mask.toString(8)}`, r.stdout + r.stderr);
    assert.is(r.status, 0, r.stderr);
    learnSecrets(out);
    const what = `gen under umask ${mask.toString(8).padStart(4, '0')}`;
    for (const f of listFiles(out).filter((f) => /\.key$|join\.json$|\.conf$/.test(f))) {
      assert.is(statSync(join(out, f)).mode & 0o777, 0o600, `${what}: ${f} is not 0600`);
    }
    await expectCase('14.1 umask 000 leaves group/world-writable directories', () => {
      const loose = dirsBelow(out).filter((d) => (statSync(d).mode & 0o022) !== 0).map((d) => `${d} ${(statSync(d).mode & 0o777).toString(8)}`);
      assert.equal(loose, [], `${what}: group/world-writable directories`);
      const keyDirs = [...new Set(listFiles(out).filter((f) => f.endsWith('.key')).map((f) => dirname(join(out, f))))];
      const open = keyDirs.filter((d) => (statSync(d).mode & 0o077) !== 0).map((d) => `${d} ${(statSync(d).mode & 0o777).toString(8)}`);
      assert.equal(open, [], `${what}: key directories not 0700`);
    });
    bump('umasks');
  }
}

/** gen, gen --dry-run --json and check --json over a store, its argv and environment sampled while it runs. */
export async function procSamples(): Promise<void> {
  const work = tempDir('kpki-stress-proc-');
  const out = join(work, 'out');
  assert.is(cli(['gen', '--plan', PLAN, '--out', out]).status, 0);
  learnSecrets(out);
  for (const args of [['gen', '--plan', PLAN, '--out', out], ['gen', '--plan', PLAN, '--out', out, '--dry-run', '--json'], ['check', '--out', out, '--plan', PLAN, '--json'], ['check', join(out, 'nodes')]]) {
    const child = start(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], boundMs: 60_000 });
    let text = '';
    child.stdout!.on('data', (d: Buffer) => (text += d));
    child.stderr!.on('data', (d: Buffer) => (text += d));
    for (let i = 0; i < 20 && child.exitCode === null; i++) {
      sampleProc(child.pid!);
      await new Promise((r) => setTimeout(r, 10));
    }
    await child.exited;
    keep(`kpki ${args.join(' ')}`, text);
  }
  // errors too: a damaged key's message
  cli(['gen', '--plan', join(work, 'missing.yaml'), '--out', out]);
}

/** The scan over every output kept so far; fails on any private key or secret. */
export function scanAll(): void {
  assert.ok(secretCount() > 0, 'the scan knows some secrets');
  const n = scanOutputs();
  bump('outputs scanned for secrets', n);
}
