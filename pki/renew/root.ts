/**
 * `renew --root`: renewal in place on a host kpki did not make (an `/etc/kubernetes` that
 * kubeadm wrote, and the kubelet's `/var/lib/kubelet/pki` beside it). The tree is observed
 * through disk sinks and the strict reader; identities and usages come from the catalog,
 * resolved against a plan (the user's, or one synthesised from the tree: node name from the
 * kubelet's CN, release from the manifests); SANs from the plan, else from each old
 * certificate. Signed with the CA keys found there; CAs and sa.* are never written.
 *
 * Not gen's pipeline: gen decides over a kpki store (`pki/` + `nodes/<name>/`), renders every
 * file of a node tree in its own format and removes what it does not want; a kubeadm host has
 * other bytes around the credentials (kubeconfig contexts, manifests, the kubelet's rotated
 * pem), so here only the credentials selected are replaced, each in its own file's format,
 * through the disk sink's apply (atomic, backed up).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { BACKDATE_MS } from '../assess/policy.js';
import { CAS, KEYPAIRS, KUBECONFIGS } from '../catalog/entries.js';
import { resolve, type ResolvedLeaf } from '../catalog/resolve.js';
import type { CaId } from '../catalog/types.js';
import { versionInText, type ClusterVersion } from '../check/version.js';
import type { Deps } from '../deps.js';
import { KpkiError } from '../errors.js';
import { defaultDeps } from '../gen/generate.js';
import { readKubeconfig } from '../kubeconfig/kubeconfig.js';
import type { KeyAlgorithm, Plan } from '../plan/types.js';
import { parseCidr, parseHostPort } from '../plan/net.js';
import { diskSink, removeTempsIn } from '../sinks/disk.js';
import type { Applied, Change, Observation } from '../sinks/types.js';
import { createCertificate, keyIdentifier, signatureSchemeFor } from '../x509/certificate.js';
import { keyAlgorithmOf, readPrivateKey, spkiOf } from '../x509/keys.js';
import { readCert, type ObservedCert } from '../x509/read.js';
import { restartsFor, type NodeRestarts } from './restarts.js';
import { LEAF_IDS } from './renew.js';

export interface RootRenewOptions {
  /** The tree: `/etc/kubernetes` (or a copy of one). */
  readonly root: string;
  /** The kubelet's certificate directory; default `<root>/../../var/lib/kubelet/pki` for a root `…/etc/kubernetes`. */
  readonly kubeletDir?: string;
  /** SANs, node and release from here when given. */
  readonly plan?: Plan;
  readonly ids: readonly string[] | 'all';
  readonly beforeMs?: number;
  readonly reuseKeys?: boolean;
  readonly dryRun?: boolean;
  readonly deps?: Partial<Deps>;
}

export interface RootRenewItem {
  readonly id: string;
  /** Absolute path of the file replaced (for a linked kubelet.conf: the new dated pem). */
  readonly file: string;
  readonly action: 'renew' | 'keep' | 'blocked';
  readonly cn: string;
  readonly o: readonly string[];
  readonly dns: readonly string[];
  readonly ips: readonly string[];
  /** Where the SANs came from: `plan`, `old certificate`, or `none` (a client certificate). */
  readonly sans: 'plan' | 'old certificate' | 'none';
  readonly previousNotAfter: string;
  /** ISO 8601: the new NotAfter (a dry run's: the one it would get). */
  readonly notAfter?: string;
  readonly reasons: readonly string[];
}

export interface RootRenewReport {
  readonly dryRun: boolean;
  readonly root: string;
  readonly kubeletDir?: string;
  readonly node: string;
  /** The release identities follow, and where it was read (absent: the newest rules). */
  readonly version?: { readonly text: string; readonly source: string };
  readonly items: readonly RootRenewItem[];
  readonly files: readonly Applied[];
  /** kubelet-client-current.pem moved (like the kubelet does): from and to the dated file. */
  readonly link?: { readonly path: string; readonly from: string; readonly to: string };
  /** CAs whose key is not in the tree: their leaves were not renewed. */
  readonly blocked: ReadonlyArray<{ readonly ca: CaId; readonly leaves: readonly string[]; readonly message: string }>;
  readonly restarts: readonly NodeRestarts[];
  readonly warnings: readonly string[];
  readonly renewed: number;
}

