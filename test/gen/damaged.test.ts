/**
 * Damaged files on a re-run: a few characters changed inside intact PEM armor of the store CA,
 * the apiserver, the etcd server and a kubelet serving certificate, 40 times each. A damaged
 * leaf is reissued (the broken file backed up); a damaged CA stops the run with a KpkiError
 * naming the file and writes nothing. Never anything else: no raw OpenSSL error, no crash.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashTree, sh, tempDir } from '../support/cli.js';
import { generate } from '../../pki/gen/generate.js';
import { KpkiError } from '../../pki/errors.js';
import { parsePlan } from '../../pki/plan/parse.js';

const work = tempDir();
const base = join(work, 'base');
const plan = parsePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
nodes:
  - { name: cp-1, address: 192.0.2.11, roles: [control-plane] }
  - { name: worker-1, address: 192.0.2.21, roles: [worker] }
`, join(work, 'cluster.yaml'));
await generate(plan, { out: base });

/** Deterministic: the same damage on every run of the suite. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const derOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');

/**
 * Changes 1–4 base64 characters of the body, keeping the armor and line structure, until the
 * bytes differ (a change in the unused low bits before '=' padding decodes to the same DER).
 */
function damage(pem: string, next: () => number): string {
  for (;;) {
    const broken = damageOnce(pem, next);
    if (!derOf(broken).equals(derOf(pem))) return broken;
  }
}

function damageOnce(pem: string, next: () => number): string {
  const lines = pem.split('\n');
  const body = lines.map((l, i) => ({ l, i })).filter(({ l }) => l && !l.startsWith('-----'));
  for (let n = 1 + Math.floor(next() * 4); n > 0; n--) {
    const { i } = body[Math.floor(next() * body.length)]!;
    const line = lines[i]!;
    const at = Math.floor(next() * (line.length - 2)); // leave any '=' padding at the end alone
    let c = B64[Math.floor(next() * 64)]!;
    if (c === line[at]) c = line[at] === 'A' ? 'B' : 'A';
    lines[i] = line.slice(0, at) + c + line.slice(at + 1);
  }
  return lines.join('\n');
}

const TARGETS = [
  { file: 'pki/ca.crt', ca: true, ref: 'ca', signer: 'pki/ca.crt' },
  { file: 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt', ca: false, ref: 'apiserver@cp-1', signer: 'pki/ca.crt' },
  { file: 'nodes/cp-1/etc/kubernetes/pki/etcd/server.crt', ca: false, ref: 'etcd-server@cp-1', signer: 'pki/etcd/ca.crt' },
  { file: 'nodes/worker-1/var/lib/kubelet/pki/kubelet.crt', ca: false, ref: 'kubelet-serving@worker-1', signer: 'pki/ca.crt' },
];

for (const [k, t] of TARGETS.entries()) {
  test(`40 damaged copies of ${t.file}: ${t.ca ? 'refused, naming the file' : 'reissued'}, never a crash`, async () => {
    const next = rng(1000 + k);
    const original = readFileSync(join(base, t.file), 'utf8');
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const out = join(work, `case-${k}-${i}`);
      cpSync(base, out, { recursive: true });
      const broken = damage(original, next);
      writeFileSync(join(out, t.file), broken);
      const before = hashTree(out);
      try {
        const r = await generate(plan, { out });
        assert.not.ok(t.ca && r.changed, `${t.file} #${i}: a damaged CA must never sign`);
        const item = r.items.find((x) => x.ref === t.ref);
        if (!t.ca) {
          // Damage inside the signature or a key byte leaves a parseable certificate that no
          // longer verifies; damage elsewhere leaves one that does not parse. Both are reissued.
          assert.is(item?.action, 'issue', `${t.file} #${i}: ${item?.reasons.join('; ')}`);
          sh('openssl', ['verify', '-CAfile', join(out, t.signer), join(out, t.file)]);
          const backup = r.files.find((f) => f.path === t.file)?.backup;
          assert.ok(backup, `${t.file} #${i}: the broken file is backed up`);
          assert.is(readFileSync(join(out, backup!), 'utf8'), broken);
          outcomes.set('reissued', (outcomes.get('reissued') ?? 0) + 1);
        }
      } catch (e) {
        assert.instance(e, KpkiError, `${t.file} #${i}: ${(e as Error).stack}`);
        assert.ok(t.ca, `${t.file} #${i}: a damaged leaf must not stop the run: ${(e as Error).message}`);
        const err = e as KpkiError;
        assert.ok(['ERR_PEM_INVALID', 'ERR_STORE_CONFLICT', 'ERR_CA_UNUSABLE'].includes(err.code), err.code);
        assert.match(err.message, /pki\/ca\.crt|pki\/ca\.key/);
        assert.not.match(err.message, /wrong tag|field missing|asn1|ASN1/i, 'no raw OpenSSL text');
        assert.equal([...hashTree(out)], [...before], `${t.file} #${i}: nothing written`);
        outcomes.set(err.code, (outcomes.get(err.code) ?? 0) + 1);
      }
      rmSync(out, { recursive: true, force: true });
    }
    assert.ok([...outcomes.values()].reduce((a, b) => a + b, 0) === 40, JSON.stringify([...outcomes]));
  });
}

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
