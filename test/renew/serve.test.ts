/**
 * Renewal that works end to end: a store whose every leaf has expired (issued 400 days ago
 * with one-year certificates) is renewed with `kpki renew all`, then a Node TLS server run on the
 * renewed apiserver certificate and key (client certificates required, the store's CA) accepts
 * every kubeconfig of every node tree, each verifying the server by the address it dials. Before
 * the renewal the same handshakes fail on the expired certificates. Loopback addresses only.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { kpki, tempDir, writePlan } from '../support/cli.js';
import { generate } from '../../pki/gen/generate.js';
import { parsePlan } from '../../pki/plan/parse.js';

const PLAN = `apiVersion: kpki/v1alpha1
kind: Cluster
nodes:
  - { name: cp-1, address: 127.0.12.10, roles: [control-plane] }
  - { name: worker-1, address: 127.0.12.21, roles: [worker] }
`;

interface Kubeconfig { file: string; server: URL; ca: string; cert: string; key: string; user: string }

/** Every kubeconfig of the node trees that embeds its client credentials, read here with yaml. */
function kubeconfigs(out: string): Kubeconfig[] {
  const found: Kubeconfig[] = [];
  for (const node of readdirSync(join(out, 'nodes'))) {
    const dir = join(out, 'nodes', node, 'etc/kubernetes');
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.conf'))) {
      const doc = parse(readFileSync(join(dir, name), 'utf8')) as {
        clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
        users: Array<{ name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }>;
      };
      const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
      found.push({
        file: `${node}/${name}`, server: new URL(doc.clusters[0]!.cluster.server), ca: b64(doc.clusters[0]!.cluster['certificate-authority-data']),
        cert: b64(doc.users[0]!.user['client-certificate-data']), key: b64(doc.users[0]!.user['client-key-data']), user: doc.users[0]!.name,
      });
    }
  }
  return found;
}

/** The apiserver's part: its certificate and key, client certificates required and checked against the CA. */
async function apiserver(out: string): Promise<{ port: number; close: () => Promise<void>; seen: string[] }> {
  const pki = join(out, 'nodes/cp-1/etc/kubernetes/pki');
  const seen: string[] = [];
  const server = createServer({
    cert: readFileSync(join(pki, 'apiserver.crt')), key: readFileSync(join(pki, 'apiserver.key')), ca: readFileSync(join(pki, 'ca.crt')),
    requestCert: true, rejectUnauthorized: true,
  }, (s: TLSSocket) => {
    seen.push(s.getPeerCertificate().subject.CN as string);
    s.end('ok');
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.12.10', r));
  return { port: (server.address() as AddressInfo).port, seen, close: () => new Promise((r) => server.close(() => r())) };
}

/** A handshake as kubectl makes it with this kubeconfig: the CA data, the client pair, the server's address. */
function handshake(k: Kubeconfig, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.12.10', port, servername: k.server.hostname.replace(/^\[|\]$/g, ''), ca: k.ca, cert: k.cert, key: k.key });
    s.setTimeout(5_000, () => (s.destroy(), resolve('timeout')));
    s.once('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
    s.once('data', () => (s.end(), resolve('ok')));
  });
}

test('an expired store renewed with kpki renew all: the renewed apiserver accepts every kubeconfig, which accept it', async () => {
  const dir = tempDir();
  const out = join(dir, 'out');
  const planFile = writePlan(PLAN, dir);
  const issuedAt = new Date(Date.now() - 400 * 86_400_000);
  // CAs for ten years, leaves for one: 400 days on, every leaf has expired and every CA is fine.
  await generate(parsePlan(PLAN, planFile), { out, deps: { now: () => issuedAt } });
  const expired = kubeconfigs(out);
  assert.ok(expired.length >= 7, `kubeconfigs found: ${expired.map((k) => k.file).join(', ')}`);
  let server = await apiserver(out);
  try {
    for (const k of expired) assert.is(await handshake(k, server.port), 'CERT_HAS_EXPIRED', `${k.file} before the renewal`);
  } finally {
    await server.close();
  }

  const r = kpki(['renew', 'all', '--plan', planFile, '--out', out]);
  assert.is(r.status, 0, r.stderr);
  const renewed = kubeconfigs(out);
  assert.equal(renewed.map((k) => k.file), expired.map((k) => k.file));
  server = await apiserver(out);
  try {
    for (const k of renewed) {
      assert.is(k.server.hostname, '127.0.12.10', `${k.file} dials the control plane`);
      assert.is(await handshake(k, server.port), 'ok', `${k.file} after the renewal`);
    }
    // The apiserver saw each client's own identity (the CN it authorises as).
    assert.is(server.seen.length, renewed.length);
    assert.ok(server.seen.includes('system:node:worker-1') && server.seen.includes('kubernetes-admin'), server.seen.join(', '));
  } finally {
    await server.close();
  }
});

test.run();
