/**
 * Carries out the planner's decisions: generates every needed key at once (they run on the
 * thread pool, in parallel), self-signs new CAs, then signs each leaf as soon as its key is
 * ready, so key generation and signing overlap. Pure apart from crypto: no files.
 */
import { createPrivateKey } from 'node:crypto';
import type { ResolvedLeaf, ResolvedPki } from './catalog/resolve.js';
import type { CaId } from './catalog/types.js';
import type { Deps, KeyMaterial } from './deps.js';
import type { Decisions } from './reconcile.js';
import { publicKeyPem, signingAlgorithmFor, toSigningKey } from './x509/keys.js';
import { issueCa, issueLeaf, serialFrom, type Signer } from './x509/issue.js';
import { x509 } from './x509/lib.js';

export type Status = 'kept' | 'created' | 'issued' | 'rewritten';

export interface Credential {
  readonly certPem: string;
  readonly keyPem: string;
  readonly notAfter: Date;
  readonly status: Status;
  readonly reasons: readonly string[];
}

export interface Issued {
  readonly cas: ReadonlyMap<CaId, Credential>;
  readonly keypairs: ReadonlyMap<string, { keyPem: string; pubPem: string; status: Status }>;
  readonly leaves: ReadonlyMap<string, Credential>;
}

/** kubeadm backdates NotBefore by five minutes to absorb clock skew between hosts. */
export const BACKDATE_MS = 5 * 60_000;

const toPem = (cert: x509.X509Certificate) => cert.toString('pem') + '\n';

async function signerFrom(certPem: string, keyPem: string): Promise<Signer> {
  const cert = new x509.X509Certificate(certPem);
  const keyObj = createPrivateKey(keyPem);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  // A CA imported from elsewhere may lack an SKI; derive it the RFC 5280 way.
  const keyId = ski?.keyId ?? Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex');
  return { cert, key: await toSigningKey(keyObj), algorithm: signingAlgorithmFor(keyObj), keyId };
}

export async function issueAll(
  pki: ResolvedPki,
  decisions: Decisions,
  deps: Deps,
  onProgress?: (done: number, total: number) => void,
): Promise<Issued> {
  const alg = pki.plan.pki.keyAlgorithm;
  const now = deps.now();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const serial = () => serialFrom(deps.randomBytes(8));

  // Start every key generation first: they are the cost floor and run in parallel.
  const caKeys = new Map(decisions.cas.filter((d) => d.action === 'create').map((d) => [d.item.ref, deps.generateKey(alg)]));
  const kpKeys = new Map(decisions.keypairs.filter((d) => d.action === 'create').map((d) => [d.item.ref, deps.generateKey(alg)]));
  const leafKeys = new Map(decisions.leaves.filter((d) => d.action === 'issue').map((d) => [d.item.ref, deps.generateKey(alg)]));

  const cas = new Map<CaId, Credential>();
  const signers = new Map<CaId, Signer>();
  await Promise.all(
    decisions.cas.map(async (d) => {
      if (d.action === 'keep') {
        const { cert, keyPem } = d.existing;
        cas.set(d.item.ref, { certPem: cert.pem, keyPem, notAfter: cert.notAfter, status: 'kept', reasons: [] });
        signers.set(d.item.ref, await signerFrom(cert.pem, keyPem));
        return;
      }
      const key = await caKeys.get(d.item.ref)!;
      const keyObj = createPrivateKey(key.privatePem);
      const signingKey = await toSigningKey(keyObj);
      const notAfter = new Date(now.getTime() + pki.plan.pki.caValidityMs);
      const params = { profile: d.item.profile, spkiDer: key.spkiDer, serialHex: serial(), notBefore, notAfter };
      const cert = await issueCa(params, signingKey, signingAlgorithmFor(keyObj), deps.crypto);
      const certPem = toPem(cert);
      cas.set(d.item.ref, { certPem, keyPem: key.privatePem, notAfter, status: 'created', reasons: d.reasons });
      signers.set(d.item.ref, await signerFrom(certPem, key.privatePem));
    }),
  );

  const keypairs = new Map<string, { keyPem: string; pubPem: string; status: Status }>();
  await Promise.all(
    decisions.keypairs.map(async (d) => {
      const keyPem = d.action === 'keep' ? d.keyPem : (await kpKeys.get(d.item.ref)!).privatePem;
      const pubPem = publicKeyPem(createPrivateKey(keyPem));
      keypairs.set(d.item.ref, { keyPem, pubPem, status: d.action === 'keep' ? 'kept' : 'created' });
    }),
  );

  const leaves = new Map<string, Credential>();
  const signLeaf = async (item: ResolvedLeaf, key: KeyMaterial, reasons: readonly string[]) => {
    const signer = signers.get(item.signer)!;
    // A leaf never outlives its CA: a chain that dies early is worse than a shorter leaf.
    const notAfter = new Date(Math.min(now.getTime() + pki.plan.pki.certValidityMs, signer.cert.notAfter.getTime()));
    const params = { profile: item.profile, spkiDer: key.spkiDer, serialHex: serial(), notBefore, notAfter };
    const cert = await issueLeaf(params, signer, deps.crypto);
    leaves.set(item.ref, { certPem: toPem(cert), keyPem: key.privatePem, notAfter, status: 'issued', reasons });
    onProgress?.(++signed, leafKeys.size);
  };
  let signed = 0;
  await Promise.all(
    decisions.leaves.map(async (d) => {
      if (d.action === 'issue') return signLeaf(d.item, await leafKeys.get(d.item.ref)!, d.reasons);
      const { cert, keyPem } = d.existing;
      const status = d.action === 'rewrite' ? 'rewritten' : 'kept';
      leaves.set(d.item.ref, { certPem: cert.pem, keyPem, notAfter: cert.notAfter, status, reasons: d.action === 'rewrite' ? d.reasons : [] });
    }),
  );
  return { cas, keypairs, leaves };
}
