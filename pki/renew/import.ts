/**
 * `kpki import`: certificates an external CA signed for `kpki csr`'s requests, placed only
 * once every one of them is proven right. Each is matched to its pending key by public key,
 * then checked against the plan and the catalog (CN and O, SANs, extended usages, not a CA,
 * a key usage that signs, its key, a signature by the store's certificate of the CA the
 * catalog names, valid now). One wrong certificate refuses the whole import, with every
 * reason, and nothing is written. Then the files are rendered as gen renders them (the
 * kubeconfig around a client certificate, with its CA and server), with the node trees' copies
 * of the CA certificates, and written through the sink (previous versions backed up).
 */
import { createPrivateKey, X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import type { ResolvedLeaf, ResolvedPki } from '../catalog/resolve.js';
import type { CaId } from '../catalog/types.js';
import { profileDiff } from '../assess/leaf.js';
import type { Deps } from '../deps.js';
import { KpkiError, PemError } from '../errors.js';
import { defaultDeps } from '../gen/generate.js';
import { renderFiles, type Credentials } from '../issue/files.js';
import { fileSpecs, nodeRoot, storeCaPaths } from '../layout/layout.js';
import type { Plan } from '../plan/types.js';
import { planChanges } from '../sinks/changes.js';
import type { Applied, Observation, WantedFile } from '../sinks/types.js';
import { textDigest } from '../sinks/digest.js';
import { readRecord, RECORD_PATH } from '../store/record.js';
import { keyOfFound, rememberWritten, storeFactsOf } from '../store/remember.js';
import { toPem } from '../x509/certificate.js';
import { spkiOf } from '../x509/keys.js';
import { readCert } from '../x509/read.js';
import { onStore, requestPaths, resolveFor, type StoreRunOptions } from './csr.js';

/** A signed certificate handed in: where it came from (for messages) and its text. */
export interface SignedInput {
  readonly source: string;
  /** PEM (the first CERTIFICATE block is the leaf), or cfssl's JSON output (`{"cert": ...}`). */
  readonly text: string;
}

export interface ImportOptions extends StoreRunOptions {
  readonly certificates: readonly SignedInput[];
}

export interface ImportedItem {
  readonly source: string;
  readonly ref: string;
  readonly id: string;
  readonly node: string;
  readonly signer: CaId;
  /** ISO 8601. */
  readonly notAfter: string;
}

export interface ImportReport {
  readonly out: string;
  readonly items: readonly ImportedItem[];
  readonly files: readonly Applied[];
  readonly changed: boolean;
}

/** A certificate's not-before may lead this clock by a little (the signer's clock). */
const SKEW_MS = 5 * 60_000;

/** The certificate text of an input: PEM as it is, or the `cert` of cfssl's JSON. */
function pemOf(input: SignedInput): string {
  if (!input.text.trimStart().startsWith('{')) return input.text;
  let cert: unknown;
  try {
    cert = (JSON.parse(input.text) as { cert?: unknown }).cert;
  } catch (e) {
    throw new PemError(input.source, `neither PEM nor cfssl's JSON (${(e as Error).message})`);
  }
  if (typeof cert !== 'string') throw new PemError(input.source, 'JSON without a "cert" string (cfssl sign\'s output has one)');
  return cert;
}

interface Pending {
  readonly leaf: ResolvedLeaf;
  readonly key: KeyObject;
  readonly keyPem: string;
}

export async function importSigned(plan: Plan, options: ImportOptions): Promise<ImportReport> {
  if (!options.certificates.length) throw new KpkiError('ERR_USAGE', 'name the signed certificates to import (PEM files, or cfssl sign output)');
  const deps: Deps = { ...defaultDeps(), ...options.deps };
  // Read every input first: an unreadable one is bad input, before the store is touched.
  const certs = options.certificates.map((input) => ({ source: input.source, cert: readCert(pemOf(input), input.source) }));
  return onStore(options, 'kpki import', async (sink) => {
    const observed = await sink.observe(['pki', 'nodes']);
    const pki = resolveFor(plan, observed);
    const now = deps.now().getTime();

    // The pending keys, by public key.
    const pending = new Map<string, Pending>();
    for (const leaf of pki.leaves) {
      const keyPem = observed.files.get(requestPaths(leaf).key)?.content;
      if (keyPem === undefined) continue;
      try {
        const key = createPrivateKey(keyPem);
        pending.set(Buffer.from(spkiOf(key)).toString('hex'), { leaf, key, keyPem });
      } catch {
        // Not a key: no certificate can match it, which the refusal below says.
      }
    }
    const caCerts = new Map<CaId, { pem: string; native: NodeX509; file: string }>();
    for (const ca of pki.cas) {
      const file = storeCaPaths(ca.entry.stem).crt;
      const pem = observed.files.get(file)?.content;
      if (pem !== undefined) {
        try {
          caCerts.set(ca.ref, { pem, native: new NodeX509(pem), file });
        } catch {
          // An unreadable CA certificate signs nothing: each of its leaves is refused below.
        }
      }
    }

    const refusals: string[] = [];
    const placed = new Map<string, { source: string; pending: Pending; pem: string; notAfter: Date }>();
    for (const { source, cert } of certs) {
      const match = pending.get(Buffer.from(cert.parsed.publicKey.spkiDer).toString('hex'));
      if (!match) {
        refusals.push(`${source}: its public key is none of the keys kpki csr wrote in ${sink.name} (signed for another key, or kpki csr was not run for its node)`);
        continue;
      }
      const { leaf } = match;
      const why: string[] = [...profileDiff(leaf.profile, cert.profile)];
      if (cert.profile.isCa) why.push('it is a CA certificate (basicConstraints CA:TRUE); a leaf must not be');
      const ku = cert.parsed.keyUsage?.usages;
      if (ku && !ku.includes('digitalSignature')) why.push(`key usage ${ku.join(', ')} lacks digitalSignature`);
      const native = new NodeX509(cert.pem);
      if (!native.checkPrivateKey(match.key)) why.push(`it does not match the key ${requestPaths(leaf).key}`);
      const ca = caCerts.get(leaf.signer);
      if (!ca) why.push(`the store has no readable certificate of its CA ${leaf.signer} (${storeCaPaths(pki.cas.find((c) => c.ref === leaf.signer)!.entry.stem).crt})`);
      else if (!(native.checkIssued(ca.native) && native.verify(ca.native.publicKey))) why.push(`not signed by ${leaf.signer} (the store's ${ca.file})`);
      if (cert.notAfter.getTime() <= now) why.push(`expired on ${cert.notAfter.toISOString()}`);
      else if (cert.notBefore.getTime() > now + SKEW_MS) why.push(`not valid before ${cert.notBefore.toISOString()}`);
      const earlier = placed.get(leaf.ref);
      if (earlier) why.push(`${earlier.source} is already the certificate for ${leaf.ref}`);
      if (why.length) refusals.push(`${source} (${leaf.ref}): ${why.join('; ')}`);
      else placed.set(leaf.ref, { source, pending: match, pem: toPem(cert.der), notAfter: cert.notAfter });
    }
    if (refusals.length) {
      throw new KpkiError('ERR_STORE_CONFLICT', `nothing imported, nothing written:\n${refusals.join('\n')}`);
    }

    // Rendered as gen renders them; only the imported leaves' files and their nodes' CA copies.
    const creds: Credentials = {
      cas: new Map([...caCerts].map(([ref, c]) => [ref, { certPem: c.pem, keyPem: '' }])),
      keypairs: new Map(),
      leaves: new Map([...placed].map(([ref, p]) => [ref, { certPem: p.pem, keyPem: p.pending.keyPem }])),
    };
    const nodes = new Set([...placed.values()].map((p) => nodeRoot(p.pending.leaf.node.name)));
    const specs = fileSpecs(pki);
    const wanted: WantedFile[] = renderFiles(pki, creds).filter((w, i) => {
      const s = specs[i]!.source;
      if (s.from === 'leaf') return placed.has(s.ref);
      return s.from === 'ca' && s.part === 'crt' && w.content !== undefined && nodes.has(w.path.split('/').slice(0, 2).join('/'));
    });
    wanted.push(recordAfter(pki, observed, wanted, [...placed].map(([, p]) => ({ leaf: p.pending.leaf, certPem: p.pem })), caCerts));
    const changes = planChanges(wanted, observed, { exact: [], whyRemoved: () => '', root: sink.name });
    const files = (await sink.apply(changes, { backupStamp: new Date(now).toISOString().replace(/[:.]/g, '-') })).filter((f) => f.path !== RECORD_PATH);
    return {
      out: sink.name,
      items: [...placed].map(([ref, p]) => ({
        source: p.source, ref, id: p.pending.leaf.entry.id, node: p.pending.leaf.node.name, signer: p.pending.leaf.signer, notAfter: p.notAfter.toISOString(),
      })),
      files,
      changed: files.length > 0,
    };
  });
}

/**
 * The store's record with the placed leaves in it (each under its new files' key, its old
 * line dropped), so the next gen or check trusts them without reading them, as after gen.
 */
function recordAfter(
  pki: ResolvedPki, observed: Observation, wanted: readonly WantedFile[],
  placed: ReadonlyArray<{ leaf: ResolvedLeaf; certPem: string }>, caCerts: ReadonlyMap<CaId, { pem: string }>,
): WantedFile {
  const found = observed.files.get(RECORD_PATH);
  const record = readRecord(found);
  const byPath = new Map(wanted.map((w) => [w.path, w]));
  const digestOf = (path: string) => {
    const f = observed.files.get(path);
    return f?.digest ?? (f?.content === undefined ? undefined : textDigest(f.content));
  };
  const replaced = new Set(placed.map((p) => keyOfFound(p.leaf, digestOf)));
  const keys = [...record.foundKeys()].filter((k) => !replaced.has(k));
  for (const p of placed) {
    const key = rememberWritten(p.leaf, p.certPem, caCerts.get(p.leaf.signer)!.pem, byPath, record, pki.plan);
    if (key !== undefined) keys.push(key);
  }
  return { path: RECORD_PATH, mode: 0o600, content: record.render(storeFactsOf(pki.plan), keys), protected: false, bookkeeping: true };
}
