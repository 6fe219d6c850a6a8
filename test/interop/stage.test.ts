/**
 * Interop: what `kpki install --stage` renders, run. Every node address is a loopback address
 * (127.117.N.x, N from the PID so two copies of this file do not meet).
 *  - The real etcd, started three times from the ExecStart line and Environment of each
 *    control plane's staged etcd.service (read as systemd reads it; absolute paths point into
 *    that host's staged tree, the data dir into a scratch directory), forms a healthy
 *    three-member TLS cluster; the apiserver unit's --etcd-* flags reach it.
 *  - The real HAProxy, started with lb-1's staged haproxy.cfg, forwards TLS to Node TLS servers
 *    standing in for the apiservers (each with its host's staged serving pair and client CA, on
 *    the unit's --advertise-address and --secure-port), its health checks pass TLS verification
 *    against the staged CA, and kubectl with the staged admin.conf reaches them through it.
 * Started once for the file, stopped when it ends.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { kpki, tempDir, writePlan } from '../support/cli.js';
import { standInApiserver as standIn, type StandInRequest } from '../support/apiserver-stand-in.js';
import { run, SERVER_BOUND_MS, start, type BoundedChild } from '../support/proc.js';
import { execStartArgv, flagValue, parseUnit, unitEnvironment } from '../support/systemd-unit.js';

const test = suite('install --stage, run');
const work = tempDir('kpki-stage-run-');
const children: BoundedChild[] = [];
const servers: Server[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cleanup(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of servers) s.close();
  rmSync(work, { recursive: true, force: true, maxRetries: 3 });
}
process.on('exit', cleanup);

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A 127.117.N.0/24 whose ports the units use are all free (bounded tries). */
async function chooseNet(): Promise<string> {
  for (let i = 0; i < 20; i++) {
    const net = `127.117.${1 + ((process.pid + i * 37) % 250)}`;
    const wanted = [1, 2, 3].flatMap((h) => [2379, 2380, 6443].map((p) => [`${net}.${h}`, p] as const));
    if ((await Promise.all([...wanted, [`${net}.100`, 6443] as const].map(([h, p]) => canBind(h, p)))).every(Boolean)) return net;
  }
  throw new Error('no 127.117.N.0/24 with ports 2379, 2380 and 6443 free');
}

const CPS = ['cp-1', 'cp-2', 'cp-3'];
let net = '';
let stage = '';
let out = '';
let ready: Promise<void> | undefined;
const logs = new Map<string, string>();
/** What each stand-in apiserver saw: path and the client certificate's CN. */
const seen: StandInRequest[] = [];

function logTail(): string {
  return [...logs].map(([n, f]) => `--- ${n} ---\n${existsSync(f) ? readFileSync(f, 'utf8').split('\n').slice(-12).join('\n') : ''}`).join('\n');
}

const unitOf = (host: string, name: string) => parseUnit(readFileSync(join(stage, host, 'etc/systemd/system', name), 'utf8'));

/** A flag's value from the unit's command line. */

/** An absolute path as the host sees it → the staged copy, or (not staged: a data dir) a scratch directory of that host. */
function onHost(host: string, path: string): string {
  const staged = join(stage, host, path);
  return existsSync(staged) ? staged : join(work, 'scratch', host, path);
}

function rewriteArgs(host: string, argv: readonly string[]): string[] {
  return argv.map((a) => {
    const eq = a.indexOf('=');
    return eq > 0 && a[eq + 1] === '/' ? `${a.slice(0, eq + 1)}${onHost(host, a.slice(eq + 1))}` : a;
  });
}

