/**
 * A no-op re-run keeps pki/state.json as found instead of serialising it again
 * (stateUnchanged). That shortcut must fire only when serialising would give the same state:
 * every way the state can change makes it false, and when it is true the text is the same.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pemDigest, readState, serialiseState, stateUnchanged } from '../../pki/store/state.js';
import { KPKI_VERSION } from '../../pki/version.js';
import type { LeafReading } from '../../pki/store/readings.js';

const reading: LeafReading = {
  caDigest: 'c'.repeat(43), certDigest: 'd'.repeat(43), algorithm: 'ecdsa-p256',
  notBefore: new Date(1_700_000_000_000), notAfter: new Date(1_800_000_000_000),
  profile: { cn: 'system:node:w-1', o: ['system:nodes'], extras: {}, dns: [], ips: [], usages: ['clientAuth'], isCa: false },
};

/** A state as gen writes it: two verified certificates, two readings, an init node. */
function written(): string {
  const s = readState(undefined);
  s.verified.record('cert-a', 'key-a', 'ca', 'ecdsa-p256');
  s.verified.record('cert-b', 'key-b', 'ca', 'ecdsa-p256');
  s.readings.set('k1', reading);
  s.readings.set('k2', reading);
  return serialiseState('cp-1', s, { certDigests: [pemDigest('cert-a'), pemDigest('cert-b')], readingKeys: ['k1', 'k2'] });
}

test('unchanged only when serialising again gives the same text', () => {
  const text = written();
  const stored = JSON.parse(text) as { verified: Record<string, string>; readings: Record<string, unknown> };
  const certs = Object.keys(stored.verified);
  assert.is(certs.length, 2);
  const inUse = { certDigests: certs, readingKeys: ['k2', 'k1', 'k1'] };
  const same = readState(text);
  assert.ok(stateUnchanged(same, 'cp-1', inUse));
  assert.is(serialiseState('cp-1', same, inUse), text, 'and then the text is indeed the same');

  const cases: Array<[string, () => boolean]> = [
    ['another init node', () => stateUnchanged(readState(text), 'cp-2', inUse)],
    ['a leaf no longer in use', () => stateUnchanged(readState(text), 'cp-1', { certDigests: certs.slice(1), readingKeys: ['k1', 'k2'] })],
    ['a reading no longer in use', () => stateUnchanged(readState(text), 'cp-1', { certDigests: certs, readingKeys: ['k1'] })],
    ['a new leaf in use', () => stateUnchanged(readState(text), 'cp-1', { certDigests: certs, readingKeys: ['k1', 'k2', 'k3'] })],
    ['a reading set in this run', () => {
      const s = readState(text);
      s.readings.set('k1', reading);
      return stateUnchanged(s, 'cp-1', inUse);
    }],
    ['a pair verified in this run', () => {
      const s = readState(text);
      s.verified.record('cert-a', 'key-a', 'ca', 'ecdsa-p256');
      return stateUnchanged(s, 'cp-1', inUse);
    }],
    ['another kpki version wrote it', () => stateUnchanged(readState(text.replace(`"version":"${KPKI_VERSION}"`, '"version":"0.0.0-other"')), 'cp-1', inUse)],
    ['not a state file', () => stateUnchanged(readState('{"verified":{},"readings":{}}'), undefined, { certDigests: [], readingKeys: [] })],
    ['no file', () => stateUnchanged(readState(undefined), undefined, { certDigests: [], readingKeys: [] })],
  ];
  for (const [what, unchanged] of cases) assert.is(unchanged(), false, what);
});

test.run();
