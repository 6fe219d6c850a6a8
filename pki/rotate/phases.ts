/**
 * Rotation phases as data: which phase a request runs (resume an unfinished one, else the
 * next), and what the recorded phases make of the pipeline's files. Pure: gen applies the view
 * (gen/generate.ts), so `kpki gen` in the middle of a rotation renders the trees that phase
 * wants instead of undoing it.
 *
 *   trust     node CA copies and kubeconfig CA data = old + new; leaves as they are (bundles
 *             start with the CA ca.key belongs to: old here, new from issue on)
 *   issue     the store's CA read as the new one, so decide re-signs every leaf of it (the
 *             controller-manager's ca.key is the new key); bundles still old + new (new first
 *             where ca.key is, as written at trust elsewhere); serving
 *             certificates carry the new CA cross-signed by the old one
 *   finalize  the new CA alone, the store's CA files replaced (the old ones go to backup/)
 *   abort     nothing: gen's own decisions bring every tree back to the store's (old) CA
 */
import type { ResolvedPki } from '../catalog/resolve.js';
import type { CaId } from '../catalog/types.js';
import { KpkiError } from '../errors.js';
import { storeCaPaths, storeKeyPairPaths } from '../layout/layout.js';
import type { Observation } from '../sinks/types.js';
import type { CaPhase, Rotation, RotationTarget, SaPhase } from './state.js';

export interface RotateRequest {
  readonly target: RotationTarget;
  /** `next`: complete the recorded phase if unfinished, else run the next one. */
  readonly action: 'next' | 'abort';
  /** issue phase: sign the leaves' current keys again. */
  readonly reuseKeys?: boolean;
}

/** The phase a request runs against the record found (undefined: none), or a usage error. */
export function phaseToRun(current: Rotation | undefined, req: RotateRequest, where: string): CaPhase | SaPhase {
  const sa = req.target === 'sa';
  const cmd = sa ? 'kpki sa rotate' : `kpki ca rotate ${req.target}`;
  if (req.action === 'abort') {
    if (!current) throw new KpkiError('ERR_USAGE', `${where}: no rotation of ${req.target} is in progress; nothing to abort`);
    if (current.phase === 'finalize') throw new KpkiError('ERR_USAGE', `${where}: the rotation of ${req.target} is finalizing (the old ${sa ? 'key' : 'CA'} has left the trust); it cannot be aborted: run ${cmd} again to complete it`);
    return 'abort';
  }
  if (!current) return sa ? 'overlap' : 'trust';
  if (!current.done) return current.phase;
  if (current.phase === 'trust') return 'issue';
  return 'finalize';
}

/** The phase that comes after `phase` (for messages), or undefined at the end. */
export function nextPhase(r: Pick<Rotation, 'kind' | 'phase' | 'done'>): CaPhase | SaPhase | undefined {
  if (!r.done) return r.phase;
  if (r.phase === 'trust') return 'issue';
  if (r.phase === 'issue' || r.phase === 'overlap') return 'finalize';
  return undefined;
}

/** What the recorded phases make of the pipeline's files. */
export interface RotationView {
  /** Store files read as holding these texts: decide and issue see the new CA (or key) as the store's. */
  readonly seenAs: ReadonlyMap<string, string>;
  /** Per CA (or key pair) ref: what node copies and kubeconfigs' CA data hold instead of the certificate alone. */
  readonly bundles: ReadonlyMap<string, string>;
  /**
   * Per CA ref, from issue on: what node copies hold on nodes without that CA's key, where only
   * the set counts, not the order. The trust phase's text, so those copies (a thousand workers'
   * ca.crt) are written at trust and at finalize, not also at issue.
   */
  readonly keyless: ReadonlyMap<string, string>;
  /** Serving leaves of these CAs: rendered afresh as their certificate followed by this chain ('' for none). */
  readonly chains: ReadonlyMap<CaId, string>;
  /** Store files left as found this phase (the old CA until finalize). */
  readonly keepStore: ReadonlySet<string>;
  /** Store files replaced this phase (finalize): no longer protected. */
  readonly replaceStore: ReadonlySet<string>;
  /** The Kubernetes CA is rotating: control planes get the single signing-CA file. */
  readonly signingFile: boolean;
  /** CAs in the issue phase whose leaves sign their current keys again (`--reuse-keys`). */
  readonly reuseKeys: ReadonlySet<CaId>;
}

const bundle = (...pems: string[]) => pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');

export function rotationView(pki: ResolvedPki, rotations: Iterable<Rotation>): RotationView {
  const seenAs = new Map<string, string>();
  const bundles = new Map<string, string>();
  const keyless = new Map<string, string>();
  const chains = new Map<CaId, string>();
  const keepStore = new Set<string>();
  const replaceStore = new Set<string>();
  const reuseKeys = new Set<CaId>();
  let signingFile = false;
  for (const r of rotations) {
    if (r.phase === 'abort') continue;
    if (r.kind === 'ca') {
      const item = pki.cas.find((c) => c.ref === r.target);
      if (!item) continue;
      const p = storeCaPaths(item.entry.stem);
      chains.set(r.target, r.phase === 'issue' ? r.crossPem : '');
      if (r.target === 'ca') signingFile = true;
      // First the CA ca.key belongs to (the signing one): tools that pair ca.crt with ca.key read the first.
      if (r.phase === 'trust') bundles.set(r.target, bundle(r.oldCertPem, r.newCertPem));
      if (r.phase === 'issue') {
        bundles.set(r.target, bundle(r.newCertPem, r.oldCertPem));
        keyless.set(r.target, bundle(r.oldCertPem, r.newCertPem));
      }
      if (r.phase === 'trust') continue;
      if (r.phase === 'issue' && r.reuseKeys) reuseKeys.add(r.target);
      seenAs.set(p.crt, r.newCertPem);
      seenAs.set(p.key, r.newKeyPem);
      for (const f of [p.crt, p.key]) (r.phase === 'finalize' ? replaceStore : keepStore).add(f);
    } else {
      const item = pki.keypairs.find((k) => k.ref === 'sa');
      if (!item) continue;
      const p = storeKeyPairPaths(item.entry.stem);
      if (r.phase === 'overlap') bundles.set('sa', bundle(r.newPubPem, r.oldPubPem));
      seenAs.set(p.key, r.newKeyPem);
      seenAs.set(p.pub, r.newPubPem);
      for (const f of [p.key, p.pub]) (r.phase === 'finalize' ? replaceStore : keepStore).add(f);
    }
  }
  return { seenAs, bundles, keyless, chains, keepStore, replaceStore, signingFile, reuseKeys };
}

/**
 * Before finalize the store must still hold the CA (or public key) the rotation began from:
 * anything else (a restore, a `ca extend` in between) is refused with what to do.
 */
export function storeDrift(pki: ResolvedPki, r: Rotation, observed: Observation, where: string): string | undefined {
  if (r.phase === 'finalize') return undefined;
  const path = r.kind === 'ca'
    ? storeCaPaths(pki.cas.find((c) => c.ref === r.target)!.entry.stem).crt
    : storeKeyPairPaths(pki.keypairs.find((k) => k.ref === 'sa')!.entry.stem).pub;
  const found = observed.files.get(path)?.content;
  const want = r.kind === 'ca' ? r.oldCertPem : r.oldPubPem;
  if (found === want) return undefined;
  return `${where}/${path} is not the ${r.kind === 'ca' ? 'CA certificate' : 'public key'} the rotation of ${r.target} began from (${where}/pki/rotation/${r.target}.json); restore it from backup/ before going on`;
}
