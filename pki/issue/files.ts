/**
 * Credentials → the wanted file set (path, mode, bytes), laid out by layout.ts. Pure. In a
 * dry run the credentials still to be issued are unknown: their files come out without
 * content, and the change planner counts them as written.
 */
import type { ResolvedPki } from '../catalog/resolve.js';
import type { CaId } from '../catalog/types.js';
import type { Credential } from './credentials.js';
import { renderKubeconfig } from '../kubeconfig/kubeconfig.js';
import { fileSpecs, type NodeConfigId } from '../layout/layout.js';
import { AsFoundFile } from '../sinks/as-found.js';
import type { WantedFile } from '../sinks/types.js';
import { parsePem } from '../x509/pem.js';
import { toPem } from '../x509/certificate.js';

/** The credentials known so far: all of them after issuing, the kept ones in a dry run. */
export interface Credentials {
  readonly cas: ReadonlyMap<CaId, Pick<Credential, 'certPem' | 'keyPem'>>;
  readonly keypairs: ReadonlyMap<string, { keyPem: string; pubPem: string }>;
  readonly leaves: ReadonlyMap<string, Pick<Credential, 'certPem' | 'keyPem' | 'asFound'>>;
}

/** Store files are never replaced once they exist with other content. */
const isProtected = (path: string) => path.startsWith('pki/');

/** A node's configuration file (kubeadm's), or undefined while its inputs are unknown (dry run). */
export type NodeConfigs = (id: NodeConfigId, node: string) => string | undefined;

/**
 * What a rotation in progress changes in the node trees (rotate/phases.ts): per CA or key pair
 * ref, the trust text node copies and kubeconfigs hold (old + new); per CA, the chain its
 * serving certificates carry after their own certificate ('' for none).
 */
export interface TrustOverrides {
  readonly bundles: ReadonlyMap<string, string>;
  /** Per CA ref: node copies on nodes without that CA's key hold this instead (only the set matters there). */
  readonly keyless?: ReadonlyMap<string, string>;
  readonly chains: ReadonlyMap<CaId, string>;
}

/** The first certificate of a PEM text (a serving file may carry a chain after it). */
export function firstCertificate(pem: string): string {
  const block = parsePem(pem).find((b) => b.label === 'CERTIFICATE');
  return block ? toPem(block.der) : pem;
}

export function renderFiles(pki: ResolvedPki, creds: Credentials, configs: NodeConfigs = () => undefined, trust?: TrustOverrides): WantedFile[] {
  const leafByRef = new Map(pki.leaves.map((l) => [l.ref, l]));
  const specs = fileSpecs(pki);
  // Only while a CA is in its issue phase: `nodes/<name>/ ref` for every node tree holding that
  // CA's key, where the order of a bundle counts (elsewhere the keyless text).
  const keyless = trust?.keyless?.size ? trust.keyless : undefined;
  const treeOf = (path: string) => /^nodes\/[^/]+\//.exec(path)?.[0];
  const keyHolders = keyless && new Set(specs.flatMap((sp) => (sp.source.from === 'ca' && sp.source.part === 'key' && keyless.has(sp.source.ref) && treeOf(sp.path) ? [`${treeOf(sp.path)} ${sp.source.ref}`] : [])));
  const caCopy = (path: string, ref: string) => {
    const tree = keyHolders && keyless.has(ref) ? treeOf(path) : undefined;
    return (tree && !keyHolders!.has(`${tree} ${ref}`) ? keyless!.get(ref) : undefined) ?? trust?.bundles.get(ref);
  };
  return specs.map((spec) => {
    const s = spec.source;
    let content: string | undefined;
    const node = !isProtected(spec.path);
    if (s.from === 'ca') {
      const ca = creds.cas.get(s.ref);
      content = s.part === 'crt' ? (node ? caCopy(spec.path, s.ref) : undefined) ?? ca?.certPem : ca?.keyPem;
    } else if (s.from === 'config') {
      content = configs(s.ref, s.node);
    } else if (s.from === 'keypair') {
      const kp = creds.keypairs.get(s.ref);
      content = s.part === 'key' ? kp?.keyPem : (node ? trust?.bundles.get(s.ref) : undefined) ?? kp?.pubPem;
    } else {
      const cred = creds.leaves.get(s.ref);
      const leaf = leafByRef.get(s.ref)!;
      const caPem = trust?.bundles.get(leaf.signer) ?? creds.cas.get(leaf.signer)?.certPem;
      // A serving certificate of a CA in rotation: its certificate, then the phase's chain.
      const chain = s.part === 'crt' && leaf.profile.usages.includes('serverAuth') ? trust?.chains.get(leaf.signer) : undefined;
      if (chain !== undefined) {
        content = cred && firstCertificate(cred.certPem) + chain;
        return { path: spec.path, mode: spec.mode, content, protected: isProtected(spec.path) };
      }
      const kept = cred?.asFound?.[s.part];
      if (kept) return new AsFoundFile(spec.path, spec.mode, kept, isProtected(spec.path));
      if (s.part !== 'kubeconfig') content = s.part === 'crt' ? cred?.certPem : cred?.keyPem;
      else if (cred && caPem !== undefined) {
        content = renderKubeconfig({
          clusterName: pki.plan.clusterName, server: leaf.server!, caPem, user: leaf.profile.cn, certPem: cred.certPem, keyPem: cred.keyPem,
        });
      }
    }
    return { path: spec.path, mode: spec.mode, content, protected: isProtected(spec.path) };
  });
}
