/**
 * The disk edge of `check` for any directory: a kubeadm node's /etc/kubernetes, `/`, a cfssl
 * host's /k8s, a kpki output. Collects the files that can hold certificates, keys or
 * kubeconfigs, with their modes; every error is data (a finding later), never a throw.
 * Symbolic links are followed once (kubelet-client-current.pem is one); a directory reached
 * twice through links is read once, so link loops end.
 */
import * as fs from 'node:fs';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import type { ObservedFile } from '../sinks/types.js';

/** The file names check reads. Everything else (CSRs, serial files, manifests) is skipped. */
const CANDIDATE = /\.(crt|cer|pem|key|pub|conf|kubeconfig)$/i;
/** Larger files are not certificates; read at most this much. */
const MAX_BYTES = 1 << 20;

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

export interface HostObservation {
  /** By path as displayed: `<root>/<relative>`. */
  readonly files: Map<string, ObservedFile>;
  /** Roots that could not be read at all (missing, not a directory, no permission). */
  readonly unreadableRoots: readonly string[];
}

function readOne(abs: string, mode: number, size: number): ObservedFile {
  if (size > MAX_BYTES) return { mode, error: `larger than ${MAX_BYTES} bytes; not a certificate file` };
  try {
    return { mode, content: fs.readFileSync(abs, 'utf8') };
  } catch (err) {
    return { mode, error: errno(err) };
  }
}

/** Walks each root. Directory links are followed once; file links are read through. */
export function observeRoots(roots: readonly string[]): HostObservation {
  const files = new Map<string, ObservedFile>();
  const unreadableRoots: string[] = [];
  const seenDirs = new Set<string>();
  const walk = (display: string, abs: string, depth: number): void => {
    let st: fs.Stats;
    try {
      st = fs.statSync(abs); // follows a link: its target is what the software reads
    } catch (err) {
      if (CANDIDATE.test(display)) files.set(display, { mode: 0, error: errno(err) === 'ENOENT' ? 'a dangling symbolic link' : errno(err) });
      return;
    }
    if (st.isDirectory()) {
      let real: string;
      try {
        real = fs.realpathSync(abs);
      } catch {
        real = abs;
      }
      if (seenDirs.has(real) || depth > 32) return;
      seenDirs.add(real);
      let names: string[];
      try {
        names = fs.readdirSync(abs).sort();
      } catch (err) {
        files.set(`${display}/`, { mode: st.mode & 0o777, error: `directory not readable (${errno(err)})` });
        return;
      }
      for (const name of names) walk(join(display, name), join(abs, name), depth + 1);
    } else if (st.isFile() && CANDIDATE.test(display)) {
      files.set(display, readOne(abs, st.mode & 0o777, st.size));
    }
  };
  for (const root of roots) {
    try {
      if (!fs.statSync(root).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      fs.readdirSync(root);
    } catch {
      unreadableRoots.push(root);
      continue;
    }
    walk(root.replace(/\/+$/, '') || '/', root, 0);
  }
  return { files, unreadableRoots };
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
export function readReferenced(files: Map<string, ObservedFile>, roots: readonly string[]): Map<string, string> {
  const resolved = new Map<string, string>();
  // A root that is a whole tree (has etc/), or the etc/kubernetes of one (a copied node image).
  const trees = roots.flatMap((r) => {
    const t = r.replace(/\/+$/, '');
    if (fs.existsSync(join(t, 'etc'))) return [t];
    const base = t.replace(/\/etc\/kubernetes$/, '');
    return base !== t && base !== '' ? [base] : [];
  });
  for (const [path, f] of [...files]) {
    if (!/\.(conf|kubeconfig)$/i.test(path) || f.content === undefined) continue;
    for (const ref of referencedPaths(f.content)) {
      const candidates = isAbsolute(ref) ? [...trees.filter((t) => path.startsWith(`${t}/`)).map((t) => join(t, ref)), ref] : [resolvePath(path, '..', ref)];
      const abs = candidates.find((c) => files.has(c) || fs.existsSync(c)) ?? candidates[candidates.length - 1]!;
      resolved.set(`${path}\0${ref}`, abs);
      if (files.has(abs)) continue;
      try {
        const st = fs.statSync(abs);
        files.set(abs, st.isFile() ? readOne(abs, st.mode & 0o777, st.size) : { mode: st.mode & 0o777, error: 'not a regular file' });
      } catch (err) {
        files.set(abs, { mode: 0, error: errno(err) });
      }
    }
  }
  return resolved;
}
