/**
 * Deciding: what each credential needs, from what observe found and assess judged. Per
 * credential: keep, create, issue, rewrite (a good certificate in a stale kubeconfig), or, for
 * a CA kpki must not touch, refuse. Pure: it reads no file and writes no memory; what the
 * assessments verified travels with each decision to the bookkeeping step after apply.
 *
 *   decide = observe (observe/ca, observe/leaf) → assess (assess/ca, assess/leaf) → decisions
 *
 * `check --plan` runs the same steps, so `gen --dry-run` and `check --plan` cannot disagree.
 * Renewal, CA extension and rotation phases are further policies over the same findings.
 */
import { X509Certificate as NodeX509 } from 'node:crypto';
import type { ResolvedCa, ResolvedKeyPair, ResolvedLeaf, ResolvedPki } from '../catalog/resolve.js';
import type { CaId } from '../catalog/types.js';
import { finding, refusalOf, remedyOf, type Finding } from '../findings.js';
import { storeCaPaths } from '../layout/layout.js';
import { observeCa, observeKeyPair } from '../observe/ca.js';
import { observeLeaf, readLeaf, RememberedLeaf, type AsFound, type FoundLeaf } from '../observe/leaf.js';
import { assessCa, assessKeyPair, caUsability } from '../assess/ca.js';
import { assessLeaf, kubeconfigFacts, kubeconfigFindings, type KubeconfigFacts, type SignerView } from '../assess/leaf.js';
import { policyOf, type Policy } from '../assess/policy.js';
import { KeptText } from '../sinks/as-found.js';
import { textDigest } from '../sinks/digest.js';
import type { Observation } from '../sinks/types.js';
import { leafReading, type LeafReading, type LeafReadings } from '../store/readings.js';
import type { KeyAlgorithm } from '../plan/types.js';
import { certificateSpki, readCert, type ObservedCert } from '../x509/read.js';

export type { AsFound };

/** A credential found on disk that is good to keep as it is. */
export interface Existing {
  readonly cert: ObservedCert;
  readonly keyPem: string;
}

/** What a run learned about a kept leaf read in full, for the bookkeeping step to remember. */
export interface Learned {
  /** A reading of the leaf's exact bytes (under `ExistingLeaf.readingKey`): key matched, signature verified. */
  readonly reading: LeafReading;
}

/** A leaf found on disk, and what the store's record needs to remember it by. */
export interface ExistingLeaf extends Existing {
  /** readingKey of its files, when its reading is (or is to be) remembered (store/readings.ts). */
  readonly readingKey?: string;
  /**
   * Files to carry over as found, because rendering would give them byte for byte: a kept
   * kubeconfig kpki wrote, or a remembered certificate and key. Compared by digest, so an
   * unchanged leaf's files are not even read.
   */
  readonly asFound?: AsFound;
  readonly learned?: Learned;
}

/** What the store remembers from earlier runs (store/record.ts); looked up, never written here. */
export interface Memory {
  readonly readings?: LeafReadings;
}

export type CaDecision =
  | { readonly item: ResolvedCa; readonly action: 'keep'; readonly existing: Existing; readonly findings: readonly Finding[] }
  | { readonly item: ResolvedCa; readonly action: 'create'; readonly reasons: string[] }
  /** Present but unusable (half of it, damaged, another's key): never replaced, never signed with. */
  | { readonly item: ResolvedCa; readonly action: 'refuse'; readonly findings: readonly Finding[] };

export type KeyPairDecision =
  /** `pubPem`: the public half as found, kept byte for byte (it holds the key's public key). */
  | { readonly item: ResolvedKeyPair; readonly action: 'keep'; readonly keyPem: string; readonly pubPem?: string; readonly findings: readonly Finding[] }
  | { readonly item: ResolvedKeyPair; readonly action: 'create'; readonly reasons: string[] }
  | { readonly item: ResolvedKeyPair; readonly action: 'refuse'; readonly findings: readonly Finding[] };

export type LeafDecision =
  | { readonly item: ResolvedLeaf; readonly action: 'keep'; readonly existing: ExistingLeaf }
  /** The certificate is good but the kubeconfig around it is stale (server, CA data). */
  | { readonly item: ResolvedLeaf; readonly action: 'rewrite'; readonly existing: ExistingLeaf; readonly reasons: string[] }
  /** `kept`: a renewal that keeps the leaf's key (`--reuse-keys`) signs it again instead of a new one. */
  | { readonly item: ResolvedLeaf; readonly action: 'issue'; readonly reasons: string[]; readonly replaces: boolean; readonly kept?: KeptKey };

/**
 * A renewal: leaves to issue again even though gen would keep them. Which ones is data (catalog
 * ids, nodes, an expiry window), so the decision stays pure and `renew --dry-run` reports it.
 */
