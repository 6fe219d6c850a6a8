/**
 * What the record keeps of a leaf written in this run: its files, read back once from the
 * wanted set, under the key of their digests (readings.ts). gen remembers what it issues, and
 * import what it places, through this one function, so the two cannot record a leaf differently.
 */
import { selectNodes, type ResolvedLeaf } from '../catalog/resolve.js';
import { leafPaths } from '../layout/layout.js';
import type { Plan } from '../plan/types.js';
import { textDigest } from '../sinks/digest.js';
import type { WantedFile } from '../sinks/types.js';
import { readCert } from '../x509/read.js';
import { certFacts, leafReading, readingKey } from './readings.js';
import type { StoreFacts, StoreRecord } from './record.js';

/** Records the written leaf and returns its key; undefined when a file of it is not in `wanted`. */
export function rememberWritten(
  leaf: ResolvedLeaf, certPem: string, caPem: string, byPath: ReadonlyMap<string, WantedFile>, record: StoreRecord, plan: Pick<Plan, 'clusterName' | 'pki'>,
  /** What a kubeconfig embeds as its CA data when not the signer alone (a rotation's trust bundle). */
  embeddedCaPem?: string,
): string | undefined {
  const paths = leafPaths(leaf);
  const files = 'kubeconfig' in paths ? [paths.kubeconfig] : [paths.crt, paths.key];
  const texts = files.map((p) => byPath.get(p)?.content);
  if (texts.some((t) => t === undefined)) return undefined;
  const caDigest = textDigest(caPem);
  const key = readingKey((texts as string[]).map(textDigest));
  const kubeconfig = leaf.server === undefined ? undefined
    : { server: leaf.server, clusterName: plan.clusterName, user: leaf.profile.cn, caDigest: embeddedCaPem === undefined ? caDigest : textDigest(embeddedCaPem), own: true };
  const cert = readCert(certPem, files[0]!);
  const reading = leafReading(cert, caDigest, plan.pki.keyAlgorithm, kubeconfig);
  record.set(key, reading, certFacts(cert, reading));
  return key;
}

/** The key the record files a leaf's present files under, or undefined when one is missing. */
export function keyOfFound(leaf: ResolvedLeaf, digestOf: (path: string) => string | undefined): string | undefined {
  const paths = leafPaths(leaf);
  const digests = ('kubeconfig' in paths ? [paths.kubeconfig] : [paths.crt, paths.key]).map(digestOf);
  return digests.some((d) => d === undefined) ? undefined : readingKey(digests as string[]);
}

/** What the record says of the store as a whole, as this plan has it: its init node and release. */
export function storeFactsOf(plan: Plan): StoreFacts {
  const v = plan.kubernetesVersion;
  return {
    initNode: selectNodes(plan, 'init-node')[0]?.name,
    kubernetesVersion: v && `${v.major}.${v.minor}${v.patch === undefined ? '' : `.${v.patch}`}`,
  };
}
