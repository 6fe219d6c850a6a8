/**
 * Packaging: `npm pack` the project as a release does, install the tarball into an empty project
 * and use it the way a consumer would — the `kpki` bin through npx, and the library's types
 * through tsc. The install must be silent: the packed package.json has no scripts (prepack
 * strips them, postpack puts them back), so npm has no install script to warn about.
 *
 * Packing runs the real `prepack` (a build), so it runs in a copy of the project (with this
 * checkout's node_modules linked in) and never rebuilds or edits the tree the tests run from.
 */
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, FIXTURES, tempDir } from '../support/cli.js';
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

function run(cmd: string, args: readonly string[], cwd: string, timeout = 30_000, loglevel = 'error'): Run {
  const r = runSync(cmd, args, {
    cwd,
    boundMs: timeout,
    env: { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false', npm_config_loglevel: loglevel },
  });
  if (r.error) return { status: null, stdout: r.stdout ?? '', stderr: `${String(r.error)}\n${r.stderr ?? ''}` };
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: Run, what: string): Run {
  assert.is(r.status, 0, `${what} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r;
}

/**
 * A copy of the project's sources to pack: the files a fresh clone holds (tracked and
 * untracked-but-not-ignored) when this is a git checkout, else everything but build output and
 * installed packages. node_modules is a link to this checkout's.
 */
function copyOfProject(dest: string): string {
  const git = runSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT });
  if (git.status === 0) {
    for (const f of git.stdout.split('\0').filter((f) => f && existsSync(join(ROOT, f)))) {
      mkdirSync(dirname(join(dest, f)), { recursive: true });
      copyFileSync(join(ROOT, f), join(dest, f));
      chmodSync(join(dest, f), statSync(join(ROOT, f)).mode & 0o777);
    }
  } else {
    const skip = new Set(['node_modules', 'dist', '.git', 'out', 'package.json.prepack', join('bench', '.work')].map((f) => join(ROOT, f)));
    cpSync(ROOT, dest, { recursive: true, filter: (src) => !skip.has(src) && !src.endsWith('.tgz') });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dest, 'node_modules'), 'dir');
  return dest;
}

/** What `npm install <tarball>` printed in the consumer, at npm's warning level. */
let installOutput = '';

/** The packed tarball and its file list; packed and installed once, failures remembered. */
let setup: { tarball: string; files: string[]; src: string } | Error | undefined;
function installed(): { tarball: string; files: string[]; src: string } {
  if (setup === undefined) {
    try {
      const src = copyOfProject(join(work, 'src'));
      // With scripts, as `npm publish` packs: prepack builds and strips package.json, postpack restores it.
      ok(run(NPM, ['pack', '--pack-destination', work], src, 120_000), 'npm pack');
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
      // Offline from npm's cache where it can; at the warning level, so a warning would show.
      const inst = ok(run(NPM, ['install', tarball, CONSUMER_TYPESCRIPT, '--no-audit', '--no-fund', '--prefer-offline'], proj, 90_000, 'warn'), 'npm install <tarball>');
      installOutput = `${inst.stderr}${inst.stdout}`;
      setup = { tarball, files, src };
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

test('the tarball carries the Apache-2.0 text, and no scripts: installing it runs nothing and npm warns of nothing', () => {
  const { src } = installed();
  assert.match(readFileSync(join(proj, 'node_modules/kpki/LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004/);
  assert.not.match(installOutput, /install.scripts|allowScripts/i, `npm install <tarball> warned about install scripts:\n${installOutput}`);
  assert.not.match(installOutput, /npm warn/i, `npm install <tarball> warned:\n${installOutput}`);
  const pkg = JSON.parse(readFileSync(join(proj, 'node_modules/kpki/package.json'), 'utf8')) as Record<string, unknown>;
  // npm runs preinstall/install/postinstall of a dependency, and prepare of one from a tarball,
  // folder or git; the published manifest has none of them, nor any other script.
  assert.is(pkg['scripts'], undefined, `scripts in the tarball: ${JSON.stringify(pkg['scripts'])}`);
  assert.is(pkg['allowScripts'], undefined, 'allowScripts (the repository\'s own install policy) in the tarball');
  assert.is(pkg['version'], version);
  // postpack put the project's own package.json back as it was.
  assert.is(readFileSync(join(src, 'package.json'), 'utf8'), readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.not.ok(existsSync(join(src, 'package.json.prepack')), 'package.json.prepack left behind');
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

/** The consumer program: the library's public API, as an embedding program uses it. */
const CONSUMER_PROGRAM = `import { loadPlan, generate, generateFiles, joinFacts, kubeadmConfigs, preflightViolations, rbacManifests, cfsslPath, caCertHash, bootstrapToken,
  memorySink, check, renderPrometheus, parsePlan, resolve, fileSpecs, leafPaths, decide, FINDINGS, CATALOG,
  type Plan, type CatalogEntry, type GenerateReport, type ClusterJoinFacts, type MemoryFile, type CheckReport, type FindingCode,
  type WantedFile, type ResolvedPki } from 'kpki';
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
export async function audit(out: string): Promise<string> {
  const report: CheckReport = await check({ out, plan: parsePlan('apiVersion: kpki/v1alpha1', 'x.yaml') });
  const codes: FindingCode[] = report.findings.map((x) => x.code);
  return renderPrometheus(report) + codes.join() + Object.keys(FINDINGS).length;
}
export function paths(pki: ResolvedPki): string[] {
  const leaf = pki.leaves[0];
  return [...fileSpecs(pki).map((s) => s.path), ...(leaf ? Object.values(leafPaths(leaf)) : [])];
}
export const wanted: WantedFile = { path: 'p', mode: 0o644, content: 'x', protected: false };
export const decided: typeof decide = decide;
export async function g(plan: Plan): Promise<void> {
  // @ts-expect-error -- GenerateOptions.out is required
  await generate(plan, {});
}
// @ts-expect-error -- CATALOG is not a number: the import is typed, not any
export const n: number = CATALOG;
export const r = resolve;
`;

/**
 * Two consumer projects' settings. (a) what a new project gets from \`tsc --init\` (TypeScript 5.9
 * and later: strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, module nodenext), with
 * skipLibCheck off so kpki's own declarations are checked too. (b) what \`tsc --init\` gave before
 * 5.9 (strict, CommonJS with node10 resolution, es2016, esModuleInterop), with skipLibCheck off as well.
 */
const STRICT_CONSUMER = {
  module: 'nodenext', target: 'esnext', strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true,
  verbatimModuleSyntax: true, isolatedModules: true, moduleDetection: 'force', skipLibCheck: false,
};
const OLDER_DEFAULTS = { target: 'es2016', module: 'commonjs', esModuleInterop: true, forceConsistentCasingInFileNames: true, strict: true, skipLibCheck: false };

/** Writes tsconfig.<name>.json over `files` and runs `tsc -p` with the given compiler. */
function typecheck(tsc: string, name: string, options: Record<string, unknown>, files: readonly string[]): Run {
  writeFileSync(join(proj, `tsconfig.${name}.json`), JSON.stringify({
    compilerOptions: { ...options, noEmit: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
    files,
  }, null, 2));
  return run(process.execPath, [tsc, '-p', `tsconfig.${name}.json`], proj, 60_000);
}

const CONSUMER_TSC = () => join(proj, 'node_modules/typescript/bin/tsc');
/** The compiler kpki is built with: the newest, whose `tsc --init` is setting (a). */
const OWN_TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/**
 * One compile per setting: the consumer program, which must pass, with a broken consumer beside
 * it, which must fail (so a pass is not vacuous: the compiler does check kpki's types); every
 * error must be that one, in bad.ts.
 */
function assertConsumerTypechecks(tsc: string, name: string, options: Record<string, unknown>, extra: readonly string[] = []): void {
  writeFileSync(join(proj, 'check.ts'), CONSUMER_PROGRAM);
  writeFileSync(join(proj, 'bad.ts'), `import { generate, type Plan } from 'kpki';\nexport const x = (plan: Plan) => generate(plan, {});\n`);
  const r = typecheck(tsc, name, options, ['check.ts', 'bad.ts', ...extra]);
  const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
  assert.is.not(r.status, 0, `${name}: tsc accepted generate(plan, {}) in bad.ts`);
  assert.ok(errors.length > 0 && errors.every((l) => l.startsWith('bad.ts')), `${name}: errors outside bad.ts:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^bad\.ts\(2,\d+\): error TS\d+[^]*'out'/m, `${name}: not the missing-out error:\n${r.stdout}`);
}

test('library types: a consumer of the public API typechecks under strict consumer settings (exactOptionalPropertyTypes, skipLibCheck off), TypeScript 5.0 and the newest', () => {
  installed();
  assert.match(ok(run(process.execPath, [CONSUMER_TSC(), '--version'], proj), 'tsc --version').stdout, /^Version 5\.0\./);
  // The settings are in force: an explicit undefined for an optional property is refused.
  writeFileSync(join(proj, 'exact.ts'), 'interface Own { a?: string }\n// @ts-expect-error -- exactOptionalPropertyTypes is on\nexport const own: Own = { a: undefined };\n');
  assertConsumerTypechecks(CONSUMER_TSC(), 'strict', STRICT_CONSUMER, ['exact.ts']);
  assertConsumerTypechecks(OWN_TSC, 'strict', STRICT_CONSUMER, ['exact.ts']);
});

test('library types: the same consumer typechecks under the older tsc --init defaults (CommonJS, node10 resolution, skipLibCheck off)', () => {
  installed();
  assertConsumerTypechecks(CONSUMER_TSC(), 'older', OLDER_DEFAULTS);
});

test.run();
