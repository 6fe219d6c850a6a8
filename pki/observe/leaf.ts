/**
 * Observing one leaf: its files read from the observation, or, when the store remembers a
 * reading of exactly these bytes under this CA, that reading instead (the files are then not
 * decoded at all). Unreadable files and unresolved references become findings; nothing here
 * throws for a bad file, and nothing here judges the leaf (assess/leaf.ts does).
 */
import type { ResolvedLeaf } from '../catalog/resolve.js';
import { finding, type Finding } from '../findings.js';
import { readKubeconfig, type FoundKubeconfig } from '../kubeconfig/kubeconfig.js';
import { leafPaths, nodeRoot } from '../layout/layout.js';
import { KeptText } from '../sinks/as-found.js';
import { fileDigest } from '../sinks/digest.js';
import type { Observation, ObservedFile } from '../sinks/types.js';
import { readingKey, type LeafReading, type LeafReadings } from '../store/readings.js';
import { parseCertPem, type ObservedCert, type ObservedProfile } from '../x509/read.js';

/** The files a leaf was read from, and what they held. */
export interface FoundLeaf {
  readonly certFile: string;
  readonly keyFile: string;
  /** Undefined (or absent) when the file is missing or unreadable. */
  readonly certPem?: string | undefined;
  readonly keyPem?: string | undefined;
  /** Set when the leaf is a kubeconfig that parsed. */
  readonly kubeconfig?: FoundKubeconfig;
  /** Findings made while reading (unreadable files, unresolved references). */
  readonly problems: readonly Finding[];
}

/**
 * Reads a leaf's files from the observation. A kubeconfig that references its credentials
 * by path (kubeadm nodes: `/var/lib/kubelet/pki/kubelet-client-current.pem`) is resolved
 * inside the node's tree.
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
export function leafFiles(item: ResolvedLeaf, obs: Observation): ObservedFile[] | undefined {
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
export class RememberedLeaf implements FoundLeaf, ObservedCert {
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

/** A leaf as observed: its files' reading key (when readable), and the remembered reading if one applies. */
export interface LeafObservation {
  /** The files the reading key is made of, when all are readable. */
  readonly files?: readonly ObservedFile[];
  readonly readingKey?: string;
  /** A reading of exactly these bytes, made against the CA whose digest is `caDigest`. */
  readonly remembered?: { readonly leaf: RememberedLeaf; readonly reading: LeafReading };
}

/**
 * Finds the remembered reading of a leaf's exact bytes, if there is one made against this CA
 * (`caDigest`: the CA now in the store). A reading made against another CA says nothing about
 * this one: the leaf is read in full.
 */
export function observeLeaf(item: ResolvedLeaf, obs: Observation, caDigest: string | undefined, readings: LeafReadings | undefined): LeafObservation {
  const files = readings ? leafFiles(item, obs) : undefined;
  const key = files && readingKey(files.map((f) => fileDigest(f)!));
  if (!files || key === undefined) return {};
  const hit = caDigest !== undefined ? readings!.get(key) : undefined;
  if (!hit || hit.caDigest !== caDigest) return { files, readingKey: key };
  return { files, readingKey: key, remembered: { leaf: new RememberedLeaf(files, leafPaths(item), hit), reading: hit } };
}
