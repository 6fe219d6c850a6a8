/**
 * `check --probe host:port` with nothing else: servers named by hand are an audit of their own
 * (the served certificate's dates and hostname). Two loopback TLS servers, started here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { check } from '../../pki/check/check.js';
import { KpkiError } from '../../pki/errors.js';
import { CLI, sh, tempDir } from '../support/cli.js';
import { run } from '../support/proc.js';

const dir = tempDir('kpki-probe-only-');
const servers: tls.Server[] = [];

/** A loopback TLS server with a self-signed certificate carrying `san`; its port. */
async function serve(name: string, san: string): Promise<number> {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt,
    '-subj', `/CN=${name}`, '-days', '2', '-addext', `subjectAltName=${san}`]);
  const server = tls.createServer({ key: readFileSync(key), cert: readFileSync(crt) }, (s) => s.end());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

test.after(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

test('check --probe 127.0.0.1:PORT alone: probes and judges what is served', async () => {
  const good = await serve('good', 'IP:127.0.0.1');
  const wrong = await serve('wrong', 'DNS:other.example.internal');
  const kpki = (args: string[]) => run(process.execPath, [CLI, 'check', ...args], { env: { ...process.env, NO_COLOR: '1' } });

  const ok = await kpki(['--probe', `127.0.0.1:${good}`, '--json']);
  assert.is(ok.status, 0, ok.stdout + ok.stderr);
  const report = JSON.parse(ok.stdout) as { status: string; findings: unknown[] };
  assert.is(report.status, 'OK');
  assert.equal(report.findings, []);

  const bad = await kpki(['--probe', `127.0.0.1:${good}`, '--probe', `127.0.0.1:${wrong}`, '--json']);
  assert.is(bad.status, 2, bad.stderr);
  const findings = (JSON.parse(bad.stdout) as { findings: Array<{ code: string; file: string }> }).findings;
  assert.equal(findings.map((f) => [f.code, f.file]), [['served-wrong-host', `127.0.0.1:${wrong}`]]);

  // Still something to check is needed: no directory, no --out and no server is a usage mistake.
  const nothing = await kpki([]);
  assert.is(nothing.status, 3);
  assert.match(nothing.stderr, /nothing to check: give a directory, --out or --probe host:port/);
});

test('the library refuses a probe timeout a timer cannot wait, before connecting anywhere', async () => {
  for (const probeTimeoutMs of [0, -1, 2 ** 31, Number.NaN]) {
    const err = await check({ probe: ['127.0.0.1:1'], probeTimeoutMs }).then(() => undefined, (e: unknown) => e);
    assert.instance(err, KpkiError, String(probeTimeoutMs));
    assert.is((err as KpkiError).code, 'ERR_BAD_ARGUMENT');
  }
});

test.run();