async function setUp(): Promise<void> {
  net = await chooseNet();
  const bin = join(work, 'bin');
  mkdirSync(bin);
  symlinkSync('/usr/bin/etcd', join(bin, 'etcd'));
  for (const b of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'kubectl']) symlinkSync('/bin/true', join(bin, b));
  const plan = writePlan(`apiVersion: kpki/v1alpha1
kind: Cluster
kubernetesVersion: v1.31.2
controlPlaneEndpoint: ${net}.100:6443
binDir: ${bin}
loadBalancer: { vip: ${net}.100, interface: lo }
nodes:
${CPS.map((n, i) => `  - { name: ${n}, address: ${net}.${i + 1}, roles: [control-plane] }`).join('\n')}
  - { name: worker-1, address: ${net}.11, roles: [worker] }
  - { name: lb-1, address: ${net}.21, roles: [load-balancer] }
  - { name: lb-2, address: ${net}.22, roles: [load-balancer] }
`, work);
  out = join(work, 'out');
  stage = join(work, 'staged');
  const g = kpki(['gen', '--plan', plan, '--out', out]);
  assert.is(g.status, 0, g.stderr);
  const i = kpki(['install', '--plan', plan, '--out', out, '--stage', stage]);
  assert.is(i.status, 0, i.stderr);
  for (const host of CPS) startEtcd(host);
  await etcdHealthy();
  for (const host of CPS) await standInApiserver(host);
  await startHaproxy();
}

function startEtcd(host: string): void {
  const unit = unitOf(host, 'etcd.service');
  const argv = execStartArgv(unit);
  const args = rewriteArgs(host, argv.slice(1));
  mkdirSync(flagValue(args, 'data-dir'), { recursive: true, mode: 0o700 });
  const log = join(work, `etcd-${host}.log`);
  logs.set(`etcd ${host}`, log);
  const fd = openSync(log, 'w');
  const child = start(argv[0]!, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...unitEnvironment(unit) }, boundMs: SERVER_BOUND_MS });
  closeSync(fd);
  children.push(child);
}

/** etcdctl with cp-1's staged healthcheck client, against the members' advertised client URLs. */
async function etcdctl(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  const pki = join(stage, 'cp-1/etc/kubernetes/pki/etcd');
  const endpoints = CPS.map((h) => flagValue(execStartArgv(unitOf(h, 'etcd.service')), 'advertise-client-urls')).join(',');
  try {
    const r = await run('/usr/bin/etcdctl', [`--endpoints=${endpoints}`, `--cacert=${pki}/ca.crt`, `--cert=${pki}/healthcheck-client.crt`, `--key=${pki}/healthcheck-client.key`, '--dial-timeout=2s', '--command-timeout=3s', ...args], { env: { ...process.env, ETCDCTL_API: '3' }, boundMs: 10_000 });
    return { code: r.status, out: r.stdout + r.stderr };
  } catch (err) {
    return { code: null, out: String(err) };
  }
}

async function etcdHealthy(): Promise<void> {
  let last = '';
  for (let i = 0; i < 100; i++) {
    const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (dead) throw new Error(`an etcd member exited (${dead.exitCode ?? dead.signalCode})\n${logTail()}`);
    const r = await etcdctl(['endpoint', 'health']);
    if (r.code === 0) return;
    last = r.out;
    await sleep(300);
  }
  throw new Error(`etcd not healthy: ${last}\n${logTail()}`);
}

/** A TLS server with the host's staged apiserver pair and client CA, where the unit would listen. */
async function standInApiserver(host: string): Promise<void> {
  const argv = rewriteArgs(host, execStartArgv(unitOf(host, 'kube-apiserver.service')));
  servers.push(await standIn({
    cert: flagValue(argv, 'tls-cert-file'), key: flagValue(argv, 'tls-private-key-file'), ca: flagValue(argv, 'client-ca-file'),
    address: flagValue(argv, 'advertise-address'), port: Number(flagValue(argv, 'secure-port')), name: host,
    onRequest: (r) => seen.push(r),
  }));
}

