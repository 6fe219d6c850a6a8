/**
 * Turns issued credentials into the bytes of every output file (layout.ts says where).
 * Pure: the sink decides what actually needs writing by comparing with the disk.
 */
import type { ResolvedPki } from './catalog/resolve.js';
import type { Issued } from './issue.js';
import { renderKubeconfig } from './kubeconfig.js';
import { fileSpecs, type FileSpec } from './layout.js';

export interface FileEntry extends FileSpec {
  readonly content: string;
  /** Never replaced once it exists with other content (the store's CA and SA files). */
  readonly protected: boolean;
}

export function renderFiles(pki: ResolvedPki, issued: Issued): FileEntry[] {
  const leafByRef = new Map(pki.leaves.map((l) => [l.ref, l]));
  return fileSpecs(pki).map((spec) => {
    const s = spec.source;
    let content: string;
    if (s.from === 'ca') {
      const ca = issued.cas.get(s.ref)!;
      content = s.part === 'crt' ? ca.certPem : ca.keyPem;
    } else if (s.from === 'keypair') {
      const kp = issued.keypairs.get(s.ref)!;
      content = s.part === 'key' ? kp.keyPem : kp.pubPem;
    } else {
      const cred = issued.leaves.get(s.ref)!;
      const leaf = leafByRef.get(s.ref)!;
      if (s.part === 'kubeconfig') {
        content = renderKubeconfig({
          clusterName: pki.plan.clusterName,
          server: leaf.server!,
          caPem: issued.cas.get(leaf.signer)!.certPem,
          user: leaf.profile.cn,
          certPem: cred.certPem,
          keyPem: cred.keyPem,
        });
      } else {
        content = s.part === 'crt' ? cred.certPem : cred.keyPem;
      }
    }
    return { ...spec, content, protected: spec.path.startsWith('pki/') };
  });
}
