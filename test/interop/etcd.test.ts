/**
 * Interop: a real three-member etcd cluster (etcd 3.4, peer + client TLS, client-cert auth on
 * both sides) runs on the certificates kpki generates, for both topologies: external etcd
 * (members are the `etcd` nodes, 127.0.10.1-3) and stacked etcd (members are the control-plane
 * nodes, 127.0.11.1-3). Clients prove that the kpki client certificates are accepted and that
 * certificates from another kpki PKI (or none at all) are refused. Each topology starts its
 * cluster once and stops it when its suite ends.
 */
import { X509Certificate } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { kpki, tempDir, writePlan } from '../support/cli.js';
import { BoundExceeded, SERVER_BOUND_MS, run, runSync, start, type BoundedChild } from '../support/proc.js';
import { freePort } from '../support/ports.js';

const ETCD = '/usr/bin/etcd';
const ETCDCTL = '/usr/bin/etcdctl';
interface Topology {
  readonly name: string;
  readonly members: readonly { readonly name: string; readonly address: string }[];
  readonly plan: string;
}

const EXTERNAL_MEMBERS = [1, 2, 3].map((i) => ({ name: `etcd-${i}`, address: `127.0.10.${i}` }));
const STACKED_MEMBERS = [1, 2, 3].map((i) => ({ name: `cp-${i}`, address: `127.0.11.${i}` }));
const TOPOLOGIES: readonly Topology[] = [
  {
    name: 'external etcd',
    members: EXTERNAL_MEMBERS,
    plan: `apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: 127.0.10.100:6443
etcd: { external: true }
nodes:
${EXTERNAL_MEMBERS.map((m) => `  - { name: ${m.name}, address: ${m.address}, roles: [etcd] }`).join('\n')}
  - { name: cp-1, address: 127.0.10.11, roles: [control-plane] }
`,
  },
  {
    name: 'stacked etcd',
    members: STACKED_MEMBERS,
    plan: `apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: 127.0.11.100:6443
nodes:
${STACKED_MEMBERS.map((m) => `  - { name: ${m.name}, address: ${m.address}, roles: [control-plane] }`).join('\n')}
  - { name: worker-1, address: 127.0.11.21, roles: [worker] }
`,
  },
];
const HEALTH_TIMEOUT_MS = 30_000;

const work = tempDir('kpki-etcd-');
const procs: BoundedChild[] = []; // etcd members of every topology
const spawnErrors: Error[] = [];

const etcdDir = (out: string, node: string) => join(out, 'nodes', node, 'etc/kubernetes/pki/etcd');

// ---- cleanup: never leave an etcd behind --------------------------------------------------------

function killAll(): void {
  for (const p of procs) {
    if (p.exitCode === null && p.signalCode === null) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}
function cleanup(): void {
  killAll();
  try {
    rmSync(work, { recursive: true, force: true, maxRetries: 5 });
  } catch {
    /* best effort at exit */
  }
}

/** Kills the given members and waits (bounded) until they are gone. */
async function stop(members: readonly BoundedChild[]): Promise<void> {
  const alive = members.filter((p) => p.exitCode === null && p.signalCode === null);
  const gone = Promise.all(alive.map((p) => new Promise((r) => p.once('exit', r))));
  for (const p of alive) p.kill('SIGKILL');
  await Promise.race([gone, sleep(5_000)]);
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    cleanup();
    process.exit(130);
  });
}
process.on('uncaughtException', (err) => {
  cleanup();
  console.error(err);
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  cleanup();
  console.error(err);
  process.exit(1);
});

// ---- helpers ------------------------------------------------------------------------------------

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs etcdctl (API v3) asynchronously with a hard deadline. Killed at the deadline or not
 * started, it counts as a failed run (code null), which the health loop retries.
 */
async function etcdctl(args: readonly string[], deadlineMs = 10_000): Promise<Run> {
  try {
    const r = await run(ETCDCTL, ['--dial-timeout=2s', '--command-timeout=3s', ...args], { env: { ...process.env, ETCDCTL_API: '3' }, boundMs: deadlineMs });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    if (err instanceof BoundExceeded) return { code: null, stdout: err.stdout, stderr: `${err.stderr}(killed at its ${deadlineMs / 1000} s deadline)` };
    return { code: null, stdout: '', stderr: String(err) };
  }
}

function tlsArgs(cacert: string, cert?: string, key?: string): string[] {
  const a = [`--cacert=${cacert}`];
  if (cert) a.push(`--cert=${cert}`);
  if (key) a.push(`--key=${key}`);
  return a;
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}


