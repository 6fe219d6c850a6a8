/**
 * SIGKILL at random moments of `kpki install` over SSH, on a test bed of three hosts (a control
 * plane, a worker, a load balancer; test/support/testbed.ts). Half the kills land on fresh
 * hosts, half on hosts holding an earlier store's files (the killed run replaces every
 * certificate and kubeconfig: `renew all` in between). After each kill:
 *  - every file kpki installs is, on every host, absent (fresh hosts only), the earlier text
 *    or the new one: never torn;
 *  - a file no longer as it was has its earlier text under /var/backups/kpki on that host;
 *  - within seconds no ssh process of the killed run is left on this machine, and no session
 *    is left on any host (only its sshd listens in its namespace);
 *  - the next run completes, puts exactly the staged files with their modes, and leaves no
 *    temp file; the killed run's control-socket directory is gone after it.
 * Where no bed can start (not root, no sshd), says why and returns.
 */
import * as assert from 'uvu/assert';
import { cpSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, listFiles, tempDir, writePlan } from '../support/cli.js';
import { run, start } from '../support/proc.js';
import { bedUnavailable, startTestBed, type TestBed } from '../support/testbed.js';
import { cli, keep, learnSecrets, sampleProc } from './capture.js';
import { bump, deadline, prng, tally } from './config.js';

const NAMES = ['cp-1', 'w-1', 'lb-1'];
/** What kpki leaves at a temp name on a host until the next run removes it. */
const HOST_TEMP = /\.kpki-[0-9a-f]+\.tmp$/;

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `mode sha256` of every path on a host ('' when absent), and the host's temp files under the trees kpki writes. */
async function hostState(bed: TestBed, host: string, paths: readonly string[]): Promise<{ files: Map<string, string>; temps: string[] }> {
  const script = `for p in "$@"; do if [ -f "/$p" ]; then printf '%s %s\\n' "$(stat -c %a "/$p")" "$(sha256sum < "/$p" | cut -c1-64)"; else echo; fi; done; echo TEMPS; find /etc /var/lib -name '*.kpki-*.tmp' 2>/dev/null; true`;
  const r = await bed.exec(host, ['sh', '-c', script, 'sh', ...paths]);
  if (r.status !== 0) throw new Error(`${host}: ${r.stderr}`);
  const [head, tail = ''] = r.stdout.split('TEMPS\n');
  const lines = head!.split('\n');
  return { files: new Map(paths.map((p, i) => [p, lines[i] ?? ''])), temps: tail.split('\n').filter(Boolean) };
}

/** The sha256 of every file under the host's /var/backups/kpki. */
async function backupHashes(bed: TestBed, host: string): Promise<Set<string>> {
  const r = await bed.exec(host, ['sh', '-c', 'find /var/backups/kpki -type f -exec sha256sum {} + 2>/dev/null; true']);
  return new Set(r.stdout.split('\n').filter(Boolean).map((l) => l.slice(0, 64)));
}

/** `mode sha256` per file of a staged host tree, keyed by path (what install should leave). */
function stagedState(stage: string, host: string): Map<string, string> {
  const dir = join(stage, host);
  return new Map(listFiles(dir).map((p) => [p, `${(statSync(join(dir, p)).mode & 0o7777).toString(8)} ${sha(readFileSync(join(dir, p)))}`]));
}

/** This machine's ssh processes on a control socket of the kpki process `pid` (kpki-ssh-<pid>-…). */
async function sshOf(pid: number): Promise<string[]> {
  const r = await run('ps', ['axww', '-o', 'pid=,args=']);
  return r.stdout.split('\n').filter((l) => l.includes(`/kpki-ssh-${pid}-`));
}

