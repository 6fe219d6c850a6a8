/**
 * Packaging: `npm pack` the built project, install the tarball into an empty project and use it
 * the way a consumer would — the `kpki` bin through npx, and the library's types through tsc.
 * Runs after the build; packing uses --ignore-scripts so `prepack` does not rebuild.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, FIXTURES, hashTree, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';
/** The oldest TypeScript the published types promise to compile with, installed from npm into the consumer. */
const CONSUMER_TYPESCRIPT = 'typescript@5.0';
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const work = tempDir('kpki-pack-');
const proj = join(work, 'consumer');
process.on('exit', () => rmSync(work, { recursive: true, force: true, maxRetries: 3 }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Throws if `cmd` is still running after `timeout` ms. */
function run(cmd: string, args: readonly string[], cwd: string, timeout = 30_000): Run {
  const r = runSync(cmd, args, {
    cwd,
    boundMs: timeout,
    env: { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false', npm_config_loglevel: 'error' },
  });
  if (r.error) return { status: null, stdout: r.stdout ?? '', stderr: `${String(r.error)}\n${r.stderr ?? ''}` };
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: Run, what: string): Run {
  assert.is(r.status, 0, `${what} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r;
}

/** The packed tarball and its file list; packed and installed once, failures remembered. */
let setup: { tarball: string; files: string[] } | Error | undefined;
function installed(): { tarball: string; files: string[] } {
  if (setup === undefined) {
    try {
      ok(run(NPM, ['pack', '--pack-destination', work, '--ignore-scripts'], ROOT), 'npm pack');
      const tgz = readdirSync(work).filter((f) => f.endsWith('.tgz'));
      assert.equal(tgz, [`kpki-${version}.tgz`], `expected one tarball, got ${tgz.join(', ')}`);
      const tarball = join(work, tgz[0]!);
      const files = ok(run('tar', ['-tzf', tarball], work), 'tar -t')
        .stdout.split('\n')
        .filter(Boolean)
        .map((f) => f.replace(/^package\//, ''));

      mkdirSync(proj);
      ok(run(NPM, ['init', '-y'], proj), 'npm init');
      // An ESM consumer, like the package itself.
      const pkgPath = join(proj, 'package.json');
      writeFileSync(pkgPath, JSON.stringify({ ...JSON.parse(readFileSync(pkgPath, 'utf8')), type: 'module' }, null, 2));
      ok(run(NPM, ['install', tarball, CONSUMER_TYPESCRIPT, '--no-audit', '--no-fund', '--prefer-offline'], proj, 90_000), 'npm install <tarball>');
      setup = { tarball, files };
    } catch (err) {
      setup = err instanceof Error ? err : new Error(String(err));
    }
  }
  if (setup instanceof Error) throw setup;
  return setup;
}

const npx = (args: readonly string[]) => run(NPX, ['--no', '--', 'kpki', ...args], proj);

test('npm pack: tarball ships the library, CLI and schema, not tests, bench or node_modules', () => {
  const { files } = installed();
  assert.ok(files.includes('package.json'));
  assert.ok(files.includes('schema/cluster.schema.json'), 'schema/cluster.schema.json missing');
  assert.ok(files.includes('dist/pki/index.d.ts'), 'dist/pki/index.d.ts missing');
  assert.ok(files.includes('dist/pki/index.js'), 'dist/pki/index.js missing');
  assert.ok(files.includes('dist/cli/main.js'), 'dist/cli/main.js missing');
  for (const banned of ['dist/test/', 'bench/', 'dist/bench/', 'node_modules/', 'test/']) {
    const hits = files.filter((f) => f.startsWith(banned) || f.includes(`/${banned}`));
    assert.equal(hits, [], `tarball must not contain ${banned}`);
  }
  assert.not.ok(files.some((f) => /\.ts$/.test(f) && !/\.d\.ts$/.test(f)), 'TypeScript sources shipped');
  assert.ok(files.includes('LICENSE'), 'LICENSE missing');
});

test('the tarball carries the Apache-2.0 text, and installing it runs no build', () => {
  installed();
  assert.match(readFileSync(join(proj, 'node_modules/kpki/LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004/);
  const scripts = (JSON.parse(readFileSync(join(proj, 'node_modules/kpki/package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
  // npm runs these when a consumer installs the package; none may build (no tsc, no sources there).
  for (const hook of ['preinstall', 'install', 'postinstall']) assert.is(scripts[hook], undefined, `${hook} script in the tarball`);
  // `prepare` builds a source checkout (so `npm ci && npx kpki` works in the repository) and is
  // a no-op where there are no sources: run it in the installed package and see nothing change.
  if (scripts.prepare !== undefined) {
    const pkgDir = join(proj, 'node_modules/kpki');
    const before = hashTree(pkgDir);
    const r = runSync('npm', ['run', 'prepare', '--silent'], { cwd: pkgDir });
    assert.is(r.status, 0, r.stderr);
    assert.equal([...hashTree(pkgDir)], [...before], 'prepare changed the installed package');
  }
});

test('installed bin: npx kpki init writes a starter plan that npx kpki gen --dry-run accepts', () => {
  installed();
  ok(npx(['init', '--out', 'starter.yaml']), 'npx kpki init');
  assert.match(readFileSync(join(proj, 'starter.yaml'), 'utf8'), /^# yaml-language-server/);
  ok(npx(['gen', '--plan', 'starter.yaml', '--out', './starter-out', '--dry-run']), 'npx kpki gen --dry-run');
});

test('installed bin: npx kpki --version prints the package version', () => {
  installed();
  assert.ok(existsSync(join(proj, 'node_modules/kpki/package.json')));
  const r = ok(npx(['--version']), 'npx kpki --version');
  assert.is(r.stdout.trim(), version);
});

test('installed bin: npx kpki --help lists gen, ca-hash, token, certificate-key', () => {
  installed();
  const r = ok(npx(['--help']), 'npx kpki --help');
  for (const cmd of ['init', 'gen', 'join-command', 'ca-hash', 'token', 'certificate-key']) {
    assert.match(r.stdout, new RegExp(`^\\s*kpki ${cmd}\\s`, 'm'), `--help does not list ${cmd}:\n${r.stdout}`);
  }
});

test('installed bin: npx kpki gen writes a PKI', () => {
  installed();
  ok(npx(['gen', '--plan', join(FIXTURES, 'single-cp.yaml'), '--out', './out']), 'npx kpki gen');
  assert.ok(existsSync(join(proj, 'out/pki/ca.crt')), 'out/pki/ca.crt missing');
  assert.match(readFileSync(join(proj, 'out/pki/ca.crt'), 'utf8'), /^-----BEGIN CERTIFICATE-----/);
});

test('library types: a consumer program importing kpki typechecks with TypeScript 5.0, skipLibCheck off (and wrong calls do not)', () => {
  installed();
  writeFileSync(
    join(proj, 'check.ts'),
    `import { loadPlan, generate, generateFiles, joinFacts, kubeadmConfigs, preflightViolations, rbacManifests, cfsslPath, caCertHash, bootstrapToken,
  memorySink, CATALOG, type Plan, type CatalogEntry, type GenerateReport, type ClusterJoinFacts, type MemoryFile } from 'kpki';
export const p: Promise<Plan> = loadPlan('x');
export async function embed(plan: Plan): Promise<[Map<string, MemoryFile>, ClusterJoinFacts, string]> {
  const { files } = await generateFiles(plan);
  const facts = await joinFacts(plan, memorySink(files));
  const cfg = kubeadmConfigs(plan, facts).get(plan.nodes[0]!.name) ?? '';
  preflightViolations(plan, 'join-worker', []);
  return [files, facts, cfg + rbacManifests(plan) + (cfsslPath('ca', 'crt') ?? '') + caCertHash('pem') + bootstrapToken()];
}
export const e: readonly CatalogEntry[] = CATALOG;
export async function f(plan: Plan): Promise<GenerateReport> {
  return generate(plan, { out: 'o' });
}
export async function g(plan: Plan): Promise<void> {
  // @ts-expect-error -- GenerateOptions.out is required
  await generate(plan, {});
}
// @ts-expect-error -- CATALOG is not a number: the import is typed, not any
export const n: number = CATALOG;
`,
  );
  const tsc = (file: string) =>
    run(process.execPath, [
      join(proj, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck', 'false', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), file,
    ], proj);
  assert.match(ok(run(process.execPath, [join(proj, 'node_modules/typescript/bin/tsc'), '--version'], proj), 'tsc --version').stdout, /^Version 5\.0\./);
  const r = tsc('check.ts');
  assert.is(r.status, 0, `tsc check.ts failed:\n${r.stdout}\n${r.stderr}`);

  // The same compiler does reject a broken consumer, so the pass above is not vacuous.
  writeFileSync(join(proj, 'bad.ts'), `import { generate, type Plan } from 'kpki';\nexport const x = (plan: Plan) => generate(plan, {});\n`);
  const bad = tsc('bad.ts');
  assert.is.not(bad.status, 0, 'tsc accepted generate(plan, {})');
  assert.match(bad.stdout, /bad\.ts.*error TS\d+.*out/s);
});

test.run();
