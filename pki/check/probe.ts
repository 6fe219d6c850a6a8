/**
 * Live probes: connect with TLS to the servers a plan implies (or to `host:port`s given by hand)
 * and judge what they serve against the files on disk and the CA each role needs. The catalog
 * says which certificate each port serves and which program to restart (`serves`, `readBy`);
 * nothing here lists ports or components by hand.
 *
 * Three steps, as elsewhere in kpki: `probeTargets` (pure, plan → targets), `fetchServed`
 * (the network edge: one bounded TLS handshake, never throws) and `judgeServed` (pure: the
 * served chain + disk + CAs + clock → findings). `probe` runs them with bounded concurrency.
 * Probe findings name the address probed (`host:port`) as their `file` and the credential
 * (`apiserver@cp-1`) as their `ref`.
 *
 * Client certificates: etcd with `--client-cert-auth` wants one on both ports. `kpki check`
 * passes the store's `apiserver-etcd-client` for `etcd` (what kube-apiserver itself presents);
 * without one, a TLS 1.3 server's certificate is still seen (it is sent before the client's),
 * a TLS 1.2-only server ends the handshake and the port reads as unreachable.
 */
import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import { CERTS } from '../catalog/entries.js';
import type { ResolvedLeaf, ResolvedPki } from '../catalog/resolve.js';
import type { CaId, CertEntry, Serves } from '../catalog/types.js';
import { finding, type Finding } from '../findings.js';
import { leafPaths } from '../layout/layout.js';
import { formatHostPort, isIp, parseHostPort } from '../plan/net.js';

export type ServingComponent = Serves['component'];

/** A certificate a port should serve: the credential, its node and its file in the node tree. */
export interface ExpectedCert {
  /** `apiserver@cp-1` */
  readonly ref: string;
  readonly node: string;
  /** Output-relative path of the certificate, e.g. `nodes/cp-1/etc/kubernetes/pki/apiserver.crt`. */
  readonly expectCertFile: string;
}

export interface ProbeTarget {
  /** What to connect to (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** How clients reach it: checked against the served SANs, and sent as SNI when a DNS name. */
  readonly servername: string;
  /** For messages: `apiserver@cp-1`, `apiserver via the endpoint`, or `host:port` given by hand. */
  readonly label: string;
  /** The program serving it (catalog `serves`); absent for a target given by hand. */
  readonly component?: ServingComponent;
  /** The CA the served certificate must chain to; absent: any CA passed in `caPems`. */
  readonly signer?: CaId;
  /** From the catalog: the component re-reads its files on each connection (etcd). */
  readonly reloads?: 'per-connection';
  /**
   * The certificates this port may serve: one for a node's own port; one per control plane for
   * the endpoint (a load balancer forwards to any of them); none for a target given by hand.
   */
  readonly expected: readonly ExpectedCert[];
}

