/**
 * Carries out the planner's decisions: generates every needed key at once (they run on the
 * thread pool, in parallel), self-signs new CAs, then signs each leaf as soon as its key is
 * ready, so key generation and signing overlap. Pure apart from crypto: no files.
 */
import { createPrivateKey, X509Certificate as NodeX509 } from 'node:crypto';
import type { ResolvedLeaf, ResolvedPki } from '../catalog/resolve.js';
import type { CaId } from '../catalog/types.js';
import { BACKDATE_MS } from '../assess/policy.js';
import { KpkiError } from '../errors.js';
import { refusalOf } from '../findings.js';
import type { Deps, KeyMaterial } from '../deps.js';
import { storeCaPaths } from '../layout/layout.js';
import type { AsFound, Decisions, ExistingLeaf, KeptKey } from '../decide/decide.js';
import { encodeName, keyIdentifier } from '../x509/certificate.js';
import { fileSigner, keyIdHex, signCertificate, signerRegistry, type CaSigner } from './signer.js';
import { parseCertPem } from '../x509/read.js';
import { publicKeyPem, spkiOf } from '../x509/keys.js';
import type { KeyAlgorithm } from '../plan/types.js';

/** A certificate and its key; what happened to it (and why) is in the decisions. */
export interface Credential {
  readonly certPem: string;
  readonly keyPem: string;
  readonly notAfter: Date;
  /** Files of a kept leaf to write exactly as found (read only if they move). */
  readonly asFound?: AsFound;
}

export interface Issued {
  readonly cas: ReadonlyMap<CaId, Credential>;
  readonly keypairs: ReadonlyMap<string, { keyPem: string; pubPem: string }>;
  readonly leaves: ReadonlyMap<string, Credential>;
}

export { BACKDATE_MS };

/** A CA as its leaves see it: what each copies from it; its key is found by `keyId` (signer.ts). */
interface Issuer {
  /** The CA's subject exactly as encoded in its certificate: each leaf's issuer. */
  readonly subjectDer: Uint8Array;
  /** The CA's SKI: each leaf's AKI, and the key id its signer is looked up by. */
  readonly keyId: Uint8Array;
  readonly notAfter: Date;
}

/**
 * A CA certificate and its file-backed signer. `keyFile` names the CA in the ERR_CA_UNUSABLE
 * raised for a key kpki cannot sign with (the scheme is read from the key itself: an adopted
 * CA's key need not be the plan's algorithm).
 */
export function issuerFrom(certPem: string, keyPem: string, keyFile: string): { issuer: Issuer; signer: CaSigner } {
  const { subject: { der: subjectDer }, subjectKeyId } = parseCertPem(certPem);
  // A CA imported from elsewhere may lack an SKI; derive it the RFC 5280 way.
  const keyId = subjectKeyId ?? keyIdentifier(spkiOf(createPrivateKey(keyPem)));
  return { issuer: { subjectDer, keyId, notAfter: new Date(new NodeX509(certPem).validTo) }, signer: fileSigner(keyPem, keyId, keyFile) };
}

/** Random positive serial below 2^63 with a non-zero first byte, so DER needs no padding. */
export function serialFrom(bytes: Uint8Array): string {
  const b = Uint8Array.from(bytes.subarray(0, 8));
  b[0] = ((b[0] ?? 0) & 0x7f) || 0x01;
  return Buffer.from(b).toString('hex');
}

/**
 * A kept leaf as a credential. Its PEM texts are read only if rendering needs them: files
 * that rendering would give byte for byte are carried as found.
 */
export function keptCredential(d: Extract<Decisions['leaves'][number], { action: 'keep' | 'rewrite' }>): Credential {
  return new KeptCredential(d.existing, d.action === 'keep' ? d.existing.asFound : undefined);
}

/** A class, so thousands of kept leaves share their accessors. */
class KeptCredential implements Credential {
  readonly notAfter: Date;
  constructor(
    private readonly existing: ExistingLeaf,
    readonly asFound: AsFound | undefined,
  ) {
    this.notAfter = existing.cert.notAfter;
  }

  get certPem(): string {
    return this.existing.cert.pem;
  }

  get keyPem(): string {
    return this.existing.keyPem;
  }
}

/**
 * A renewal's kept key as key material: the PEM as found (written back byte for byte), the
 * certificate's SPKI (decide's KeptKey) and the plan's algorithm, which a kept key has (else
 * the leaf would have been reissued with a new key for key-algorithm).
 */
function keptKey(kept: KeptKey, planned: KeyAlgorithm): KeyMaterial {
  return { algorithm: planned, privatePem: kept.keyPem, spkiDer: kept.spkiDer };
}

