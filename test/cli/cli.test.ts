/** The CLI contract: exit codes, bad plans writing nothing, --help/--version, join helpers. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { CLI, FIXTURES, ROOT, kpki, listFiles, sh, tempDir, writePlan } from '../support/cli.js';
import { runSync } from '../support/proc.js';

const invalid = readdirSync(join(FIXTURES, 'invalid')).filter((f) => f.endsWith('.yaml')).sort();

test('every broken plan: exit 2, a file:line:column message, nothing written', () => {
  assert.ok(invalid.length >= 14, `only ${invalid.length} invalid fixtures`);
  const dir = tempDir();
  for (const f of invalid) {
    const out = join(dir, f);
    const r = kpki(['gen', '--plan', join(FIXTURES, 'invalid', f), '--out', out]);
    assert.is(r.status, 2, `${f}: status ${r.status}\n${r.stderr}`);
    const located = f === 'empty.yaml' ? '' : ':\\d+:\\d+'; // an empty file has no line to point at
    assert.match(r.stderr, new RegExp(`invalid/${f.replace('.', '\\.')}${located}: `), `${f}: ${r.stderr}`);
    assert.not.match(r.stderr, /\n\s+at /, `${f}: no stack trace for bad input`);
    assert.ok(!existsSync(out), `${f}: output directory must not be created`);
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a missing plan file: exit 2 naming the file', () => {
  const r = kpki(['gen', '--plan', '/nonexistent/cluster.yaml', '--out', join(tempDir(), 'o')]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /\/nonexistent\/cluster\.yaml/);
});

test('several problems are all reported, each with its line', () => {
  const plan = writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
networking:
  serviceSubnet: 10.96.0.0/40
nodes:
  - { name: Bad_Name, address: 10.0.0.1, roles: [control-plane] }
  - { name: w1, address: 10.0.0.1, roles: [worker] }
`);
  const r = kpki(['gen', '--plan', plan, '--out', join(tempDir(), 'o')]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /cluster\.yaml:4:\d+: networking\.serviceSubnet: /);
  assert.match(r.stderr, /cluster\.yaml:6:\d+: nodes\[0\]\.name: /);
  assert.match(r.stderr, /cluster\.yaml:7:\d+: nodes\[1\]\.address: /);
});

test('usage errors exit 2; --help teaches; --version prints the version', () => {
  assert.is(kpki(['gen']).status, 2);
  assert.is(kpki(['frobnicate']).status, 2);
  const help = kpki(['--help']);
  assert.is(help.status, 0);
  for (const cmd of ['gen', 'ca-hash', 'token', 'certificate-key', 'catalog', 'schema']) assert.match(help.stdout, new RegExp(`kpki ${cmd}`));
  assert.match(help.stdout, /Exit status/);
  assert.match(kpki(['gen', '--help']).stdout, /--dry-run/);
  assert.match(kpki(['--version']).stdout.trim(), /^\d+\.\d+\.\d+/);
});

test('mistyped commands and flags: exit 2 with a suggestion', () => {
  const cases: Array<[string[], RegExp]> = [
    [['gen', '--dry-runn', '-p', 'x.yaml'], /^kpki: Unknown argument: dry-runn\. Did you mean --dry-run\?$/m],
    [['genn'], /^kpki: Unknown argument: genn\. Did you mean gen\?$/m],
    [['catalgo'], /Unknown argument: catalgo\. Did you mean catalog\?/],
    [['token', '--jsno'], /Unknown argument: jsno\. Did you mean --json\?/],
    [['--versoin'], /Unknown argument: versoin\. Did you mean --version\?/],
    [['ca-hash', '--crt', 'x'], /Unknown argument: crt\. Did you mean --cert\?/],
  ];
  for (const [args, expected] of cases) {
    const r = kpki(args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, expected, args.join(' '));
    assert.not.match(r.stderr, /dryRunn/, 'the camel-case copy yargs adds is not shown');
  }
  // Nothing close: no guess, still a usage error.
  const far = kpki(['gen', '--zzzzzz', '-p', 'x.yaml']);
  assert.is(far.status, 2);
  assert.match(far.stderr, /Unknown argument: zzzzzz\.\n/);
  assert.not.match(far.stderr, /Did you mean/);
  // A flag without its value is a usage error too, not a stack trace.
  const bare = kpki(['gen', '--plan']);
  assert.is(bare.status, 2);
  assert.match(bare.stderr, /Not enough arguments following: plan/);
  assert.not.match(bare.stderr, /\n\s+at /);
});

test('--json: any error is also a JSON document on stdout, with its code and exit status', () => {
  const dir = tempDir();
  const file = join(dir, 'a-file');
  writeFileSync(file, 'not a directory\n');
  const cases: Array<[string[], string, number, RegExp]> = [
    [['gen', '--json', '--dry-runn', '-p', 'x.yaml'], 'ERR_USAGE', 2, /^Unknown argument: dry-runn\. Did you mean --dry-run\?$/],
    [['gen', '--json', '--plan', '/nonexistent/cluster.yaml'], 'ERR_PLAN_INVALID', 2, /\/nonexistent\/cluster\.yaml/],
    [['gen', '--json', '--plan', join(FIXTURES, 'single-cp.yaml'), '--out', file], 'ERR_OUT_INVALID', 2, /is not a directory/],
    [['gen', '--json', '--plan', join(FIXTURES, 'single-cp.yaml'), '--lock-timeout', '5w'], 'ERR_USAGE', 2, /^--lock-timeout: .*weeks/],
    [['ca-hash', '--json', '--cert', join(dir, 'nope.crt')], 'ERR_PEM_INVALID', 2, /nope\.crt: no such file/],
  ];
  for (const [args, code, exitCode, message] of cases) {
    const r = kpki(args);
    assert.is(r.status, exitCode, `${args.join(' ')}: ${r.stderr}`);
    const doc = JSON.parse(r.stdout) as { apiVersion: string; kind: string; error: { code: string; message: string; exitCode: number } };
    assert.is(doc.apiVersion, 'kpki/v1alpha1');
    assert.is(doc.kind, 'Error');
    assert.is(doc.error.code, code, args.join(' '));
    assert.is(doc.error.exitCode, exitCode);
    assert.match(doc.error.message, message);
    // The text stays on stderr for people.
    assert.ok(r.stderr.includes(`kpki: ${doc.error.message}`), r.stderr);
  }
  // Without --json, stdout stays empty on errors.
  assert.is(kpki(['gen', '--dry-runn']).stdout, '');
  rmSync(dir, { recursive: true, force: true });
});

test('kpki --help and <command> --help: the fast path prints exactly what yargs prints', () => {
  // The slow path, as the CLI takes it for every other command line: yargs, in-process.
  const viaYargs = (args: string[]) =>
    runSync(process.execPath, ['--input-type=module', '-e', 'await (await import(process.argv[1])).runCli(process.argv.slice(2))',
      pathToFileURL(join(ROOT, 'dist/cli/app.js')).href, ...args], { env: { ...process.env, NO_COLOR: '1' } });
  for (const args of [['--help'], ...['gen', 'ca-hash', 'token', 'certificate-key', 'catalog', 'schema'].map((c) => [c, '--help'])]) {
    const fast = kpki(args);
    const slow = viaYargs(args);
    assert.is(fast.status, 0);
    assert.is(slow.status, 0, slow.stderr);
    assert.ok(fast.stdout.length > 100, `${args.join(' ')}: ${fast.stdout}`);
    assert.fixture(fast.stdout, slow.stdout);
  }
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  assert.is(kpki(['--version']).stdout, `${version}\n`);
  assert.is(viaYargs(['--version']).stdout, `${version}\n`);
  // The fast path loads neither yargs nor the command table: main.js alone, next to its help
  // and package.json, answers; any other command line there fails for want of app.js.
  const alone = tempDir();
  mkdirSync(join(alone, 'dist', 'cli'), { recursive: true });
  for (const f of ['dist/cli/main.js', 'dist/cli/help.json', 'package.json']) copyFileSync(join(ROOT, f), join(alone, f));
  const run = (args: string[]) => runSync(process.execPath, [join(alone, 'dist/cli/main.js'), ...args]);
  assert.is(run(['--help']).stdout, kpki(['--help']).stdout);
  assert.is(run(['gen', '--help']).stdout, kpki(['gen', '--help']).stdout);
  assert.is(run(['--version']).stdout, `${version}\n`);
  assert.is.not(run(['token']).status, 0, 'without app.js a real command cannot run');
  rmSync(alone, { recursive: true, force: true });
});

test('the epilogue lists every exit status, 4 included', () => {
  const help = kpki(['--help']).stdout;
  for (const s of ['0 ok', '1 unexpected failure', '2 bad input', '3 refused', '4 the store is locked']) assert.ok(help.includes(s), s);
});

test('ca-hash --cert refuses a certificate that is not a CA', () => {
  const dir = tempDir();
  const out = join(dir, 'out');
  assert.is(kpki(['gen', '--plan', join(FIXTURES, 'single-cp.yaml'), '--out', out]).status, 0);
  const leaf = join(out, 'pki', '..', 'nodes', 'cp-1', 'etc', 'kubernetes', 'pki', 'apiserver.crt');
  const r = kpki(['ca-hash', '--cert', leaf]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /apiserver\.crt: not a CA certificate \(no basicConstraints CA:TRUE/);
  assert.is(r.stdout, '');
  // An openssl-made CA is accepted.
  sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'o.key'),
    '-out', join(dir, 'o.crt'), '-subj', '/CN=other-ca', '-days', '1', '-addext', 'basicConstraints=critical,CA:TRUE']);
  assert.match(kpki(['ca-hash', '--cert', join(dir, 'o.crt')]).stdout, /^sha256:[0-9a-f]{64}\n$/);
  rmSync(dir, { recursive: true, force: true });
});

test('token and certificate-key have kubeadm\'s formats and are random', () => {
  const t1 = kpki(['token']).stdout.trim();
  const t2 = kpki(['token']).stdout.trim();
  assert.match(t1, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  assert.is.not(t1, t2);
  const k = JSON.parse(kpki(['certificate-key', '--json']).stdout) as { certificateKey: string };
  assert.match(k.certificateKey, /^[0-9a-f]{64}$/);
});

test('ca-hash matches openssl\'s sha256 over the CA SubjectPublicKeyInfo', () => {
  const dir = tempDir();
  const out = join(dir, 'out');
  assert.is(kpki(['gen', '--plan', join(FIXTURES, 'single-cp.yaml'), '--out', out]).status, 0);
  const spki = sh('sh', ['-c', `openssl x509 -in ${out}/pki/ca.crt -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r`]);
  assert.is(kpki(['ca-hash', '--out', out]).stdout.trim(), `sha256:${spki.split(' ')[0]}`);
  const missing = kpki(['ca-hash', '--cert', join(dir, 'nope.crt')]);
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /nope\.crt/);
  rmSync(dir, { recursive: true, force: true });
});

test('catalog --json lists every kind, each with a signer', () => {
  const rows = JSON.parse(kpki(['catalog', '--json']).stdout) as Array<{ id: string; signer: string }>;
  for (const id of ['ca', 'front-proxy-ca', 'etcd-ca', 'sa', 'apiserver', 'apiserver-kubelet-client', 'front-proxy-client',
    'apiserver-etcd-client', 'etcd-server', 'etcd-peer', 'etcd-healthcheck-client', 'kubelet-serving', 'admin.conf',
    'super-admin.conf', 'controller-manager.conf', 'scheduler.conf', 'kubelet.conf', 'kube-proxy.conf']) {
    assert.ok(rows.some((r) => r.id === id), `catalog lacks ${id}`);
  }
});

test('a reader that stops early (| head) ends the output quietly: exit 0, no stack trace', () => {
  const dir = tempDir();
  const workers = Array.from({ length: 40 }, (_, i) => `  - { name: w-${i}, address: 10.1.0.${i + 1}, roles: [worker] }`).join('\n');
  const plan = writePlan(`apiVersion: kpki/v1alpha1\nkind: Cluster\nnodes:\n  - { name: cp, address: 10.0.0.1, roles: [control-plane] }\n${workers}\n`, dir);
  const out = join(dir, 'out');
  assert.is(kpki(['gen', '--plan', plan, '--out', out]).status, 0);
  // Well over a pipe's 64 KiB, so the write meets a closed pipe (EPIPE).
  assert.ok(kpki(['check', '--out', out, '--json']).stdout.length > 100_000);
  const r = runSync('bash', ['-c', `set -o pipefail; ${process.execPath} ${CLI} check --out ${out} --json | head -c 1 >/dev/null`]);
  assert.is(r.status, 0, r.stderr);
  assert.not.match(r.stderr, /EPIPE|Unhandled/);
  rmSync(dir, { recursive: true, force: true });
});

test('progress bar: on a terminal after the delay, and none under CI or with --json', () => {
  // Three tiny runs on a pseudo-terminal (util-linux \`script\`). The test-only variable
  // KPKI_TEST_PROGRESS_AFTER_MS=0 removes the one-second delay that keeps short runs quiet;
  // the delay itself is proven in-process below, with a clock the test controls.
  const dir = tempDir();
  const plan = writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
nodes:
  - { name: cp, address: 10.0.0.1, roles: [control-plane] }
  - { name: w-0, address: 10.1.0.0, roles: [worker] }
  - { name: w-1, address: 10.1.0.1, roles: [worker] }
`, dir);
  const onTty = (args: string, env: NodeJS.ProcessEnv) =>
    runSync('script', ['-qec', `${process.execPath} ${CLI} gen --plan ${plan} ${args}`, '/dev/null'], { env });
  const { CI: _ci, ...noCi } = process.env;
  const now = { ...noCi, KPKI_TEST_PROGRESS_AFTER_MS: '0' };
  const shown = onTty(`--out ${join(dir, 'a')}`, now);
  assert.is(shown.status, 0, shown.stderr);
  // The bar ends full, counting every file the run wrote (46 today: the store's 8, the control
  // plane's 28, 5 per worker).
  const written = listFiles(join(dir, 'a')).filter((f) => f !== '.kpki-tree-index').length; // the sink's own cache is not a change
  assert.match(shown.stdout, new RegExp(`writing +\\[#{30}\\] ${written}/${written}`));
  assert.not.match(onTty(`--out ${join(dir, 'b')}`, { ...now, CI: 'true' }).stdout, /writing +\[/);
  const json = onTty(`--out ${join(dir, 'c')} --json`, now);
  assert.is(json.status, 0);
  assert.not.match(json.stdout, /\[#/);
  rmSync(dir, { recursive: true, force: true });
});

test('progress bar: silent for the first second, then drawn; erased at the end', async () => {
  const { progressBar } = await import('../../cli/output/progress.js');
  let clock = 0;
  const written: string[] = [];
  const stream = { isTTY: true, write: (t: string) => written.push(t) };
  const bar = progressBar(true, { stream, env: {}, now: () => clock });
  bar.update('signing', 1, 4);
  clock = 999;
  bar.update('signing', 2, 4);
  assert.equal(written, [], 'nothing before a second has passed');
  clock = 1000;
  bar.update('signing', 3, 4);
  assert.equal(written, [`\rsigning  [${'#'.repeat(23)}${'.'.repeat(7)}] 3/4\x1b[K`]);
  bar.stop();
  assert.is(written[1], '\r\x1b[2K');
  // Not a terminal, or CI: never.
  const quiet: string[] = [];
  for (const [tty, env] of [[false, {}], [true, { CI: 'true' }]] as const) {
    const b = progressBar(true, { stream: { isTTY: tty, write: (t: string) => quiet.push(t) }, env, now: () => 10_000 });
    b.update('writing', 1, 1);
    b.stop();
  }
  assert.equal(quiet, []);
});

test.run();
