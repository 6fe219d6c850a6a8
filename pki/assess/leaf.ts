/**
 * Assessing one leaf: credential × what was observed × its CA × plan × clock → findings. Pure:
 * it reads nothing and remembers nothing; what it verified is returned for the bookkeeping step.
 */
import { X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import type { ResolvedLeaf } from '../catalog/resolve.js';
import type { CaId } from '../catalog/types.js';
import { finding, type Finding, type FindingCode } from '../findings.js';
import type { FoundKubeconfig } from '../kubeconfig/kubeconfig.js';
import type { KeyAlgorithm } from '../plan/types.js';
import { keyAlgorithmOf, readPrivateKey } from '../x509/keys.js';
import type { CertProfile } from '../x509/profile.js';
import type { ObservedCert, ObservedProfile } from '../x509/read.js';
import { BACKDATE_MS, days, safe, type Policy } from './policy.js';


/** A CA as leaves see it: its certificate, once parsed. */
export interface SignerView {
  readonly ref: CaId;
  readonly file: string;
  /** Undefined when the CA is being created in this run. */
  readonly cert?: ObservedCert;
  readonly native?: NodeX509;
  /** What kubeconfigs embed as this CA when not the certificate alone (old + new, in a rotation). */
  readonly trustPem?: string;
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
  const add = (code: FindingCode, message: string | undefined) => message && out.push(finding(code, file, message, ref));
  add('identity-mismatch', want.cn !== have.cn ? `CN changed: ${have.cn} → ${want.cn}` : undefined);
  add('identity-mismatch', listDiff('O', want.o, have.o));
  add('san-mismatch', listDiff('DNS SANs', want.dns, have.dns));
  add('san-mismatch', listDiff('IP SANs', want.ips, have.ips));
  add('usage-mismatch', listDiff('usages', want.usages, have.usages));
  return out;
}

export interface LeafAssessment {
  readonly findings: Finding[];
  /**
   * Set when this assessment checked the key against the certificate and the signature against
   * the signer, and both held: what the bookkeeping step may remember for the next run.
   */
  readonly verified?: { readonly algorithm: KeyAlgorithm | undefined };
}

/**
 * Checks one certificate against what its role wants: key, chain, identity, SANs, usages,
 * key type and validity. `known` is a verification made before (a remembered reading or a
 * verified record of exactly these bytes under this CA): the key and signature checks are
 * then skipped, the rest is judged again against today's plan and clock.
 */
export function assessLeaf(
  item: ResolvedLeaf,
  cert: ObservedCert,
  files: { readonly certFile: string; readonly keyFile: string; readonly keyPem?: string },
  signer: SignerView,
  policy: Policy,
  known?: { readonly algorithm?: KeyAlgorithm },
): LeafAssessment {
  const ref = item.ref;
  const at = (code: FindingCode, message: string, file = files.certFile) => finding(code, file, message, ref);
  if (!signer.cert || !signer.native) return { findings: [at('signer-new', `its CA ${signer.ref} is new`)] };
  const out: Finding[] = [];
  let alg: KeyAlgorithm | undefined = known?.algorithm;
  let verified: LeafAssessment['verified'];
  // A leaf whose AKI names another key than its CA's SKI was not signed by it: said without
  // reading its key (a CA rotation's issue phase judges thousands of such leaves at once).
  const aki = cert.parsed.authorityKeyId;
  const ski = signer.cert.parsed.subjectKeyId;
  if (!known && aki && ski && !Buffer.from(aki).equals(Buffer.from(ski))) {
    return { findings: [at('wrong-signer', `not signed by the current ${signer.ref}`), ...profileFindings(item.profile, cert.profile, files.certFile, ref)] };
  }
  if (!known) {
    let key: KeyObject;
    try {
      key = readPrivateKey(files.keyPem ?? '', files.keyFile);
    } catch (e) {
      return { findings: [at('unreadable', (e as Error).message, files.keyFile)] };
    }
    let native: NodeX509;
    try {
      native = new NodeX509(cert.pem);
    } catch (e) {
      return { findings: [at('unreadable', `${files.certFile}: not a readable certificate (${(e as Error).message})`)] };
    }
    if (!safe(() => native.checkPrivateKey(key))) out.push(at('key-mismatch', 'private key does not match the certificate', files.keyFile));
    const ca = signer.native;
    if (!safe(() => native.checkIssued(ca) && native.verify(ca.publicKey))) out.push(at('wrong-signer', `not signed by the current ${signer.ref}`));
    alg = keyAlgorithmOf(key);
    if (!out.length) verified = { algorithm: alg };
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
  return verified ? { findings: out, verified } : { findings: out };
}

/** What the kubeconfig checks look at, from a parsed kubeconfig or a remembered reading. */
export interface KubeconfigFacts {
  readonly server: string;
  readonly clusterName: string;
  readonly user: string;
  /** The embedded CA against the signer's: the same, another, or not embedded (referenced). */
  readonly ca: 'current' | 'other' | 'referenced';
  readonly byPath: boolean;
}

export function kubeconfigFacts(k: FoundKubeconfig, caPem: string | undefined): KubeconfigFacts {
  return {
    server: k.server, clusterName: k.clusterName, user: k.user,
    ca: k.caPem === undefined ? 'referenced' : k.caPem === caPem ? 'current' : 'other',
    byPath: k.certFile !== undefined || k.keyFile !== undefined,
  };
}

/** A kubeconfig around a good certificate: is it still what the plan renders (server, CA, names)? */
export function kubeconfigFindings(item: ResolvedLeaf, k: KubeconfigFacts, clusterName: string, file: string): Finding[] {
  const out: Finding[] = [];
  const at = (code: FindingCode, message: string) => out.push(finding(code, file, message, item.ref));
  if (k.server !== item.server) at('kubeconfig-server', `server ${k.server} → ${item.server}`);
  if (k.ca !== 'current') at('kubeconfig-ca', k.ca === 'referenced' ? 'CA is referenced, not embedded' : 'embedded CA differs from the current CA');
  if (k.clusterName !== clusterName) at('kubeconfig-names', `cluster name ${k.clusterName} → ${clusterName}`);
  if (k.user !== item.profile.cn) at('kubeconfig-names', `user ${k.user} → ${item.profile.cn}`);
  if (k.byPath) at('kubeconfig-names', 'credentials are referenced by path; kpki embeds them');
  return out;
}
