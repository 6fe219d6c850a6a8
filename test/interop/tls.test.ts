/**
 * Interop with Node's TLS stack (OpenSSL underneath): mutual TLS between the ha-cluster API server
 * certificate and every client credential kpki issues, server identity checks, and a kubelet
 * serving certificate. Everything listens on 127.0.0.1 only.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { FIXTURES, kpki, tempDir } from '../support/cli.js';
import { expectFixture, type KubeconfigExpectation } from './expected.js';

const WORK = tempDir('kpki-interop-tls-');
const OUT = join(WORK, 'ha-cluster');
const X = expectFixture('ha-cluster');
const servers: tls.Server[] = [];

const read = (rel: string) => readFileSync(join(OUT, rel));
const nodeFile = (node: string, rel: string) => read(join('nodes', node, rel));

interface Cred { label: string; cert: Buffer; key: Buffer; cn: string; o: string[] }

function kubeconfigCred(node: string, k: KubeconfigExpectation): Cred {
  const doc = parseYaml(nodeFile(node, k.file).toString('utf8')) as { users?: Array<{ user?: Record<string, string> }> };
  const u = doc.users?.[0]?.user ?? {};
  return {
    label: `${node}:${k.file}`,
    cert: Buffer.from(u['client-certificate-data'] ?? '', 'base64'),
    key: Buffer.from(u['client-key-data'] ?? '', 'base64'),
    cn: k.cert.cn,
    o: k.cert.o,
  };
}

function fileCred(node: string, base: string, cn: string, o: string[]): Cred {
  return { label: `${node}:${base}`, cert: nodeFile(node, `${base}.crt`), key: nodeFile(node, `${base}.key`), cn, o };
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Starts a TLS server on 127.0.0.1; each accepted connection is answered with the peer's CN/O as JSON. */
async function startServer(opts: tls.TlsOptions): Promise<{ port: number; clientErrors: Error[] }> {
  const clientErrors: Error[] = [];
  const server = tls.createServer(opts, (socket) => {
    const pc = socket.getPeerCertificate();
    const subject = pc && pc.subject ? { CN: pc.subject.CN, O: asList(pc.subject.O) } : null;
    socket.end(JSON.stringify({ authorized: socket.authorized, subject }));
  });
  server.on('tlsClientError', (e) => clientErrors.push(e));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, clientErrors };
}

type ConnectResult =
  | { ok: true; reply: { authorized: boolean; subject: { CN: string; O: string[] } | null }; serverCert: tls.PeerCertificate }
  | { ok: false; error: string };

/** Connects, waits for the server's reply (or the failure). */
function connect(opts: tls.ConnectionOptions): Promise<ConnectResult> {
  return new Promise((resolve) => {
    let data = '';
    let serverCert: tls.PeerCertificate | undefined;
    let settled = false;
    const done = (r: ConnectResult) => { if (!settled) { settled = true; socket.destroy(); resolve(r); } };
    const socket = tls.connect({ host: '127.0.0.1', ...opts });
    socket.setTimeout(10_000, () => done({ ok: false, error: 'timeout' }));
    socket.on('secureConnect', () => { serverCert = socket.getPeerCertificate(); });
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', (e) => done({ ok: false, error: `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}` }));
    socket.on('end', () => {
      if (data && serverCert) done({ ok: true, reply: JSON.parse(data), serverCert });
      else done({ ok: false, error: 'closed without a reply' });
    });
    socket.on('close', () => done({ ok: false, error: 'closed' }));
  });
}

let api: { port: number; clientErrors: Error[] };
let caPem: Buffer;

test.before(async () => {
  const r = kpki(['gen', '--plan', join(FIXTURES, 'ha-cluster.yaml'), '--out', OUT]);
  if (r.status !== 0) throw new Error(`kpki gen exited ${r.status}: ${r.stderr}`);
  caPem = read('pki/ca.crt');
  api = await startServer({
    cert: nodeFile('cp-1', 'etc/kubernetes/pki/apiserver.crt'),
    key: nodeFile('cp-1', 'etc/kubernetes/pki/apiserver.key'),
    ca: caPem,
    requestCert: true,
    rejectUnauthorized: true,
  });
});

test.after(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  rmSync(WORK, { recursive: true, force: true });
});

const node = (name: string) => {
  const n = X.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
};

function goodClients(): Cred[] {
  const creds: Cred[] = [];
  for (const name of ['cp-1', 'worker-1']) {
    for (const k of node(name).kubeconfigs) creds.push(kubeconfigCred(name, k));
  }
  creds.push(fileCred('cp-1', 'etc/kubernetes/pki/apiserver-kubelet-client', 'kube-apiserver-kubelet-client', ['kubeadm:cluster-admins']));
  return creds;
}

test('the clients under test cover every kubeconfig of cp-1 and worker-1', () => {
  const files = goodClients().map((c) => c.label).sort();
  assert.equal(files, [
    'cp-1:etc/kubernetes/admin.conf',
    'cp-1:etc/kubernetes/controller-manager.conf',
    'cp-1:etc/kubernetes/kube-proxy.conf',
    'cp-1:etc/kubernetes/kubelet.conf',
    'cp-1:etc/kubernetes/pki/apiserver-kubelet-client',
    'cp-1:etc/kubernetes/scheduler.conf',
    'cp-1:etc/kubernetes/super-admin.conf',
    'worker-1:etc/kubernetes/kube-proxy.conf',
    'worker-1:etc/kubernetes/kubelet.conf',
  ]);
});

