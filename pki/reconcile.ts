/**
 * The planner: what the plan wants × what a sink observed → findings per credential → a
 * decision per credential (keep / create / issue / rewrite), with the reasons a person would
 * want to read. Pure: file contents come in as an Observation and the time as a value.
 * `check` runs the same assessments, so `gen --dry-run` and `check --plan` cannot disagree.
 */
import { hash, X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import type { CertProfile, ResolvedCa, ResolvedKeyPair, ResolvedLeaf, ResolvedPki } from './catalog/resolve.js';
import type { CaId } from './catalog/types.js';
import { KpkiError, PemError } from './errors.js';
import { finding, remedyOf, type Finding } from './findings.js';
import { readKubeconfig, type FoundKubeconfig } from './kubeconfig.js';
import { leafPaths, nodeRoot, storeCaPaths, storeKeyPairPaths } from './layout.js';
import type { KeyAlgorithm } from './plan/types.js';
import { BACKDATE_MS } from './issue.js';
import { fileDigest } from './digest.js';
import { KeptText } from './sinks/as-found.js';
import type { Observation, ObservedFile } from './sinks/types.js';
import { readingKey, type KubeconfigReading, type LeafReading, type LeafReadings } from './readings.js';
import { pemDigest, type VerifiedPairs } from './state.js';
import { signatureSchemeFor } from './x509/certificate.js';
import { describeKey, keyAlgorithmOf, readPrivateKey } from './x509/keys.js';
import { readCert, type ObservedCert, type ObservedProfile } from './x509/read.js';
import { parseCertPem } from './x509/read.js';
import { storeFacts, type StoredFacts } from './x509/facts.js';
import type { FactsFile } from './facts-file.js';

/** A credential found on disk that is good to keep as it is. */
export interface Existing {
  readonly cert: ObservedCert;
  readonly keyPem: string;
}

/** A leaf found on disk, and what the store's state needs to remember it by. */
export interface ExistingLeaf extends Existing {
  /** pemDigest of the certificate: its verified record. */
  readonly certDigest: string;
  /** readingKey of its files, when its reading is remembered (readings.ts). */
  readonly readingKey?: string;
  /**
   * Files to carry over as found, because rendering would give them byte for byte: a kept
   * kubeconfig kpki wrote, or a remembered certificate and key. Compared by digest, so an
   * unchanged leaf's files are not even read.
   */
  readonly asFound?: AsFound;
}

/** What the store remembers from earlier runs (state.ts); absent parts are simply not used. */
export interface Memory {
  readonly verified?: VerifiedPairs;
  readonly readings?: LeafReadings;
  /** Where a leaf read in full leaves its certificate facts for `kpki check` (facts-file.ts). */
  readonly facts?: FactsFile;
}

export type CaDecision =
  | { readonly item: ResolvedCa; readonly action: 'keep'; readonly existing: Existing; readonly findings: readonly Finding[] }
  | { readonly item: ResolvedCa; readonly action: 'create'; readonly reasons: string[] };

export type KeyPairDecision =
  | { readonly item: ResolvedKeyPair; readonly action: 'keep'; readonly keyPem: string; readonly findings: readonly Finding[] }
  | { readonly item: ResolvedKeyPair; readonly action: 'create'; readonly reasons: string[] };

export type LeafDecision =
  | { readonly item: ResolvedLeaf; readonly action: 'keep'; readonly existing: ExistingLeaf }
  /** The certificate is good but the kubeconfig around it is stale (server, CA data). */
  | { readonly item: ResolvedLeaf; readonly action: 'rewrite'; readonly existing: ExistingLeaf; readonly reasons: string[] }
  | { readonly item: ResolvedLeaf; readonly action: 'issue'; readonly reasons: string[]; readonly replaces: boolean };

export interface Decisions {
  readonly cas: readonly CaDecision[];
  readonly keypairs: readonly KeyPairDecision[];
  readonly leaves: readonly LeafDecision[];
  /** Every finding behind the decisions, CA and plan-drift ones included. */
  readonly findings: readonly Finding[];
}

/** What the assessments need besides the files: the clock and the plan's policy. */
export interface Policy {
  readonly now: Date;
  /** Leaves with less left than this are due. */
  readonly renewBeforeMs: number;
  /** Leaves valid for longer than this (plus the backdating) are reissued. */
  readonly certValidityMs: number;
  readonly keyAlgorithm: KeyAlgorithm;
}

const DAY = 86_400_000;
const days = (ms: number) => `${Math.floor(ms / DAY)}d`;
const day = (d: Date) => d.toISOString().slice(0, 10);

/** A CA as leaves see it: its certificate, once parsed. */
export interface SignerView {
  readonly ref: CaId;
  readonly file: string;
  /** Undefined when the CA is being created in this run. */
  readonly cert?: ObservedCert;
  readonly native?: NodeX509;
}

/** The CA's own file: present, whole, its key matching, and usable today. */
function decideCa(item: ResolvedCa, obs: Observation, pki: ResolvedPki, policy: Policy): CaDecision {
  const p = storeCaPaths(item.entry.stem);
  const crt = obs.files.get(p.crt);
  const key = obs.files.get(p.key);
  if (crt === undefined && key === undefined) return { item, action: 'create', reasons: ['missing'] };
  if (crt === undefined || key === undefined) {
    const [has, lacks] = crt === undefined ? [p.key, p.crt] : [p.crt, p.key];
    throw new KpkiError(
      'ERR_STORE_CONFLICT',
      `${has} exists but ${lacks} does not; kpki never replaces half of a CA. Restore ${lacks} or move ${has} away.`,
    );
  }
  if (crt.content === undefined) throw new PemError(p.crt, `cannot be read (${crt.error})`);
  if (key.content === undefined) throw new PemError(p.key, `cannot be read (${key.error})`);
  const cert = readCert(crt.content, p.crt);
  const keyObj = readPrivateKey(key.content, p.key);
  let native: NodeX509;
  try {
    native = new NodeX509(cert.pem);
  } catch (cause) {
    throw new PemError(p.crt, `not a readable certificate (${(cause as Error).message})`, { cause });
  }
  // A CA that claims to be its own issuer (same name, or no other authority key named) must
  // carry its own valid signature: a damaged CA file must never sign. An intermediate from an
  // organisation's root names that root's key and is taken as it is.
  const { subjectKeyId: ski, authorityKeyId: aki, subject, issuer } = cert.parsed;
  const sameKeyId = (a?: Uint8Array, b?: Uint8Array) => !a || (b !== undefined && Buffer.from(a).equals(Buffer.from(b)));
  const selfIssued = Buffer.from(subject.der).equals(Buffer.from(issuer.der)) || sameKeyId(aki, ski);
  if (selfIssued && !safe(() => native.verify(native.publicKey))) {
    throw new PemError(p.crt, 'the CA certificate is damaged: its self-signature does not verify. Restore it from a backup');
  }
  // Refuse a CA kpki cannot sign with before anything else, dry runs included.
  signatureSchemeFor(keyObj, p.key);
  if (!safe(() => native.checkPrivateKey(keyObj))) {
    throw new KpkiError('ERR_STORE_CONFLICT', `${p.key} does not belong to ${p.crt}; kpki will not overwrite a CA.`);
  }
  return { item, action: 'keep', existing: { cert, keyPem: key.content }, findings: assessCa(item, cert, keyObj, p.crt, pki, policy) };
}

/** What is worth saying about a CA kpki keeps: validity, and plan changes it does not follow. */
export function assessCa(item: ResolvedCa, cert: ObservedCert, key: KeyObject | undefined, file: string, pki: ResolvedPki, policy: Policy): Finding[] {
  const out: Finding[] = [];
  const ref = item.ref;
  const left = cert.notAfter.getTime() - policy.now.getTime();
  if (left <= 0) out.push(finding('ca-expired', file, `CA ${ref} expired on ${day(cert.notAfter)}`, ref));
  else if (cert.notBefore > policy.now) out.push(finding('ca-not-yet-valid', file, `CA ${ref} is not valid before ${cert.notBefore.toISOString()}`, ref));
  else if (left < policy.renewBeforeMs) {
    out.push(finding('ca-expiring', file, `CA ${ref} expires on ${day(cert.notAfter)} (in ${days(left)}); leaves are capped at that date`, ref));
  }
  const drift = (what: string) => out.push(finding('ca-plan-drift', file, `CA ${ref} is kept: ${what}`, ref));
  const alg = key ? keyAlgorithmOf(key) : undefined;
  if (key && alg !== pki.plan.pki.keyAlgorithm) drift(`it keeps its ${alg ?? describeKey(key)} key (plan: ${pki.plan.pki.keyAlgorithm})`);
  const want = item.profile.extras;
  const have = cert.profile.extras;
  for (const attr of ['C', 'ST', 'L', 'O', 'OU'] as const) {
    // O is read back into the profile's organisations (a CA has only the plan's extra O).
    const found = attr === 'O' ? (have.O ?? cert.profile.o[0] ?? '') : (have[attr] ?? '');
    if ((want[attr] ?? '') !== found) drift(`its subject ${attr} is "${found}" (plan: "${want[attr] ?? ''}")`);
  }
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  if (Math.abs(lifetime - BACKDATE_MS - pki.plan.pki.caValidityMs) > DAY) {
    drift(`it is valid for ${Math.round(lifetime / 3_600_000)}h (plan caValidity: ${Math.round(pki.plan.pki.caValidityMs / 3_600_000)}h)`);
  }
  return out;
}

function decideKeyPair(item: ResolvedKeyPair, obs: Observation, pki: ResolvedPki): KeyPairDecision {
  const p = storeKeyPairPaths(item.entry.stem);
  const key = obs.files.get(p.key);
  if (key === undefined) return { item, action: 'create', reasons: ['missing'] };
  if (key.content === undefined) throw new PemError(p.key, `cannot be read (${key.error})`);
  const alg = keyAlgorithmOf(readPrivateKey(key.content, p.key));
  const findings = alg === pki.plan.pki.keyAlgorithm
    ? []
    : [finding('ca-plan-drift', p.key, `${item.ref}.key is kept: it is ${alg ?? 'another kind of'} key (plan: ${pki.plan.pki.keyAlgorithm}); replacing it invalidates every service-account token`, item.ref)];
  return { item, action: 'keep', keyPem: key.content, findings };
}

function listDiff(label: string, want: readonly string[], have: readonly string[]): string | undefined {
  const added = want.filter((v) => !have.includes(v));
  const removed = have.filter((v) => !want.includes(v));
  if (!added.length && !removed.length) return undefined;
  return `${label} changed: ${[...added.map((v) => `+${v}`), ...removed.map((v) => `-${v}`)].join(' ')}`;
}

/** Every way a found certificate differs from the wanted profile, as messages. */
export function profileDiff(want: CertProfile, have: ObservedProfile): string[] {
  return profileFindings(want, have, '').map((f) => f.message);
}

function profileFindings(want: CertProfile, have: ObservedProfile, file: string, ref?: string): Finding[] {
  const out: Finding[] = [];
  const add = (code: Parameters<typeof finding>[0], message: string | undefined) => message && out.push(finding(code, file, message, ref));
  add('identity-mismatch', want.cn !== have.cn ? `CN changed: ${have.cn} → ${want.cn}` : undefined);
  add('identity-mismatch', listDiff('O', want.o, have.o));
  add('san-mismatch', listDiff('DNS SANs', want.dns, have.dns));
  add('san-mismatch', listDiff('IP SANs', want.ips, have.ips));
  add('usage-mismatch', listDiff('usages', want.usages, have.usages));
  return out;
}

const safe = (fn: () => boolean) => {
  try {
    return fn();
  } catch {
    return false;
  }
};

/** The files a leaf was read from, and what they held. */
export interface FoundLeaf {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  /** Set when the leaf is a kubeconfig that parsed. */
  readonly kubeconfig?: FoundKubeconfig;
  /** Findings made while reading (unreadable files, unresolved references). */
  readonly problems: readonly Finding[];
}

/**
 * Checks one certificate against what its role wants: key, chain, identity, SANs, usages,
 * key type and validity. `verified` remembers cert/key/CA triples checked before, so an
 * unchanged credential costs a hash instead of a key parse and a signature check.
 */
export function assessLeaf(
  item: ResolvedLeaf,
  cert: ObservedCert,
  files: { readonly certFile: string; readonly keyFile: string; readonly keyPem?: string },
  signer: SignerView,
  policy: Policy,
  verified?: VerifiedPairs,
  /** Already known to match its key and to verify against this signer (a remembered reading). */
  remembered?: { readonly algorithm?: KeyAlgorithm },
): Finding[] {
  const ref = item.ref;
  const at = (code: Parameters<typeof finding>[0], message: string, file = files.certFile) => finding(code, file, message, ref);
  if (!signer.cert || !signer.native) return [at('signer-new', `its CA ${signer.ref} is new`)];
  const out: Finding[] = [];
  const known = remembered ?? verified?.lookup(cert.pem, files.keyPem ?? '', signer.cert.pem);
  let alg: KeyAlgorithm | undefined = known?.algorithm;
  if (!known) {
    const keyPem = files.keyPem ?? '';
    let key: KeyObject;
    try {
      key = readPrivateKey(keyPem, files.keyFile);
    } catch (e) {
      return [at('unreadable', (e as Error).message, files.keyFile)];
    }
    let native: NodeX509;
    try {
      native = new NodeX509(cert.pem);
    } catch (e) {
      return [at('unreadable', `${files.certFile}: not a readable certificate (${(e as Error).message})`)];
    }
    if (!safe(() => native.checkPrivateKey(key))) out.push(at('key-mismatch', 'private key does not match the certificate', files.keyFile));
    const ca = signer.native;
    if (!safe(() => native.checkIssued(ca) && native.verify(ca.publicKey))) out.push(at('wrong-signer', `not signed by the current ${signer.ref}`));
    alg = keyAlgorithmOf(key);
    if (!out.length) verified?.record(cert.pem, keyPem, signer.cert.pem, alg);
  }
  out.push(...profileFindings(item.profile, cert.profile, files.certFile, ref));
  if (alg !== policy.keyAlgorithm) out.push(at('key-algorithm', `key algorithm ${alg ?? 'unknown'} → ${policy.keyAlgorithm}`, files.keyFile));
  const now = policy.now.getTime();
  const left = cert.notAfter.getTime() - now;
  // A leaf is capped at its CA's NotAfter: reissuing cannot give it more time (the CA's own
  // finding says what to do), so the cap is never a reason to reissue again.
  const capped = cert.notAfter.getTime() >= signer.cert.notAfter.getTime();
  if (left <= 0) out.push(at('expired', 'expired'));
  else if (cert.notBefore.getTime() > now) out.push(at('not-yet-valid', `not valid before ${cert.notBefore.toISOString()}`));
  else if (left < policy.renewBeforeMs && !capped) out.push(at('expiring', `expires in ${days(left)}`));
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  if (lifetime > policy.certValidityMs + BACKDATE_MS + 60_000) {
    out.push(at('lifetime-exceeds-plan', `valid for ${Math.round(lifetime / 3_600_000)}h, longer than certValidity ${Math.round(policy.certValidityMs / 3_600_000)}h`));
  }
  return out;
}

/** What the kubeconfig checks look at, from a parsed kubeconfig or a remembered reading. */
interface KubeconfigFacts {
  readonly server: string;
  readonly clusterName: string;
  readonly user: string;
  /** The embedded CA against the signer's: the same, another, or not embedded (referenced). */
  readonly ca: 'current' | 'other' | 'referenced';
  readonly byPath: boolean;
}

function kubeconfigFacts(k: FoundKubeconfig, caPem: string | undefined): KubeconfigFacts {
  return {
    server: k.server, clusterName: k.clusterName, user: k.user,
    ca: k.caPem === undefined ? 'referenced' : k.caPem === caPem ? 'current' : 'other',
    byPath: k.certFile !== undefined || k.keyFile !== undefined,
  };
}

function kubeconfigFindings(item: ResolvedLeaf, k: KubeconfigFacts, clusterName: string, file: string): Finding[] {
  const out: Finding[] = [];
  const at = (code: Parameters<typeof finding>[0], message: string) => out.push(finding(code, file, message, item.ref));
  if (k.server !== item.server) at('kubeconfig-server', `server ${k.server} → ${item.server}`);
  if (k.ca !== 'current') at('kubeconfig-ca', k.ca === 'referenced' ? 'CA is referenced, not embedded' : 'embedded CA differs from the current CA');
  if (k.clusterName !== clusterName) at('kubeconfig-names', `cluster name ${k.clusterName} → ${clusterName}`);
  if (k.user !== item.profile.cn) at('kubeconfig-names', `user ${k.user} → ${item.profile.cn}`);
  if (k.byPath) at('kubeconfig-names', 'credentials are referenced by path; kpki embeds them');
  return out;
}

/**
 * Reads a leaf's files from the observation. A kubeconfig that references its credentials
 * by path (kubeadm nodes: `/var/lib/kubelet/pki/kubelet-client-current.pem`) is resolved
 * inside the node's tree. Problems become findings; nothing here throws for a bad file.
 */
export function readLeaf(item: ResolvedLeaf, obs: Observation): FoundLeaf {
  const paths = leafPaths(item);
  const text = (path: string) => obs.files.get(path)?.content;
  const unreadable = (file: string) => {
    const f = obs.files.get(file);
    return f && f.content === undefined ? [finding('unreadable', file, `cannot be read (${f.error})`, item.ref)] : [];
  };
  if (!('kubeconfig' in paths)) {
    return { certFile: paths.crt, keyFile: paths.key, certPem: text(paths.crt), keyPem: text(paths.key), problems: [...unreadable(paths.crt), ...unreadable(paths.key)] };
  }
  const file = paths.kubeconfig;
  const raw = text(file);
  if (raw === undefined) return { certFile: file, keyFile: file, problems: unreadable(file) };
  let k: FoundKubeconfig;
  try {
    k = readKubeconfig(raw, file);
  } catch (e) {
    return { certFile: file, keyFile: file, problems: [finding('unreadable', file, (e as Error).message, item.ref)] };
  }
  const inTree = (ref: string) => `${nodeRoot(item.node.name)}/${ref.replace(/^\/+/, '')}`;
  const certFile = k.certFile !== undefined ? inTree(k.certFile) : file;
  const keyFile = k.keyFile !== undefined ? inTree(k.keyFile) : file;
  const certPem = k.certPem ?? (k.certFile !== undefined ? text(certFile) : undefined);
  // kubeadm's kubelet-client-current.pem holds the certificate and the key in one file.
  const keyPem = k.keyPem ?? (k.keyFile !== undefined ? text(keyFile) : undefined);
  return { certFile, keyFile, certPem, keyPem, kubeconfig: k, problems: [] };
}

/** The files a leaf's reading is remembered by (its kubeconfig, or its certificate and key), if all are readable. */
function leafFiles(item: ResolvedLeaf, obs: Observation): ObservedFile[] | undefined {
  const paths = leafPaths(item);
  const files = ('kubeconfig' in paths ? [paths.kubeconfig] : [paths.crt, paths.key]).map((p) => obs.files.get(p));
  return files.every((f) => f !== undefined && fileDigest(f) !== undefined) ? (files as ObservedFile[]) : undefined;
}

export type AsFound = Partial<Readonly<Record<'crt' | 'key' | 'kubeconfig', KeptText>>>;

/**
 * A leaf as a remembered reading describes it: the files' texts and the facts read from them
 * before. The PEM, DER, full parse and key are produced only if something asks for them
 * (rendering a rewritten kubeconfig, a dry run's credentials). A class, so the lazy fields
 * are shared accessors rather than thousands of per-object ones.
 */
class RememberedLeaf implements FoundLeaf, ObservedCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly problems: readonly Finding[] = [];
  readonly profile: ObservedProfile;
  readonly notBefore: Date;
  readonly notAfter: Date;
  #kubeconfig?: FoundKubeconfig;
  #parsed?: ReturnType<typeof parseCertPem>;

  readonly texts: readonly KeptText[];

  constructor(
    files: readonly ObservedFile[],
    paths: ReturnType<typeof leafPaths>,
    reading: LeafReading,
  ) {
    this.certFile = 'kubeconfig' in paths ? paths.kubeconfig : paths.crt;
    this.keyFile = 'kubeconfig' in paths ? paths.kubeconfig : paths.key;
    this.texts = files.map((f, i) => new KeptText(f, i === 0 ? this.certFile : this.keyFile));
    this.profile = reading.profile;
    this.notBefore = reading.notBefore;
    this.notAfter = reading.notAfter;
  }

  /** The kubeconfig read again (base64 decoded), for a kubeconfig leaf only. */
  #read(): FoundKubeconfig | undefined {
    if (this.texts.length !== 1) return undefined;
    return (this.#kubeconfig ??= readKubeconfig(this.texts[0]!.text, this.certFile));
  }

  get pem(): string {
    const k = this.#read();
    return k ? k.certPem! : this.texts[0]!.text;
  }

  get certPem(): string {
    return this.pem;
  }

  get keyPem(): string | undefined {
    const k = this.#read();
    return k ? k.keyPem : this.texts[1]!.text;
  }

  get parsed(): ReturnType<typeof parseCertPem> {
    return (this.#parsed ??= parseCertPem(this.pem));
  }

  get der(): Uint8Array {
    return this.parsed.der;
  }
}

function decideLeaf(
  item: ResolvedLeaf,
  obs: Observation,
  signers: ReadonlyMap<CaId, SignerView>,
  pki: ResolvedPki,
  policy: Policy,
  memory: Memory,
): { decision: LeafDecision; findings: Finding[] } {
  const signer = signers.get(item.signer)!;
  const issue = (findings: Finding[], replaces: boolean) => ({
    decision: { item, action: 'issue', reasons: findings.map((f) => f.message), replaces } as const,
    findings,
  });
  const files = memory.readings ? leafFiles(item, obs) : undefined;
  const key = files && readingKey(files.map((f) => fileDigest(f)!));
  const caDigest = signer.cert && pemDigest(signer.cert.pem);
  const hit = key !== undefined && caDigest !== undefined ? memory.readings!.get(key) : undefined;
  const reading = hit?.caDigest === caDigest ? hit : undefined;

  let found: FoundLeaf;
  let cert: ObservedCert;
  let kubeconfig: KubeconfigFacts | undefined;
  let own = false;
  if (reading) {
    found = cert = new RememberedLeaf(files!, leafPaths(item), reading);
    const k = reading.kubeconfig;
    if (k) {
      kubeconfig = { server: k.server, clusterName: k.clusterName, user: k.user, ca: k.caDigest === caDigest ? 'current' : 'other', byPath: false };
      own = k.own;
    }
  } else {
    found = readLeaf(item, obs);
    if (found.problems.length) return issue([...found.problems], true);
    if (found.certPem === undefined || found.keyPem === undefined) {
      const partial = found.certPem !== undefined || found.keyPem !== undefined || found.kubeconfig !== undefined;
      const f = partial ? finding('key-missing', found.keyPem === undefined ? found.keyFile : found.certFile, 'certificate or key missing', item.ref) : finding('missing', found.certFile, 'missing', item.ref);
      return issue([f], partial);
    }
    try {
      cert = readCert(found.certPem, found.certFile);
    } catch (e) {
      // A damaged leaf is simply reissued; the broken file is backed up first.
      return issue([finding('unreadable', found.certFile, `${(e as Error).message}; reissued`, item.ref)], true);
    }
    if (found.kubeconfig) {
      kubeconfig = kubeconfigFacts(found.kubeconfig, signer.cert?.pem);
      own = found.kubeconfig.own === true;
    }
  }
  const findings = assessLeaf(item, cert, found, signer, policy, memory.verified, reading);
  if (findings.some((f) => remedyOf(f) === 'reissue')) return issue(findings, true);
  const remembered = reading ? key : key !== undefined && remember(memory, key, cert, found.keyPem!, signer, found.kubeconfig) ? key : undefined;
  const existing = new KeptLeaf(cert, found, reading?.certDigest ?? pemDigest(cert.pem), remembered);
  if (kubeconfig) {
    const stale = kubeconfigFindings(item, kubeconfig, pki.plan.clusterName, found.certFile);
    if (stale.length) return { decision: { item, action: 'rewrite', existing, reasons: stale.map((f) => f.message) }, findings: stale };
  }
  if (own && files) existing.asFound = { kubeconfig: found instanceof RememberedLeaf ? found.texts[0]! : new KeptText(files[0]!, found.certFile) };
  else if (found instanceof RememberedLeaf && found.texts.length === 2) existing.asFound = { crt: found.texts[0]!, key: found.texts[1]! };
  return { decision: { item, action: 'keep', existing }, findings };
}

/** A leaf to keep; its key text is read from the files only if asked for. */
class KeptLeaf implements ExistingLeaf {
  asFound?: AsFound;
  constructor(
    readonly cert: ObservedCert,
    private readonly found: FoundLeaf,
    readonly certDigest: string,
    readonly readingKey: string | undefined,
  ) {}

  get keyPem(): string {
    return this.found.keyPem!;
  }
}

/**
 * Remembers a leaf read in full whose key matched and whose signature verified (its triple is
 * in the verified records). A kubeconfig that references files (or its CA) is always read
 * again: its reading depends on more than its own text. Returns whether it was remembered.
 */
function remember(memory: Memory, key: string, cert: ObservedCert, keyPem: string, signer: SignerView, k: FoundKubeconfig | undefined): boolean {
  if (!memory.readings || !signer.cert) return false;
  const v = memory.verified?.lookup(cert.pem, keyPem, signer.cert.pem);
  if (!v) return false;
  if (k && (k.certFile !== undefined || k.keyFile !== undefined || k.caPem === undefined)) return false;
  const reading = leafReading(cert, pemDigest(signer.cert.pem), v.algorithm, k && {
    server: k.server, clusterName: k.clusterName, user: k.user, caDigest: pemDigest(k.caPem!), own: k.own === true,
  });
  memory.readings.set(key, reading);
  memory.facts?.set(key, certFacts(cert, reading));
  return true;
}

const CERT_BEGIN = '-----BEGIN CERTIFICATE-----';

/** What `kpki check` needs to know of a certificate read in full (x509/facts.ts), and what its reading vouches for. */
export function certFacts(cert: ObservedCert, reading: LeafReading): StoredFacts {
  const k = reading.kubeconfig;
  return storeFacts(cert.parsed, hash('sha256', cert.der, 'hex'), cert.pem.indexOf(CERT_BEGIN) !== cert.pem.lastIndexOf(CERT_BEGIN), {
    ca: reading.caDigest, ...(k?.own ? { kca: k.caDigest } : {}),
  });
}

/** A reading of a certificate known to be good: what the next run needs to skip reading it. */
export function leafReading(cert: ObservedCert, caDigest: string, algorithm: KeyAlgorithm | undefined, kubeconfig?: KubeconfigReading): LeafReading {
  return {
    caDigest, certDigest: pemDigest(cert.pem), ...(algorithm ? { algorithm } : {}),
    notBefore: cert.notBefore, notAfter: cert.notAfter, profile: cert.profile,
    ...(kubeconfig ? { kubeconfig } : {}),
  };
}

export function policyOf(pki: ResolvedPki, now: Date): Policy {
  const p = pki.plan.pki;
  return { now, renewBeforeMs: p.renewBeforeMs, certValidityMs: p.certValidityMs, keyAlgorithm: p.keyAlgorithm };
}

export function reconcile(pki: ResolvedPki, obs: Observation, now: Date, memory: Memory = {}): Decisions {
  const policy = policyOf(pki, now);
  const cas = pki.cas.map((ca) => decideCa(ca, obs, pki, policy));
  const signers = new Map<CaId, SignerView>(
    cas.map((d) => {
      const file = storeCaPaths(d.item.entry.stem).crt;
      return [d.item.ref, d.action === 'keep' ? { ref: d.item.ref, file, cert: d.existing.cert, native: new NodeX509(d.existing.cert.pem) } : { ref: d.item.ref, file }];
    }),
  );
  const keypairs = pki.keypairs.map((kp) => decideKeyPair(kp, obs, pki));
  const findings: Finding[] = [
    ...cas.flatMap((c) => (c.action === 'keep' ? c.findings : [])),
    ...keypairs.flatMap((k) => (k.action === 'keep' ? k.findings : [])),
  ];
  const leaves = pki.leaves.map((leaf) => {
    const { decision, findings: f } = decideLeaf(leaf, obs, signers, pki, policy, memory);
    findings.push(...f);
    return decision;
  });
  return { cas, keypairs, leaves, findings };
}

/** The store trees and node trees the planner reads. */
export function treesToObserve(pki: ResolvedPki, extraNodes: readonly string[] = []): string[] {
  return ['pki', ...pki.plan.nodes.map((n) => nodeRoot(n.name)), ...extraNodes.map(nodeRoot)];
}
