/**
 * Live probes (`kpki check --probe`), on loopback only.
 *
 * - targets: the list a plan implies, written out by hand;
 * - Node TLS servers on 127.0.77.x holding certificates in memory while `kpki gen` has renewed
 *   the files on disk (served-stale naming the component and node), an openssl-made expired
 *   certificate (faketime), a wrong name, the wrong CA, closed and silent ports;
 * - a real etcd member on 127.0.0.1 with client-cert auth on both ports, started from a copy of
 *   its node tree (as a deployed host holds it) while the probe compares with the kpki tree.
 */
import { X509Certificate } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolve } from '../../pki/catalog/resolve.js';
import { mapLimit, parseProbeArg, probe, probeTargets, type ProbeOptions, type ProbeResult, type ProbeTarget } from '../../pki/check/probe.js';
import { parsePlan } from '../../pki/plan/parse.js';
import { kpki, sh, tempDir, writePlan } from '../support/cli.js';
import { SERVER_BOUND_MS, runSync, start, type BoundedChild } from '../support/proc.js';
import { freePort } from '../support/ports.js';

const WORK = tempDir('kpki-probe-');
const servers: (tls.Server | NetServer)[] = [];
const procs: BoundedChild[] = [];
function cleanup(): void {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(WORK, { recursive: true, force: true, maxRetries: 5 });
}
process.on('exit', cleanup);

// ---- helpers ------------------------------------------------------------------------------------

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once('error', () => ok(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => ok(true)));
  });
}
/** A port free on every one of `hosts`. */
async function portOn(...hosts: string[]): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const p = await freePort(hosts[0]!);
    if ((await Promise.all(hosts.map((h) => canBind(h, p)))).every(Boolean)) return p;
  }
  throw new Error(`no free port on ${hosts.join(', ')}`);
}

interface Served { port: number; connections: number; sni: string[] }
/** A TLS server holding one certificate in memory; counts connections and records the SNI names sent. */
async function serve(host: string, cert: string, key: string, port = 0): Promise<Served> {
  const s: Served = { port: 0, connections: 0, sni: [] };
  const context = tls.createSecureContext({ cert, key });
  const server = tls.createServer({ cert, key, SNICallback: (name, cb) => { s.sni.push(name); cb(null, context); } }, (socket) => socket.end());
  server.on('connection', () => s.connections++);
  server.on('tlsClientError', () => {});
  servers.push(server);
  await new Promise<void>((ok) => server.listen(port, host, ok));
  s.port = (server.address() as AddressInfo).port;
  return s;
}

const codes = (r: ProbeResult) => r.findings.map((f) => f.code).sort();

/** Reads an output tree the way `check` hands it to the probe. */
function diskOf(out: string): Pick<ProbeOptions, 'diskCerts' | 'caPems'> {
  const read = (rel: string) => (existsSync(join(out, rel)) ? readFileSync(join(out, rel), 'utf8') : undefined);
  return {
    diskCerts: read,
    caPems: { 'ca': read('pki/ca.crt'), 'front-proxy-ca': read('pki/front-proxy-ca.crt'), 'etcd-ca': read('pki/etcd/ca.crt') },
  };
}

function gen(plan: string, out: string): void {
  const r = kpki(['gen', '--plan', writePlan(plan, mkdtempSync(join(WORK, 'plan-'))), '--out', out]);
  assert.is(r.status, 0, r.stderr);
}

// ---- targets: pure, from the catalog's `serves` facts ------------------------------------------------

const targets = suite('probe targets');

