/**
 * etcd-ca rotation on a real three-member etcd cluster (stacked members on 127.0.13.1-3, peer and
 * client TLS with client-certificate auth on both sides), phase by phase, with the rolling
 * restarts the restart list asks for:
 *  - trust, then a rolling restart: a client of the old CA and one of the new CA (signed here
 *    with openssl from the new key in the rotation record) are both accepted; healthy throughout;
 *  - issue (no restart: etcd reads its own certificates per connection): every member serves a
 *    certificate of the new CA; an old-CA client that trusts only the old CA still works (Go
 *    verifies the chain through the cross-signed CA);
 *  - finalize, then a rolling restart: the old-CA client is refused, the new ones are served.
 * The cluster is started once for the suite.
 */
import { X509Certificate } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kpki, sh, tempDir, writePlan } from '../support/cli.js';
import { BoundExceeded, SERVER_BOUND_MS, run, runSync, start, type BoundedChild } from '../support/proc.js';
import { freePort } from '../support/ports.js';

const ETCD = '/usr/bin/etcd';
const ETCDCTL = '/usr/bin/etcdctl';
const MEMBERS = [1, 2, 3].map((i) => ({ name: `cp-${i}`, address: `127.0.13.${i}` }));
const PLAN = `apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: 127.0.13.100:6443
nodes:
${MEMBERS.map((m) => `  - { name: ${m.name}, address: ${m.address}, roles: [control-plane] }`).join('\n')}
`;
const HEALTH_TIMEOUT_MS = 30_000;

