/**
 * The pure core of `kpki check`: observed files (+ a plan) + the clock → a CheckReport.
 * observe (the edge) → discover (credentials) → findings (content rules, role rules, and for
 * a plan the planner's own assessments) → report. No disk, no network, no clock of its own.
 *
 * With a plan, catalog credentials are judged by `reconcile` itself (assessLeaf, assessCa,
 * readLeaf, the kubeconfig checks), so `gen --dry-run` and `check --plan` cannot disagree;
 * check only adds what gen does not decide on (weak crypto, hygiene, chain facts).
 */
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { ResolvedLeaf, ResolvedPki } from '../catalog/resolve.js';
import { nodeMatcher, normaliseSans, selectAll } from '../catalog/resolve.js';
import { CAS, deployedOn } from '../catalog/entries.js';
import type { CaId } from '../catalog/types.js';
import { FINDINGS, finding, type Finding, type FindingRule, type Severity } from '../findings.js';
import { leafPaths, storeCaPaths } from '../layout/layout.js';
import { decide } from '../decide/decide.js';
import { readLeaf } from '../observe/leaf.js';
import type { Observation, ObservedFile } from '../sinks/types.js';
import type { Plan } from '../plan/types.js';
import type { LeafReadings } from '../store/readings.js';
import type { FactsLookup } from '../store/record.js';
import { textDigest } from '../sinks/digest.js';
import type { CertFacts, NameFacts as CertNameFacts } from '../x509/facts.js';
import type { ParsedCert } from '../x509/parse.js';
import { readCert } from '../x509/read.js';
import { discover, fingerprintOf, type Credential } from './discover.js';
import { parsePem } from '../x509/pem.js';
import { identityFindings } from './identity.js';
import { caRole, roleByContent, roleByPath, usagesOf, type LeafRoleEntry } from './roles.js';
import { caDefects, cryptoFindings, dateFindings, sanFindings, usageFindings } from './rules.js';
import { CHECK_API_VERSION, CHECK_KIND, STATUS_EXIT, type CertRecord, type CheckReport, type NameFacts, type ReportFinding, type Status, type Thresholds } from './types.js';
import type { ClusterVersion } from './version.js';

export interface TreeInfo {
  /** A node tree (`nodes/cp-1`), the store (`pki`), or a root given on the command line. */
  readonly tree: string;
  /** The node's name, when known (`nodes/<name>`, `--node`). */
  readonly node?: string;
}

export interface AuditInput {
  readonly files: ReadonlyMap<string, ObservedFile>;
  readonly roots: readonly string[];
  /** A kubeconfig's path reference → the key of the observed file. */
  readonly resolveRef: (kubeconfig: string, ref: string) => string;
  readonly treeOf: (file: string) => TreeInfo;
  /** Leaf readings remembered by gen (pki/record): `--plan` judges unchanged leaves without reading them again. */
  readonly readings?: LeafReadings;
  /** Certificate facts gen recorded (pki/record): unchanged leaves are audited without parsing. */
  readonly facts?: FactsLookup;
  /** A kpki store and its plan: catalog credentials are judged by the planner. */
  readonly plan?: { readonly pki: ResolvedPki; readonly source: string };
  /** Any other tree's plan (`--plan` with paths): the SANs clients use, node names. */
  readonly reference?: { readonly plan: Plan; readonly source: string };
  /** The cluster's Kubernetes release, when given or found: identities changed in 1.29. */
  readonly version?: ClusterVersion;
  /** What the edge could not read (a link out of the roots, a limit reached), as findings. */
  readonly findings?: readonly Finding[];
  /**
   * A store's rotations in progress (rotate/phases.ts): store files read as the phase sees them
   * and the trust text kubeconfigs embed, so check judges the trees as gen renders them.
   */
  readonly rotation?: { readonly seenAs: ReadonlyMap<string, string>; readonly bundles: ReadonlyMap<string, string> };
}

