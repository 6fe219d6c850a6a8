/**
 * `layout:` in its two forms: the name (`layout: cfssl`), or the name with the cfssl layout's
 * directories (`layout: { name: cfssl, kubernetesDir: /k8s/kubernetes/ssl, ... }`). Every bad
 * value is one diagnostic naming the file, line and field; the shipped JSON Schema (what editors
 * use) accepts and refuses the same shapes. Expectations are written here by hand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import AjvModule from 'ajv';
import { PlanError, type PlanDiagnostic } from '../../pki/errors.js';
import { parsePlan, readPlanLocated, readPlanQuickly } from '../../pki/plan/parse.js';
import { ROOT } from '../support/cli.js';

const Ajv = AjvModule as unknown as typeof AjvModule.default;

const plan = (layout: string, extra = '') => `apiVersion: kpki/v1alpha1
kind: Cluster
${extra}${layout}
nodes:
  - { name: cp-1, address: 192.0.2.10, roles: [control-plane] }
`;

function diagnostics(text: string): readonly PlanDiagnostic[] {
  try {
    parsePlan(text, 'cluster.yaml');
  } catch (err) {
    assert.instance(err, PlanError);
    return (err as PlanError).diagnostics;
  }
  assert.unreachable('expected a PlanError');
  return [];
}

test('the string form keeps working; cfssl gets the guides\' directories', () => {
  assert.is(parsePlan(plan('layout: kubeadm')).layout, 'kubeadm');
  assert.is(parsePlan(plan('layout: kubeadm')).layoutDirs, undefined);
  assert.is(parsePlan(plan('')).layout, 'kubeadm');
  const cfssl = parsePlan(plan('layout: cfssl'));
  assert.is(cfssl.layout, 'cfssl');
  assert.equal(cfssl.layoutDirs, { kubernetesDir: '/etc/kubernetes/ssl', etcdDir: '/etc/etcd/ssl', kubeconfigDir: '/etc/kubernetes' });
});

test('the object form: the three directories as written (a trailing / dropped), unset ones the guides\'', () => {
  const text = plan('layout:\n  name: cfssl\n  kubernetesDir: /k8s/kubernetes/ssl\n  etcdDir: /k8s/etcd/ssl/\n  kubeconfigDir: /k8s/kubernetes/cfg');
  const p = parsePlan(text);
  assert.is(p.layout, 'cfssl');
  assert.equal(p.layoutDirs, { kubernetesDir: '/k8s/kubernetes/ssl', etcdDir: '/k8s/etcd/ssl', kubeconfigDir: '/k8s/kubernetes/cfg' });
  assert.equal(parsePlan(plan('layout: { name: cfssl, etcdDir: /srv/etcd-ssl }')).layoutDirs, { kubernetesDir: '/etc/kubernetes/ssl', etcdDir: '/srv/etcd-ssl', kubeconfigDir: '/etc/kubernetes' });
  assert.is(parsePlan(plan('layout: { name: kubeadm }')).layout, 'kubeadm');
  // Both YAML readers agree (js-yaml for valid plans, yaml for located errors).
  assert.equal(readPlanQuickly(text, 'x'), readPlanLocated(text, 'x'));
  const flow = plan('layout: { name: cfssl, kubernetesDir: /k8s/kubernetes/ssl, kubeconfigDir: /k8s/kubernetes/cfg }');
  assert.ok(readPlanQuickly(flow, 'x'), 'a valid object form takes the fast path');
  assert.equal(readPlanQuickly(flow, 'x'), readPlanLocated(flow, 'x'));
});

/** [the layout lines, line, column, field, the message] — each plan has exactly this one problem. */
const BAD: ReadonlyArray<readonly [string, number, number, string, string]> = [
  ['layout: { name: cfssl, kubernetesDir: k8s/kubernetes/ssl }', 3, 39, 'layout.kubernetesDir',
    '"k8s/kubernetes/ssl" is not an absolute path; write it from the root, e.g. /k8s/kubernetes/ssl'],
  ['layout:\n  name: cfssl\n  etcdDir: /k8s/../etc/etcd', 5, 12, 'layout.etcdDir',
    '"/k8s/../etc/etcd" has a "." or ".." segment; write the directory itself, e.g. /k8s/kubernetes/ssl'],
  ['layout: { name: cfssl, kubeconfigDir: /k8s/./cfg }', 3, 39, 'layout.kubeconfigDir',
    '"/k8s/./cfg" has a "." or ".." segment; write the directory itself, e.g. /k8s/kubernetes/ssl'],
  ['layout: { name: cfssl, kubernetesDir: / }', 3, 39, 'layout.kubernetesDir',
    '"/" is the root directory; name a directory below it, e.g. /k8s/kubernetes/ssl'],
  ['layout: { name: cfssl, kubernetesDir: //k8s }', 3, 39, 'layout.kubernetesDir', '"//k8s" has an empty segment ("//")'],
  ['layout: { name: cfssl, kubernetesDir: "/k8s/my ssl" }', 3, 39, 'layout.kubernetesDir',
    '"/k8s/my ssl" has " " in it; use letters, digits and . _ - + @ only (systemd units and shells take these unquoted)'],
  ['layout: { name: cfssl, kubernetesDir: 5 }', 3, 39, 'layout.kubernetesDir', 'must be an absolute directory such as /etc/kubernetes/ssl (got number)'],
  ['layout: { name: cfssl, kubernetesDir: /k8s/ssl, etcdDir: /k8s/ssl }', 3, 58, 'layout.etcdDir',
    'etcdDir and kubernetesDir are both /k8s/ssl; they need directories of their own, since both hold a ca.pem and a server.pem'],
  ['layout: { name: cfssl, etcdDir: /etc/kubernetes/ssl/ }', 3, 33, 'layout.etcdDir',
    'etcdDir and kubernetesDir are both /etc/kubernetes/ssl; they need directories of their own, since both hold a ca.pem and a server.pem'],
  ['layout: { name: kubeadm, kubernetesDir: /k8s/kubernetes/ssl }', 3, 41, 'layout.kubernetesDir',
    "kubeadm's layout has fixed directories (/etc/kubernetes/pki, kubeconfigs in /etc/kubernetes), as kubeadm reads them; directories are set with name: cfssl"],
  ['layout: { name: cfssl, kubernetesdir: /k8s/kubernetes/ssl }', 3, 24, 'layout.kubernetesdir', 'unknown field "kubernetesdir" (did you mean "kubernetesDir"?)'],
  ['layout: { kubernetesDir: /k8s/kubernetes/ssl }', 3, 1, 'layout.name', 'missing required field "name"'],
  ['layout: { name: cfsl }', 3, 17, 'layout.name', 'must be one of kubeadm, cfssl (got "cfsl"); did you mean "cfssl"?'],
  ['layout: cfsl', 3, 9, 'layout', 'must be one of kubeadm, cfssl (got "cfsl"); did you mean "cfssl"?'],
  ['layout: [cfssl]', 3, 1, 'layout',
    'must be a layout name (kubeadm or cfssl) or a mapping such as { name: cfssl, kubernetesDir: /k8s/kubernetes/ssl } (got a list)'],
  ['deploy: kubeadm\nlayout: { name: cfssl, kubernetesDir: /k8s/kubernetes/ssl }', 4, 1, 'layout',
    'layout cfssl only works with deploy: binary; kubeadm reads /etc/kubernetes/pki with its own file names, so use layout: kubeadm (the default) with deploy: kubeadm'],
];

