/**
 * The pure steps on their own: decide (observe → assess → decisions) over an in-memory
 * observation with an injected clock, and planChanges over hand-made file sets. Bad CA states
 * are findings with codes, never exceptions; decide reads no file and writes no memory.
 * Expected actions and codes are written here by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../support/cli.js';
import { generateFiles } from '../../pki/gen/generate.js';
import { parsePlan } from '../../pki/plan/parse.js';
import { resolve } from '../../pki/catalog/resolve.js';
import { decide, type Decisions } from '../../pki/decide/decide.js';
import { memorySink, type MemoryFile } from '../../pki/sinks/memory.js';
import { planChanges } from '../../pki/sinks/changes.js';
import type { Observation, ObservedFile } from '../../pki/sinks/types.js';

const plan = parsePlan(readFileSync(join(FIXTURES, 'single-cp.yaml'), 'utf8'), 'single-cp.yaml');
const pki = resolve({ ...plan, initNode: 'cp-1' });
const ISSUED_AT = new Date('2026-06-01T00:00:00Z');
let store: Map<string, MemoryFile>;

test.before(async () => {
  store = (await generateFiles(plan, { deps: { now: () => ISSUED_AT } })).files;
});

async function observe(edit: (files: Map<string, MemoryFile>) => void = () => {}): Promise<Observation> {
  const files = new Map(store);
  edit(files);
  return memorySink(files).observe(['pki', 'nodes']);
}

const codes = (d: Decisions) => d.findings.map((f) => `${f.code} ${f.file}`).sort();
const actions = (d: Decisions) => [...d.cas.map((c) => `${c.item.ref}:${c.action}`), ...d.keypairs.map((k) => `${k.item.ref}:${k.action}`)];

test('a fresh store a day later: every credential kept, no finding', async () => {
  const d = decide(pki, await observe(), new Date('2026-06-02T00:00:00Z'));
  assert.equal(actions(d), ['ca:keep', 'front-proxy-ca:keep', 'etcd-ca:keep', 'sa:keep']);
  // 1 control plane (7 certificates + 7 kubeconfigs) + 2 workers (kubelet serving, kubelet.conf,
  // kube-proxy.conf each): hand count from kubeadm's layout.
  assert.is(d.leaves.length, 20);
  assert.ok(d.leaves.every((l) => l.action === 'keep'), d.leaves.filter((l) => l.action !== 'keep').map((l) => l.item.ref).join());
  assert.equal(codes(d), []);
  assert.equal(d.refusals, []);
});

test('an empty observation: every CA and key pair created, every leaf issued, nothing refused', async () => {
  const d = decide(pki, await memorySink().observe(['pki', 'nodes']), ISSUED_AT);
  assert.equal(actions(d), ['ca:create', 'front-proxy-ca:create', 'etcd-ca:create', 'sa:create']);
  assert.ok(d.leaves.every((l) => l.action === 'issue'));
  assert.equal(d.refusals, []);
});

test('half a CA: refused as a finding (ca-incomplete), no exception, no leaf decided', async () => {
  const d = decide(pki, await observe((f) => f.delete('pki/front-proxy-ca.crt')), ISSUED_AT);
  assert.equal(actions(d), ['ca:keep', 'front-proxy-ca:refuse', 'etcd-ca:keep', 'sa:keep']);
  assert.equal(d.refusals.map((f) => `${f.code} ${f.file}`), ['ca-incomplete pki/front-proxy-ca.key']);
  assert.match(d.refusals[0]!.message, /pki\/front-proxy-ca\.key exists but pki\/front-proxy-ca\.crt does not/);
  assert.equal(d.leaves, []);
});

test('a CA key that is not the certificate\'s: ca-key-mismatch; a damaged CA: ca-damaged; an unreadable one: ca-unreadable', async () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string;
  const swapped = decide(pki, await observe((f) => f.set('pki/etcd/ca.key', { content: other, mode: 0o600 })), ISSUED_AT);
  assert.equal(swapped.refusals.map((f) => `${f.code} ${f.file}`), ['ca-key-mismatch pki/etcd/ca.key']);

  // One serial-number byte flipped (30 82 .. .. 30 82 .. .. a0 03 02 01 02 02 len serial…): still a
  // well-formed certificate, but what was signed changed, so its self-signature fails.
  const pem = store.get('pki/ca.crt')!.content;
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  assert.is(der[13], 0x02, 'the serial INTEGER tag where the hand count puts it');
  der[20]! ^= 0x01;
  const damaged = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  const d = decide(pki, await observe((f) => f.set('pki/ca.crt', { content: damaged, mode: 0o644 })), ISSUED_AT);
  assert.equal(d.refusals.map((f) => f.code), ['ca-damaged'], JSON.stringify(d.refusals));

  const garbage = decide(pki, await observe((f) => f.set('pki/ca.crt', { content: 'not a certificate\n', mode: 0o644 })), ISSUED_AT);
  assert.equal(garbage.refusals.map((f) => `${f.code} ${f.file}`), ['ca-unreadable pki/ca.crt']);
});

test('the clock decides: eleven years on, every CA expired (refusing) and every leaf due', async () => {
  const d = decide(pki, await observe(), new Date('2037-06-02T00:00:00Z'));
  assert.equal(d.refusals.map((f) => f.code), ['ca-expired', 'ca-expired', 'ca-expired']);
  assert.ok(d.leaves.every((l) => l.action === 'issue' && l.reasons.includes('expired')));
});

test('decide is pure: same inputs, same decisions; the observation and memory are not written', async () => {
  const obs = await observe();
  const snapshot = new Map([...obs.files].map(([p, f]) => [p, { ...f }]));
  const lookups: string[] = [];
  const memory = {
    readings: { get: () => (lookups.push('reading'), undefined) },
  };
  const at = new Date('2026-07-01T00:00:00Z');
  const a = decide(pki, obs, at, memory);
  const b = decide(pki, obs, at, memory);
  assert.equal(a.leaves.map((l) => `${l.item.ref}:${l.action}`), b.leaves.map((l) => `${l.item.ref}:${l.action}`));
  assert.equal(codes(a), codes(b));
  assert.ok(lookups.length > 0, 'memory was consulted');
  assert.equal(new Map([...obs.files].map(([p, f]) => [p, { ...f }])), snapshot);
  // What a full read verified travels with the decision for the bookkeeping step.
  const kept = a.leaves.find((l) => l.item.ref === 'apiserver@cp-1');
  // (its reading names the CA it verified against, by the SHA-256 of that CA's text)
  const caDigest = createHash('sha256').update(store.get('pki/ca.crt')!.content).digest('base64url');
  assert.ok(kept && kept.action === 'keep' && kept.existing.learned?.reading.caDigest === caDigest);
});

// ---- planChanges: wanted × observed → changes, with hand-made file sets.
const file = (content: string, mode = 0o600): ObservedFile => ({ content, mode });
const observation = (files: Record<string, ObservedFile>, dirs: Record<string, number> = {}): Observation => ({
  files: new Map(Object.entries(files)), dirs: new Map(Object.entries(dirs)), nodes: ['a'],
});
const want = (path: string, content: string, mode = 0o600, extra: { protected?: boolean; bookkeeping?: boolean } = {}) => ({ path, content, mode, protected: extra.protected ?? false, ...(extra.bookkeeping ? { bookkeeping: true } : {}) });
const options = { exact: ['nodes/a'], whyRemoved: (p: string) => `not wanted: ${p}`, root: '/out' };

test('planChanges: create, update with backup, bookkeeping without, chmod, remove only inside exact trees', () => {
  const obs = observation({
    'nodes/a/same': file('x'),
    'nodes/a/old': file('old'),
    'nodes/a/mode': file('m', 0o644),
    'nodes/a/stray': file('s'),
    'pki/record': file('{}'),
    'elsewhere/keep': file('k'),
  }, { nodes: 0o700, 'nodes/a': 0o700 });
  const set = planChanges([
    want('nodes/a/same', 'x'), want('nodes/a/old', 'new'), want('nodes/a/mode', 'm'), want('nodes/a/new', 'n', 0o644),
    want('pki/record', '{"a":1}', 0o600, { bookkeeping: true }),
  ], obs, options);
  assert.equal(set.changes, [
    { op: 'update', path: 'nodes/a/old', mode: 0o600, content: 'new', backup: true },
    { op: 'chmod', path: 'nodes/a/mode', mode: 0o600, from: 0o644 },
    { op: 'create', path: 'nodes/a/new', mode: 0o644, content: 'n' },
    { op: 'update', path: 'pki/record', mode: 0o600, content: '{"a":1}', backup: false },
    { op: 'remove', path: 'nodes/a/stray', reason: 'not wanted: nodes/a/stray' },
  ]);
});

test('planChanges: a protected file (a CA key) found with other content is refused, never replaced', () => {
  const obs = observation({ 'pki/ca.key': file('theirs') });
  assert.throws(() => planChanges([want('pki/ca.key', 'ours', 0o600, { protected: true })], obs, options), /\/out\/pki\/ca\.key exists with other content; kpki never overwrites it/);
  assert.equal(planChanges([want('pki/ca.key', 'theirs', 0o600, { protected: true })], obs, options).changes, []);
});

test.run();
