/**
 * The planner: compares what the plan wants with what is already on disk and decides, per
 * credential, keep / create / issue / rewrite, with the reasons a person would want to read.
 * Pure: it gets file contents as a map and the time as a value; it reads and writes nothing.
 */
import { X509Certificate as NodeX509 } from 'node:crypto';
import type { CertProfile, ResolvedCa, ResolvedKeyPair, ResolvedLeaf, ResolvedPki } from './catalog/resolve.js';
import type { CaId } from './catalog/types.js';
import { KpkiError } from './errors.js';
import { parseKubeconfig, type KubeconfigData } from './kubeconfig.js';
import { leafPaths, storeCaPaths, storeKeyPairPaths } from './layout.js';
import { keyAlgorithmOf, readPrivateKey } from './x509/keys.js';
import { readCert, type ObservedCert, type ObservedProfile } from './x509/read.js';

/** Contents of the files that exist, by output-relative path. */
export type ObservedFiles = ReadonlyMap<string, string>;

/** A credential found on disk that is good to keep as it is. */
export interface Existing {
  readonly cert: ObservedCert;
  readonly keyPem: string;
}

export type CaDecision =
  | { readonly item: ResolvedCa; readonly action: 'keep'; readonly existing: Existing; readonly warnings: string[] }
  | { readonly item: ResolvedCa; readonly action: 'create'; readonly reasons: string[] };

export type KeyPairDecision =
  | { readonly item: ResolvedKeyPair; readonly action: 'keep'; readonly keyPem: string }
  | { readonly item: ResolvedKeyPair; readonly action: 'create'; readonly reasons: string[] };

export type LeafDecision =
  | { readonly item: ResolvedLeaf; readonly action: 'keep'; readonly existing: Existing }
  /** The certificate is good but the kubeconfig around it is stale (server, CA data). */
  | { readonly item: ResolvedLeaf; readonly action: 'rewrite'; readonly existing: Existing; readonly reasons: string[] }
  | { readonly item: ResolvedLeaf; readonly action: 'issue'; readonly reasons: string[]; readonly replaces: boolean };

export interface Decisions {
  readonly cas: readonly CaDecision[];
  readonly keypairs: readonly KeyPairDecision[];
  readonly leaves: readonly LeafDecision[];
}

const DAY = 86_400_000;

function decideCa(item: ResolvedCa, files: ObservedFiles, pki: ResolvedPki, now: Date): CaDecision {
  const p = storeCaPaths(item.entry.stem);
  const crt = files.get(p.crt);
  const key = files.get(p.key);
  if (crt === undefined && key === undefined) return { item, action: 'create', reasons: ['missing'] };
  if (crt === undefined || key === undefined) {
    const [has, lacks] = crt === undefined ? [p.key, p.crt] : [p.crt, p.key];
    throw new KpkiError(
      'ERR_STORE_CONFLICT',
      `${has} exists but ${lacks} does not; kpki never replaces half of a CA. Restore ${lacks} or move ${has} away.`,
    );
  }
  const cert = readCert(crt, p.crt);
  const keyObj = readPrivateKey(key, p.key);
  if (!new NodeX509(cert.pem).checkPrivateKey(keyObj)) {
    throw new KpkiError('ERR_STORE_CONFLICT', `${p.key} does not belong to ${p.crt}; kpki will not overwrite a CA.`);
  }
  const warnings: string[] = [];
  const left = cert.notAfter.getTime() - now.getTime();
  if (left < pki.plan.pki.renewBeforeMs) warnings.push(`CA ${item.ref} expires in ${Math.floor(left / DAY)}d`);
  if (keyAlgorithmOf(keyObj) !== pki.plan.pki.keyAlgorithm) {
    warnings.push(`CA ${item.ref} keeps its ${keyAlgorithmOf(keyObj) ?? 'unknown'} key (plan: ${pki.plan.pki.keyAlgorithm}); CAs are never replaced`);
  }
  return { item, action: 'keep', existing: { cert, keyPem: key }, warnings };
}

function decideKeyPair(item: ResolvedKeyPair, files: ObservedFiles): KeyPairDecision {
  const p = storeKeyPairPaths(item.entry.stem);
  const key = files.get(p.key);
  if (key === undefined) return { item, action: 'create', reasons: ['missing'] };
  readPrivateKey(key, p.key);
  return { item, action: 'keep', keyPem: key };
}

function listDiff(label: string, want: readonly string[], have: readonly string[]): string[] {
  const added = want.filter((v) => !have.includes(v));
  const removed = have.filter((v) => !want.includes(v));
  if (!added.length && !removed.length) return [];
  return [`${label} changed: ${[...added.map((v) => `+${v}`), ...removed.map((v) => `-${v}`)].join(' ')}`];
}

/** Every way a found certificate differs from the wanted profile. */
export function profileDiff(want: CertProfile, have: ObservedProfile): string[] {
  return [
    ...(want.cn !== have.cn ? [`CN changed: ${have.cn} → ${want.cn}`] : []),
    ...listDiff('O', want.o, have.o),
    ...listDiff('DNS SANs', want.dns, have.dns),
    ...listDiff('IP SANs', want.ips, have.ips),
    ...listDiff('usages', want.usages, have.usages),
  ];
}

