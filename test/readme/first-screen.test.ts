/**
 * The README's first screen works, in order, in a fresh copy of the project: the commands are
 * read from README.md's first ```sh block and run as written (install, the example, then the
 * test script's build step and `npx kpki --help`, which the README promises).
 *
 * `npm test` itself is replaced by its build step (`npm run build`): the whole suite would run
 * this test again. The test checks that `npm test` does begin with that step.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';

/** Non-comment lines of the README's first ```sh block. */
function firstScreenCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README.md has a ```sh block');
  return block[1]!.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

/** Tracked and untracked-but-not-ignored files: what a fresh clone of this tree would hold. */
function projectFiles(): string[] | undefined {
  const r = runSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT });
  if (r.status !== 0) return undefined;
  return r.stdout.split('\0').filter((f) => f && existsSync(join(ROOT, f)));
}

test('README first screen: install, generate, build, `npx kpki --help`, in a fresh copy', () => {
  const files = projectFiles();
  if (!files) {
    console.log('  skipped: not a git checkout, so there is no list of project files to copy');
    return;
  }
  const commands = firstScreenCommands();
  assert.equal(commands, ['npm ci && npx kpki gen --plan fixtures/ha-cluster.yaml --out ./out', 'npm test'],
    'the README\'s first screen changed: update this test with it');
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.ok(scripts.test!.startsWith('npm run build && '), `npm test no longer starts with the build: ${scripts.test}`);

  const work = tempDir('kpki-readme-');
  for (const f of files) {
    assert.ok(!f.startsWith('node_modules/') && !f.startsWith('dist/'), `${f} should be ignored`);
    mkdirSync(dirname(join(work, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(work, f));
    chmodSync(join(work, f), statSync(join(ROOT, f)).mode & 0o777);
  }
  // Offline from npm's cache where it can; no audit or funding chatter. Set through the
  // environment so the commands run exactly as the README writes them. npm logs at its warning
  // level: the install must be quiet (no install-script warnings: see allowScripts in package.json).
  const env = {
    ...process.env, NO_COLOR: '1', npm_config_prefer_offline: 'true', npm_config_audit: 'false',
    npm_config_fund: 'false', npm_config_update_notifier: 'false', npm_config_loglevel: 'warn',
  };
  const sh = (line: string) => {
    const r = runSync('sh', ['-c', line], { cwd: work, env, boundMs: 240_000 });
    assert.is(r.status, 0, `\`${line}\` exited ${r.status ?? r.error}:\n${r.stderr}\n${r.stdout}`);
    assert.not.match(r.stderr, /npm warn/i, `\`${line}\` printed npm warnings:\n${r.stderr}`);
    return r.stdout;
  };
  const steps = [...commands.map((c) => (c === 'npm test' ? 'npm run build' : c)), 'npx kpki --help'];
  const outputs = steps.map(sh);
  assert.match(outputs[0]!, /^Wrote \d+ files in \.\/out \(\d+ new, 0 replaced\)\.$/m);
  // ha-cluster.yaml is a binary install: no kubeadm join, so no join hash.
  assert.not.match(outputs[0]!, /discovery-token-ca-cert-hash/);
  assert.ok(existsSync(join(work, 'out/nodes/cp-1/etc/kubernetes/pki/apiserver.crt')), 'the example wrote node trees');
  assert.match(outputs[2]!, /kpki gen +Generate/);
  // The build leaves the bin executable (npm only sets the bit when it installs a package).
  assert.is(statSync(join(work, 'dist/cli/main.js')).mode & 0o111, 0o111);
  rmSync(work, { recursive: true, force: true });
});

test.run();
