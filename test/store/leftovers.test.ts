/**
 * What a killed run leaves: `*.kpki-<hex>.tmp` files next to their final names (private keys
 * among them, in pki/ too: the key of a CA that never went into use), the tree index's temp
 * file, a lock attempt's record. `check` reports each temp file, saying when it holds a key;
 * the next `gen` removes all of them (never into backup/: they were never in use), says so,
 * and leaves a live process's files alone. The killed run is real: SIGKILL as soon as the
 * first temp file of a CA key exists.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FIXTURES, kpki, listFiles, ROOT, tempDir } from '../support/cli.js';
import { runSync, start } from '../support/proc.js';

const PLAN = join(FIXTURES, 'single-cp.yaml');
const TEMP = /\.kpki-[0-9a-f]{12}\.tmp$/;

test('a run killed while writing its temp files leaves keys in pki/: check reports them, the next gen removes every one', async () => {
  const out = join(tempDir(), 'out');
  // A gen that SIGKILLs itself from inside the write phase, at its first temp file: the CA keys'
  // come first, so pki/ holds private keys of CAs that never went into use.
  const genJs = pathToFileURL(join(ROOT, 'dist/pki/gen/generate.js')).href;
  const parseJs = pathToFileURL(join(ROOT, 'dist/pki/plan/parse.js')).href;
  const child = start(process.execPath, ['--input-type=module', '-e', `
    import fs from 'node:fs';
    import { syncBuiltinESMExports } from 'node:module';
    const { generate } = await import(${JSON.stringify(genJs)});
    const { parsePlan } = await import(${JSON.stringify(parseJs)});
    const open = fs.openSync;
    let written = 0;
    // The sink creates each temp file with openSync(O_EXCL): die after the third is written.
    fs.openSync = (path, ...rest) => {
      if (/\\.kpki-[0-9a-f]{12}\\.tmp$/.test(String(path)) && ++written > 3) process.kill(process.pid, 'SIGKILL');
      return open(path, ...rest);
    };
    syncBuiltinESMExports();
    await generate(parsePlan(fs.readFileSync(${JSON.stringify(PLAN)}, 'utf8'), 'plan.yaml'), { out: ${JSON.stringify(out)} });
  `], { stdio: 'ignore' });
  assert.is((await child.exited).signal, 'SIGKILL');
  const left = listFiles(out).filter((f) => TEMP.test(f));
  assert.is(left.length, 3, left.join(' '));
  assert.ok(left.every((f) => f.startsWith('pki/')), left.join(' '));
  assert.ok(left.some((f) => /^pki\/.*\.key\.kpki-/.test(f) && readFileSync(join(out, f), 'utf8').includes('PRIVATE KEY-----')), 'a CA key among them');
  assert.not.ok(existsSync(join(out, 'pki/ca.key')), 'nothing was renamed into place');

  // More of the kind: in a node tree, the index's temp file, a dead process's lock record.
  const r0 = kpki(['gen', '--plan', PLAN, '--out', out]);
  assert.is(r0.status, 0, r0.stderr);
  for (const f of left) assert.ok(r0.stdout.includes(`removed ${f}: a temp file left by an interrupted kpki run`), r0.stdout);
  assert.match(r0.stderr, /took over a stale store lock/);
  const nodeTemp = 'nodes/cp-1/etc/kubernetes/pki/apiserver.key.kpki-0123456789ab.tmp';
  copyFileSync(join(out, 'nodes/cp-1/etc/kubernetes/pki/apiserver.key'), join(out, nodeTemp));
  const pkiTemp = 'pki/sa.key.kpki-abcdefabcdef.tmp';
  copyFileSync(join(out, 'pki/sa.key'), join(out, pkiTemp));
  const crtTemp = 'pki/ca.crt.kpki-a1b2c3d4e5f6.tmp';
  copyFileSync(join(out, 'pki/ca.crt'), join(out, crtTemp));
  writeFileSync(join(out, '.kpki-tree-index.0123456789ab.tmp'), '');
  const dead = runSync('true', []).pid!; // a PID that has exited
  writeFileSync(join(out, `.kpki.lock.${dead}.0123456789ab.tmp`), '{}');
  writeFileSync(join(out, `.kpki.lock.${process.pid}.0123456789ab.tmp`), '{}'); // a live process's: not ours to remove

  const check = kpki(['check', '--out', out, '--json']);
  const findings = (JSON.parse(check.stdout) as { findings: Array<{ code: string; severity: string; file: string; message: string }> }).findings
    .filter((f) => f.code === 'leftover-temp');
  assert.equal(findings.map((f) => f.file).sort(), [nodeTemp, pkiTemp, crtTemp].sort());
  for (const f of findings) {
    assert.is(f.severity, 'warning');
    assert.is(f.message.endsWith('; it holds a private key'), f.file !== crtTemp, f.message);
  }

  const r = kpki(['gen', '--plan', PLAN, '--out', out]);
  assert.is(r.status, 0, r.stderr);
  for (const f of [nodeTemp, pkiTemp, crtTemp]) assert.match(r.stdout, new RegExp(`removed ${f.replace(/\./g, '\\.')}: a temp file left by an interrupted kpki run`));
  assert.equal(listFiles(out).filter((f) => /\.tmp$/.test(f)), [`.kpki.lock.${process.pid}.0123456789ab.tmp`]);
  assert.not.ok(listFiles(out).some((f) => f.startsWith('backup/')), 'temp files are not backed up');
  assert.match(kpki(['gen', '--plan', PLAN, '--out', out]).stdout, /Nothing to do/);
});

test.run();
