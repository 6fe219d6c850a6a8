/**
 * Validity arithmetic at leap days, month ends, year ends and the UTCTime/GeneralizedTime
 * boundary (2050), with the clock pinned through deps.now; expectations computed by hand
 * (Python's datetime), read back with node:crypto. And a clock far off: a warning, not silence.
 */
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateFiles, parsePlan } from '../../pki/index.js';
import { FIXTURES } from '../support/cli.js';
import { bump, expectCase } from './config.js';

const BASE = readFileSync(join(FIXTURES, 'single-cp.yaml'), 'utf8');

/** [now, certValidity, CA validity, leaf NotAfter, CA NotAfter, NotBefore (5 min back, as kubeadm)] */
const CASES: readonly [string, string, string, string, string, string][] = [
  ['2028-02-29T12:00:00Z', '8760h', '87600h', '2029-02-28T12:00:00Z', '2038-02-26T12:00:00Z', '2028-02-29T11:55:00Z'],
  ['2028-02-29T12:00:00Z', '24h', '87600h', '2028-03-01T12:00:00Z', '2038-02-26T12:00:00Z', '2028-02-29T11:55:00Z'],
  ['2027-01-31T00:00:00Z', '720h', '87600h', '2027-03-02T00:00:00Z', '2037-01-28T00:00:00Z', '2027-01-30T23:55:00Z'],
  ['2027-01-31T00:00:00Z', '8760h', '87600h', '2028-01-31T00:00:00Z', '2037-01-28T00:00:00Z', '2027-01-30T23:55:00Z'],
  ['2026-12-31T23:59:59Z', '8760h', '87600h', '2027-12-31T23:59:59Z', '2036-12-28T23:59:59Z', '2026-12-31T23:54:59Z'],
  ['2045-06-30T00:00:00Z', '8760h', '87600h', '2046-06-30T00:00:00Z', '2055-06-28T00:00:00Z', '2045-06-29T23:55:00Z'],
];

const iso = (d: string) => new Date(d).toISOString();

export async function validityArithmetic(): Promise<void> {
  for (const [now, cert, ca, leafAfter, caAfter, before] of CASES) {
    const plan = parsePlan(BASE.replace('certValidity: 8760h', `certValidity: ${cert}`).replace('caValidity: 87600h', `caValidity: ${ca}`).replace('renewBefore: 720h', 'renewBefore: 1h'), 'time.yaml');
    const { files } = await generateFiles(plan, { deps: { now: () => new Date(now) } });
    const x = (p: string) => new X509Certificate(files.get(p)!.content);
    const caCert = x('pki/ca.crt');
    const leaf = x('nodes/cp-1/etc/kubernetes/pki/apiserver.crt');
    const what = `now ${now}, certValidity ${cert}`;
    assert.is(iso(leaf.validTo), iso(leafAfter), `${what}: leaf NotAfter`);
    assert.is(iso(caCert.validTo), iso(caAfter), `${what}: CA NotAfter`);
    assert.is(iso(leaf.validFrom), iso(before), `${what}: leaf NotBefore`);
    assert.is(iso(caCert.validFrom), iso(before), `${what}: CA NotBefore`);
    bump('time cases');
  }
}

/** A clock decades off makes certificates that are wrong for every other host: gen says so. */
export async function farClock(): Promise<void> {
  const plan = parsePlan(BASE, 'time.yaml');
  for (const now of ['1990-01-01T00:00:00Z', '2150-01-01T00:00:00Z']) {
    await expectCase('time: far clock', async () => {
      const { report } = await generateFiles(plan, { deps: { now: () => new Date(now) } });
      assert.ok(report.warnings.some((w) => /clock|time/i.test(w)), `gen with the clock at ${now}: no warning (${report.warnings.join('; ') || 'none'})`);
    });
    bump('far-clock cases');
  }
}