export interface RenewRequest {
  /** Catalog leaf ids (`apiserver`, `kubelet.conf`), or `all`: every leaf, never a CA or `sa`. */
  readonly ids: readonly string[] | 'all';
  /** Only the leaves of these nodes; every node when absent. */
  readonly nodes?: readonly string[];
  /** Only leaves whose NotAfter is within this many milliseconds of now; all selected when absent. */
  readonly beforeMs?: number;
  /** Sign the existing key again instead of a new one. */
  readonly reuseKeys?: boolean;
}

/** Further policies over the same findings. */
export interface DecideOptions {
  readonly renew?: RenewRequest;
  /** A rotation in progress: per CA, the trust text (old + new) kubeconfigs embed instead of the certificate. */
  readonly trust?: ReadonlyMap<string, string>;
}

export interface Decisions {
  readonly cas: readonly CaDecision[];
  readonly keypairs: readonly KeyPairDecision[];
  /** Empty when any CA or key pair is refused: nothing is decided under a store gen will not touch. */
  readonly leaves: readonly LeafDecision[];
  /** Every finding behind the decisions, CA and plan-drift ones included. */
  readonly findings: readonly Finding[];
  /** The findings that stop gen (their rules refuse), in catalog order; empty when it may go on. */
  readonly refusals: readonly Finding[];
}

function decideCa(item: ResolvedCa, obs: Observation, pki: ResolvedPki, policy: Policy): CaDecision {
  const found = observeCa(item, obs);
  if (found.state === 'absent') return { item, action: 'create', reasons: ['missing'] };
  const unusable = caUsability(found, item.ref);
  if (unusable.length || found.state !== 'present') return { item, action: 'refuse', findings: unusable };
  return { item, action: 'keep', existing: { cert: found.cert, keyPem: found.keyPem }, findings: assessCa(item, found.cert, found.key, found.crtFile, pki, policy) };
}

function decideKeyPair(item: ResolvedKeyPair, obs: Observation, pki: ResolvedPki): KeyPairDecision {
  const found = observeKeyPair(item, obs);
  if (found.state === 'absent') return { item, action: 'create', reasons: ['missing'] };
  const findings = assessKeyPair(item, found, pki);
  if (found.state !== 'present' || findings.some((f) => refusalOf(f) !== undefined)) return { item, action: 'refuse', findings };
  return { item, action: 'keep', keyPem: found.keyPem, ...(found.pub?.pem !== undefined ? { pubPem: found.pub.pem } : {}), findings };
}

/**
 * A leaf's key signed again by a renewal. Only a leaf decided keep or rewrite is renewed with its
 * key, and those passed the key-match check (now, or when the record's reading was learned), so
 * the certificate's public key is the key's: no private key is parsed to learn it.
 */
export interface KeptKey {
  readonly keyPem: string;
  readonly spkiDer: Uint8Array;
}

/** A leaf to keep; its key text is read from the files only if asked for. */
class KeptLeaf implements ExistingLeaf {
  asFound?: AsFound;
  constructor(
    readonly cert: ObservedCert,
    private readonly found: FoundLeaf,
    readonly readingKey: string | undefined,
    readonly learned: Learned | undefined,
  ) {}

  get keyPem(): string {
    return this.found.keyPem!;
  }
}

function decideLeaf(item: ResolvedLeaf, obs: Observation, signer: SignerView, pki: ResolvedPki, policy: Policy, memory: Memory): { decision: LeafDecision; findings: Finding[] } {
  const issue = (findings: Finding[], replaces: boolean) => ({
    decision: { item, action: 'issue', reasons: findings.map((f) => f.message), replaces } as const,
    findings,
  });
  const caDigest = signer.cert && textDigest(signer.cert.pem);
  const trustDigest = signer.trustPem !== undefined ? textDigest(signer.trustPem) : caDigest;
  const seen = observeLeaf(item, obs, caDigest, memory.readings);
  const reading = seen.remembered?.reading;

  let found: FoundLeaf;
  let cert: ObservedCert;
  let kubeconfig: KubeconfigFacts | undefined;
  let own = false;
  if (seen.remembered) {
    found = cert = seen.remembered.leaf;
    const k = seen.remembered.reading.kubeconfig;
    if (k) {
      kubeconfig = { server: k.server, clusterName: k.clusterName, user: k.user, ca: k.caDigest === trustDigest ? 'current' : 'other', byPath: false };
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
      kubeconfig = kubeconfigFacts(found.kubeconfig, signer.trustPem ?? signer.cert?.pem);
      own = found.kubeconfig.own === true;
    }
  }
  const assessed = assessLeaf(item, cert, found, signer, policy, reading);
  const findings = assessed.findings;
  if (findings.some((f) => remedyOf(f) === 'reissue')) return issue(findings, true);

  // What to remember: a leaf read in full whose key matched and whose signature verified (now
  // or in an earlier run). A kubeconfig that references files (or its CA) is always read
  // again: its reading depends on more than its own text.
  const learned = reading ? undefined : learn(seen.readingKey, cert, found, signer, assessed.verified);
  const existing = new KeptLeaf(cert, found, reading || learned ? seen.readingKey : undefined, learned);
  if (kubeconfig) {
    const stale = kubeconfigFindings(item, kubeconfig, pki.plan.clusterName, found.certFile);
    if (stale.length) return { decision: { item, action: 'rewrite', existing, reasons: stale.map((f) => f.message) }, findings: stale };
  }
  if (own && seen.files) existing.asFound = { kubeconfig: found instanceof RememberedLeaf ? found.texts[0]! : new KeptText(seen.files[0]!, found.certFile) };
  else if (found instanceof RememberedLeaf && found.texts.length === 2) existing.asFound = { crt: found.texts[0]!, key: found.texts[1]! };
  return { decision: { item, action: 'keep', existing }, findings };
}