for (const [layout, line, column, field, message] of BAD) {
  test(`a bad layout is one located diagnostic: ${JSON.stringify(layout)}`, () => {
    const d = diagnostics(plan(layout));
    assert.equal(d.map((x) => [x.file, x.line, x.column, x.field, x.message]), [['cluster.yaml', line, column, field, message]]);
  });
}

test('the shipped JSON Schema (editors) takes both forms and refuses a relative or .. directory', () => {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schema/cluster.schema.json'), 'utf8')) as object;
  const validate = new Ajv({ strict: true, allErrors: true }).compile(schema);
  const doc = (layout: unknown) => ({ apiVersion: 'kpki/v1alpha1', kind: 'Cluster', layout, nodes: [{ name: 'cp-1', address: '192.0.2.10', roles: ['control-plane'] }] });
  for (const ok of ['cfssl', 'kubeadm', { name: 'cfssl' }, { name: 'cfssl', kubernetesDir: '/k8s/kubernetes/ssl', etcdDir: '/k8s/etcd/ssl/', kubeconfigDir: '/k8s/kubernetes/cfg' }, { name: 'cfssl', etcdDir: '/srv/...x' }]) {
    assert.ok(validate(doc(ok)), `${JSON.stringify(ok)}: ${JSON.stringify(validate.errors)}`);
  }
  for (const bad of ['cfsl', 3, { kubernetesDir: '/k8s' }, { name: 'cfssl', kubernetesDir: 'k8s/ssl' }, { name: 'cfssl', etcdDir: '/k8s/../etc' },
    { name: 'cfssl', etcdDir: '/k8s/./etc' }, { name: 'cfssl', etcdDir: '/' }, { name: 'cfssl', etcdDir: '//k8s' }, { name: 'cfssl', etcdDir: '/a b' }, { name: 'cfssl', dir: '/k8s' }]) {
    assert.not.ok(validate(doc(bad)), `${JSON.stringify(bad)} passed the schema`);
  }
});

test.run();
