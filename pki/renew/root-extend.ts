/**
 * `ca extend --root`: a host's CA re-signed by its own key in place (issue/extend.ts, the same
 * re-signing `ca extend --out` uses; `<root>/pki/<stem>.crt` is where a kpki store keeps it too),
 * and, for the Kubernetes CA, every kubeconfig under the root whose embedded CA data is the old
 * certificate rewritten in place. The CA key is never written; the discovery hash, over the
 * public key, stays the same.
 */
import { join } from 'node:path';
import { CAS, KUBECONFIGS } from '../catalog/entries.js';
import type { ResolvedCa } from '../catalog/resolve.js';
import type { CaId } from '../catalog/types.js';
import type { Deps } from '../deps.js';
import { KpkiError } from '../errors.js';
import { defaultDeps } from '../gen/generate.js';
import { extendCaCert } from '../issue/extend.js';
import { caCertHash } from '../kubeadm/join.js';
import { diskSink } from '../sinks/disk.js';
import type { Applied, Change } from '../sinks/types.js';
import { readCert } from '../x509/read.js';
import { applyInPlace, hostTree, HOST_TREE_DIRS } from './root.js';

export interface RootExtendOptions {
  readonly root: string;
  readonly cas: readonly CaId[];
  /** New lifetime from now; default 10 years (kubeadm's). */
  readonly validityMs?: number;
  readonly dryRun?: boolean;
  readonly deps?: Partial<Deps>;
}

export interface RootExtendReport {
  readonly dryRun: boolean;
  readonly root: string;
  readonly extended: ReadonlyArray<{ readonly ca: CaId; readonly previousNotAfter: string; readonly notAfter: string; readonly publicKeyHash: string }>;
  /** Kubeconfigs whose embedded CA data was (or, dry, would be) replaced. */
  readonly kubeconfigs: readonly string[];
  readonly files: readonly Applied[];
}

const TEN_YEARS_MS = 87_600 * 3_600_000;
const CONFS = KUBECONFIGS.map((k) => k.path.replace(/^etc\/kubernetes\//, ''));

/** The CA data line of a kubeconfig replaced when it holds `oldDer`; undefined when it holds another CA or none. */
function withCaData(text: string, oldDer: Uint8Array, newPem: string): string | undefined {
  const m = /^(\s*certificate-authority-data:\s*)(\S+)$/m.exec(text);
  if (!m) return undefined;
  let der: Uint8Array;
  try {
    der = readCert(Buffer.from(m[2]!, 'base64').toString('utf8'), 'kubeconfig').der;
  } catch {
    return undefined;
  }
  if (!Buffer.from(der).equals(Buffer.from(oldDer))) return undefined;
  return text.replace(m[0], `${m[1]}${Buffer.from(newPem, 'utf8').toString('base64')}`);
}

export async function extendCaRoot(options: RootExtendOptions): Promise<RootExtendReport> {
  const deps: Deps = { ...defaultDeps(), ...options.deps };
  const root = hostTree(options.root);
  const unknown = options.cas.filter((c) => !CAS.some((e) => e.id === c));
  if (unknown.length || !options.cas.length) throw new KpkiError('ERR_USAGE', `${unknown.length ? `unknown CA '${unknown.join("', '")}'` : 'name a CA to extend'}; the CAs are ${CAS.map((c) => c.id).join(', ')}`);
  const obs = await diskSink(root).observe(['pki', ...CONFS]);
  if (!obs.files.has('pki/ca.crt')) throw new KpkiError('ERR_USAGE', `${root}: not a Kubernetes tree (no pki/ca.crt); give --root /etc/kubernetes`);
  const notAfter = new Date(deps.now().getTime() + (options.validityMs ?? TEN_YEARS_MS));
  const changes: Change[] = [];
  const extended: RootExtendReport['extended'][number][] = [];
  const kubeconfigs: string[] = [];
  for (const ca of [...new Set(options.cas)]) {
    const entry = CAS.find((c) => c.id === ca)!;
    const item: ResolvedCa = { kind: 'ca', ref: entry.id, entry, profile: { cn: entry.cn, o: [], extras: {}, dns: [entry.cn], ips: [], usages: [], isCa: true } };
    const e = await extendCaCert(item, obs, notAfter, deps, root);
    changes.push({ op: 'update', path: e.crtFile, mode: obs.files.get(e.crtFile)?.mode ?? 0o644, content: e.pem, backup: true });
    extended.push({ ca, previousNotAfter: e.previous.notAfter.toISOString(), notAfter: e.notAfter.toISOString(), publicKeyHash: caCertHash(e.pem) });
    for (const conf of CONFS) {
      const text = obs.files.get(conf)?.content;
      const next = text === undefined ? undefined : withCaData(text, e.previous.der, e.pem);
      if (next === undefined) continue;
      changes.push({ op: 'update', path: conf, mode: obs.files.get(conf)!.mode, content: next, backup: true });
      kubeconfigs.push(join(root, conf));
    }
  }
  const files = options.dryRun
    ? changes.map((c): Applied => ({ path: join(root, c.path), action: 'updated' }))
    : (await applyInPlace(root, HOST_TREE_DIRS, changes, deps.now().toISOString().replace(/[:.]/g, '-'))).map((f) => ({ ...f, path: join(root, f.path) }));
  return { dryRun: options.dryRun ?? false, root, extended, kubeconfigs, files };
}