export async function issueAll(
  pki: ResolvedPki,
  decisions: Decisions,
  deps: Deps,
  onProgress?: (done: number, total: number) => void,
): Promise<Issued> {
  // A refused CA or key pair is neither signed with nor replaced (the caller stops first).
  if (decisions.refusals.length) throw new KpkiError(refusalOf(decisions.refusals[0]!)!, decisions.refusals.map((f) => f.message).join('\n'));
  const alg = pki.plan.pki.keyAlgorithm;
  const now = deps.now();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const serial = () => serialFrom(deps.randomBytes(8));
  const caKeyFile = (d: Decisions['cas'][number]) => storeCaPaths(d.item.entry.stem).key;

  // Kept CAs first: one whose key kpki cannot sign with stops the run before any work.
  const kept = new Map(decisions.cas.flatMap((d) =>
    d.action === 'keep' ? [[d.item.ref, issuerFrom(d.existing.cert.pem, d.existing.keyPem, caKeyFile(d))] as const] : []));

  // Start every key generation first: they are the cost floor and run in parallel.
  const caKeys = new Map(decisions.cas.filter((d) => d.action === 'create').map((d) => [d.item.ref, deps.generateKey(alg)]));
  const kpKeys = new Map(decisions.keypairs.filter((d) => d.action === 'create').map((d) => [d.item.ref, deps.generateKey(alg)]));
  const leafKeys = new Map(decisions.leaves.flatMap((d) => (d.action === 'issue' ? [[d.item.ref, d.kept !== undefined ? Promise.resolve(keptKey(d.kept, alg)) : deps.generateKey(alg)] as const] : [])));

  const cas = new Map<CaId, Credential>();
  const signers = new Map<CaId, Issuer>();
  const keys: CaSigner[] = [...kept.values()].map((k) => k.signer);
  await Promise.all(
    decisions.cas.map(async (d) => {
      if (d.action === 'keep') {
        const { cert, keyPem } = d.existing;
        cas.set(d.item.ref, { certPem: cert.pem, keyPem, notAfter: cert.notAfter });
        signers.set(d.item.ref, kept.get(d.item.ref)!.issuer);
        return;
      }
      const key = await caKeys.get(d.item.ref)!;
      const notAfter = new Date(now.getTime() + pki.plan.pki.caValidityMs);
      const keyId = keyIdentifier(key.spkiDer);
      const self = fileSigner(key.privatePem, keyId, caKeyFile(d));
      const { pem } = await signCertificate({
        profile: d.item.profile, spkiDer: key.spkiDer, serialHex: serial(), notBefore, notAfter,
        issuerNameDer: encodeName(d.item.profile), subjectKeyId: keyId,
      }, self);
      cas.set(d.item.ref, { certPem: pem, keyPem: key.privatePem, notAfter });
      signers.set(d.item.ref, { subjectDer: parseCertPem(pem).subject.der, keyId, notAfter });
      keys.push(self);
    }),
  );
  const registry = signerRegistry(keys);

  const keypairs = new Map<string, { keyPem: string; pubPem: string }>();
  await Promise.all(
    decisions.keypairs.map(async (d) => {
      const keyPem = d.action === 'keep' ? d.keyPem : (await kpKeys.get(d.item.ref)!).privatePem;
      // A kept pair's public half stays as found (the same key, perhaps other bytes): never rewritten.
      const pubPem = (d.action === 'keep' ? d.pubPem : undefined) ?? publicKeyPem(createPrivateKey(keyPem));
      keypairs.set(d.item.ref, { keyPem, pubPem });
    }),
  );

  const leaves = new Map<string, Credential>();
  const signLeaf = async (item: ResolvedLeaf, key: KeyMaterial) => {
    const issuer = signers.get(item.signer)!;
    // A leaf never outlives its CA: a chain that dies early is worse than a shorter leaf.
    const notAfter = new Date(Math.min(now.getTime() + pki.plan.pki.certValidityMs, issuer.notAfter.getTime()));
    const { pem } = await signCertificate({
      profile: item.profile, spkiDer: key.spkiDer, serialHex: serial(), notBefore, notAfter,
      issuerNameDer: issuer.subjectDer, authorityKeyId: issuer.keyId,
    }, registry.get(keyIdHex(issuer.keyId))!);
    leaves.set(item.ref, { certPem: pem, keyPem: key.privatePem, notAfter });
    onProgress?.(++signed, leafKeys.size);
  };
  let signed = 0;
  await Promise.all(
    decisions.leaves.map(async (d) => {
      if (d.action === 'issue') return signLeaf(d.item, await leafKeys.get(d.item.ref)!);
      leaves.set(d.item.ref, keptCredential(d));
    }),
  );
  return { cas, keypairs, leaves };
}