export interface ClientCredential {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ProbeOptions {
  /** Per target, from connect to the end of the handshake. Default 3000. */
  readonly timeoutMs?: number;
  /** Handshakes in flight at once. Default 16. */
  readonly concurrency?: number;
  /** The clock for expiry; default: now. */
  readonly now?: Date;
  /** The PEM of an output-relative file (an `expectCertFile`), or undefined when absent or unreadable. */
  readonly diskCerts: (file: string) => string | undefined;
  /** CA certificates (PEM) by id; the signer of each role is checked against its own CA. */
  readonly caPems: Partial<Record<CaId, string>>;
  /**
   * A client certificate to present to each serving component. etcd with `--client-cert-auth`
   * needs one: `kpki check` passes the store's apiserver-etcd-client there.
   */
  readonly clientCerts?: Partial<Record<ServingComponent, ClientCredential>>;
}

export interface ServedCert {
  readonly pem: string;
  readonly subjectCN: string;
  /** ISO 8601. */
  readonly notAfter: string;
  /** Colon-separated upper-case hex, as node:crypto and openssl print it. */
  readonly fingerprint256: string;
  /** The expected file whose certificate it is, when it is one of them. */
  readonly matches?: string;
}

export interface ProbeResult {
  readonly target: ProbeTarget;
  /** Absent when no handshake completed. */
  readonly served?: ServedCert;
  readonly findings: readonly Finding[];
}

// ---- targets (pure) --------------------------------------------------------------------------------

const certFileOf = (leaf: ResolvedLeaf): string => {
  const p = leafPaths(leaf);
  return 'crt' in p ? p.crt : p.kubeconfig;
};

/**
 * Every server the plan implies, from the catalog's `serves` facts: each serving certificate's
 * port on each node that has it, plus the control-plane endpoint where `alsoVia` says so.
 * Catalog order, then plan order; an address:port reached twice (a single control plane that
 * is its own endpoint) is probed once, as the node's own port.
 */
export function probeTargets(pki: ResolvedPki): ProbeTarget[] {
  const targets: ProbeTarget[] = [];
  const seen = new Set<string>();
  const add = (t: ProbeTarget) => {
    const key = formatHostPort(t.host, t.port);
    if (seen.has(key)) return;
    seen.add(key);
    targets.push(t);
  };
  for (const entry of CERTS as readonly CertEntry[]) {
    const serves = entry.serves;
    if (!serves) continue;
    const leaves = pki.leaves.filter((l) => l.kind === 'cert' && l.entry.id === entry.id);
    if (leaves.length === 0) continue;
    const port = serves.port === 'apiserver' ? pki.plan.apiServer.bindPort : serves.port;
    const expected = leaves.map((l): ExpectedCert => ({ ref: l.ref, node: l.node.name, expectCertFile: certFileOf(l) }));
    const common = {
      component: serves.component,
      signer: entry.signer,
      ...(serves.reloads ? { reloads: serves.reloads } : {}),
    };
    leaves.forEach((l, i) => {
      add({ host: l.node.address, port, servername: l.node.address, label: l.ref, ...common, expected: [expected[i]!] });
    });
    if (serves.alsoVia === 'endpoint') {
      const ep = pki.plan.controlPlaneEndpoint;
      add({ host: ep.host, port: ep.port, servername: ep.host, label: `${entry.id} via the endpoint`, ...common, expected });
    }
  }
  return targets;
}

/**
 * `host:port` or `[v6]:port` from `--probe`. A target the plan already implies (same address
 * and port, among `known`) is returned as the plan's, so it is judged against its file and CA.
 * Returns a message saying what is wrong otherwise.
 */
export function parseProbeArg(arg: string, known: readonly ProbeTarget[] = []): ProbeTarget | string {
  const ep = parseHostPort(arg.trim(), 0);
  if (typeof ep === 'string') return `--probe ${arg}: ${ep}`;
  if (ep.port === 0) return `--probe ${arg}: a port is needed, like ${ep.hostIsIp && ep.host.includes(':') ? `[${ep.host}]` : ep.host}:6443`;
  const same = known.find((t) => t.host === ep.host && t.port === ep.port);
  if (same) return same;
  const label = formatHostPort(ep.host, ep.port);
  return { host: ep.host, port: ep.port, servername: ep.host, label, expected: [] };
}

// ---- the network edge --------------------------------------------------------------------------------

export type Fetched = { readonly chain: readonly X509Certificate[] } | { readonly error: string };

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return [e?.code, e?.message ?? String(err)].filter(Boolean).join(' ');
}

/** Leaf first, then whatever intermediates the server sent; stops at a self-signed loop. */
function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<tls.PeerCertificate>();
  let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (c?.raw && !seen.has(c) && chain.length < 10) {
    seen.add(c);
    chain.push(new X509Certificate(c.raw));
    c = c.issuerCertificate;
  }
  return chain;
}

/**
 * One TLS handshake, bounded by `timeoutMs` from the start (a server that drips bytes cannot
 * stretch it). Verification is off here on purpose: judgeServed checks the name, the chain and
 * the dates itself, so a bad certificate is reported instead of hiding behind a handshake error.
 * Never throws; a network or TLS failure comes back as `{ error }`.
 */