async function startHaproxy(): Promise<void> {
  const lb = join(stage, 'lb-1');
  const cfg = readFileSync(join(lb, 'etc/haproxy/haproxy.cfg'), 'utf8');
  const local = join(work, 'haproxy.cfg');
  writeFileSync(local, cfg.replaceAll('/etc/haproxy/', `${lb}/etc/haproxy/`));
  const log = join(work, 'haproxy.log');
  logs.set('haproxy', log);
  const fd = openSync(log, 'w');
  children.push(start('/usr/sbin/haproxy', ['-db', '-f', local], { stdio: ['ignore', fd, fd], boundMs: SERVER_BOUND_MS }));
  closeSync(fd);
  const bind = /bind (\S+):(\d+)/.exec(cfg);
  assert.ok(bind, cfg);
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(Number(bind[2]), bind[1]!, () => (s.end(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await sleep(100);
  }
  throw new Error(`haproxy does not listen on ${bind[1]}:${bind[2]}\n${logTail()}`);
}

const cluster = () => (ready ??= setUp());

test('etcd from the three staged units: a healthy three-member TLS cluster, members named by node', async () => {
  await cluster();
  const health = await etcdctl(['endpoint', 'health', '--cluster']);
  assert.is(health.code, 0, health.out);
  assert.is(health.out.split('\n').filter((l) => /is healthy/.test(l)).length, 3, health.out);
  const list = await etcdctl(['member', 'list', '-w', 'json']);
  assert.is(list.code, 0, list.out);
  const members = (JSON.parse(list.out.slice(list.out.indexOf('{'))) as { members: { name: string; peerURLs: string[] }[] }).members;
  assert.equal(members.map((m) => m.name).sort(), CPS);
  for (const m of members) assert.equal(m.peerURLs, [`https://${net}.${CPS.indexOf(m.name) + 1}:2380`]);
});

test("the apiserver unit's --etcd-servers, --etcd-cafile, --etcd-certfile and --etcd-keyfile write and read through that cluster", async () => {
  await cluster();
  const argv = rewriteArgs('cp-2', execStartArgv(unitOf('cp-2', 'kube-apiserver.service')));
  const tls = [`--endpoints=${flagValue(argv, 'etcd-servers')}`, `--cacert=${flagValue(argv, 'etcd-cafile')}`, `--cert=${flagValue(argv, 'etcd-certfile')}`, `--key=${flagValue(argv, 'etcd-keyfile')}`];
  const env = { ...process.env, ETCDCTL_API: '3' };
  const put = await run('/usr/bin/etcdctl', [...tls, 'put', '/kpki/stage', 'staged'], { env, boundMs: 10_000 });
  assert.is(put.status, 0, put.stderr);
  const get = await run('/usr/bin/etcdctl', [...tls, 'get', '/kpki/stage', '--print-value-only'], { env, boundMs: 10_000 });
  assert.is(get.stdout.trim(), 'staged', get.stderr);
});

test('HAProxy from the staged config: health checks reach every apiserver over verified TLS (GET /readyz)', async () => {
  await cluster();
  for (let i = 0; i < 150 && !CPS.every((h) => seen.some((s) => s.server === h && s.path === '/readyz')); i++) await sleep(100);
  for (const h of CPS) assert.ok(seen.some((s) => s.server === h && s.path === '/readyz'), `no health check reached ${h}\n${logTail()}`);
});

test('kubectl with the staged admin.conf reaches the apiservers through HAProxy on the VIP, as kubernetes-admin', async () => {
  await cluster();
  const kubeconfig = join(stage, 'cp-1/etc/kubernetes/admin.conf');
  assert.match(readFileSync(kubeconfig, 'utf8'), new RegExp(`server: https://${net.replaceAll('.', '\\.')}\\.100:6443`));
  const served = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const r = await run('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', '/version'], { boundMs: 20_000 });
    assert.is(r.status, 0, `${r.stderr}\n${logTail()}`);
    const body = JSON.parse(r.stdout) as { servedBy: string; client: string | null };
    assert.ok(CPS.includes(body.servedBy), r.stdout);
    assert.is(body.client, 'kubernetes-admin', 'the admin client certificate went through to the apiserver');
    served.add(body.servedBy);
  }
  assert.ok(served.size >= 1);
});

test.after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.race([Promise.all(children.map((c) => c.exited.catch(() => undefined))), sleep(5_000)]);
  for (const s of servers) s.close();
});

test.run();