const CONFS = KUBECONFIGS.map((k) => k.path.replace(/^etc\/kubernetes\//, ''));
const CURRENT = 'kubelet-client-current.pem';
/** The kubelet's own name for the link being swapped in (pkg/kubelet/certificate: updateSymlink). */
const UPDATED = 'kubelet-client-updated.pem';
const DEFAULT_VALIDITY_MS = 365 * 86_400_000;

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/;
const KEY_BLOCK = /-----BEGIN (?:RSA |EC |)PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |)PRIVATE KEY-----\n?/;

/** Where a leaf lives: under the root (`pki/apiserver.crt`, `admin.conf`) or in the kubelet directory. */
interface Where { readonly sink: 'etc' | 'kubelet'; readonly rel: string }
function whereOf(leaf: ResolvedLeaf, part: 'crt' | 'key' | 'kubeconfig'): Where {
  const path = leaf.kind === 'kubeconfig' ? leaf.entry.path : `${leaf.entry.path}.${part}`;
  if (path.startsWith('var/lib/kubelet/pki/')) return { sink: 'kubelet', rel: path.slice('var/lib/kubelet/pki/'.length) };
  return { sink: 'etc', rel: path.replace(/^etc\/kubernetes\//, '') };
}

/** The kubelet's dated file name: kubelet-client-2006-01-02-15-04-05.pem (UTC here). */
export function datedPemName(now: Date): string {
  return `kubelet-client-${now.toISOString().slice(0, 19).replace(/[T:]/g, '-')}.pem`;
}

/** The tree to read: the directory given, or its `etc/kubernetes` when given a host's root (`/`, a mounted disk). */
export function hostTree(given: string): string {
  const r = resolvePath(given);
  return !fs.existsSync(join(r, 'pki')) && fs.existsSync(join(r, 'etc/kubernetes/pki')) ? join(r, 'etc/kubernetes') : r;
}

/** Where an in-place run writes in a host's tree (kubeconfigs, pki/, pki/etcd/): where a killed one left its temp files. */
export const HOST_TREE_DIRS: readonly string[] = ['.', 'pki', 'pki/etcd'];

/**
 * Applies changes to a host's directory in place, after removing the temp files an interrupted
 * run left in `dirs` (reported as removed). No tree index is written into a host's directories.
 */
export async function applyInPlace(dir: string, dirs: readonly string[], changes: readonly Change[], backupStamp: string): Promise<Applied[]> {
  const leftovers = removeTempsIn(dir, dirs).map((p): Applied => ({ path: p, action: 'removed', reason: 'a temp file left by an interrupted kpki run' }));
  const applied = changes.length ? await diskSink(dir).apply({ changes: [...changes], dirs: new Map(), dirDrift: new Map(), emptyDirs: [] }, { backupStamp }) : [];
  return [...leftovers, ...applied];
}

/** The default kubelet directory for a root, when the root is a `…/etc/kubernetes`. */
export function kubeletDirFor(root: string): string | undefined {
  const r = resolvePath(root);
  return /\/etc\/kubernetes$/.test(r) || r === '/etc/kubernetes' ? resolvePath(r, '../../var/lib/kubelet/pki') : undefined;
}

interface FoundCa { readonly cert: ObservedCert; readonly key?: KeyObject; readonly keyId: Uint8Array }

/** A leaf as found: its certificate and key, and how its kubeconfig holds them. */
interface FoundLeaf {
  readonly cert: ObservedCert;
  readonly keyPem: string;
  readonly file: string;
  /** kubeconfigs: embedded data, or the kubelet's rotated pem through kubelet-client-current.pem. */
  readonly holder: 'files' | 'embedded' | 'link';
  readonly text?: string;
  readonly linkTarget?: string;
}

const text = (obs: Observation, rel: string) => obs.files.get(rel)?.content;

export async function renewRoot(options: RootRenewOptions): Promise<RootRenewReport> {
  const deps: Deps = { ...defaultDeps(), ...options.deps };
  const now = deps.now();
  const root = hostTree(options.root);
  const kubeletDir = options.kubeletDir !== undefined ? resolvePath(options.kubeletDir) : kubeletDirFor(root);

  // observe: the credentials' files, the manifests and kubeadm's configuration; never a walk of the host
  const etc = await diskSink(root).observe(['pki', 'manifests', ...CONFS, 'kubeadm-config.yaml']);
  const hasKubelet = kubeletDir !== undefined && fs.existsSync(kubeletDir);
  let kub: Observation = { files: new Map(), dirs: new Map(), nodes: [] };
  let linkTarget: string | undefined;
  if (hasKubelet) {
    try {
      linkTarget = fs.readlinkSync(join(kubeletDir, CURRENT));
    } catch {
      linkTarget = undefined;
    }
    kub = await diskSink(kubeletDir).observe(['kubelet.crt', 'kubelet.key', ...(linkTarget ? [basename(linkTarget)] : [])]);
  }
  if (!etc.files.has('pki/ca.crt') && !CONFS.some((c) => etc.files.has(c))) {
    throw new KpkiError('ERR_USAGE', `${root}: not a Kubernetes tree (no pki/ca.crt and no kubeconfig such as kubelet.conf); give --root /etc/kubernetes`);
  }
  const absOf = (w: Where) => (w.sink === 'etc' ? join(root, w.rel) : join(kubeletDir ?? root, w.rel));
  const read = (w: Where) => {
    const f = (w.sink === 'etc' ? etc : kub).files.get(w.rel);
    if (f?.error) throw new KpkiError('ERR_IO', `${absOf(w)}: cannot read (${f.error})`);
    return f?.content;
  };

  // CAs as found (certificate, key if present)
  const cas = new Map<CaId, FoundCa>();
  for (const c of CAS) {
    const crt = text(etc, `pki/${c.stem}.crt`);
    if (crt === undefined) continue;
    const cert = readCert(crt, join(root, `pki/${c.stem}.crt`));
    const keyPem = text(etc, `pki/${c.stem}.key`);
    const key = keyPem === undefined ? undefined : readPrivateKey(keyPem, join(root, `pki/${c.stem}.key`));
    if (key && Buffer.compare(Buffer.from(spkiOf(key)), Buffer.from(createPublicKey(crt).export({ type: 'spki', format: 'der' }))) !== 0) {
      throw new KpkiError('ERR_CA_UNUSABLE', `${join(root, `pki/${c.stem}.key`)} is not the key of pki/${c.stem}.crt; kpki will not sign with it`);
    }
    cas.set(c.id, { cert, key, keyId: cert.parsed.subjectKeyId ?? keyIdentifier(Buffer.from(createPublicKey(crt).export({ type: 'spki', format: 'der' }))) });
  }

  // the kubelet's client credential, found first: it names the node
  const kubeletConf = text(etc, 'kubelet.conf');
  let kubeletClient: FoundLeaf | undefined;
  if (kubeletConf !== undefined) kubeletClient = kubeconfigLeaf(kubeletConf, join(root, 'kubelet.conf'), kub, linkTarget, kubeletDir);
  let nodeName: string | undefined;
  try {
    nodeName = nodeNameOf(kubeletClient, etc, root);
  } catch (err) {
    if (!options.plan) throw err; // with a plan: its first node
  }
  const controlPlane = etc.files.has('pki/apiserver.crt') || etc.files.has('manifests/kube-apiserver.yaml');
  const superAdmin = etc.files.has('super-admin.conf');

  // the release identities follow
  const version = options.plan?.kubernetesVersion
    ? { text: options.plan.kubernetesVersion.text.replace(/^v/, ''), minor: options.plan.kubernetesVersion.minor, source: options.plan.source }
    : releaseOf(etc, root, superAdmin);
  const plan = planFor(options.plan, { nodeName, controlPlane, superAdmin, version, etc, root });
  const node = plan.nodes.find((n) => n.name === (nodeName ?? plan.nodes[0]?.name))!;
  const leaves = resolve(plan).leaves.filter((l) => l.node.name === node.name);

  // the request
  const present = (l: ResolvedLeaf) => (l.kind === 'kubeconfig' ? read(whereOf(l, 'kubeconfig')) !== undefined : read(whereOf(l, 'crt')) !== undefined);
  const errors: string[] = [];
  if (options.ids !== 'all') {
    if (!options.ids.length) errors.push('name the certificates to renew (catalog ids, see kpki catalog) or all');
    for (const id of options.ids) {
      if (CAS.some((c) => c.id === id)) errors.push(`${id} is a CA: renew issues leaves; kpki ca extend ${id} --root ${root} gives a CA a new NotAfter`);
      else if (KEYPAIRS.some((k) => k.id === id)) errors.push(`${id} is the service-account key pair, not a certificate; renew leaves it as it is`);
      else if (!LEAF_IDS.includes(id)) errors.push(`unknown certificate id '${id}' (kpki catalog lists them)`);
      else if (!leaves.some((l) => l.entry.id === id && present(l))) errors.push(`${id}: not in ${root}${id === 'kubelet-serving' ? ` or ${kubeletDir ?? '(no kubelet directory: --kubelet-dir)'}` : ''}`);
    }
  }
  if (errors.length) throw new KpkiError('ERR_USAGE', errors.join('\n'));
  const selected = leaves.filter((l) => present(l) && (options.ids === 'all' || options.ids.includes(l.entry.id)));

  // decide and issue, leaf by leaf
  const items: RootRenewItem[] = [];
  const warnings: string[] = [];
  const etcChanges: Change[] = [];
  const kubChanges: Change[] = [];
  const blocked = new Map<CaId, string[]>();
  let link: RootRenewReport['link'];
  const jobs: Array<Promise<() => void>> = [];
  const validity = options.plan?.pki.certValidityMs ?? DEFAULT_VALIDITY_MS;
  for (const l of selected) {
    const found = l.entry.id === 'kubelet.conf' && kubeletClient ? kubeletClient : foundLeaf(l, read, absOf, kub, linkTarget, kubeletDir);
    const withSans = 'sans' in l.entry;
    const dns = withSans && !options.plan ? found.cert.profile.dns : l.profile.dns;
    const ips = withSans && !options.plan ? found.cert.profile.ips : l.profile.ips;
    const sans = !withSans ? 'none' : options.plan ? 'plan' : 'old certificate';
    const base = { id: l.entry.id, cn: l.profile.cn, o: l.profile.o, dns, ips, sans, previousNotAfter: found.cert.notAfter.toISOString() } as const;
    const ca = cas.get(l.signer);
    const reasons: string[] = [];
    const old = found.cert.profile;
    if (old.cn !== l.profile.cn || old.o.join(',') !== l.profile.o.join(',')) {
      warnings.push(`${found.file}: identity was CN=${old.cn}${old.o.length ? `, O=${old.o.join('+')}` : ''}; renewed as CN=${l.profile.cn}${l.profile.o.length ? `, O=${l.profile.o.join('+')}` : ''} (the catalog for ${version ? `${version.text}, from ${version.source}` : 'the newest release'})`);
    }
    if (!ca?.key || ca.cert.notAfter <= now) {
      blocked.set(l.signer, [...(blocked.get(l.signer) ?? []), l.entry.id]);
      items.push({ ...base, file: found.file, action: 'blocked', reasons: [ca?.key ? `${l.signer} expired ${ca.cert.notAfter.toISOString().slice(0, 10)}` : `${l.signer} has no key in ${root}/pki`] });
      continue;
    }
    if (options.beforeMs !== undefined && found.cert.notAfter.getTime() > now.getTime() + options.beforeMs) {
      items.push({ ...base, file: found.file, action: 'keep', reasons: [`expires ${found.cert.notAfter.toISOString().slice(0, 10)}, outside --before`] });
      continue;
    }
    reasons.push(found.cert.notAfter <= now ? `expired ${found.cert.notAfter.toISOString().slice(0, 10)}` : `expires ${found.cert.notAfter.toISOString().slice(0, 10)}`);
    if (withSans) reasons.push(`SANs from the ${sans}`);
    const notAfter = new Date(Math.min(now.getTime() + validity, ca.cert.notAfter.getTime()));
    const datedFile = found.holder === 'link' ? datedPemName(now) : undefined;
    const file = datedFile ? join(kubeletDir!, datedFile) : found.file;
    items.push({ ...base, file, action: 'renew', notAfter: notAfter.toISOString(), reasons });
    if (options.dryRun) continue;

    // every key generation starts now (they run in parallel on the thread pool); changes are recorded in order after
    const oldKey = readPrivateKey(found.keyPem, found.file);
    const alg: KeyAlgorithm = keyAlgorithmOf(oldKey) ?? plan.pki.keyAlgorithm;
    const keyP = options.reuseKeys ? Promise.resolve({ privatePem: found.keyPem, spkiDer: spkiOf(oldKey) }) : deps.generateKey(alg);
    const signingKey = ca.key;
    jobs.push((async () => {
      const key = await keyP;
      const { pem } = await createCertificate({
        profile: { ...l.profile, dns, ips }, spkiDer: key.spkiDer, serialHex: serial(deps), notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter,
        issuerNameDer: ca.cert.parsed.subject.der, signingKey, scheme: signatureSchemeFor(signingKey, `pki/${l.signer}`), authorityKeyId: ca.keyId,
      });
      return () => {
        const keyPem = key.privatePem.endsWith('\n') ? key.privatePem : `${key.privatePem}\n`;
        if (found.holder === 'files') {
          const crt = whereOf(l, 'crt');
          const k = whereOf(l, 'key');
          const list = crt.sink === 'etc' ? etcChanges : kubChanges;
          list.push({ op: 'update', path: crt.rel, mode: 0o644, content: pem, backup: true });
          if (!options.reuseKeys) list.push({ op: 'update', path: k.rel, mode: 0o600, content: keyPem, backup: true });
        } else if (found.holder === 'embedded') {
          etcChanges.push({ op: 'update', path: whereOf(l, 'kubeconfig').rel, mode: 0o600, content: withClientData(found.text!, found.file, pem, keyPem), backup: true });
        } else {
          kubChanges.push({ op: 'create', path: datedFile!, mode: 0o600, content: `${pem}${keyPem}` });
          const target = found.linkTarget!.startsWith('/') ? join(dirname(found.linkTarget!), datedFile!) : datedFile!;
          link = { path: join(kubeletDir!, CURRENT), from: found.linkTarget!, to: target };
        }
      };
    })());
  }
  for (const record of await Promise.all(jobs)) record();

  // apply: fresh sinks (no tree index left in a host's directories); backups under <dir>/backup/
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const files: Applied[] = [];
  if (!options.dryRun) {
    files.push(...(await applyInPlace(root, HOST_TREE_DIRS, etcChanges, stamp)).map((f) => ({ ...f, path: join(root, f.path) })));
    const kubDir = kubeletDir ?? root;
    files.push(...(await applyInPlace(kubDir, kubeletDir !== undefined ? ['.'] : [], kubChanges, stamp)).map((f) => ({ ...f, path: join(kubDir, f.path) })));
    if (link) moveLink(kubeletDir!, link.to);
  }

  const blockedList = [...blocked].map(([ca, ids]) => {
    const stem = CAS.find((c) => c.id === ca)!.stem;
    const found = cas.get(ca);
    const why = found?.key
      ? `${root}/pki/${stem}.crt expired ${found.cert.notAfter.toISOString().slice(0, 10)}, so ${ids.join(', ')} were not renewed: kpki ca extend ${ca} --root ${root} re-signs it with its own key first`
      : `${root}/pki/${stem}.key: missing${controlPlane ? ' (an external CA)' : ' (this is a worker: the key is on the control planes)'}; ${ids.join(', ')} not renewed: kpki csr writes their keys and CSRs for that CA to sign, kpki import places the signed certificates${controlPlane ? '' : ', or renew on a copy of this tree that holds the CA key'}`;
    return { ca, leaves: ids, message: why };
  });
  const renewed = items.filter((i) => i.action === 'renew');
  return {
    dryRun: options.dryRun ?? false, root, ...(hasKubelet ? { kubeletDir } : {}), node: node.name,
    ...(version ? { version: { text: version.text, source: version.source } } : {}),
    items, files, ...(link ? { link } : {}), blocked: blockedList,
    restarts: restartsFor(renewed.map((i) => ({ node: node.name, id: i.id })), resolve(plan)),
    warnings, renewed: renewed.length,
  };
}

const serial = (deps: Deps) => {
  const b = Uint8Array.from(deps.randomBytes(8));
  b[0] = ((b[0] ?? 0) & 0x7f) || 0x01;
  return Buffer.from(b).toString('hex');
};

/** The new link under the kubelet's temp name, renamed over the current one: atomic, as the kubelet does it. */
function moveLink(dir: string, target: string): void {
  const updated = join(dir, UPDATED);
  fs.rmSync(updated, { force: true });
  fs.symlinkSync(target, updated);
  fs.renameSync(updated, join(dir, CURRENT));
}

/** A kubeconfig's client data replaced in its own text: everything else (contexts, names) stays byte for byte. */
function withClientData(text: string, file: string, certPem: string, keyPem: string): string {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  let n = 0;
  const out = text
    .replace(/^(\s*client-certificate-data:\s*)\S+$/m, (_m, p: string) => (n++, `${p}${b64(certPem)}`))
    .replace(/^(\s*client-key-data:\s*)\S+$/m, (_m, p: string) => (n++, `${p}${b64(keyPem)}`));
  if (n !== 2 || (text.match(/client-certificate-data:/g) ?? []).length !== 1) {
    throw new KpkiError('ERR_PEM_INVALID', `${file}: expected one user with client-certificate-data and client-key-data; not rewritten`);
  }
  return out;
}

function splitPem(pem: string, file: string): { cert: ObservedCert; keyPem: string } {
  const c = CERT_BLOCK.exec(pem);
  const k = KEY_BLOCK.exec(pem);
  if (!c || !k) throw new KpkiError('ERR_PEM_INVALID', `${file}: expected a certificate and its private key (the kubelet's rotated pem)`);
  return { cert: readCert(c[0], file), keyPem: k[0] };
}

function kubeconfigLeaf(t: string, file: string, kub: Observation, linkTarget: string | undefined, kubeletDir: string | undefined): FoundLeaf {
  const k = readKubeconfig(t, file);
  if (k.certPem !== undefined && k.keyPem !== undefined) return { cert: readCert(k.certPem, file), keyPem: k.keyPem, file, holder: 'embedded', text: t };
  if (k.certFile !== undefined && basename(k.certFile) === CURRENT && kubeletDir !== undefined) {
    if (linkTarget === undefined) throw new KpkiError('ERR_IO', `${file} names ${k.certFile}, but ${join(kubeletDir, CURRENT)} is not a symbolic link kpki can follow`);
    const pem = kub.files.get(basename(linkTarget))?.content;
    if (pem === undefined) throw new KpkiError('ERR_IO', `${join(kubeletDir, CURRENT)} links to ${linkTarget}, which is not in ${kubeletDir}`);
    return { ...splitPem(pem, join(kubeletDir, basename(linkTarget))), file: join(kubeletDir, CURRENT), holder: 'link', linkTarget };
  }
  throw new KpkiError('ERR_USAGE', `${file}: its client certificate is ${k.certFile ?? 'not embedded'}; renew --root handles embedded data and the kubelet's ${CURRENT}${k.certFile?.endsWith(CURRENT) ? ' (give --kubelet-dir)' : ''}`);
}

function foundLeaf(l: ResolvedLeaf, read: (w: Where) => string | undefined, absOf: (w: Where) => string, kub: Observation, linkTarget: string | undefined, kubeletDir: string | undefined): FoundLeaf {
  if (l.kind === 'kubeconfig') {
    const w = whereOf(l, 'kubeconfig');
    return kubeconfigLeaf(read(w)!, absOf(w), kub, linkTarget, kubeletDir);
  }
  const crt = whereOf(l, 'crt');
  const key = whereOf(l, 'key');
  const keyPem = read(key);
  if (keyPem === undefined) throw new KpkiError('ERR_IO', `${absOf(key)}: missing; ${absOf(crt)} cannot be renewed without it`);
  return { cert: readCert(read(crt)!, absOf(crt)), keyPem, file: absOf(crt), holder: 'files' };
}

/** The node's name: the kubelet's CN (system:node:NAME), else etcd's member name, else the apiserver's first non-cluster DNS SAN. */
function nodeNameOf(kubelet: FoundLeaf | undefined, etc: Observation, root: string): string {
  const cn = kubelet?.cert.profile.cn;
  if (cn?.startsWith('system:node:')) return cn.slice('system:node:'.length);
  const etcd = text(etc, 'pki/etcd/server.crt');
  if (etcd !== undefined) return readCert(etcd, join(root, 'pki/etcd/server.crt')).profile.cn;
  const api = text(etc, 'pki/apiserver.crt');
  const name = api === undefined ? undefined : readCert(api, join(root, 'pki/apiserver.crt')).profile.dns.find((d) => !d.startsWith('kubernetes'));
  if (name) return name;
  throw new KpkiError('ERR_USAGE', `${root}: cannot tell the node's name (no kubelet.conf, etcd or apiserver certificate); give --plan`);
}

/** The release a tree shows: manifests' image tags, kubeadm-config, else the admin identities found. */
function releaseOf(etc: Observation, root: string, superAdmin: boolean): ClusterVersion | undefined {
  for (const f of ['manifests/kube-apiserver.yaml', 'manifests/kube-controller-manager.yaml', 'manifests/kube-scheduler.yaml', 'kubeadm-config.yaml']) {
    const t = text(etc, f);
    const v = t === undefined ? undefined : versionInText(t, join(root, f));
    if (v) return v;
  }
  if (superAdmin) return { minor: 29, text: '1.29', source: `${join(root, 'super-admin.conf')} (present)` };
  const admin = text(etc, 'admin.conf');
  const cert = admin === undefined ? undefined : readKubeconfig(admin, join(root, 'admin.conf')).certPem;
  if (cert !== undefined && readCert(cert, join(root, 'admin.conf')).profile.o.includes('system:masters')) {
    return { minor: 28, text: '1.28', source: `${join(root, 'admin.conf')} (in system:masters, no super-admin.conf)` };
  }
  return undefined;
}

/**
 * The plan identities are resolved against: the user's (its node must be this host's), or one
 * synthesised from the tree. `deploy: binary` so every leaf the tree holds resolves (kubeadm's
 * placement would leave kubelet.conf to the init node); the files are kubeadm's either way.
 */
function planFor(given: Plan | undefined, t: { nodeName?: string; controlPlane: boolean; superAdmin: boolean; version?: ClusterVersion; etc: Observation; root: string }): Plan {
  const kubernetesVersion = t.version ? { major: 1, minor: t.version.minor, text: t.version.text } : undefined;
  if (given) {
    const name = t.nodeName ?? given.nodes[0]!.name;
    if (!given.nodes.some((n) => n.name === name)) throw new KpkiError('ERR_USAGE', `node '${name}' (the kubelet's name in ${t.root}) is not in the plan ${given.source}`);
    return { ...given, deploy: 'binary', layout: 'kubeadm', layoutDirs: undefined, ...(t.superAdmin ? { initNode: name } : {}), kubernetesVersion: given.kubernetesVersion ?? kubernetesVersion };
  }
  const conf = ['admin.conf', 'kubelet.conf'].map((f) => text(t.etc, f)).find((x) => x !== undefined);
  const k = conf === undefined ? undefined : readKubeconfig(conf, 'kubeconfig');
  const endpoint = k ? parseHostPort(new URL(k.server).host, 6443) : undefined;
  const svc = parseCidr('10.96.0.0/12');
  if (typeof svc === 'string') throw new Error(svc);
  return {
    source: `${t.root} (as found)`, clusterName: k?.clusterName ?? 'kubernetes', deploy: 'binary', layout: 'kubeadm',
    ...(kubernetesVersion ? { kubernetesVersion } : {}),
    ...(t.superAdmin ? { initNode: t.nodeName } : {}),
    controlPlaneEndpoint: typeof endpoint === 'object' && endpoint ? endpoint : { host: '127.0.0.1', port: 6443, hostIsIp: true },
    apiServer: { bindPort: 6443, certSANs: [] },
    networking: { serviceSubnets: [svc], podSubnets: [], dnsDomain: 'cluster.local' },
    etcd: { external: false },
    pki: { keyAlgorithm: 'rsa-2048', caValidityMs: 10 * 365 * 86_400_000, certValidityMs: DEFAULT_VALIDITY_MS, renewBeforeMs: 30 * 86_400_000, subject: {} },
    nodes: [{ name: t.nodeName!, address: '127.0.0.1', family: 4, roles: [t.controlPlane ? 'control-plane' : 'worker'], extraSANs: [] }],
  };
}