/** Processes in a host's network namespace other than its sshd listener. */
async function sessionsOn(bed: TestBed, host: string): Promise<number[]> {
  const r = await run('ip', ['netns', 'pids', bed.host(host).netns]);
  const listener = bed.host(host).sshd?.pid;
  const pids = r.stdout.split('\n').map(Number).filter((p) => p > 0);
  // The bed's sshd runs under `ip netns exec … unshare … sh -c … exec sshd`: its pid may be the listener's parent chain.
  const keep = new Set<number>();
  for (const p of pids) {
    const args = (await run('ps', ['-o', 'args=', '-p', String(p)])).stdout.trim();
    if (p === listener || /sshd -D -e -f/.test(args) || /^(ip netns exec|unshare) /.test(args)) keep.add(p);
  }
  return pids.filter((p) => !keep.has(p));
}

export async function sshKills(count: number, seed = 0x737368): Promise<void> {
  const why = bedUnavailable();
  if (why) {
    console.log(`  ssh kills skipped: ${why}`);
    return;
  }
  const rand = prng(seed);
  const bed = await startTestBed(NAMES.map((name) => ({ name })));
  const work = tempDir('kpki-stress-ssh-kill-');
  try {
    for (const h of NAMES) {
      const r = await bed.exec(h, ['sh', '-c', `printf '%s\\n' '#!/bin/sh' 'echo "$*" >> /run/systemctl.log' > /usr/local/bin/systemctl && chmod 755 /usr/local/bin/systemctl`]);
      assert.is(r.status, 0, r.stderr);
    }
    const a = (n: string) => bed.host(n).address;
    const plan = writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
kubernetesVersion: v1.31.2
controlPlaneEndpoint: ${a('lb-1')}:6443
nodes:
  - { name: cp-1, address: ${a('cp-1')}, roles: [control-plane] }
  - { name: w-1, address: ${a('w-1')}, roles: [worker] }
  - { name: lb-1, address: ${a('lb-1')}, roles: [load-balancer] }
`, work);
    // Store A, and store B: A with every leaf renewed (every certificate and kubeconfig differs).
    const storeA = join(work, 'a');
    const storeB = join(work, 'b');
    assert.is(cli(['gen', '-p', plan, '-o', storeA]).status, 0);
    cpSync(storeA, storeB, { recursive: true });
    const renewed = cli(['renew', 'all', '-p', plan, '-o', storeB]);
    assert.is(renewed.status, 0, renewed.stderr);
    learnSecrets(storeA);
    learnSecrets(storeB);
    const stageOf = (store: string, name: string) => {
      const dir = join(work, name);
      const r = cli(['install', '-p', plan, '-o', store, '--stage', dir]);
      assert.is(r.status, 0, r.stderr);
      return dir;
    };
    const stageA = stageOf(storeA, 'stage-a');
    const stageB = stageOf(storeB, 'stage-b');
    const wantA = new Map(NAMES.map((h) => [h, stagedState(stageA, h)]));
    const wantB = new Map(NAMES.map((h) => [h, stagedState(stageB, h)]));
    const paths = new Map(NAMES.map((h) => [h, [...new Set([...wantA.get(h)!.keys(), ...wantB.get(h)!.keys()])].sort()]));
    const install = (store: string) => ['install', '-p', plan, '-o', store, '--ssh-config', bed.sshConfig, '--json'];

    /** Hosts back to fresh (kpki's files removed) or to store A's files. */
    const reset = async (to: 'fresh' | 'a') => {
      for (const h of NAMES) {
        const r = await bed.exec(h, ['sh', '-c', 'for p in "$@"; do rm -f "/$p"; done; find /etc /var/lib -name "*.kpki-*.tmp" -delete 2>/dev/null; true', 'sh', ...paths.get(h)!]);
        assert.is(r.status, 0, r.stderr);
      }
      if (to === 'a') {
        const r = cli(install(storeA), 120_000);
        assert.is(r.status, 0, r.stdout + r.stderr);
      }
    };

    // How long an unkilled run takes (fresh hosts), so the kills spread over all of it.
    await reset('fresh');
    const t0 = Date.now();
    const timed = cli(install(storeB), 120_000);
    assert.is(timed.status, 0, timed.stdout + timed.stderr);
    const ms = Date.now() - t0;

    const done = deadline();
    const points = new Set<string>();
    for (let i = 0; i < count && !done(); i++) {
      const from = i % 2 === 0 ? 'fresh' : 'a';
      await reset(from);
      const before = new Map(await Promise.all(NAMES.map(async (h) => [h, (await hostState(bed, h, paths.get(h)!)).files] as const)));
      const delay = Math.floor(rand() * ms * 1.1);
      const what = `ssh kill ${i} (hosts ${from}, after ${delay} of ${ms} ms, seed ${seed})`;
      const child = start(process.execPath, [CLI, ...install(storeB)], { stdio: ['ignore', 'pipe', 'pipe'], boundMs: 120_000 });
      let output = '';
      child.stdout!.on('data', (d: Buffer) => (output += d));
      child.stderr!.on('data', (d: Buffer) => (output += d));
      await sleep(delay);
      sampleProc(child.pid!);
      child.kill('SIGKILL');
      const exit = await child.exited;
      keep(`${what} (output)`, output);
      bump(exit.signal === 'SIGKILL' ? 'ssh kills (landed mid-run)' : 'ssh kills (run had finished)');

      // Nothing of the killed run lingers: its ssh clients and masters here, its sessions there.
      let left: string[] = [];
      let sessions: number[] = [];
      for (let w = 0; w < 100; w++) {
        left = await sshOf(child.pid!);
        sessions = (await Promise.all(NAMES.map((h) => sessionsOn(bed, h)))).flat();
        if (!left.length && !sessions.length) break;
        await sleep(100);
      }
      assert.equal(left, [], `${what}: ssh processes of the killed run still running 10 s later`);
      assert.equal(sessions, [], `${what}: sessions of the killed run still open on the hosts 10 s later`);

      // Every file: absent, as before, or as the killed run wanted; a file no longer as before is backed up.
      let changed = 0;
      let temps = 0;
      for (const h of NAMES) {
        const now = await hostState(bed, h, paths.get(h)!);
        temps += now.temps.length;
        const backups = await backupHashes(bed, h);
        for (const p of paths.get(h)!) {
          const was = before.get(h)!.get(p)!;
          const is = now.files.get(p)!;
          const want = wantB.get(h)!.get(p);
          assert.ok(is === was || is === want || (is === '' && from === 'fresh'), `${what}: ${h}:/${p} is neither as before nor as wanted: ${is}`);
          if (is !== was) changed++;
          if (was !== '' && is !== was) assert.ok(backups.has(was.split(' ')[1]!), `${what}: ${h}:/${p} was replaced and its earlier text is not in /var/backups/kpki`);
        }
      }
      points.add(`${from}: ${changed} changed, ${temps > 0 ? 'temp files' : 'no temp'}`);

      // The next run completes and leaves exactly the staged files, no temp file, no control directory.
      const next = cli(install(storeB), 120_000);
      assert.is(next.status, 0, `${what}: the next run failed: ${next.stdout}${next.stderr}`);
      for (const h of NAMES) {
        const now = await hostState(bed, h, paths.get(h)!);
        assert.equal(now.temps, [], `${what}: temp files on ${h} after the next run`);
        for (const [p, want] of wantB.get(h)!) assert.is(now.files.get(p), want, `${what}: ${h}:/${p} after the next run`);
      }
      assert.not.ok(readdirSync(tmpdir()).some((n) => n.startsWith(`kpki-ssh-${child.pid}-`)), `${what}: the killed run's control directory is still in ${tmpdir()}`);
    }
    tally['ssh kill points (distinct host states)'] = (tally['ssh kill points (distinct host states)'] ?? 0) + points.size;
  } finally {
    bed.teardown();
    rmSync(work, { recursive: true, force: true });
  }
}
