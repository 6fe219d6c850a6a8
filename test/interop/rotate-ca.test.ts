/**
 * Kubernetes CA rotation held to real TLS stacks: Node TLS servers stand in for the apiserver
 * (its certificate file as served, client certificates checked against its ca.crt) and for a
 * worker's kubelet (kubelet.crt, client CA = the worker's ca.crt, dialled by the apiserver's
 * apiserver-kubelet-client). In every phase each kubeconfig of each node tree handshakes both
 * ways; a kubeconfig saved before the rotation (old CA alone, old client certificate) still
 * verifies the server in the issue phase through the cross-signed CA, with Node TLS and with Go
 * (kubectl), and is refused after finalize. Loopback addresses 127.0.14.x only.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { createServer as createHttps } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { isIP, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { kpki, tempDir, writePlan } from '../support/cli.js';
import { run, runSync } from '../support/proc.js';

const CP = '127.0.14.10';
const WORKER = '127.0.14.21';
const PLAN = `apiVersion: kpki/v1alpha1
kind: Cluster
controlPlaneEndpoint: ${CP}:6443
nodes:
  - { name: cp-1, address: ${CP}, roles: [control-plane] }
  - { name: worker-1, address: ${WORKER}, roles: [worker] }
`;

interface Kubeconfig { file: string; server: URL; ca: string; cert: string; key: string }

function readKubeconfig(file: string, label = file): Kubeconfig {
  const doc = parse(readFileSync(file, 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ user: { 'client-certificate-data': string; 'client-key-data': string } }>;
  };
  const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  return {
    file: label, server: new URL(doc.clusters[0]!.cluster.server), ca: b64(doc.clusters[0]!.cluster['certificate-authority-data']),
    cert: b64(doc.users[0]!.user['client-certificate-data']), key: b64(doc.users[0]!.user['client-key-data']),
  };
}

/** Every kubeconfig of every node tree, read here with yaml. */
function kubeconfigs(out: string): Kubeconfig[] {
  return readdirSync(join(out, 'nodes')).flatMap((node) => {
    const dir = join(out, 'nodes', node, 'etc/kubernetes');
    return readdirSync(dir).filter((n) => n.endsWith('.conf')).map((n) => readKubeconfig(join(dir, n), `${node}/${n}`));
  });
}

interface Server { port: number; close: () => Promise<void> }

/** A TLS server on the given files: certificate (with whatever chain the file holds), key, client CA. */
async function serve(host: string, cert: string, key: string, ca: string): Promise<Server> {
  const server = createHttps({ cert: readFileSync(cert), key: readFileSync(key), ca: readFileSync(ca), requestCert: true, rejectUnauthorized: true }, (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"major":"1","minor":"31","gitVersion":"v1.31.0-kpki-standin"}');
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, host, r));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

const apiserver = (out: string) => {
  const pki = join(out, 'nodes/cp-1/etc/kubernetes/pki');
  return serve(CP, join(pki, 'apiserver.crt'), join(pki, 'apiserver.key'), join(pki, 'ca.crt'));
};
const kubelet = (out: string) => {
  const n = join(out, 'nodes/worker-1');
  return serve(WORKER, join(n, 'var/lib/kubelet/pki/kubelet.crt'), join(n, 'var/lib/kubelet/pki/kubelet.key'), join(n, 'etc/kubernetes/pki/ca.crt'));
};