export function fetchServed(target: ProbeTarget, timeoutMs: number, client?: ClientCredential): Promise<Fetched> {
  return new Promise((resolve) => {
    let settled = false;
    let socket: tls.TLSSocket | undefined;
    const finish = (r: Fetched) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ error: `no TLS handshake within ${timeoutMs} ms` }), timeoutMs);
    try {
      socket = tls.connect({
        host: target.host,
        port: target.port,
        // RFC 6066: SNI carries DNS names only.
        ...(isIp(target.servername) ? {} : { servername: target.servername }),
        rejectUnauthorized: false,
        ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
      });
    } catch (err) {
      finish({ error: `cannot start a TLS connection: ${describe(err)}` });
      return;
    }
    const s = socket;
    // Errors after the handshake (a server refusing our client certificate) change nothing.
    s.on('error', (err) => finish({ error: describe(err) }));
    s.once('secureConnect', () => {
      try {
        const chain = peerChain(s);
        finish(chain.length ? { chain } : { error: 'the server sent no certificate' });
      } catch (err) {
        finish({ error: `unreadable server certificate: ${describe(err)}` });
      }
    });
  });
}

// ---- judging what is served (pure) ----------------------------------------------------------------------

function parse(pem: string | undefined): X509Certificate | undefined {
  if (pem === undefined) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined; // the file check reports unreadable files; a probe only compares
  }
}

