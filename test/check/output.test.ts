/**
 * Outputs and agreement: `--json` validates against the shipped schema, `--prometheus` passes
 * `promtool check metrics`, and on one tree with planted faults `check --plan` flags with a
 * reissue-remedy code exactly the leaves `gen --dry-run` would reissue.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { FIXTURES, kpki, ROOT, tempDir } from '../support/cli.js';
import { runSync } from '../support/proc.js';
import { check } from '../../pki/check/check.js';
import { generate } from '../../pki/gen/generate.js';
import { loadPlan } from '../../pki/plan/load.js';
import { opensslLeaf, run, runCheck } from './tools.js';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const PLAN = join(FIXTURES, 'single-cp.yaml');
const base = join(tempDir('kpki-check-out-'), 'out');
const PKI = 'nodes/cp-1/etc/kubernetes/pki';

/** A tree with a mix of faults: some gen reissues, some it only chmods, some are information. */
function faulty(): string {
  const out = join(tempDir('kpki-check-mix-'), 'out');
  cpSync(base, out, { recursive: true });
  const ca = { crt: join(out, 'pki/ca.crt'), key: join(out, 'pki/ca.key') };
  const kubelet = join(out, 'nodes/worker-1/var/lib/kubelet/pki/kubelet');
  opensslLeaf({ subj: '/O=system:nodes/CN=system:node:worker-1', ca, eku: 'serverAuth', san: 'DNS:worker-1,IP:192.0.2.21', days: 3 }, `${kubelet}.crt`, `${kubelet}.key`);
  chmodSync(`${kubelet}.key`, 0o600);
  opensslLeaf({ subj: '/CN=kube-apiserver', ca, eku: 'serverAuth', san: 'DNS:kubernetes,IP:10.96.0.1' }, join(out, PKI, 'apiserver.crt'), join(out, PKI, 'apiserver.key'));
  chmodSync(join(out, PKI, 'apiserver.key'), 0o600);
  run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(out, PKI, 'front-proxy-client.key')]);
  chmodSync(join(out, PKI, 'apiserver-kubelet-client.key'), 0o644);
  const sched = join(out, 'nodes/cp-1/etc/kubernetes/scheduler.conf');
  writeFileSync(sched, readFileSync(sched, 'utf8').replace('server: https://192.0.2.10:6443', 'server: https://192.0.2.99:6443'));
  return out;
}

test.before(() => {
  const r = kpki(['gen', '--plan', PLAN, '--out', base]);
  assert.is(r.status, 0, r.stderr);
});

test('--json validates against schema/check-report.schema.json (clean and faulty trees, host and store modes)', () => {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schema/check-report.schema.json'), 'utf8')) as object;
  const validate = new Ajv({ strict: true, allErrors: true, formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/ } }).compile(schema);
  const out = faulty();
  for (const args of [['--out', base], ['--out', out, '--plan', PLAN], [join(out, 'nodes/cp-1')], [join(out, 'nodes/cp-1'), '--plan', PLAN, '--kubernetes-version', 'v1.31.2']]) {
    const { report } = runCheck(args);
    assert.ok(validate(report), JSON.stringify(validate.errors, null, 1));
  }
  assert.equal(runCheck([join(out, 'nodes/cp-1'), '--kubernetes-version', 'v1.31.2']).report.kubernetesVersion, { version: '1.31.2', source: '--kubernetes-version' });
  // The schema is strict: a report with an unknown field does not validate.
  assert.not.ok(validate({ ...runCheck(['--out', base]).report, extra: 1 }));
});

test('--prometheus passes promtool check metrics and carries the exporter metric names', () => {
  for (const args of [['--out', base], ['--out', faulty(), '--plan', PLAN]]) {
    const r = kpki(['check', ...args, '--prometheus']);
    assert.ok(r.status !== null && r.status <= 2, r.stderr);
    const lint = runSync('promtool', ['check', 'metrics'], { input: r.stdout });
    assert.is(lint.status, 0, `${lint.stdout}${lint.stderr}`);
    assert.match(r.stdout, /^x509_cert_not_after\{filename="apiserver\.crt",filepath="nodes\/cp-1\/etc\/kubernetes\/pki\/apiserver\.crt",.*subject_CN="kube-apiserver".*\} \d{10}$/m);
    assert.match(r.stdout, /^x509_cert_expired\{.*filename="admin\.conf",.*embedded_kind="user".*\} 0$/m);
    assert.match(r.stdout, /^# TYPE x509_cert_not_before gauge$/m);
    assert.match(r.stdout, /^kpki_check_findings\{severity="critical",code="expired"\} 0$/m);
  }
  const bad = kpki(['check', '--out', faulty(), '--plan', PLAN, '--prometheus']).stdout;
  assert.match(bad, /^kpki_check_findings\{severity="critical",code="expiring-critical"\} 1$/m);
  assert.match(bad, /^kpki_check_status 2$/m);
});

test('gen --dry-run and check --plan agree: reissued by gen ⇔ a reissue-remedy finding in check', async () => {
  const out = faulty();
  const plan = await loadPlan(PLAN);
  const dry = await generate(plan, { out, dryRun: true });
  const reissued = new Set(dry.items.filter((i) => i.action === 'issue').map((i) => i.ref));
  const report = await check({ out, plan });
  const flagged = new Set(report.findings.filter((f) => f.ref !== undefined && report.codes[f.code]!.remedy === 'reissue').map((f) => f.ref!));
  assert.equal([...flagged].sort(), [...reissued].sort());
  // Written by hand: what was planted.
  assert.equal([...reissued].sort(), ['apiserver@cp-1', 'front-proxy-client@cp-1', 'kubelet-serving@worker-1']);
  const rewritten = dry.items.filter((i) => i.action === 'rewrite').map((i) => i.ref);
  assert.equal(rewritten, ['scheduler.conf@cp-1']);
  assert.ok(report.findings.some((f) => f.ref === 'scheduler.conf@cp-1' && f.code === 'kubeconfig-server'));
  assert.ok(report.findings.some((f) => f.code === 'key-permissions' && f.file === `${PKI}/apiserver-kubelet-client.key`));
  assert.is(report.exitCode, 2);
});

test.run();