export interface AuditOptions {
  readonly now: Date;
  readonly thresholds: Thresholds;
  /** Findings from elsewhere (live probes), merged into the report. */
  readonly extraFindings?: readonly Finding[];
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
// Names and key identifiers are compared as hex several times per certificate: converted once.
const hexOf = new WeakMap<Uint8Array, string>();
const hex = (b: Uint8Array) => {
  let h = hexOf.get(b);
  if (h === undefined) hexOf.set(b, (h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')));
  return h;
};
/** A name's DER as hex: remembered names carry it already. */
const nameHex = (n: CertNameFacts) => n.derHex ?? hex(n.der);
const names = (n: CertNameFacts): NameFacts => ({ cn: n.cn, o: n.o, text: n.text });
const safe = (fn: () => boolean) => {
  try {
    return fn();
  } catch {
    return false;
  }
};

/** A certificate that may sign others: parsed once, its public key once. */
interface CaCandidate {
  readonly file: string;
  readonly parsed: CertFacts;
  /** Its text, read only when it is asked to vouch for a leaf (certificates from chains have none). */
  readonly source?: { readonly pem: string };
  readonly fingerprint: string;
  readonly role?: { id: CaId; sure: boolean };
  publicKey?: KeyObject | null;
}

export function audit(input: AuditInput, options: AuditOptions): CheckReport {
  const { now, thresholds } = options;
  const found = discover(input.files, { resolveRef: input.resolveRef, ...(input.facts ? { facts: input.facts } : {}) });
  const findings: Finding[] = [...found.problems];
  const add = (f: Finding | Finding[]) => (Array.isArray(f) ? findings.push(...f) : findings.push(f));

  // Every certificate is a possible issuer: index them by subject (DER) once.
  const bySubject = new Map<string, CaCandidate[]>();
  const seenCa = new Set<string>();
  const candidate = (file: string, parsed: CertFacts, fingerprint: string, source?: { readonly pem: string }) => {
    if (seenCa.has(fingerprint)) return;
    seenCa.add(fingerprint);
    const key = nameHex(parsed.subject);
    const c: CaCandidate = { file, parsed, fingerprint, ...(source ? { source } : {}), ...(parsed.basicConstraints?.ca || key === nameHex(parsed.issuer) ? { role: caRole(file, parsed) } : {}) };
    const same = bySubject.get(key);
    if (same) same.push(c);
    else bySubject.set(key, [c]);
  };
  // Files first (their paths name CAs), then chains and kubeconfig CA data.
  for (const c of found.creds) if (c.source === 'file') candidate(c.file, c.cert.parsed, c.fingerprint, c.cert);
  for (const c of found.creds) {
    if (c.source === 'kubeconfig') candidate(c.certFile, c.cert.parsed, c.fingerprint, c.cert);
    for (const p of c.chain) candidate(c.certFile, p, fingerprintOf(p.der));
  }
  const kubeconfigCas = new Map<string, CertFacts>();
  const kubeconfigBundles = new Map<string, ReadonlySet<string>>();
  for (const c of found.creds) {
    if (c.kubeconfigCaPem === undefined) continue;
    try {
      const p = caFromPem(c.kubeconfigCaPem);
      kubeconfigCas.set(c.file, p);
      candidate(c.file, p, fingerprintOf(p.der));
      // A bundle (old + new CA during a rotation) is trusted as a whole: any of its certificates may be the current CA.
      const all = parsePem(c.kubeconfigCaPem).filter((b) => b.label === 'CERTIFICATE');
      if (all.length > 1) kubeconfigBundles.set(c.file, new Set(all.map((b) => fingerprintOf(b.der))));
    } catch {
      add(finding('kubeconfig-ca', c.file, 'certificate-authority data is not a readable certificate'));
    }
  }
  const publicKeyOf = (ca: CaCandidate): KeyObject | null => {
    if (ca.publicKey === undefined) {
      try {
        ca.publicKey = createPublicKey({ key: Buffer.from(ca.parsed.publicKey.spkiDer), format: 'der', type: 'spki' });
      } catch {
        ca.publicKey = null;
      }
    }
    return ca.publicKey;
  };

  // Plan mode: the planner's verdict on every catalog credential.
  const catalogFiles = new Map<string, ResolvedLeaf>();
  const catalogCaFiles = new Map<string, CaId>();
  if (input.plan) planFindings(input, input.plan.pki, now, thresholds, found.creds, catalogFiles, catalogCaFiles, add);

  // Node roles: from the plan, else inferred from what each tree holds.
  const treeRoles = new Map<string, Set<string>>();
  const roleOfTree = (tree: string) => treeRoles.get(tree) ?? new Set<string>();
  const records: CertRecord[] = [];
  const authorities = new Map<string, CertRecord>();
  const issued = new Map<string, string[]>(); // issuer subject + serial → fingerprints
  const dupSeen = new Set<string>();
  const verifiedCache = new Map<string, CaCandidate | undefined>();
  const reportedDefect = new Set<string>();
  let currentCa: ReturnType<typeof currentCaFinder> | undefined;
  const selfSignedCache = new Map<string, boolean>();

  for (const c of found.creds) {
    const p = c.cert.parsed;
    const { tree, node } = input.treeOf(c.file);
    // A CA is copied to every node: verify its self-signature once per distinct certificate.
    let selfSigned = selfSignedCache.get(c.fingerprint);
    if (selfSigned === undefined) {
      selfSigned = nameHex(p.subject) === nameHex(p.issuer) && safe(() => new X509Certificate(Buffer.from(p.der)).verify(publicKeyOf({ file: c.file, parsed: p, fingerprint: c.fingerprint })!));
      selfSignedCache.set(c.fingerprint, selfSigned);
    }
    const isCa = p.basicConstraints?.ca === true || selfSigned;
    const catalogLeaf = catalogFiles.get(c.certFile) ?? catalogFiles.get(c.file);
    const ref = catalogLeaf?.ref;

    // Chain: which certificate signed it.
    let issuer: CaCandidate | undefined;
    if (!selfSigned) {
      const cacheKey = `${c.fingerprint}`;
      if (verifiedCache.has(cacheKey)) issuer = verifiedCache.get(cacheKey);
      else {
        const cands = (bySubject.get(nameHex(p.issuer)) ?? []).filter((x) => x.fingerprint !== c.fingerprint);
        const aki = p.authorityKeyId ? hex(p.authorityKeyId) : undefined;
        cands.sort((a, b) => Number(aki !== undefined && b.parsed.subjectKeyId !== undefined && hex(b.parsed.subjectKeyId) === aki) - Number(aki !== undefined && a.parsed.subjectKeyId !== undefined && hex(a.parsed.subjectKeyId) === aki));
        const vouched = (ca: CaCandidate) => ca.source !== undefined && vouchedBy(c, ca.source.pem);
        issuer = cands.find(vouched) ?? cands.find((ca) => {
          const key = publicKeyOf(ca);
          return key !== null && safe(() => new X509Certificate(Buffer.from(p.der)).verify(key));
        });
        verifiedCache.set(cacheKey, issuer);
        if (!issuer && !catalogLeaf) {
          add(cands.length
            ? finding('wrong-signer', c.certFile, `issued by "${p.issuer.text}", but no certificate of that name found here verifies its signature`, ref)
            : finding('ca-missing', c.certFile, `chain not checked (issuer "${p.issuer.text}" not found among the files read; pass --ca FILE)`, ref));
        }
      }
      if (issuer) {
        const defects = caDefects(issuer.parsed);
        if (defects.length && !reportedDefect.has(`${issuer.fingerprint}`)) {
          reportedDefect.add(issuer.fingerprint);
          add(finding('not-a-ca', issuer.file, `signs ${c.certFile} but is not a usable CA: ${defects.join(', ')}`));
        }
        if (!isCa && p.notAfter.getTime() > issuer.parsed.notAfter.getTime()) {
          add(finding('leaf-outlives-ca', c.certFile, `valid until ${p.notAfter.toISOString().slice(0, 10)}, after its CA (${issuer.file}) expires on ${issuer.parsed.notAfter.toISOString().slice(0, 10)}`, ref));
        }
      }
    }
    const authority = selfSigned ? 'self' : issuer?.role?.id ?? (issuer ? caRole(issuer.file, issuer.parsed)?.id : undefined) ?? (p.issuer.cn || p.issuer.text);

    // Role.
    let role: string;
    let entry: LeafRoleEntry | undefined;
    const caId = isCa ? catalogCaFiles.get(c.file) ?? caRole(c.file, p)?.id : undefined;
    if (isCa) role = caId ?? 'unknown';
    else {
      entry = catalogLeaf?.entry ?? roleByPath(c.certFile) ?? roleByPath(c.file) ?? roleByContent(p, issuer?.role?.id ?? (issuer ? caRole(issuer.file, issuer.parsed)?.id : undefined), c.file, c.source === 'kubeconfig');
      role = entry?.id ?? 'unknown';
    }
    if (entry) {
      const r = treeRoles.get(tree) ?? new Set<string>();
      if (entry.id === 'apiserver') r.add('control-plane');
      if (entry.id === 'etcd-server') r.add('etcd');
      treeRoles.set(tree, r);
    }

    // Content rules: every certificate, every mode.
    if (!(catalogLeaf || (isCa && catalogCaFiles.has(c.file)))) add(dateFindings(p, isCa, c.file, now, thresholds, ref));
    add(cryptoFindings(p, selfSigned, c.certFile, ref));
    if (isCa && caDefects(p).length && selfSigned && !reportedDefect.has(c.fingerprint)) {
      reportedDefect.add(c.fingerprint);
      add(finding('not-a-ca', c.file, `a self-signed certificate that is not a usable CA: ${caDefects(p).join(', ')}`));
    }
    // Duplicate serials from one CA (distinct certificates only: copies are fine).
    const serialKey = `${nameHex(p.issuer)}/${p.serialHex}`;
    const fps = issued.get(serialKey) ?? [];
    if (!fps.includes(c.fingerprint)) {
      fps.push(c.fingerprint);
      issued.set(serialKey, fps);
      if (fps.length > 1 && !dupSeen.has(c.fingerprint)) {
        dupSeen.add(c.fingerprint);
        add(finding('duplicate-serial', c.certFile, `serial ${p.serialHex} of "${p.issuer.text}" is also used by another certificate`, ref));
      }
    }

    // Role rules without a plan (with one, the planner judged this credential above).
    if (!catalogLeaf && !isCa) {
      if (!entry) add(finding('unknown-role', c.certFile, `CN "${p.subject.cn}"${p.subject.o.length ? `, O "${p.subject.o.join(',')}"` : ''} matches no catalog role`));
      // kubeadm's default kubelet serving certificate is signed by a throwaway CA shipped in the
      // same file (`<host>-ca@<time>`): its identity is the kubelet's own, not a catalog one.
      else if (!(issuer && issuer.file === c.certFile && !issuer.role)) add(roleFindings(c, entry, node, issuer, input));
      if (hasKey(c)) add(keyFindings(c, issuer));
      else if (c.keyFile !== undefined) add(finding('unreadable', c.keyFile, 'private key cannot be read', ref));
      else if (entry && c.source === 'file' && /\.crt$/.test(c.file)) add(finding('key-missing', c.file, `no private key next to it (${c.file.replace(/\.crt$/, '.key')})`));
    } else if (isCa && hasKey(c) && !catalogCaFiles.has(c.file)) add(keyFindings(c, undefined));

    // Kubeconfig CA data must be the cluster's current CA.
    if (c.source === 'kubeconfig' && !catalogLeaf) {
      const kca = kubeconfigCas.get(c.file);
      const current = (currentCa ??= currentCaFinder(bySubject, input))(tree, issuer);
      if (kca && current && fingerprintOf(kca.der) !== current.fingerprint && !kubeconfigBundles.get(c.file)?.has(current.fingerprint)) {
        add(finding('kubeconfig-ca', c.file, `certificate-authority data is "${kca.subject.text}" (${fingerprintOf(kca.der).slice(0, 16)}…), not the current CA ${current.file}`));
      }
    }

    const record: CertRecord = {
      path: c.file, source: c.source, role, ...(ref ? { ref } : {}), ...(node ? { node } : {}), isCa,
      subject: names(p.subject), issuer: names(p.issuer), authority, serial: p.serialHex,
      dns: p.subjectAltName?.dns ?? [], ips: p.subjectAltName?.ips ?? [],
      notBefore: p.notBefore.toISOString(), notAfter: p.notAfter.toISOString(),
      residualSeconds: Math.floor((p.notAfter.getTime() - now.getTime()) / 1000),
      keyAlgorithm: { type: p.publicKey.type, ...(p.publicKey.bits !== undefined ? { bits: p.publicKey.bits } : {}), ...(p.publicKey.curve ? { curve: p.publicKey.curve } : {}) },
      signatureAlgorithm: p.signatureAlgorithm.name, fingerprint: c.fingerprint, status: 'ok',
    };
    if (isCa) {
      if (!authorities.has(c.fingerprint)) authorities.set(c.fingerprint, record);
    } else records.push(record);
  }

  // Keys: permissions, CA keys on nodes, the service-account pair.
  const plan = input.plan?.pki;
  const matches = plan ? nodeMatcher(plan.plan) : undefined;
  for (const k of found.privateKeys) {
    if (k.mode !== 0 && (k.mode & 0o077) !== 0) add(finding('key-permissions', k.file, `private key is mode ${k.mode.toString(8).padStart(4, '0')}`));
    const ca = CAS.find((x) => k.file === `pki/${x.stem}.key` || k.file.endsWith(`/pki/${x.stem}.key`));
    const { tree, node } = input.treeOf(k.file);
    if (!ca || tree === 'pki') continue;
    const planNode = plan?.plan.nodes.find((n) => n.name === node);
    const roles = planNode ? new Set<string>(planNode.roles) : roleOfTree(tree);
    if (planNode && matches?.(planNode, ca.keyOn)) continue;
    if (!planNode && (ca.keyOn as readonly string[]).includes('control-plane') && roles.has('control-plane')) continue;
    add(roles.has('control-plane')
      ? finding('ca-key-on-control-plane', k.file, `${ca.id} key on control plane ${node ?? tree}`)
      : finding('ca-key-on-node', k.file, `${ca.id} key on ${node ?? tree}, which is not a control plane`));
  }
  add(saFindings(found.privateKeys, found.publicKeys));
  if (options.extraFindings) add([...options.extraFindings]);
  if (input.findings) add([...input.findings]);
  return report(input, options, records, [...authorities.values()], dedupe(findings));
}

/** A kubeconfig's CA, with the same strict reader as every other certificate (its first block); each distinct text once. */
const caCache = new Map<string, ParsedCert | Error>();
function caFromPem(pem: string): ParsedCert {
  let hit = caCache.get(pem);
  if (!hit) {
    try {
      hit = readCert(pem, 'kubeconfig CA').parsed;
    } catch (e) {
      hit = e as Error;
    }
    if (caCache.size > 64) caCache.clear(); // a handful of CAs per cluster; never grow without bound
    caCache.set(pem, hit);
  }
  if (hit instanceof Error) throw hit;
  return hit;
}

/** The cluster's current Kubernetes CA for a tree: the store's, the tree's own pki/ca.crt, else the client's issuer. */
function currentCaFinder(bySubject: Map<string, CaCandidate[]>, input: AuditInput): (tree: string, issuer: CaCandidate | undefined) => CaCandidate | undefined {
  const all = [...bySubject.values()].flat().filter((c) => c.role?.id === 'ca' && c.role.sure && c.source !== undefined);
  const byTree = new Map<string, CaCandidate>();
  for (const c of all) {
    const t = input.treeOf(c.file).tree;
    if (!byTree.has(t)) byTree.set(t, c);
  }
  return (tree, issuer) => byTree.get('pki') ?? byTree.get(tree) ?? issuer;
}

function roleFindings(c: Credential, entry: LeafRoleEntry, node: string | undefined, issuer: CaCandidate | undefined, input: AuditInput): Finding[] {
  const p = c.cert.parsed;
  const out: Finding[] = [...identityFindings(entry, p.subject, c.file, { ...(node ? { node } : {}), ...(input.version ? { version: input.version } : {}) })];
  out.push(...usageFindings(p, usagesOf(entry), c.certFile));
  if (input.reference) out.push(...referenceSans(input.reference.plan, entry, p, node, c.certFile));
  const actual = issuer?.role;
  if (actual?.sure && actual.id !== entry.signer) out.push(finding('wrong-signer', c.certFile, `signed by ${actual.id} (${issuer!.file}); ${entry.id} must be signed by ${entry.signer}`));
  return out;
}

/**
 * The SANs a plan says clients use, against a serving certificate found outside a kpki store.
 * Its node is the one named (--node, the tree's name), else the only plan node it names; when
 * none is known, only what every such node's certificate carries (service IP, endpoint,
 * in-cluster names) is required, and extra names are not judged.
 */
function referenceSans(plan: Plan, entry: LeafRoleEntry, p: CertFacts, node: string | undefined, file: string): Finding[] {
  const sansOf = entry.kind === 'cert' ? entry.sans : undefined;
  if (!sansOf) return [];
  const have = { dns: p.subjectAltName?.dns ?? [], ips: p.subjectAltName?.ips ?? [] };
  const onNodes = selectAll(plan, deployedOn(plan, entry, [entry.on]));
  const candidates = onNodes.length ? onNodes : plan.nodes;
  const named = candidates.find((n) => n.name === node);
  const claimed = candidates.filter((n) => have.dns.includes(n.name) || have.ips.includes(n.address) || p.subject.cn === n.name || p.subject.cn === `system:node:${n.name}`);
  const chosen = named ?? (claimed.length === 1 ? claimed[0] : undefined);
  if (chosen) return sanFindings(normaliseSans(sansOf({ plan, node: chosen })), have, file);
  const all = candidates.map((n) => normaliseSans(sansOf({ plan, node: n })));
  if (!all.length) return [];
  const want = { dns: all[0]!.dns.filter((d) => all.every((s) => s.dns.includes(d))), ips: all[0]!.ips.filter((i) => all.every((s) => s.ips.includes(i))) };
  return sanFindings(want, have, file).filter((f) => f.code === 'san-missing');
}

/** Whether the store's record vouches that this credential's key matches and its certificate verifies against this CA's text. */
function vouchedBy(c: Credential, caPem: string): boolean {
  return c.remembered !== undefined && c.remembered.caDigest === textDigest(caPem);
}

/** A remembered credential has its key (gen checked it); others say so by carrying its text. */
const hasKey = (c: Credential) => c.remembered !== undefined || c.keyPem !== undefined;

function keyFindings(c: Credential, issuer: CaCandidate | undefined): Finding[] {
  const keyFile = c.keyFile ?? c.file;
  if (issuer?.source && vouchedBy(c, issuer.source.pem)) return [];
  let key: KeyObject;
  try {
    key = createPrivateKey(c.keyPem!);
  } catch {
    return [finding('unreadable', keyFile, 'not a readable private key')];
  }
  let native: X509Certificate;
  try {
    native = new X509Certificate(Buffer.from(c.cert.der));
  } catch {
    // kpki's reader took it, OpenSSL does not: nothing can use this pair.
    return [finding('unreadable', c.certFile, 'OpenSSL cannot read this certificate (its public key does not decode), so its key cannot be checked')];
  }
  if (!safe(() => native.checkPrivateKey(key))) {
    const kt = key.asymmetricKeyType;
    // A public key OpenSSL cannot decode matches no private key.
    let ct: string | undefined = 'undecodable';
    try {
      ct = native.publicKey.asymmetricKeyType;
    } catch {
      // stays 'undecodable'
    }
    return [finding('key-mismatch', keyFile, kt !== ct ? `${kt} private key for a ${ct} certificate (${c.certFile})` : `private key does not belong to ${c.certFile}`)];
  }
  return [];
}

function saFindings(privateKeys: readonly { file: string; pem: string }[], publicKeys: readonly { file: string; pem: string }[]): Finding[] {
  const out: Finding[] = [];
  for (const pub of publicKeys) {
    if (!/(^|\/)sa\.pub$/.test(pub.file)) continue;
    const priv = privateKeys.find((k) => k.file === pub.file.replace(/\.pub$/, '.key'));
    if (!priv) continue;
    try {
      const a = createPublicKey(priv.pem).export({ type: 'spki', format: 'der' });
      const b = createPublicKey(pub.pem).export({ type: 'spki', format: 'der' });
      if (!a.equals(b)) out.push(finding('sa-mismatch', pub.file, `not the public key of ${priv.file}`));
    } catch {
      out.push(finding('unreadable', pub.file, 'sa.pub or sa.key cannot be read as a key'));
    }
  }
  return out;
}

/**
 * The planner's findings for a kpki store: exactly what `gen` decides from. Two refinements
 * that keep the verdict (every one keeps its remedy): expiry inside --crit becomes critical,
 * and SAN differences split into missing (warning) and extra (information).
 */
function planFindings(
  input: AuditInput, pki: ResolvedPki, now: Date, t: Thresholds, creds: readonly Credential[],
  catalogFiles: Map<string, ResolvedLeaf>, catalogCaFiles: Map<string, CaId>, add: (f: Finding[]) => void,
): void {
  const seenAs = input.rotation?.seenAs;
  const files = seenAs?.size ? new Map([...input.files, ...[...seenAs].map(([p, text]) => [p, { ...input.files.get(p)!, content: text, digest: textDigest(text) }] as const)]) : input.files;
  const obs: Observation = { files, dirs: new Map(), nodes: [] };
  for (const ca of pki.cas) catalogCaFiles.set(storeCaPaths(ca.entry.stem).crt, ca.ref);
  const byFile = new Map(creds.map((c) => [c.certFile, c]));
  for (const leaf of pki.leaves) {
    const paths = leafPaths(leaf);
    catalogFiles.set('kubeconfig' in paths ? paths.kubeconfig : paths.crt, leaf);
    const r = readLeaf(leaf, obs);
    if (r.certFile !== ('kubeconfig' in paths ? paths.kubeconfig : paths.crt)) catalogFiles.set(r.certFile, leaf);
  }
  const decisions = decide(pki, obs, now, input.readings ? { readings: input.readings } : {}, input.rotation ? { trust: input.rotation.bundles } : {});
  if (decisions.cas.some((c) => c.action === 'refuse') || decisions.keypairs.some((k) => k.action === 'refuse')) {
    // gen refuses this store (half a CA, a CA key that does not match): say so, judge the rest by content.
    add([...decisions.refusals]);
    catalogFiles.clear();
    catalogCaFiles.clear();
    return;
  }
  const decided = decisions.findings;
  const out: Finding[] = [];
  for (const f of decided) {
    const leaf = f.ref ? pki.leaves.find((l) => l.ref === f.ref) : undefined;
    if (f.code === 'san-mismatch' && leaf) {
      const c = byFile.get(f.file);
      if (c && !out.some((x) => x.file === f.file && (x.code === 'san-missing' || x.code === 'san-extra'))) {
        const san = c.cert.parsed.subjectAltName;
        out.push(...sanFindings(leaf.profile, { dns: [...(san?.dns ?? [])].sort(), ips: san?.ips ?? [] }, f.file, f.ref));
      }
      continue;
    }
    if (f.code === 'identity-mismatch' && leaf) {
      // gen reissues any difference; its severity is what the certificate's reader makes of it.
      const c = byFile.get(f.file);
      if (c) {
        const judged = identityFindings(leaf.entry, c.cert.parsed.subject, f.file, { node: leaf.node.name, ...(input.version ? { version: input.version } : {}), ...(f.ref ? { ref: f.ref } : {}) });
        out.push(...judged);
        if (!judged.some((x) => FINDINGS[x.code].remedy === 'reissue')) out.push({ ...f, code: 'identity-differs', severity: FINDINGS['identity-differs'].severity, message: `${f.message}; kpki gen reissues it with the plan's identity` });
        continue;
      }
    }
    if (f.code === 'expiring' || f.code === 'ca-expiring') {
      const c = byFile.get(f.file);
      const left = c ? c.cert.parsed.notAfter.getTime() - now.getTime() : Infinity;
      if (left < t.critMs) {
        out.push({ ...f, code: f.code === 'expiring' ? 'expiring-critical' : 'ca-expiring-critical', severity: 'critical' });
        continue;
      }
    }
    out.push(f);
  }
  // A leaf capped at its CA's NotAfter is never due for gen, but it still expires: say when.
  for (const c of creds) {
    const leaf = catalogFiles.get(c.certFile) ?? catalogFiles.get(c.file);
    if (!leaf || out.some((f) => f.ref === leaf.ref && /expir|not-yet/.test(f.code))) continue;
    const d = dateFindings(c.cert.parsed, false, c.certFile, now, { critMs: t.critMs, warnMs: Math.min(t.critMs, t.warnMs) }, leaf.ref);
    out.push(...d);
  }
  // The same certificate elsewhere in its tree (the cfssl layout's admin.pem next to
  // admin.kubeconfig) is the same credential: judged once, by the planner.
  const leafOf = new Map<string, ResolvedLeaf>();
  const copyKey = (c: Credential) => `${input.treeOf(c.file).tree}\0${c.fingerprint}`;
  for (const c of creds) {
    const leaf = catalogFiles.get(c.certFile) ?? catalogFiles.get(c.file);
    if (leaf) leafOf.set(copyKey(c), leaf);
  }
  for (const c of creds) {
    const leaf = catalogFiles.has(c.certFile) || catalogFiles.has(c.file) ? undefined : leafOf.get(copyKey(c));
    if (leaf) catalogFiles.set(c.file, leaf);
  }
  add(out);
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const k = `${f.code}\0${f.file}\0${f.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** localeCompare's order (the default collator), without setting it up for every comparison. */
let collator: Intl.Collator | undefined;
const collate = (a: string, b: string) => (collator ??= new Intl.Collator()).compare(a, b);

function report(input: AuditInput, options: AuditOptions, certs: CertRecord[], cas: CertRecord[], findings: Finding[]): CheckReport {
  const worst = new Map<string, Severity>();
  for (const f of findings) {
    const w = worst.get(f.file);
    if (!w || RANK[f.severity] > RANK[w]) worst.set(f.file, f.severity);
  }
  const withStatus = (r: CertRecord): CertRecord => ({ ...r, status: worst.get(r.path) ?? 'ok' });
  const order = (a: CertRecord, b: CertRecord) => collate(a.node ?? '', b.node ?? '') || collate(a.role, b.role) || collate(a.path, b.path);
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  const status: Status = count('critical') ? 'CRITICAL' : count('warning') ? 'WARNING' : 'OK';
  const sorted = [...findings].sort((a, b) => RANK[b.severity] - RANK[a.severity] || collate(a.file, b.file) || collate(a.code, b.code));
  // Codes from newer modules (probes) carry their hint in the same table; never crash on one.
  const rules = FINDINGS as Readonly<Record<string, FindingRule | undefined>>;
  const rf: ReportFinding[] = sorted.map((f) => ({ ...f, hint: rules[f.code]?.hint ?? '' }));
  return {
    apiVersion: CHECK_API_VERSION, kind: CHECK_KIND, generatedAt: options.now.toISOString(), roots: input.roots,
    ...(input.plan ? { plan: input.plan.source } : input.reference ? { plan: input.reference.source } : {}),
    ...(input.version ? { kubernetesVersion: { version: input.version.text, source: input.version.source } } : {}),
    thresholds: { critSeconds: Math.round(options.thresholds.critMs / 1000), warnSeconds: Math.round(options.thresholds.warnMs / 1000) },
    status, exitCode: STATUS_EXIT[status],
    summary: { certificates: certs.length, authorities: cas.length, critical: count('critical'), warning: count('warning'), info: count('info') },
    certificates: certs.map(withStatus).sort(order), authorities: cas.map(withStatus).sort(order), findings: rf,
    codes: Object.fromEntries(Object.entries(FINDINGS).map(([k, v]) => [k, { severity: v.severity, remedy: v.remedy, hint: v.hint }])),
  };
}