function issued(issuer: X509Certificate, cert: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Whether `leaf` chains to `ca`, directly or through intermediates the server sent. */
function chainsTo(chain: readonly X509Certificate[], ca: X509Certificate): boolean {
  let cur = chain[0];
  for (let depth = 0; cur && depth < chain.length; depth++) {
    if (issued(ca, cur)) return true;
    const from: X509Certificate = cur;
    cur = chain.find((p) => p !== from && p.ca && issued(p, from));
  }
  return false;
}

const subjectCN = (x: X509Certificate) => x.subject.split('\n').find((l) => l.startsWith('CN='))?.slice(3) ?? '';
const dnsNames = (x: X509Certificate) =>
  (x.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
/** ISO 8601 to the second: certificate times have no milliseconds. */
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function staleMessage(t: ProbeTarget, node: string, served: X509Certificate, disk: X509Certificate, file: string): string {
  const component = t.component ?? 'the server';
  const servedFrom = new Date(served.validFrom);
  const diskFrom = new Date(disk.validFrom);
  const detail = `(${formatHostPort(t.host, t.port)} serves one issued ${iso(servedFrom)}, ${file} was issued ${iso(diskFrom)})`;
  if (servedFrom > diskFrom) {
    // Not a missed restart: the node has files this tree does not know.
    return `serves a newer certificate than ${file}: the files on ${node} are not this tree's ${detail}`;
  }
  if (t.reloads === 'per-connection') {
    return `renewed on disk, still serving the old one: copy the renewed ${file} to ${node} (${component} re-reads it on each connection; restart ${component} on ${node} if it still serves the old one) ${detail}`;
  }
  return `renewed on disk, still serving the old one: restart ${component} on ${node} ${detail}`;
}

/**
 * Findings about one served chain: dates against `now`, the name clients use, the CA the role
 * needs, and above all whether it is the certificate on disk.
 */
export function judgeServed(
  target: ProbeTarget,
  chain: readonly X509Certificate[],
  opts: Pick<ProbeOptions, 'diskCerts' | 'caPems'> & { readonly now: Date },
): { served: ServedCert; findings: Finding[] } {
  const leaf = chain[0]!;
  const at = formatHostPort(target.host, target.port);
  const label = target.label === at ? at : `${target.label} (${at})`;
  const ref = target.expected.length === 1 ? target.expected[0]!.ref : undefined;
  const findings: Finding[] = [];
  const add = (code: Parameters<typeof finding>[0], message: string, about = ref) => findings.push(finding(code, at, message, about));

  // Dates.
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (opts.now > notAfter) add('served-expired', `${label} serves a certificate that expired ${iso(notAfter)}`);
  if (opts.now < notBefore) add('served-not-yet-valid', `${label} serves a certificate valid only from ${iso(notBefore)}`);

  // Hostname: the name clients use to reach it.
  const identity = tls.checkServerIdentity(target.servername, {
    subject: { CN: subjectCN(leaf) },
    subjectaltname: leaf.subjectAltName,
  } as tls.PeerCertificate);
  if (identity) {
    add('served-wrong-host', `${label} serves a cert without ${target.servername} for how clients reach it (SANs: ${leaf.subjectAltName ?? 'none'})`);
  }

  // Chain: the CA this role needs, or, given by hand, any of the cluster's.
  const cas = (Object.entries(opts.caPems) as [CaId, string | undefined][])
    .map(([id, pem]) => [id, parse(pem)] as const)
    .filter((e): e is readonly [CaId, X509Certificate] => e[1] !== undefined);
  const signedBy = cas.filter(([, ca]) => chainsTo(chain, ca)).map(([id]) => id);
  if (target.signer !== undefined) {
    if (cas.some(([id]) => id === target.signer) && !signedBy.includes(target.signer)) {
      const by = signedBy.length ? `signed by ${signedBy.join(', ')}` : `issued by ${leaf.issuer.replace(/\n/g, ', ')}`;
      add('served-untrusted', `${label} serves a certificate not signed by ${target.signer}, the CA its clients trust (${by})`);
    }
  } else if (cas.length && signedBy.length === 0) {
    add('served-untrusted', `${label} serves a certificate signed by none of the cluster's CAs (${cas.map(([id]) => id).join(', ')})`);
  }

  // The file on disk: same DER bytes, or which node is behind.
  const disks = target.expected.map((e) => ({ e, cert: parse(opts.diskCerts(e.expectCertFile)) }));
  const match = disks.find((d) => d.cert?.raw.equals(leaf.raw));
  const known = disks.filter((d) => d.cert !== undefined);
  if (!match && known.length) {
    // Through the endpoint, the node is the one whose name the served certificate carries.
    const names = new Set(dnsNames(leaf));
    const suspect = known.length === 1 ? known[0] : known.find((d) => names.has(d.e.node));
    if (suspect) {
      add('served-stale', staleMessage(target, suspect.e.node, leaf, suspect.cert!, suspect.e.expectCertFile), suspect.e.ref);
    } else {
      const nodes = known.map((d) => d.e.node).join(', ');
      add('served-stale', `renewed on disk, still serving the old one: restart ${target.component ?? 'the server'} on whichever of ${nodes} serves it (${label} serves CN ${subjectCN(leaf)}, NotAfter ${iso(notAfter)})`);
    }
  }

  const served: ServedCert = {
    pem: leaf.toString(),
    subjectCN: subjectCN(leaf),
    notAfter: iso(notAfter),
    fingerprint256: leaf.fingerprint256,
    ...(match ? { matches: match.e.expectCertFile } : {}),
  };
  return { served, findings };
}

// ---- running probes ------------------------------------------------------------------------------------

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Probes exactly the given targets. Unreachable ports are `probe-unreachable` warnings; no
 * network error ever throws. Bad option values (not a positive timeout or concurrency) do:
 * they are the caller's bug, not the network's.
 */
export async function probe(targets: readonly ProbeTarget[], opts: ProbeOptions): Promise<ProbeResult[]> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const concurrency = opts.concurrency ?? 16;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`probe timeout must be a positive number of ms, not ${timeoutMs}`);
  if (!(Number.isInteger(concurrency) && concurrency > 0)) throw new RangeError(`probe concurrency must be a positive integer, not ${concurrency}`);
  const now = opts.now ?? new Date();
  return mapLimit(targets, concurrency, async (target): Promise<ProbeResult> => {
    const client = target.component ? opts.clientCerts?.[target.component] : undefined;
    const got = await fetchServed(target, timeoutMs, client);
    if ('error' in got) {
      const at = formatHostPort(target.host, target.port);
      const who = target.label === at ? at : `${target.label} (${at})`;
      const ref = target.expected.length === 1 ? target.expected[0]!.ref : undefined;
      return { target, findings: [finding('probe-unreachable', at, `cannot probe ${who}: ${got.error}`, ref)] };
    }
    return { target, ...judgeServed(target, got.chain, { ...opts, now }) };
  });
}
