/**
 * The digest memo (sinks/digest.ts) must stay bounded and hold no secret: a long-running
 * program that embeds kpki hashes keys and kubeconfigs through it, run after run.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { generateFiles } from '../../pki/gen/generate.js';
import { parsePlan } from '../../pki/plan/parse.js';
import { memoisedTexts, textDigest } from '../../pki/sinks/digest.js';

const PLAN = `apiVersion: kpki/v1alpha1
kind: Cluster
nodes:
  - { name: cp-1, address: 192.0.2.11, roles: [control-plane] }
  - { name: worker-1, address: 192.0.2.21, roles: [worker] }
`;

test('digests are SHA-256 of the text, memoised or not', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  for (const t of [key, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', '']) {
    assert.is(textDigest(t), createHash('sha256').update(t).digest('base64url'));
    assert.is(textDigest(t), createHash('sha256').update(t).digest('base64url'), 'the second time too');
  }
});

test('after whole runs over two stores, the memo holds a bounded few certificates and nothing secret', async () => {
  for (let i = 0; i < 2; i++) {
    const { files } = await generateFiles(parsePlan(PLAN));
    // A re-run over the same files hashes every key and kubeconfig again.
    await generateFiles(parsePlan(PLAN), { existing: files });
  }
  const held = memoisedTexts();
  assert.ok(held.length > 0, 'the memo is used');
  assert.ok(held.length <= 16, `bounded: ${held.length}`);
  for (const t of held) {
    assert.ok(t.startsWith('-----BEGIN CERTIFICATE-----'), t.slice(0, 40));
    assert.not.match(t, /PRIVATE KEY|client-key-data|token/);
  }
});

test.run();
