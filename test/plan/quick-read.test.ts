/**
 * The plan's two YAML readers give one answer. js-yaml reads valid plans quickly; yaml reads
 * everything else and locates the problems. Whenever the quick reading returns a plan, the
 * located reading must return the same plan, field for field: on every fixture, on every
 * invalid fixture, and on thousands of plans mutated from them (deterministic seed). A few
 * fields of each fixture are also written out by hand, so a misreading both share fails too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../support/cli.js';
import { PlanError } from '../../pki/errors.js';
import { readPlanLocated, readPlanQuickly } from '../../pki/plan/parse.js';
import type { Plan } from '../../pki/plan/types.js';

const validFiles = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml'));
const valid = validFiles.map((f) => readFileSync(join(FIXTURES, f), 'utf8'));
const invalidDir = join(FIXTURES, 'invalid');
const invalid = readdirSync(invalidDir).filter((f) => f.endsWith('.yaml')).map((f) => readFileSync(join(invalidDir, f), 'utf8'));

function located(text: string): Plan | PlanError {
  try {
    return readPlanLocated(text, 'p.yaml');
  } catch (e) {
    if (e instanceof PlanError) return e;
    throw e;
  }
}

test('every valid fixture is read quickly, equal to the located reading', () => {
  assert.ok(valid.length >= 5);
  for (const text of valid) {
    const quick = readPlanQuickly(text, 'p.yaml');
    assert.ok(quick, text.slice(0, 200));
    assert.equal(quick, located(text));
  }
});

/** Read off fixtures/*.yaml by hand (defaults filled in, addresses canonical). */
const FIXTURE_FACTS: Record<string, unknown> = {
  'cfssl-binary.yaml': {
    cluster: 'kubernetes', minor: 28, deploy: 'binary', layout: 'cfssl', initNode: undefined, endpoint: ['10.0.0.20', 6443], services: ['10.254.0.0/16'],
    externalEtcd: true, keyAlgorithm: 'rsa-2048', certValidityHours: 8760,
    nodes: ['etcd-1 10.0.0.11', 'etcd-2 10.0.0.12', 'etcd-3 10.0.0.13', 'master-1 10.0.0.21', 'master-2 10.0.0.22', 'node-1 10.0.0.31'],
  },
  'dual-stack.yaml': {
    cluster: 'dual', minor: undefined, deploy: 'binary', layout: 'kubeadm', initNode: undefined, endpoint: ['fd00::10', 6443], services: ['fd00:10:96::/112', '10.96.0.0/16'],
    externalEtcd: false, keyAlgorithm: 'ecdsa-p256', certValidityHours: 8760,
    nodes: ['cp-1 fd00::11', 'cp-2 fd00::12', 'worker-1 fd00::21'],
  },
  'external-etcd.yaml': {
    cluster: 'kubernetes', minor: undefined, deploy: 'binary', layout: 'kubeadm', initNode: undefined, endpoint: ['10.0.0.21', 6443], services: ['10.254.0.0/16'],
    externalEtcd: true, keyAlgorithm: 'rsa-2048', certValidityHours: 87600,
    nodes: ['etcd-1 10.0.0.11', 'etcd-2 10.0.0.12', 'etcd-3 10.0.0.13', 'cp-1 10.0.0.21', 'worker-1 10.0.0.31'],
  },
  'ha-cluster.yaml': {
    cluster: 'prod', minor: undefined, deploy: 'binary', layout: 'kubeadm', initNode: undefined, endpoint: ['k8s-api.example.internal', 6443], services: ['10.96.0.0/12'],
    externalEtcd: false, keyAlgorithm: 'ecdsa-p256', certValidityHours: 8760,
    nodes: ['lb 192.0.2.100', 'cp-1 192.0.2.11', 'cp-2 192.0.2.12', 'cp-3 192.0.2.13', 'worker-1 192.0.2.21', 'worker-2 192.0.2.22'],
  },
  'kubeadm-ha.yaml': {
    cluster: 'kubernetes', minor: 31, deploy: 'kubeadm', layout: 'kubeadm', initNode: 'cp-1.example.internal', endpoint: ['k8s-api.example.internal', 6443], services: ['10.96.0.0/12'],
    externalEtcd: false, keyAlgorithm: 'ecdsa-p256', certValidityHours: 8760,
    nodes: ['lb.example.internal 192.0.2.100', 'cp-1.example.internal 192.0.2.11', 'cp-2.example.internal 192.0.2.12',
      'cp-3.example.internal 192.0.2.13', 'worker-1.example.internal 192.0.2.21', 'worker-2.example.internal 192.0.2.22'],
  },
  'single-cp.yaml': {
    cluster: 'kubernetes', minor: undefined, deploy: 'binary', layout: 'kubeadm', initNode: undefined, endpoint: ['192.0.2.10', 6443], services: ['10.96.0.0/12'],
    externalEtcd: false, keyAlgorithm: 'ecdsa-p256', certValidityHours: 8760,
    nodes: ['cp-1 192.0.2.10', 'worker-1 192.0.2.21', 'worker-2 192.0.2.22'],
  },
};