/**
 * A free client/peer port pair, bindable on all three addresses. Not the fixed 2379/2380: this
 * file may run while another copy of it (or a real etcd) holds those.
 */
async function choosePorts(members: Topology['members']): Promise<{ client: number; peer: number }> {
  const free = async (p: number) => (await Promise.all(members.map((m) => canBind(m.address, p)))).every(Boolean);
  for (let i = 0; i < 20; i++) {
    const client = await freePort(members[0]!.address);
    const peer = await freePort(members[0]!.address);
    if (client !== peer && (await free(client)) && (await free(peer))) return { client, peer };
  }
  throw new Error(`no free port pair on ${members.map((m) => m.address).join(', ')}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function logTail(logs: ReadonlyMap<string, string>): string {
  return [...logs]
    .map(([name, file]) => {
      const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
      return `--- ${name} ---\n${text.split('\n').slice(-15).join('\n')}`;
    })
    .join('\n');
}

/** Every assertion below, for one topology. */
function etcdSuite(t: Topology): void {
  const test = suite(t.name);
  const dir = join(work, t.name.replace(/\W+/g, '-'));
  const pkiA = join(dir, 'a'); // the cluster's PKI
  const pkiB = join(dir, 'b'); // an unrelated PKI: same plan, different CAs
  const first = t.members[0]!.name;
  const members: BoundedChild[] = [];
  const logs = new Map<string, string>();
  let ports = { client: 0, peer: 0 };
  let ready: Promise<void> | undefined;
  const endpoints = () => t.members.map((m) => `https://${m.address}:${ports.client}`);
  const caA = () => join(pkiA, 'pki/etcd/ca.crt');
  const healthA = () => tlsArgs(caA(), join(etcdDir(pkiA, first), 'healthcheck-client.crt'), join(etcdDir(pkiA, first), 'healthcheck-client.key'));
  const apiserverA = () =>
    tlsArgs(caA(), join(pkiA, 'nodes/cp-1/etc/kubernetes/pki/apiserver-etcd-client.crt'), join(pkiA, 'nodes/cp-1/etc/kubernetes/pki/apiserver-etcd-client.key'));

  async function startCluster(): Promise<void> {
    mkdirSync(dir, { recursive: true });
    for (const [out, label] of [[pkiA, 'A'], [pkiB, 'B']] as const) {
      const r = kpki(['gen', '--plan', writePlan(t.plan, dir), '--out', out]);
      assert.is(r.status, 0, `kpki gen (${label}) failed: ${r.stderr}`);
    }
    ports = await choosePorts(t.members);
    for (const m of t.members) members.push(startMember(m));
    await healthy();
  }

  /** Starts one member on the certificates in its node tree. */
  function startMember(m: Topology['members'][number]): BoundedChild {
    const initialCluster = t.members.map((x) => `${x.name}=https://${x.address}:${ports.peer}`).join(',');
    const dir = etcdDir(pkiA, m.name);
    const log = join(dir, `${m.name}.log`);
    logs.set(m.name, log);
    const fd = openSync(log, 'w');
    const child = start(
      ETCD,
      [
        `--name=${m.name}`,
        `--data-dir=${join(dir, `${m.name}.etcd`)}`,
        `--listen-client-urls=https://${m.address}:${ports.client}`,
        `--advertise-client-urls=https://${m.address}:${ports.client}`,
        `--listen-peer-urls=https://${m.address}:${ports.peer}`,
        `--initial-advertise-peer-urls=https://${m.address}:${ports.peer}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=kpki-interop-${process.pid}`,
        '--client-cert-auth',
        `--trusted-ca-file=${join(dir, 'ca.crt')}`,
        `--cert-file=${join(dir, 'server.crt')}`,
        `--key-file=${join(dir, 'server.key')}`,
        '--peer-client-cert-auth',
        `--peer-trusted-ca-file=${join(dir, 'ca.crt')}`,
        `--peer-cert-file=${join(dir, 'peer.crt')}`,
        `--peer-key-file=${join(dir, 'peer.key')}`,
        '--listen-metrics-urls=', // no extra http listener
      ],
      { stdio: ['ignore', fd, fd], boundMs: SERVER_BOUND_MS },
    );
    closeSync(fd);
    child.on('error', (err) => spawnErrors.push(err));
    procs.push(child);
    return child;
  }

  /** Waits (bounded) until every member answers the health check. */
  async function healthy(): Promise<void> {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    let last: Run | undefined;
    while (Date.now() < deadline) {
      if (spawnErrors.length) throw new Error(`cannot start etcd: ${spawnErrors.map(String).join('; ')}`);
      const dead = members.find((p) => p.exitCode !== null || p.signalCode !== null);
      if (dead) throw new Error(`an etcd member exited early (${dead.exitCode ?? dead.signalCode})\n${logTail(logs)}`);
      last = await etcdctl([`--endpoints=${endpoints().join(',')}`, ...healthA(), 'endpoint', 'health'], 6_000);
      if (last.code === 0) return;
      await sleep(300);
    }
    throw new Error(`etcd cluster not healthy within ${HEALTH_TIMEOUT_MS} ms: ${last?.stderr}\n${logTail(logs)}`);
  }

  /** Starts the cluster once; every test awaits it, so a failed start fails each test loudly. */
  function cluster(): Promise<void> {
    ready ??= startCluster();
    return ready;
  }


  // ---- tests --------------------------------------------------------------------------------------

  test('etcd tools are installed', () => {
    assert.ok(existsSync(ETCD), `${ETCD} missing`);
    assert.ok(existsSync(ETCDCTL), `${ETCDCTL} missing`);
    assert.match(runSync(ETCD, ['--version']).stdout, /etcd Version: 3\./);
  });

  test('3 members start with kpki peer/server certs and become healthy (healthcheck-client)', async () => {
    await cluster();
    const r = await etcdctl([`--endpoints=${endpoints().join(',')}`, ...healthA(), 'endpoint', 'health', '--cluster']);
    assert.is(r.code, 0, r.stderr);
    const out = r.stdout + r.stderr;
    const healthy = out.split('\n').filter((l) => /is healthy/.test(l));
    assert.is(healthy.length, 3, out);
    for (const m of t.members) assert.ok(healthy.some((l) => l.includes(`https://${m.address}:${ports.client}`)), `${m.address} not healthy:\n${out}`);
  });

  test('apiserver-etcd-client from cp-1: endpoint health --cluster and put/get round-trip', async () => {
    await cluster();
    const eps = `--endpoints=${endpoints().join(',')}`;
    const h = await etcdctl([eps, ...apiserverA(), 'endpoint', 'health', '--cluster']);
    assert.is(h.code, 0, h.stderr);
    assert.is((h.stdout + h.stderr).split('\n').filter((l) => /is healthy/.test(l)).length, 3, h.stdout + h.stderr);

    const value = `kpki-${Date.now()}`;
    const put = await etcdctl([`--endpoints=${endpoints()[0]}`, ...apiserverA(), 'put', '/kpki/interop', value]);
    assert.is(put.code, 0, put.stderr);
    assert.match(put.stdout, /OK/);
    // Read it back through another member: replication over the TLS peer links works.
    const get = await etcdctl([`--endpoints=${endpoints()[2]}`, ...apiserverA(), 'get', '/kpki/interop', '--print-value-only']);
    assert.is(get.code, 0, get.stderr);
    assert.is(get.stdout.trim(), value);
  });

  test('member list: the 3 members by node name, with https peer URLs', async () => {
    await cluster();
    const r = await etcdctl([`--endpoints=${endpoints().join(',')}`, ...healthA(), 'member', 'list', '-w', 'json']);
    assert.is(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { members: { name: string; peerURLs: string[]; clientURLs: string[] }[] };
    assert.is(list.members.length, 3);
    assert.equal(list.members.map((m) => m.name).sort(), t.members.map((m) => m.name));
    for (const m of t.members) {
      const member = list.members.find((x) => x.name === m.name);
      assert.ok(member);
      assert.equal(member.peerURLs, [`https://${m.address}:${ports.peer}`]);
      assert.equal(member.clientURLs, [`https://${m.address}:${ports.client}`]);
    }
  });

  test('rejected: client cert from another kpki PKI, no client cert, and trusting the wrong CA', async () => {
    await cluster();
    const ep = `--endpoints=${endpoints()[0]}`;
    const b1 = etcdDir(pkiB, first);
    const cases: [string, string[]][] = [
      // right CA for the server, but the client cert is signed by PKI B's etcd CA
      ['foreign client cert', tlsArgs(caA(), join(b1, 'healthcheck-client.crt'), join(b1, 'healthcheck-client.key'))],
      // foreign cert and foreign CA: a complete, self-consistent other PKI
      ['foreign PKI', tlsArgs(join(pkiB, 'pki/etcd/ca.crt'), join(b1, 'healthcheck-client.crt'), join(b1, 'healthcheck-client.key'))],
      // no client certificate at all
      ['no client cert', tlsArgs(caA())],
      // a valid client cert, but the client trusts PKI B's etcd CA: server verification fails
      ['wrong trusted CA', [`--cacert=${join(pkiB, 'pki/etcd/ca.crt')}`, ...healthA().slice(1)]],
    ];
    const logBefore = readFileSync(logs.get(first)!, 'utf8').length;
    const results = await Promise.all(cases.map(([, args]) => etcdctl([ep, ...args, 'get', '/kpki/interop'])));
    cases.forEach(([name], i) => {
      const r = results[i]!;
      assert.is.not(r.code, 0, `${name}: etcdctl succeeded but must be refused\n${r.stdout}`);
      assert.not.match(r.stdout, /kpki-/, `${name}: value leaked`);
    });
    // etcdctl only reports a deadline; the first member's log says why each handshake failed.
    const rejected = readFileSync(logs.get(first)!, 'utf8')
      .slice(logBefore)
      .split('\n')
      .filter((l) => l.includes('rejected connection'))
      .join('\n');
    // foreign client cert: the server does not trust PKI B's etcd CA
    assert.match(rejected, /failed to verify client certificate: x509: certificate signed by unknown authority/, rejected);
    // no client cert: --client-cert-auth requires one
    assert.match(rejected, /client didn't provide a certificate/, rejected);
    // wrong trusted CA (and foreign PKI): the client aborts the handshake on the server cert
    assert.match(rejected, /remote error: tls: bad certificate/, rejected);

    // Control: the same command shape with the right client cert succeeds.
    const ok = await etcdctl([ep, ...healthA(), 'get', '/kpki/interop', '--print-value-only']);
    assert.is(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /kpki-/);
  });

  test('after kpki renew all, without a restart: every member serves its renewed certificate on new connections; data kept, old and new clients accepted', async () => {
    await cluster();
    const hc = (out: string) => ({ crt: join(etcdDir(out, first), 'healthcheck-client.crt'), key: join(etcdDir(out, first), 'healthcheck-client.key') });
    // The client a monitoring system was configured with before the renewal (copied away).
    const old = { crt: join(dir, 'old-hc.crt'), key: join(dir, 'old-hc.key') };
    copyFileSync(hc(pkiA).crt, old.crt);
    copyFileSync(hc(pkiA).key, old.key);
    const served = (m: Topology['members'][number]) =>
      runSync('openssl', ['s_client', '-connect', `${m.address}:${ports.client}`, '-servername', m.address], { input: '' }).stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
    const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
    const before = t.members.map((m) => fingerprint(readFileSync(join(etcdDir(pkiA, m.name), 'server.crt'), 'utf8')));

    const r = kpki(['renew', 'all', '--plan', join(dir, 'cluster.yaml'), '--out', pkiA]);
    assert.is(r.status, 0, r.stderr);
    // kpki's restart list says etcd needs no restart (it reads its files on each new connection):
    // held to the real etcd here, with the members left running.
    assert.match(r.stdout, /etcd reloads on its next connections, no restart \(etcd\/server.crt, etcd\/peer.crt\)/);
    for (const [i, m] of t.members.entries()) {
      const pem = served(m);
      assert.ok(pem, `${m.name}: no certificate served`);
      const now = fingerprint(readFileSync(join(etcdDir(pkiA, m.name), 'server.crt'), 'utf8'));
      assert.is.not(now, before[i], `${m.name}: server.crt was renewed`);
      assert.is(fingerprint(pem), now, `${m.name} serves the renewed server.crt without a restart`);
    }
    // The data is there; renewed and earlier clients are accepted.
    const get = await etcdctl([`--endpoints=${endpoints()[1]}`, ...apiserverA(), 'get', '/kpki/interop', '--print-value-only']);
    assert.is(get.code, 0, get.stderr);
    assert.match(get.stdout, /kpki-/);
    for (const c of [hc(pkiA), old]) {
      const h = await etcdctl([`--endpoints=${endpoints().join(',')}`, ...tlsArgs(caA(), c.crt, c.key), 'endpoint', 'health', '--cluster']);
      assert.is(h.code, 0, h.stderr);
      assert.is((h.stdout + h.stderr).split('\n').filter((l) => /is healthy/.test(l)).length, 3, h.stdout + h.stderr);
    }
    assert.is.not(fingerprint(readFileSync(old.crt, 'utf8')), fingerprint(readFileSync(hc(pkiA).crt, 'utf8')), 'the healthcheck client was renewed too');
  });

  test.after(() => stop(members));
  test.run();
}

for (const t of TOPOLOGIES) etcdSuite(t);