interface SignerView {
  readonly ref: CaId;
  /** Undefined when the CA is being created in this run. */
  readonly cert?: NodeX509;
}

function leafProblems(
  item: ResolvedLeaf,
  cert: ObservedCert,
  keyPem: string,
  keyFile: string,
  signer: SignerView,
  pki: ResolvedPki,
  now: Date,
): string[] {
  if (!signer.cert) return [`its CA ${signer.ref} is new`];
  const native = new NodeX509(cert.pem);
  const key = readPrivateKey(keyPem, keyFile);
  const problems: string[] = [];
  if (!native.checkPrivateKey(key)) problems.push('private key does not match the certificate');
  if (!native.checkIssued(signer.cert) || !native.verify(signer.cert.publicKey)) {
    problems.push(`not signed by the current ${signer.ref}`);
  }
  problems.push(...profileDiff(item.profile, cert.profile));
  const alg = keyAlgorithmOf(key);
  if (alg !== pki.plan.pki.keyAlgorithm) problems.push(`key algorithm ${alg ?? 'unknown'} → ${pki.plan.pki.keyAlgorithm}`);
  const left = cert.notAfter.getTime() - now.getTime();
  if (left <= 0) problems.push('expired');
  else if (left < pki.plan.pki.renewBeforeMs) problems.push(`expires in ${Math.floor(left / DAY)}d`);
  return problems;
}

function kubeconfigProblems(item: ResolvedLeaf, data: KubeconfigData, caPem: string | undefined, pki: ResolvedPki): string[] {
  const user = item.profile.cn;
  return [
    ...(data.server !== item.server ? [`server ${data.server} → ${item.server}`] : []),
    ...(caPem !== undefined && data.caPem !== caPem ? ['embedded CA differs from the current CA'] : []),
    ...(data.clusterName !== pki.plan.clusterName ? [`cluster name ${data.clusterName} → ${pki.plan.clusterName}`] : []),
    ...(data.user !== user ? [`user ${data.user} → ${user}`] : []),
  ];
}

function decideLeaf(
  item: ResolvedLeaf,
  files: ObservedFiles,
  signers: ReadonlyMap<CaId, SignerView & { pem?: string }>,
  pki: ResolvedPki,
  now: Date,
): LeafDecision {
  const paths = leafPaths(item);
  const signer = signers.get(item.signer)!;
  let certPem: string | undefined;
  let keyPem: string | undefined;
  let certFile: string;
  let keyFile: string;
  let kubeconfig: KubeconfigData | undefined;
  if ('kubeconfig' in paths) {
    certFile = keyFile = paths.kubeconfig;
    const text = files.get(paths.kubeconfig);
    if (text !== undefined) {
      kubeconfig = parseKubeconfig(text, paths.kubeconfig);
      certPem = kubeconfig.certPem;
      keyPem = kubeconfig.keyPem;
    }
  } else {
    [certFile, keyFile] = [paths.crt, paths.key];
    certPem = files.get(paths.crt);
    keyPem = files.get(paths.key);
  }
  if (certPem === undefined || keyPem === undefined) {
    const partial = certPem !== undefined || keyPem !== undefined;
    return { item, action: 'issue', reasons: [partial ? 'certificate or key missing' : 'missing'], replaces: partial };
  }
  const cert = readCert(certPem, certFile);
  const problems = leafProblems(item, cert, keyPem, keyFile, signer, pki, now);
  if (problems.length) return { item, action: 'issue', reasons: problems, replaces: true };
  const existing = { cert, keyPem };
  if (kubeconfig) {
    const stale = kubeconfigProblems(item, kubeconfig, signer.pem, pki);
    if (stale.length) return { item, action: 'rewrite', existing, reasons: stale };
  }
  return { item, action: 'keep', existing };
}

export function reconcile(pki: ResolvedPki, files: ObservedFiles, now: Date): Decisions {
  const cas = pki.cas.map((ca) => decideCa(ca, files, pki, now));
  const signers = new Map(
    cas.map((d) => [
      d.item.ref,
      d.action === 'keep' ? { ref: d.item.ref, cert: new NodeX509(d.existing.cert.pem), pem: d.existing.cert.pem } : { ref: d.item.ref },
    ]),
  );
  return {
    cas,
    keypairs: pki.keypairs.map((kp) => decideKeyPair(kp, files)),
    leaves: pki.leaves.map((leaf) => decideLeaf(leaf, files, signers, pki, now)),
  };
}

/** The paths whose contents reconcile needs: the store and each leaf's primary file. */
export function pathsToObserve(pki: ResolvedPki): string[] {
  return [
    ...pki.cas.flatMap((ca) => Object.values(storeCaPaths(ca.entry.stem))),
    ...pki.keypairs.flatMap((kp) => Object.values(storeKeyPairPaths(kp.entry.stem))),
    ...pki.leaves.flatMap((leaf) => Object.values(leafPaths(leaf))),
  ];
}