test('the quick reading of every fixture has the hand-written field values', () => {
  assert.equal([...validFiles].sort(), Object.keys(FIXTURE_FACTS).sort(), 'a hand-written entry per fixture');
  for (const [i, f] of validFiles.entries()) {
    const p = readPlanQuickly(valid[i] ?? '', f);
    if (!p) {
      assert.unreachable(`${f} is read quickly`);
      continue;
    }
    assert.equal({
      cluster: p.clusterName, minor: p.kubernetesVersion?.minor, deploy: p.deploy, layout: p.layout, initNode: p.initNode,
      endpoint: [p.controlPlaneEndpoint.host, p.controlPlaneEndpoint.port], services: p.networking.serviceSubnets.map((c) => c.text),
      externalEtcd: p.etcd.external, keyAlgorithm: p.pki.keyAlgorithm, certValidityHours: p.pki.certValidityMs / 3_600_000,
      nodes: p.nodes.map((n) => `${n.name} ${n.address}`),
    }, FIXTURE_FACTS[f], f);
  }
});

test('no invalid fixture is read quickly', () => {
  assert.ok(invalid.length >= 5);
  for (const text of invalid) {
    assert.is(readPlanQuickly(text, 'p.yaml'), undefined, text.slice(0, 200));
    assert.instance(located(text), PlanError);
  }
});

/** Small deterministic PRNG (mulberry32), so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = [' ', '  ', ':', ': ', '-', '- ', '#', '"', "'", '\t', '\n', '0', '1', 'x', '{', '}', '[', ']', ',', '.', 'e', '~', 'null', 'true', 'yes', '0o17', '0x1F', '1_000', '.inf', '|', '>', '%', '@', '`', '\\', '?', '<<', '::'];

function mutate(text: string, r: () => number): string {
  const lines = text.split('\n');
  const pick = (n: number) => Math.floor(r() * n);
  const at = pick(text.length);
  switch (pick(7)) {
    case 0: return text.slice(0, at) + text.slice(at + 1 + pick(3));
    case 1: return text.slice(0, at) + TOKENS[pick(TOKENS.length)] + text.slice(at);
    case 2: { const i = pick(lines.length); lines.splice(i, 0, lines[i]!); return lines.join('\n'); }
    case 3: { lines.splice(pick(lines.length), 1); return lines.join('\n'); }
    case 4: { const i = pick(lines.length - 1); [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!]; return lines.join('\n'); }
    case 5: { const i = pick(lines.length); lines[i] = (r() < 0.5 ? ' ' : '') + lines[i]!.replace(/^ /, ''); return lines.join('\n'); }
    default: { const i = pick(lines.length); lines[i] = lines[i]!.replace(/: (\S+)/, (_m, v: string) => `: ${TOKENS[pick(TOKENS.length)]}${v}`); return lines.join('\n'); }
  }
}

test('on 6,000 mutated plans, a quick reading always equals the located one', () => {
  const r = rng(Number(process.env.QUICK_READ_SEED ?? 20261127));
  let quick = 0;
  let rejected = 0;
  for (let i = 0; i < 6000; i++) {
    let text = valid[i % valid.length]!;
    for (let k = 1 + Math.floor(r() * 3); k > 0; k--) text = mutate(text, r);
    const q = readPlanQuickly(text, 'p.yaml');
    const l = located(text);
    if (q === undefined) {
      if (l instanceof PlanError) rejected++;
      continue;
    }
    quick++;
    if (l instanceof PlanError) assert.unreachable(`case ${i}: read quickly, but yaml says: ${l.message}\n${text}`);
    assert.equal(q, l, `case ${i}:\n${text}`);
  }
  // Both outcomes must be well represented, or the comparison proves little.
  assert.ok(quick > 1000, `quick readings: ${quick}`);
  assert.ok(rejected > 1000, `rejected: ${rejected}`);
});

test.run();