targets('an HA plan: apiserver per control plane + the endpoint, etcd 2379/2380 per member, kubelet 10250 per node', () => {
  const plan = parsePlan(
    `apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: api.example.internal:8443
apiServer: { bindPort: 7443 }
nodes:
  - { name: cp-1, address: 10.0.0.1, roles: [control-plane] }
  - { name: cp-2, address: 10.0.0.2, roles: [control-plane] }
  - { name: w-1, address: 10.0.0.21, roles: [worker] }
`,
    'ha.yaml',
  );
  const cp1 = { ref: 'apiserver@cp-1', node: 'cp-1', expectCertFile: 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt' };
  const cp2 = { ref: 'apiserver@cp-2', node: 'cp-2', expectCertFile: 'nodes/cp-2/etc/kubernetes/pki/apiserver.crt' };
  const api = { component: 'kube-apiserver', signer: 'ca' };
  const etcd = { component: 'etcd', signer: 'etcd-ca', reloads: 'per-connection' };
  const kubelet = { component: 'kubelet', signer: 'ca' };
  const at = (host: string, port: number) => ({ host, port, servername: host });
  const one = (ref: string, node: string, file: string) => [{ ref, node, expectCertFile: `nodes/${node}/${file}` }];
  assert.equal(probeTargets(resolve(plan)), [
    { ...at('10.0.0.1', 7443), label: 'apiserver@cp-1', ...api, expected: [cp1] },
    { ...at('10.0.0.2', 7443), label: 'apiserver@cp-2', ...api, expected: [cp2] },
    { ...at('api.example.internal', 8443), label: 'apiserver via the endpoint', ...api, expected: [cp1, cp2] },
    { ...at('10.0.0.1', 2379), label: 'etcd-server@cp-1', ...etcd, expected: one('etcd-server@cp-1', 'cp-1', 'etc/kubernetes/pki/etcd/server.crt') },
    { ...at('10.0.0.2', 2379), label: 'etcd-server@cp-2', ...etcd, expected: one('etcd-server@cp-2', 'cp-2', 'etc/kubernetes/pki/etcd/server.crt') },
    { ...at('10.0.0.1', 2380), label: 'etcd-peer@cp-1', ...etcd, expected: one('etcd-peer@cp-1', 'cp-1', 'etc/kubernetes/pki/etcd/peer.crt') },
    { ...at('10.0.0.2', 2380), label: 'etcd-peer@cp-2', ...etcd, expected: one('etcd-peer@cp-2', 'cp-2', 'etc/kubernetes/pki/etcd/peer.crt') },
    { ...at('10.0.0.1', 10250), label: 'kubelet-serving@cp-1', ...kubelet, expected: one('kubelet-serving@cp-1', 'cp-1', 'var/lib/kubelet/pki/kubelet.crt') },
    { ...at('10.0.0.2', 10250), label: 'kubelet-serving@cp-2', ...kubelet, expected: one('kubelet-serving@cp-2', 'cp-2', 'var/lib/kubelet/pki/kubelet.crt') },
    { ...at('10.0.0.21', 10250), label: 'kubelet-serving@w-1', ...kubelet, expected: one('kubelet-serving@w-1', 'w-1', 'var/lib/kubelet/pki/kubelet.crt') },
  ]);
});

targets('one control plane that is its own endpoint is probed once; external etcd members; IPv6', () => {
  const plan = parsePlan(
    `apiVersion: kpki/v1alpha1
kind: Cluster
networking: { serviceSubnet: "fd00:10:96::/112" }
etcd: { external: true }
nodes:
  - { name: cp-1, address: "fd00::1", roles: [control-plane] }
  - { name: e-1, address: "fd00::11", roles: [etcd] }
`,
    'v6.yaml',
  );
  const got = probeTargets(resolve(plan)).map((t) => `${t.label} ${t.host} ${t.port}`);
  assert.equal(got, [
    'apiserver@cp-1 fd00::1 6443',
    'etcd-server@e-1 fd00::11 2379',
    'etcd-peer@e-1 fd00::11 2380',
    'kubelet-serving@cp-1 fd00::1 10250',
  ]);
});

targets('parseProbeArg: host:port and [v6]:port; a target the plan implies comes back as the plan\'s', () => {
  assert.equal(parseProbeArg('127.0.0.1:2379'), { host: '127.0.0.1', port: 2379, servername: '127.0.0.1', label: '127.0.0.1:2379', expected: [] });
  assert.equal(parseProbeArg('[::1]:6443'), { host: '::1', port: 6443, servername: '::1', label: '[::1]:6443', expected: [] });
  assert.equal(parseProbeArg('api.example.internal:443'), { host: 'api.example.internal', port: 443, servername: 'api.example.internal', label: 'api.example.internal:443', expected: [] });
  assert.is(parseProbeArg('api.example.internal'), '--probe api.example.internal: a port is needed, like api.example.internal:6443');
  assert.is(parseProbeArg('[::1]'), '--probe [::1]: a port is needed, like [::1]:6443');
  for (const bad of ['::1:6443', 'host:0', 'host:99999', 'host:x', ':6443', '[10.0.0.1]:1', 'a b:1']) {
    const r = parseProbeArg(bad);
    assert.type(r, 'string', bad);
    assert.ok((r as string).startsWith(`--probe ${bad}: `), r as string);
  }
  const known: ProbeTarget[] = [{ host: 'fd00::1', port: 6443, servername: 'fd00::1', label: 'apiserver@cp-1', component: 'kube-apiserver', signer: 'ca', expected: [] }];
  assert.is(parseProbeArg('[FD00:0::1]:6443', known), known[0]);
});

targets('mapLimit: never more than the limit in flight, results in input order', async () => {
  let inFlight = 0;
  let most = 0;
  const out = await mapLimit([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3, async (n) => {
    most = Math.max(most, ++inFlight);
    await new Promise((r) => setTimeout(r, 11 - n));
    inFlight--;
    return n * 10;
  });
  assert.is(most, 3);
  assert.equal(out, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
});

targets.run();

// ---- Node TLS servers ---------------------------------------------------------------------------------

const live = suite('probe: Node TLS servers on 127.0.77.x');
const CP1 = '127.0.77.1';
const CP2 = '127.0.77.2';
const LB = '127.0.77.100';
const W1 = '127.0.77.21';
const OUT = join(WORK, 'ha');
const API = 'etc/kubernetes/pki/apiserver';
let env: { bindPort: number; lbPort: number; targets: ProbeTarget[]; old: Record<string, { crt: string; key: string }> } | undefined;
const nodeFile = (node: string, rel: string) => readFileSync(join(OUT, 'nodes', node, rel), 'utf8');

/** gen, keep the apiserver pairs in memory, change the plan, gen again: the disk has new ones. */
async function ha(): Promise<NonNullable<typeof env>> {
  if (env) return env;
  const bindPort = await portOn(CP1, CP2);
  const lbPort = await portOn(LB);
  const plan = (sans: string) => `apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: ${LB}:${lbPort}
apiServer: { bindPort: ${bindPort}${sans} }
nodes:
  - { name: cp-1, address: ${CP1}, roles: [control-plane] }
  - { name: cp-2, address: ${CP2}, roles: [control-plane] }
  - { name: worker-1, address: ${W1}, roles: [worker] }
`;
  gen(plan(''), OUT);
  const old = Object.fromEntries(['cp-1', 'cp-2'].map((n) => [n, { crt: nodeFile(n, `${API}.crt`), key: nodeFile(n, `${API}.key`) }]));
  const v2 = plan(', certSANs: [api.example.internal]');
  gen(v2, OUT);
  assert.is.not(nodeFile('cp-1', `${API}.crt`), old['cp-1']!.crt, 'gen must have reissued the apiserver certificate');
  env = { bindPort, lbPort, targets: probeTargets(resolve(parsePlan(v2, 'v2.yaml'))), old };
  return env;
}
const target = (label: string) => {
  const t = env!.targets.find((x) => x.label === label);
  if (!t) throw new Error(`no target ${label}`);
  return t;
};

live('old certificate in memory, new one on disk: served-stale names the component and node; the endpoint too', async () => {
  const { bindPort, lbPort, old } = await ha();
  const s1 = await serve(CP1, old['cp-1']!.crt, old['cp-1']!.key, bindPort); // not restarted
  const s2 = await serve(CP2, nodeFile('cp-2', `${API}.crt`), nodeFile('cp-2', `${API}.key`), bindPort); // restarted
  const lb = await serve(LB, old['cp-2']!.crt, old['cp-2']!.key, lbPort); // the LB passes through to cp-2's old one
  const wanted = env!.targets.filter((t) => t.component === 'kube-apiserver');
  assert.equal(wanted.map((t) => t.label), ['apiserver@cp-1', 'apiserver@cp-2', 'apiserver via the endpoint']);
  const [r1, r2, rlb] = await probe(wanted, { ...diskOf(OUT), timeoutMs: 3000 });

  assert.equal(r1!.findings.map((f) => [f.code, f.severity, f.file, f.ref]), [['served-stale', 'warning', `${CP1}:${bindPort}`, 'apiserver@cp-1']]);
  const issued = (pem: string) => new Date(new X509Certificate(pem).validFrom).toISOString().replace('.000Z', 'Z');
  assert.is(r1!.findings[0]!.message, 'renewed on disk, still serving the old one: restart kube-apiserver on cp-1 ' +
    `(${CP1}:${bindPort} serves one issued ${issued(old['cp-1']!.crt)}, nodes/cp-1/${API}.crt was issued ${issued(nodeFile('cp-1', `${API}.crt`))})`);
  assert.is(r1!.served?.pem, new X509Certificate(old['cp-1']!.crt).toString());
  assert.is(r1!.served?.matches, undefined);

  assert.equal(r2!.findings, []);
  assert.is(r2!.served?.matches, `nodes/cp-2/${API}.crt`);
  assert.is(r2!.served?.subjectCN, 'kube-apiserver');

  assert.equal(codes(rlb!), ['served-stale']);
  assert.ok(rlb!.findings[0]!.message.startsWith('renewed on disk, still serving the old one: restart kube-apiserver on cp-2 ('), rlb!.findings[0]!.message);
  assert.is(rlb!.findings[0]!.file, `${LB}:${lbPort}`);
  assert.is(rlb!.findings[0]!.ref, 'apiserver@cp-2');
  // IP names are not sent as SNI (RFC 6066).
  assert.equal([...s1.sni, ...s2.sni, ...lb.sni], []);
});

live('probes only what it is given', async () => {
  await ha();
  const s = await serve(CP1, nodeFile('cp-1', `${API}.crt`), nodeFile('cp-1', `${API}.key`), await portOn(CP1));
  const other = await serve(CP1, nodeFile('cp-1', `${API}.crt`), nodeFile('cp-1', `${API}.key`), await portOn(CP1));
  const [r] = await probe([{ ...target('apiserver@cp-1'), port: s.port }], diskOf(OUT));
  assert.equal(r!.findings, []);
  assert.is(s.connections, 1);
  assert.is(other.connections, 0);
});

live('an expired certificate (openssl, faketime) served by a kubelet: served-expired is critical', async () => {
  await ha();
  const dir = join(WORK, 'expired');
  mkdirSync(dir, { recursive: true });
  sh('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'k.pem')]);
  sh('openssl', ['req', '-new', '-key', join(dir, 'k.pem'), '-subj', '/O=system:nodes/CN=system:node:worker-1', '-out', join(dir, 'r.csr')]);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=DNS:worker-1,IP:${W1}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`);
  sh('faketime', ['2021-01-01 00:00:00', 'openssl', 'x509', '-req', '-in', join(dir, 'r.csr'), '-CA', join(OUT, 'pki/ca.crt'), '-CAkey', join(OUT, 'pki/ca.key'),
    '-set_serial', '0x5eed', '-days', '30', '-extfile', join(dir, 'ext.cnf'), '-out', join(dir, 'c.pem')]);
  assert.match(sh('openssl', ['x509', '-in', join(dir, 'c.pem'), '-noout', '-enddate']), /notAfter=Jan 31 00:00:0\d 2021 GMT/);

  const s = await serve(W1, readFileSync(join(dir, 'c.pem'), 'utf8'), readFileSync(join(dir, 'k.pem'), 'utf8'));
  const [r] = await probe([{ ...target('kubelet-serving@worker-1'), port: s.port }], diskOf(OUT));
  // Signed by the right CA and for the right name: only its dates (and that it is not the disk's) are wrong.
  assert.equal(codes(r!), ['served-expired', 'served-stale']);
  const expired = r!.findings.find((f) => f.code === 'served-expired')!;
  assert.is(expired.severity, 'critical');
  assert.match(expired.message, new RegExp(`^kubelet-serving@worker-1 \\(${W1}:${s.port}\\) serves a certificate that expired 2021-01-31T00:00:0\\dZ$`));
  assert.match(r!.findings.find((f) => f.code === 'served-stale')!.message, /^renewed on disk, still serving the old one: restart kubelet on worker-1 \(/);
  assert.is(r!.served?.subjectCN, 'system:node:worker-1');
});

live('the clock: a served certificate before its NotBefore, and after its NotAfter', async () => {
  await ha();
  const s = await serve(CP2, nodeFile('cp-2', `${API}.crt`), nodeFile('cp-2', `${API}.key`), await portOn(CP2));
  const t = { ...target('apiserver@cp-2'), port: s.port };
  const [early] = await probe([t], { ...diskOf(OUT), now: new Date('2000-01-01T00:00:00Z') });
  assert.equal(early!.findings.map((f) => [f.code, f.severity]), [['served-not-yet-valid', 'critical']]);
  const [late] = await probe([t], { ...diskOf(OUT), now: new Date('2999-01-01T00:00:00Z') });
  assert.equal(late!.findings.map((f) => [f.code, f.severity]), [['served-expired', 'critical']]);
});

live('wrong name for how clients reach it: by hand on another address, and a DNS name sent as SNI', async () => {
  await ha();
  const crt = nodeFile('cp-1', `${API}.crt`);
  const key = nodeFile('cp-1', `${API}.key`);
  const other = '127.0.77.50';
  const s = await serve(other, crt, key);
  const byHand = parseProbeArg(`${other}:${s.port}`);
  assert.type(byHand, 'object');
  const [r] = await probe([byHand as ProbeTarget], diskOf(OUT));
  // Given by hand: no file to compare; the chain is checked against any cluster CA and passes.
  assert.equal(r!.findings.map((f) => [f.code, f.severity, f.message]), [[
    'served-wrong-host', 'critical',
    `${other}:${s.port} serves a cert without ${other} for how clients reach it (SANs: ${new X509Certificate(crt).subjectAltName})`,
  ]]);

  const named = await serve(CP1, crt, key, await portOn(CP1));
  const t = { ...target('apiserver@cp-1'), port: named.port };
  const [good, bad] = await probe([{ ...t, servername: 'api.example.internal' }, { ...t, servername: 'api.other.example' }], diskOf(OUT));
  assert.equal(good!.findings, []);
  assert.equal(codes(bad!), ['served-wrong-host']);
  assert.match(bad!.findings[0]!.message, /^apiserver@cp-1 \(127\.0\.77\.1:\d+\) serves a cert without api\.other\.example for how clients reach it/);
  assert.equal(named.sni, ['api.example.internal', 'api.other.example']);
});

live('IPv6 loopback by hand: [::1] is in the etcd certificate, signed by a cluster CA: nothing to report', async () => {
  await ha();
  const s = await serve('::1', nodeFile('cp-1', 'etc/kubernetes/pki/etcd/server.crt'), nodeFile('cp-1', 'etc/kubernetes/pki/etcd/server.key'));
  const t = parseProbeArg(`[::1]:${s.port}`) as ProbeTarget;
  const [r] = await probe([t], diskOf(OUT));
  assert.equal(r!.findings, []);
  assert.is(r!.served?.subjectCN, 'cp-1');
  assert.is(s.connections, 1);
});

live('a TLS 1.2 server that requires a client certificate: unreachable without one, served with the etcd client credential', async () => {
  await ha();
  const presented: string[] = [];
  const server = tls.createServer({
    cert: nodeFile('cp-1', 'etc/kubernetes/pki/etcd/server.crt'),
    key: nodeFile('cp-1', 'etc/kubernetes/pki/etcd/server.key'),
    ca: readFileSync(join(OUT, 'pki/etcd/ca.crt')),
    requestCert: true,
    rejectUnauthorized: true,
    maxVersion: 'TLSv1.2', // in TLS 1.3 the client sees the server's certificate before it is refused
  }, (socket) => {
    presented.push(String(socket.getPeerCertificate().subject?.CN));
    socket.end();
  });
  server.on('tlsClientError', () => {});
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, CP1, ok));
  const t = { ...target('etcd-server@cp-1'), port: (server.address() as AddressInfo).port };
  const client = {
    certPem: nodeFile('cp-1', 'etc/kubernetes/pki/apiserver-etcd-client.crt'),
    keyPem: nodeFile('cp-1', 'etc/kubernetes/pki/apiserver-etcd-client.key'),
  };
  const [without] = await probe([t], diskOf(OUT));
  assert.equal(codes(without!), ['probe-unreachable']);
  // A credential for another component is not presented to etcd.
  const [other] = await probe([t], { ...diskOf(OUT), clientCerts: { kubelet: client } });
  assert.equal(codes(other!), ['probe-unreachable']);
  const [withCred] = await probe([t], { ...diskOf(OUT), clientCerts: { etcd: client } });
  assert.equal(withCred!.findings, []);
  assert.is(withCred!.served?.matches, 'nodes/cp-1/etc/kubernetes/pki/etcd/server.crt');
  // The server's connection callback runs after the probe has its answer; wait for it, bounded.
  for (let i = 0; i < 50 && presented.length === 0; i++) await new Promise((ok) => setTimeout(ok, 20));
  assert.equal(presented, ['kube-apiserver-etcd-client']);
});

live('the wrong CA for the role: an apiserver certificate on the etcd port is served-untrusted', async () => {
  await ha();
  const s = await serve(CP1, nodeFile('cp-1', `${API}.crt`), nodeFile('cp-1', `${API}.key`));
  const [r] = await probe([{ ...target('etcd-server@cp-1'), port: s.port }], diskOf(OUT));
  assert.equal(codes(r!), ['served-stale', 'served-untrusted']);
  const u = r!.findings.find((f) => f.code === 'served-untrusted')!;
  assert.is(u.severity, 'critical');
  assert.match(u.message, /^etcd-server@cp-1 \(127\.0\.77\.1:\d+\) serves a certificate not signed by etcd-ca, the CA its clients trust \(signed by ca\)$/);
});

live('unreachable: a closed port, a silent port (bounded by the timeout), a port that does not speak TLS', async () => {
  await ha();
  const closed = await freePort(CP1); // bound, then released: nothing listens
  const silent = createServer(() => {}); // accepts and never answers
  const plain = createServer((c) => c.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  servers.push(silent, plain);
  await new Promise<void>((ok) => silent.listen(0, CP1, ok));
  await new Promise<void>((ok) => plain.listen(0, CP1, ok));
  const t = target('apiserver@cp-1');
  const ports = [closed, (silent.address() as AddressInfo).port, (plain.address() as AddressInfo).port];
  const rs = await probe(ports.map((port) => ({ ...t, port })), { ...diskOf(OUT), timeoutMs: 400 });
  for (const r of rs) {
    assert.equal(r.findings.map((f) => [f.code, f.severity, f.ref]), [['probe-unreachable', 'warning', 'apiserver@cp-1']]);
    assert.is(r.served, undefined);
  }
  assert.match(rs[0]!.findings[0]!.message, new RegExp(`^cannot probe apiserver@cp-1 \\(${CP1.replace(/\./g, '\\.')}:${closed}\\): ECONNREFUSED`));
  assert.match(rs[1]!.findings[0]!.message, /: no TLS handshake within 400 ms$/);
  assert.match(rs[2]!.findings[0]!.message, /: ERR_SSL_WRONG_VERSION_NUMBER|: EPROTO/);
});

live('bad option values are the caller\'s error, not a network one', async () => {
  let threw = 0;
  for (const o of [{ concurrency: 0 }, { concurrency: 1.5 }, { timeoutMs: 0 }, { timeoutMs: Number.NaN }]) {
    await probe([], { ...diskOf(OUT), ...o }).catch((e: Error) => (threw += e instanceof RangeError ? 1 : 0));
  }
  assert.is(threw, 4);
});

live.after(() => {
  for (const s of servers) s.close();
});
live.run();

// ---- a real etcd member -------------------------------------------------------------------------------

const real = suite('probe: a real etcd member on 127.0.0.1');
const ETCD = '/usr/bin/etcd';
const ETCD_OUT = join(WORK, 'etcd-out');
const HOST = join(WORK, 'etcd-host'); // what the etcd node holds: a copy of its node tree
const etcdPlan = (extra: string) => `apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: 127.0.78.11:6443
etcd: { external: true }
nodes:
  - { name: etcd-1, address: 127.0.0.1, roles: [etcd]${extra} }
  - { name: cp-1, address: 127.0.78.11, roles: [control-plane] }
`;
const ETCD_FILES = ['ca.crt', 'server.crt', 'server.key', 'peer.crt', 'peer.key'];
const deploy = () => {
  mkdirSync(HOST, { recursive: true });
  for (const f of ETCD_FILES) copyFileSync(join(ETCD_OUT, 'nodes/etcd-1/etc/kubernetes/pki/etcd', f), join(HOST, f));
};
let etcd: { client: number; peer: number } | undefined;
const etcdClient = () => ({
  certPem: readFileSync(join(ETCD_OUT, 'nodes/cp-1/etc/kubernetes/pki/apiserver-etcd-client.crt'), 'utf8'),
  keyPem: readFileSync(join(ETCD_OUT, 'nodes/cp-1/etc/kubernetes/pki/apiserver-etcd-client.key'), 'utf8'),
});

async function startEtcd(): Promise<NonNullable<typeof etcd>> {
  if (etcd) return etcd;
  assert.ok(existsSync(ETCD), `${ETCD} missing (Debian etcd-server)`);
  gen(etcdPlan(''), ETCD_OUT);
  deploy();
  const client = await portOn('127.0.0.1');
  let peer = await portOn('127.0.0.1');
  while (peer === client) peer = await portOn('127.0.0.1');
  const log = join(WORK, 'etcd.log');
  const fd = openSync(log, 'w');
  const child = start(ETCD, [
    '--name=etcd-1', `--data-dir=${join(WORK, 'etcd-data')}`,
    `--listen-client-urls=https://127.0.0.1:${client}`, `--advertise-client-urls=https://127.0.0.1:${client}`,
    `--listen-peer-urls=https://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=https://127.0.0.1:${peer}`,
    `--initial-cluster=etcd-1=https://127.0.0.1:${peer}`, '--initial-cluster-state=new',
    '--client-cert-auth', `--trusted-ca-file=${join(HOST, 'ca.crt')}`,
    `--cert-file=${join(HOST, 'server.crt')}`, `--key-file=${join(HOST, 'server.key')}`,
    '--peer-client-cert-auth', `--peer-trusted-ca-file=${join(HOST, 'ca.crt')}`,
    `--peer-cert-file=${join(HOST, 'peer.crt')}`, `--peer-key-file=${join(HOST, 'peer.key')}`,
    '--listen-metrics-urls=',
  ], { stdio: ['ignore', fd, fd], boundMs: SERVER_BOUND_MS });
  closeSync(fd);
  procs.push(child);
  // Ready when etcdctl (not the code under test) can read through the client port.
  const ca = join(ETCD_OUT, 'pki/etcd/ca.crt');
  const cp = join(ETCD_OUT, 'nodes/cp-1/etc/kubernetes/pki/apiserver-etcd-client');
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`etcd exited ${child.exitCode}: ${readFileSync(log, 'utf8').slice(-2000)}`);
    const r = runSync('/usr/bin/etcdctl', [`--endpoints=https://127.0.0.1:${client}`, `--cacert=${ca}`, `--cert=${cp}.crt`, `--key=${cp}.key`,
      '--dial-timeout=2s', '--command-timeout=2s', 'endpoint', 'health'], { env: { ...process.env, ETCDCTL_API: '3' }, boundMs: 30_000 });
    if (r.status === 0) return (etcd = { client, peer });
    await new Promise((ok) => setTimeout(ok, 300));
  }
  throw new Error(`etcd not healthy: ${readFileSync(log, 'utf8').slice(-2000)}`);
}

function etcdTargets(plan: string): ProbeTarget[] {
  const all = probeTargets(resolve(parsePlan(plan, 'etcd.yaml')));
  const at = (label: string, port: number) => ({ ...all.find((t) => t.label === label)!, port });
  return [at('etcd-server@etcd-1', etcd!.client), at('etcd-peer@etcd-1', etcd!.peer)];
}

real('with the apiserver-etcd-client credential: both ports serve exactly the files on disk', async () => {
  await startEtcd();
  const rs = await probe(etcdTargets(etcdPlan('')), { ...diskOf(ETCD_OUT), clientCerts: { etcd: etcdClient() } });
  assert.equal(rs.map((r) => r.findings), [[], []]);
  assert.equal(rs.map((r) => r.served?.matches), [
    'nodes/etcd-1/etc/kubernetes/pki/etcd/server.crt',
    'nodes/etcd-1/etc/kubernetes/pki/etcd/peer.crt',
  ]);
  assert.equal(rs.map((r) => r.served?.subjectCN), ['etcd-1', 'etcd-1']);
});

real('renewed in the tree but not on the etcd host: served-stale says copy it and restart etcd on etcd-1', async () => {
  await startEtcd();
  const plan = etcdPlan(', extraSANs: [etcd-1.example.internal]');
  gen(plan, ETCD_OUT); // reissues server and peer in the tree; the host still has the old ones
  const rs = await probe(etcdTargets(plan), { ...diskOf(ETCD_OUT), clientCerts: { etcd: etcdClient() } });
  assert.equal(rs.map(codes), [['served-stale'], ['served-stale']]);
  const [server, peer] = rs.map((r) => r.findings[0]!);
  assert.is(server!.severity, 'warning');
  assert.is(server!.ref, 'etcd-server@etcd-1');
  assert.ok(server!.message.startsWith(
    'renewed on disk, still serving the old one: copy the renewed nodes/etcd-1/etc/kubernetes/pki/etcd/server.crt to etcd-1 ' +
    '(etcd re-reads it on each connection; restart etcd on etcd-1 if it still serves the old one) (',
  ), server!.message);
  assert.ok(peer!.message.includes('nodes/etcd-1/etc/kubernetes/pki/etcd/peer.crt to etcd-1'), peer!.message);
});

real('the renewed files copied to the host while etcd runs: etcd serves them at once (the catalog\'s per-connection fact)', async () => {
  await startEtcd();
  deploy();
  const rs = await probe(etcdTargets(etcdPlan(', extraSANs: [etcd-1.example.internal]')), { ...diskOf(ETCD_OUT), clientCerts: { etcd: etcdClient() } });
  assert.equal(rs.map((r) => r.findings), [[], []]);
  assert.equal(procs.at(-1)!.exitCode, null, 'etcd kept running');
});

real('without a client certificate: etcd (TLS 1.3) still shows its certificate before refusing the client', async () => {
  await startEtcd();
  const rs = await probe(etcdTargets(etcdPlan(', extraSANs: [etcd-1.example.internal]')), diskOf(ETCD_OUT));
  assert.equal(rs.map((r) => r.findings), [[], []]);
});

real.after(() => {
  for (const p of procs) p.kill('SIGKILL');
});
real.run();