function learn(key: string | undefined, cert: ObservedCert, found: FoundLeaf, signer: SignerView, verified: { readonly algorithm?: KeyAlgorithm } | undefined): Learned | undefined {
  if (!verified || !signer.cert || key === undefined) return undefined;
  const k = found.kubeconfig;
  // A kubeconfig that references files (or its CA) depends on more than its own text: read again each time.
  if (k && (k.certFile !== undefined || k.keyFile !== undefined || k.caPem === undefined)) return undefined;
  return {
    reading: leafReading(cert, textDigest(signer.cert.pem), verified.algorithm, k && {
      server: k.server, clusterName: k.clusterName, user: k.user, caDigest: textDigest(k.caPem!), own: k.own === true,
    }),
  };
}

/** observe → assess → decide for every credential of the plan, against one observation and one clock. */
export function decide(pki: ResolvedPki, obs: Observation, now: Date, memory: Memory = {}, options: DecideOptions = {}): Decisions {
  const policy = policyOf(pki, now);
  const cas = pki.cas.map((ca) => decideCa(ca, obs, pki, policy));
  const keypairs = pki.keypairs.map((kp) => decideKeyPair(kp, obs, pki));
  const findings: Finding[] = [...cas.flatMap((c) => (c.action === 'create' ? [] : c.findings)), ...keypairs.flatMap((k) => (k.action === 'create' ? [] : k.findings))];
  const refusals = findings.filter((f) => refusalOf(f) !== undefined);
  if (cas.some((c) => c.action === 'refuse') || keypairs.some((k) => k.action === 'refuse')) return { cas, keypairs, leaves: [], findings, refusals };
  const signers = new Map<CaId, SignerView>(
    cas.map((d) => {
      const file = storeCaPaths(d.item.entry.stem).crt;
      const trustPem = options.trust?.get(d.item.ref);
      return [d.item.ref, d.action === 'keep' ? { ref: d.item.ref, file, cert: d.existing.cert, native: new NodeX509(d.existing.cert.pem), ...(trustPem !== undefined ? { trustPem } : {}) } : { ref: d.item.ref, file }];
    }),
  );
  const leaves = pki.leaves.map((leaf) => {
    const { decision, findings: f } = decideLeaf(leaf, obs, signers.get(leaf.signer)!, pki, policy, memory);
    findings.push(...f);
    return options.renew ? renewed(decision, options.renew, now) : decision;
  });
  return { cas, keypairs, leaves, findings, refusals };
}

const DAY_MS = 86_400_000;

/**
 * The renewal phase: a leaf gen would keep (or only rewrite) is issued again when the request
 * selects it. What gen would issue anyway stays as gen decided (its key is never reused: a
 * reissue for a wrong key type or a damaged key must not keep that key).
 */
function renewed(d: LeafDecision, r: RenewRequest, now: Date): LeafDecision {
  if (d.action === 'issue') return d;
  if (r.ids !== 'all' && !r.ids.includes(d.item.entry.id)) return d;
  if (r.nodes && !r.nodes.includes(d.item.node.name)) return d;
  const left = d.existing.cert.notAfter.getTime() - now.getTime();
  if (r.beforeMs !== undefined && left > r.beforeMs) return d;
  const when = left <= 0 ? `expired ${d.existing.cert.notAfter.toISOString().slice(0, 10)}` : `expires ${d.existing.cert.notAfter.toISOString().slice(0, 10)} (in ${Math.floor(left / DAY_MS)}d)`;
  const reason = r.beforeMs === undefined ? `renewal requested; ${when}` : `renewal: ${when}, within ${Math.round(r.beforeMs / DAY_MS)}d`;
  return {
    item: d.item, action: 'issue', replaces: true,
    reasons: [reason, ...(d.action === 'rewrite' ? d.reasons : []), ...(r.reuseKeys ? ['same key'] : [])],
    ...(r.reuseKeys ? { kept: { keyPem: d.existing.keyPem, spkiDer: certificateSpki(d.existing.cert.pem) } } : {}),
  };
}