const work = tempDir('kpki-rotate-etcd-');
const out = join(work, 'out');
const planFile = writePlan(PLAN, work);
const procs = new Map<string, BoundedChild>();
const logs = new Map<string, string>();
let ports = { client: 0, peer: 0 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const etcdDir = (node: string) => join(out, 'nodes', node, 'etc/kubernetes/pki/etcd');

function cleanup(): void {
  for (const p of procs.values()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true, maxRetries: 5 });
}
process.on('exit', () => {
  for (const p of procs.values()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

async function etcdctl(args: readonly string[], deadlineMs = 10_000): Promise<{ code: number | null; text: string }> {
  try {
    const r = await run(ETCDCTL, ['--dial-timeout=2s', '--command-timeout=3s', ...args], { env: { ...process.env, ETCDCTL_API: '3' }, boundMs: deadlineMs });
    return { code: r.status, text: r.stdout + r.stderr };
  } catch (err) {
    return { code: null, text: err instanceof BoundExceeded ? `${err.stderr}(deadline)` : String(err) };
  }
}


function startMember(m: (typeof MEMBERS)[number]): void {
  const dir = etcdDir(m.name);
  const data = join(work, `${m.name}.etcd`);
  const log = join(work, `${m.name}.log`);
  logs.set(m.name, log);
  const fd = openSync(log, 'a');
  const child = start(ETCD, [
    `--name=${m.name}`, `--data-dir=${data}`,
    `--listen-client-urls=https://${m.address}:${ports.client}`, `--advertise-client-urls=https://${m.address}:${ports.client}`,
    `--listen-peer-urls=https://${m.address}:${ports.peer}`, `--initial-advertise-peer-urls=https://${m.address}:${ports.peer}`,
    `--initial-cluster=${MEMBERS.map((x) => `${x.name}=https://${x.address}:${ports.peer}`).join(',')}`,
    '--initial-cluster-state=new', `--initial-cluster-token=kpki-rotate-${process.pid}`,
    '--client-cert-auth', `--trusted-ca-file=${join(dir, 'ca.crt')}`, `--cert-file=${join(dir, 'server.crt')}`, `--key-file=${join(dir, 'server.key')}`,
    '--peer-client-cert-auth', `--peer-trusted-ca-file=${join(dir, 'ca.crt')}`, `--peer-cert-file=${join(dir, 'peer.crt')}`, `--peer-key-file=${join(dir, 'peer.key')}`,
    '--listen-metrics-urls=',
  ], { stdio: ['ignore', fd, fd], boundMs: SERVER_BOUND_MS });
  closeSync(fd);
  procs.set(m.name, child);
}

async function stopMember(name: string): Promise<void> {
  const p = procs.get(name)!;
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await Promise.race([gone, sleep(5_000)]);
}

const endpoints = () => MEMBERS.map((m) => `https://${m.address}:${ports.client}`).join(',');
interface Client { cacert: string; crt: string; key: string }
const tls = (c: Client) => [`--cacert=${c.cacert}`, `--cert=${c.crt}`, `--key=${c.key}`];
/** The healthcheck client as the tree has it now. */
const treeClient = (): Client => ({ cacert: join(etcdDir('cp-1'), 'ca.crt'), crt: join(etcdDir('cp-1'), 'healthcheck-client.crt'), key: join(etcdDir('cp-1'), 'healthcheck-client.key') });

/** Health of every member as `c` sees it: the number of healthy endpoints, and the output. */
async function health(c: Client): Promise<{ healthy: number; text: string }> {
  const r = await etcdctl([`--endpoints=${endpoints()}`, ...tls(c), 'endpoint', 'health']);
  return { healthy: r.text.split('\n').filter((l) => /is healthy/.test(l)).length, text: r.text };
}

async function waitHealthy(c: Client): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const dead = [...procs].find(([, p]) => p.exitCode !== null || p.signalCode !== null);
    if (dead) throw new Error(`etcd ${dead[0]} exited\n${readFileSync(logs.get(dead[0])!, 'utf8').split('\n').slice(-15).join('\n')}`);
    const h = await health(c);
    if (h.healthy === 3) return;
    last = h.text;
    await sleep(300);
  }
  throw new Error(`not healthy within ${HEALTH_TIMEOUT_MS} ms: ${last}`);
}

/** One member at a time, the cluster healthy (as `c` sees it) before the next: what the restart list asks for. */
async function rollingRestart(c: Client): Promise<void> {
  for (const m of MEMBERS) {
    await stopMember(m.name);
    startMember(m);
    await waitHealthy(c);
  }
}

/** A client certificate signed here with openssl by the given CA (not by kpki). */
function opensslClient(caCrt: string, caKey: string, name: string, cacert: string): Client {
  const key = join(work, `${name}.key`);
  const csr = join(work, `${name}.csr`);
  const crt = join(work, `${name}.crt`);
  const ext = join(work, `${name}.ext`);
  writeFileSync(ext, 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  sh('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  sh('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr]);
  sh('openssl', ['x509', '-req', '-in', csr, '-CA', caCrt, '-CAkey', caKey, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', crt]);
  return { cacert, crt, key };
}

const rotate = (...extra: string[]) => {
  const r = kpki(['ca', 'rotate', 'etcd-ca', '--plan', planFile, '--out', out, ...extra]);
  assert.is(r.status, 0, r.stderr);
  return r.stdout;
};

const served = (m: (typeof MEMBERS)[number]) => {
  const text = runSync('openssl', ['s_client', '-connect', `${m.address}:${ports.client}`, '-showcerts'], { input: '' }).stdout;
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)].map((x) => x[0]);
};

test('etcd-ca rotation on a running three-member cluster: trust, issue, finalize with rolling restarts', async () => {
  assert.ok(existsSync(ETCD) && existsSync(ETCDCTL), 'etcd and etcdctl are installed');
  mkdirSync(work, { recursive: true });
  const g = kpki(['gen', '--plan', planFile, '--out', out]);
  assert.is(g.status, 0, g.stderr);
  ports = { client: await freePort('127.0.13.1'), peer: await freePort('127.0.13.1') };
  for (const m of MEMBERS) startMember(m);
  // The client an operator had before the rotation, trusting the old CA alone.
  const oldCa = join(work, 'old-ca.crt');
  copyFileSync(join(out, 'pki/etcd/ca.crt'), oldCa);
  const old: Client = { cacert: oldCa, crt: join(work, 'old-hc.crt'), key: join(work, 'old-hc.key') };
  copyFileSync(treeClient().crt, old.crt);
  copyFileSync(treeClient().key, old.key);
  await waitHealthy(old);
  const put = await etcdctl([`--endpoints=${endpoints()}`, ...tls(old), 'put', '/kpki/rotate', 'kept']);
  assert.is(put.code, 0, put.text);

  // trust: bundles old + new; the restart list is a rolling one
  const trust = rotate();
  assert.match(trust, /phase trust/);
  assert.match(trust, /restart etcd \(etcd\/ca\.crt\)/);
  assert.match(trust, /one at a time/);
  const record = JSON.parse(readFileSync(join(out, 'pki/rotation/etcd-ca.json'), 'utf8')) as { newCertPem: string; newKeyPem: string };
  const newCa = join(work, 'new-ca.crt');
  const newKey = join(work, 'new-ca.key');
  writeFileSync(newCa, record.newCertPem);
  writeFileSync(newKey, record.newKeyPem, { mode: 0o600 });
  assert.is.not(readFileSync(newCa, 'utf8'), readFileSync(oldCa, 'utf8'));
  await rollingRestart(old);
  const fresh = opensslClient(newCa, newKey, 'new-ca-client', treeClient().cacert);
  for (const [what, c] of [['old-CA client', { ...old, cacert: treeClient().cacert }], ['new-CA client', fresh]] as const) {
    const h = await health(c);
    assert.is(h.healthy, 3, `${what} after trust: ${h.text}`);
  }

  // issue: no restart; every member serves a leaf of the new CA, with the cross-signed CA after it
  const issue = rotate();
  assert.match(issue, /phase issue/);
  assert.match(issue, /etcd reloads on its next connections, no restart/);
  const oldX = new X509Certificate(readFileSync(oldCa));
  const newX = new X509Certificate(record.newCertPem);
  for (const m of MEMBERS) {
    const chain = served(m);
    assert.ok(chain.length >= 2, `${m.name} serves a chain: ${chain.length}`);
    const leaf = new X509Certificate(chain[0]!);
    assert.ok(leaf.verify(newX.publicKey), `${m.name} serves a certificate of the new CA`);
    assert.not.ok(leaf.verify(oldX.publicKey));
    assert.ok(new X509Certificate(chain[1]!).verify(oldX.publicKey), `${m.name}: the second certificate is the new CA signed by the old one`);
  }
  // The operator's old client, still trusting only the old CA (Go verifies through the cross-signature).
  const h1 = await health(old);
  assert.is(h1.healthy, 3, `old-CA-only client after issue: ${h1.text}`);
  const get = await etcdctl([`--endpoints=https://127.0.13.2:${ports.client}`, ...tls(old), 'get', '/kpki/rotate', '--print-value-only']);
  assert.is(get.text.trim(), 'kept');
  assert.is((await health(treeClient())).healthy, 3);

  // finalize, rolling restart: the new CA alone
  const fin = rotate();
  assert.match(fin, /phase finalize/);
  assert.is(readFileSync(join(out, 'pki/etcd/ca.crt'), 'utf8'), record.newCertPem, 'the store holds the new CA');
  assert.is(readFileSync(join(etcdDir('cp-2'), 'ca.crt'), 'utf8'), record.newCertPem, 'node copies hold the new CA alone');
  await rollingRestart(treeClient());
  const refused = await etcdctl([`--endpoints=https://127.0.13.1:${ports.client}`, ...tls({ ...old, cacert: treeClient().cacert }), 'get', '/kpki/rotate'], 8_000);
  assert.is.not(refused.code, 0, `old-CA client must be refused after finalize: ${refused.text}`);
  assert.not.match(refused.text, /kept/);
  const log = readFileSync(logs.get('cp-1')!, 'utf8');
  assert.match(log, /failed to verify client certificate: x509: certificate signed by unknown authority/);
  const h2 = await health(treeClient());
  assert.is(h2.healthy, 3, h2.text);
  const after = await etcdctl([`--endpoints=${endpoints()}`, ...tls(treeClient()), 'get', '/kpki/rotate', '--print-value-only']);
  assert.is(after.text.trim(), 'kept', 'the data survived the rotation');
});

test.after(async () => {
  for (const m of MEMBERS) await stopMember(m.name);
  cleanup();
});
test.run();