/** A handshake as a client with this trust and client pair makes it; 'ok' once the server answered. */
function handshake(host: string, port: number, servername: string, c: { ca: string; cert: string; key: string }): Promise<string> {
  return new Promise((resolve) => {
    // An IP is verified against the host dialled (RFC 6066 has no IP server names).
    const s: TLSSocket = connect({ host, port, ...(isIP(servername) ? {} : { servername }), ca: c.ca, cert: c.cert, key: c.key });
    s.setTimeout(5_000, () => (s.destroy(), resolve('timeout')));
    s.once('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
    s.once('secureConnect', () => s.write('GET /version HTTP/1.0\r\n\r\n'));
    s.once('data', (d) => (s.end(), resolve(/^HTTP\/1\.[01] 200/.test(d.toString()) ? 'ok' : d.toString().split('\n')[0]!)));
  });
}

/** kubectl (Go's TLS stack), offline except for the stand-in on loopback. */
function findKubectl(): string | undefined {
  const v = runSync('kubectl', ['version', '--client']);
  if (v.status !== 0) return undefined;
  if (!/dispatcher/i.test(v.stdout)) return 'kubectl';
  try {
    const dir = dirname(realpathSync(runSync('sh', ['-c', 'command -v kubectl']).stdout.trim()));
    const best = readdirSync(dir).map((f) => /^kubectl\.1\.(\d+)$/.exec(f)).filter((m): m is RegExpExecArray => m !== null).sort((a, b) => Number(b[1]) - Number(a[1]))[0];
    if (best) return join(dir, best[0]);
  } catch {
    // the dispatcher itself
  }
  return 'kubectl';
}
const KUBECTL = findKubectl();

async function kubectlVersion(kubeconfig: string, port: number, home: string): Promise<{ ok: boolean; text: string }> {
  const r = await run(KUBECTL!, ['--kubeconfig', kubeconfig, '--server', `https://${CP}:${port}`, '--request-timeout', '5s', 'get', '--raw', '/version'], {
    env: { ...process.env, HOME: home, KUBECONFIG: '' }, boundMs: 30_000,
  });
  return { ok: r.status === 0, text: r.stdout + r.stderr };
}

test('Kubernetes CA rotation: every kubeconfig in every phase; a kubeconfig saved before still verifies the server in issue (Node TLS, kubectl) and is refused after finalize', async () => {
  const dir = tempDir('kpki-rotate-ca-');
  const out = join(dir, 'out');
  const planFile = writePlan(PLAN, dir);
  assert.is(kpki(['gen', '--plan', planFile, '--out', out]).status, 0);
  const saved = join(dir, 'admin-before.conf');
  copyFileSync(join(out, 'nodes/cp-1/etc/kubernetes/admin.conf'), saved);
  const before = readKubeconfig(saved, 'admin.conf saved before');
  const kubeletClient = () => {
    const pki = join(out, 'nodes/cp-1/etc/kubernetes/pki');
    return { ca: readFileSync(join(pki, 'ca.crt'), 'utf8'), cert: readFileSync(join(pki, 'apiserver-kubelet-client.crt'), 'utf8'), key: readFileSync(join(pki, 'apiserver-kubelet-client.key'), 'utf8') };
  };

  /** Every kubeconfig against the apiserver stand-in, and the apiserver against the kubelet stand-in. */
  const everyone = async (phase: string) => {
    const api = await apiserver(out);
    const kl = await kubelet(out);
    try {
      for (const k of kubeconfigs(out)) {
        assert.is(k.server.hostname, CP);
        assert.is(await handshake(CP, api.port, k.server.hostname, k), 'ok', `${phase}: ${k.file}`);
      }
      assert.is(await handshake(WORKER, kl.port, WORKER, kubeletClient()), 'ok', `${phase}: apiserver → kubelet on worker-1`);
    } finally {
      await api.close();
      await kl.close();
    }
  };
  const savedAgainstServer = async () => {
    const api = await apiserver(out);
    try {
      return { node: await handshake(CP, api.port, CP, before), kubectl: KUBECTL ? await kubectlVersion(saved, api.port, dir) : undefined };
    } finally {
      await api.close();
    }
  };
  const rotate = () => {
    const r = kpki(['ca', 'rotate', 'ca', '--plan', planFile, '--out', out]);
    assert.is(r.status, 0, r.stderr);
    return r.stdout;
  };

  await everyone('before');
  const trust = rotate();
  assert.match(trust, /phase trust/);
  assert.match(trust, /--cluster-signing-cert-file/);
  assert.is(readFileSync(join(out, 'nodes/cp-1/etc/kubernetes/pki/ca-signing.crt'), 'utf8'), readFileSync(join(out, 'pki/ca.crt'), 'utf8'), 'the signing CA file holds the CA ca.key belongs to, alone');
  await everyone('trust');
  assert.is((await savedAgainstServer()).node, 'ok', 'trust: the saved kubeconfig');

  const issue = rotate();
  assert.match(issue, /phase issue/);
  await everyone('issue');
  const duringIssue = await savedAgainstServer();
  assert.is(duringIssue.node, 'ok', 'issue: a kubeconfig that trusts only the old CA verifies the new server certificate (Node TLS)');
  assert.ok(duringIssue.kubectl, 'kubectl is installed');
  assert.ok(duringIssue.kubectl.ok && duringIssue.kubectl.text.includes('kpki-standin'), `issue: kubectl with the saved kubeconfig: ${duringIssue.kubectl.text}`);
  // ... and only through the chain: the leaf alone does not verify with the old CA.
  const leafOnly = readFileSync(join(out, 'nodes/cp-1/etc/kubernetes/pki/apiserver.crt'), 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/)[0]!;
  assert.not.ok(new X509Certificate(leafOnly).verify(new X509Certificate(before.ca).publicKey));

  const fin = rotate();
  assert.match(fin, /phase finalize/);
  assert.match(fin, /New discovery hash: --discovery-token-ca-cert-hash sha256:[0-9a-f]{64}/);
  await everyone('finalize');
  const afterFinalize = await savedAgainstServer();
  assert.is.not(afterFinalize.node, 'ok', 'finalize: the saved kubeconfig is refused');
  assert.not.ok(afterFinalize.kubectl!.ok, `finalize: kubectl with the saved kubeconfig must fail: ${afterFinalize.kubectl!.text}`);
});

test.run();
