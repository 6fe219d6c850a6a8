/**
 * The host edge of `check` for any directory: a kubeadm node's /etc/kubernetes, `/`, a cfssl
 * host's /k8s, a kpki output. Collects the files that can hold certificates, keys or
 * kubeconfigs, with their modes, through a read-only HostReader (the disk by default; a
 * remote host the same way). Every error is data (a finding later), never a throw; what the
 * walk left unread (a link out of the roots, another file system, a FIFO, a limit) becomes a
 * finding too, so a partial read is never a silent OK.
 */
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { KpkiError } from '../errors.js';
import { finding, type Finding } from '../findings.js';
import type { HostReader, ObservedFile, Skipped } from '../sinks/types.js';

/** The file names check reads. Everything else (CSRs, serial files, manifests) is skipped. */
export const CANDIDATE = /\.(crt|cer|pem|key|pub|conf|kubeconfig)$/i;

export interface RootsObservation {
  /** By path as displayed: `<root>/<relative>`. */
  readonly files: Map<string, ObservedFile>;
  /** What the walk did not read, as findings. */
  readonly findings: readonly Finding[];
}

const CODE: Record<Skipped['why'], Finding['code']> = {
  depth: 'walk-limit', entries: 'walk-limit', bytes: 'walk-limit', 'link-outside': 'link-outside', mount: 'mount-skipped', special: 'not-a-regular-file',
};

/** Walks each root through `reader`. Roots that cannot be read at all stop the check (UNKNOWN). */
export async function observeRoots(reader: HostReader, roots: readonly string[], options: { crossMounts?: boolean } = {}): Promise<RootsObservation> {
  const { files, unreadableRoots, skipped } = await reader.observe(roots, { wanted: CANDIDATE, crossMounts: options.crossMounts ?? false });
  if (unreadableRoots.length) {
    throw new KpkiError('ERR_IO', `cannot read ${unreadableRoots.map((u) => `${u.root} (${u.reason})`).join(', ')}`);
  }
  const findings = skipped.map((s) => finding(CODE[s.why], s.path, s.why === 'special' ? `${s.detail}, not a regular file; not opened` : s.detail));
  return { files, findings };
}

/** Paths a kubeconfig names for its credentials (`client-certificate: /var/lib/...`). */
export function referencedPaths(kubeconfigText: string): string[] {
  const out: string[] = [];
  for (const m of kubeconfigText.matchAll(/^\s*(?:client-certificate|client-key|certificate-authority):\s*["']?([^"'\n]+?)["']?\s*$/gm)) out.push(m[1]!);
  return out;
}

/**
 * Reads the files kubeconfigs reference that lie outside what was walked (a kubeadm node's
 * kubelet.conf points into /var/lib/kubelet/pki while the root given is /etc/kubernetes).
 * Relative references resolve against the kubeconfig's directory, as kubectl does. An
 * absolute one resolves inside a root that is a whole filesystem tree (it has `etc/`: a
 * mounted or copied node image) before the host's own file system.
 * Returns `<kubeconfig>\0<reference>` → the key of the file read for it.
 */
export async function readReferenced(reader: HostReader, files: Map<string, ObservedFile>, roots: readonly string[]): Promise<Map<string, string>> {
  const resolved = new Map<string, string>();
  const wanted: Array<{ key: string; candidates: string[] }> = [];
  for (const [path, f] of files) {
    if (!/\.(conf|kubeconfig)$/i.test(path) || f.content === undefined) continue;
    for (const ref of referencedPaths(f.content)) wanted.push({ key: `${path}\0${ref}`, candidates: isAbsolute(ref) ? [ref] : [resolvePath(path, '..', ref)] });
  }
  if (!wanted.length) return resolved;
  // A root that is a whole tree (has etc/), or the etc/kubernetes of one (a copied node image).
  const bases = roots.map((r) => r.replace(/\/+$/, ''));
  const hasEtc = await reader.read(bases.map((t) => join(t, 'etc')));
  const trees = bases.flatMap((t) => {
    if (hasEtc.has(join(t, 'etc'))) return [t];
    const base = t.replace(/\/etc\/kubernetes$/, '');
    return base !== t && base !== '' ? [base] : [];
  });
  for (const w of wanted) {
    const ref = w.key.slice(w.key.indexOf('\0') + 1);
    const path = w.key.slice(0, w.key.indexOf('\0'));
    if (isAbsolute(ref)) w.candidates.unshift(...trees.filter((t) => path.startsWith(`${t}/`)).map((t) => join(t, ref)));
  }
  // The first candidate that exists, in rank order: a host file is read only when the tree has none.
  let open = wanted;
  for (let rank = 0; open.length; rank++) {
    const last = (w: (typeof wanted)[number]) => rank >= w.candidates.length - 1;
    const ask = [...new Set(open.map((w) => w.candidates[Math.min(rank, w.candidates.length - 1)]!).filter((c) => !files.has(c)))];
    const found = ask.length ? await reader.read(ask) : new Map<string, ObservedFile>();
    const next: typeof wanted = [];
    for (const w of open) {
      const c = w.candidates[Math.min(rank, w.candidates.length - 1)]!;
      const f = files.get(c) ?? found.get(c);
      if (f === undefined && !last(w)) {
        next.push(w);
        continue;
      }
      resolved.set(w.key, c);
      if (!files.has(c)) files.set(c, f ?? { mode: 0, error: 'ENOENT' });
    }
    open = next;
  }
  return resolved;
}