test('mTLS with the apiserver cert: every ca-signed client credential is accepted with its CN/O', async () => {
  for (const c of goodClients()) {
    assert.ok(c.cert.length > 0 && c.key.length > 0, `${c.label}: credential present`);
    const r = await connect({ port: api.port, servername: 'kubernetes.default.svc', ca: caPem, cert: c.cert, key: c.key });
    assert.ok(r.ok, `${c.label}: handshake succeeds${r.ok ? '' : `: ${r.error}`}`);
    if (!r.ok) continue;
    assert.ok(r.reply.authorized, `${c.label}: server authorized the client`);
    assert.equal(r.reply.subject, { CN: c.cn, O: c.o }, `${c.label}: subject seen by the server`);
    // Server identity as a client of the HA endpoint would check it.
    for (const host of ['kubernetes.default.svc', 'kubernetes', 'kubernetes.default.svc.cluster.local', 'k8s-api.example.internal', 'cp-1', '192.0.2.100', '10.96.0.1', '192.0.2.11']) {
      assert.is(tls.checkServerIdentity(host, r.serverCert), undefined, `${c.label}: server identity ok for ${host}`);
    }
    for (const host of ['evil.example.com', 'cp-2', '192.0.2.12', '10.96.0.10']) {
      assert.instance(tls.checkServerIdentity(host, r.serverCert), Error, `${c.label}: server identity rejected for ${host}`);
    }
  }
});

test('mTLS: front-proxy-client (signed by front-proxy-ca) is rejected', async () => {
  const before = api.clientErrors.length;
  const c = fileCred('cp-1', 'etc/kubernetes/pki/front-proxy-client', 'front-proxy-client', []);
  const r = await connect({ port: api.port, servername: 'kubernetes.default.svc', ca: caPem, cert: c.cert, key: c.key });
  assert.not.ok(r.ok, 'front-proxy-client must not be accepted by a server trusting ca.crt');
  assert.ok(api.clientErrors.length > before, 'server reported a client TLS error');
});

test('mTLS: apiserver-etcd-client (signed by etcd-ca) is rejected', async () => {
  const before = api.clientErrors.length;
  const c = fileCred('cp-1', 'etc/kubernetes/pki/apiserver-etcd-client', 'kube-apiserver-etcd-client', []);
  const r = await connect({ port: api.port, servername: 'kubernetes.default.svc', ca: caPem, cert: c.cert, key: c.key });
  assert.not.ok(r.ok, 'apiserver-etcd-client must not be accepted by a server trusting ca.crt');
  assert.ok(api.clientErrors.length > before, 'server reported a client TLS error');
});

test('mTLS: a client without a certificate is rejected', async () => {
  const r = await connect({ port: api.port, servername: 'kubernetes.default.svc', ca: caPem });
  assert.not.ok(r.ok, 'no client certificate → refused');
});

test('client: the apiserver is refused for a name not in its SANs, and by a client trusting only etcd-ca', async () => {
  const c = kubeconfigCred('cp-1', node('cp-1').kubeconfigs.find((k) => k.file.endsWith('admin.conf'))!);
  const wrongName = await connect({ port: api.port, servername: 'evil.example.com', ca: caPem, cert: c.cert, key: c.key });
  assert.not.ok(wrongName.ok, 'servername evil.example.com must fail hostname verification');
  if (!wrongName.ok) assert.match(wrongName.error, /ERR_TLS_CERT_ALTNAME_INVALID|altname|Hostname/i);
  const wrongCa = await connect({ port: api.port, servername: 'kubernetes.default.svc', ca: read('pki/etcd/ca.crt'), cert: c.cert, key: c.key });
  assert.not.ok(wrongCa.ok, 'a client trusting only etcd/ca.crt must refuse the apiserver');
});

test('kubelet serving cert (worker-1): verified by a client trusting ca.crt for servername worker-1', async () => {
  const kubelet = await startServer({
    cert: nodeFile('worker-1', 'var/lib/kubelet/pki/kubelet.crt'),
    key: nodeFile('worker-1', 'var/lib/kubelet/pki/kubelet.key'),
  });
  const r = await connect({ port: kubelet.port, servername: 'worker-1', ca: caPem });
  assert.ok(r.ok, `kubelet handshake succeeds${r.ok ? '' : `: ${r.error}`}`);
  if (r.ok) {
    assert.equal(r.serverCert.subject.CN, 'system:node:worker-1', 'kubelet cert CN');
    assert.equal(asList(r.serverCert.subject.O), ['system:nodes'], 'kubelet cert O');
    assert.is(tls.checkServerIdentity('192.0.2.21', r.serverCert), undefined, 'kubelet identity ok for its address');
    assert.instance(tls.checkServerIdentity('worker-2', r.serverCert), Error, 'kubelet identity rejected for worker-2');
  }
  const other = await connect({ port: kubelet.port, servername: 'worker-2', ca: caPem });
  assert.not.ok(other.ok, 'servername worker-2 must fail against worker-1 kubelet cert');
  const wrongCa = await connect({ port: kubelet.port, servername: 'worker-1', ca: read('pki/front-proxy-ca.crt') });
  assert.not.ok(wrongCa.ok, 'a client trusting only front-proxy-ca must refuse the kubelet');
});

test.run();
