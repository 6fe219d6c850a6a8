/**
 * `check`: the public entry point. The edges are here (disk, clock, network for --probe); the
 * judgement is `audit`, pure over the observed files and the time.
 *
 * Two ways to point it at files:
 *  - `out`: a kpki output directory (the store `pki/` and `nodes/<name>/` trees), optionally
 *    with the plan it was generated from; kubeconfig path references resolve inside each node tree.
 *  - `roots`: any directories (a kubeadm `/etc/kubernetes`, `/`, a cfssl `/k8s`).
 */
import { dirname, join, posix } from 'node:path';
import type { CaId } from '../catalog/types.js';
import { resolve, type ResolvedPki } from '../catalog/resolve.js';
import { KpkiError } from '../errors.js';
import { finding, type Finding } from '../findings.js';
import { chooseInitNode, leafPaths, storeCaPaths } from '../layout/layout.js';
import type { Plan } from '../plan/types.js';
import { diskSink } from '../sinks/disk.js';
import { factsFile, FACTS_PATH } from '../store/facts-file.js';
import { storeProblems } from '../store/out-dir.js';
import { lazyVerified, readState, STATE_PATH, type StoreState } from '../store/state.js';
import { audit, type AuditInput, type TreeInfo } from './audit.js';
import { observeRoots, readReferenced } from './observe.js';
import { DEFAULT_THRESHOLDS, type CheckReport, type Thresholds } from './types.js';

export interface CheckOptions {
  /** A kpki output directory. */
  readonly out?: string;
  /** Any directories to read instead (or as well). */
  readonly roots?: readonly string[];
  /** The plan the `out` store was generated from: catalog credentials are judged as `gen` would. */
  readonly plan?: Plan;
  /** For `roots`: the node's name (checks `system:node:<name>` and etcd member identities). */
  readonly node?: string;
  readonly thresholds?: Partial<Thresholds>;
  readonly now?: Date;
  /** Live TLS probes: `true` for every server the plan implies, or `host:port` strings. */
  readonly probe?: boolean | readonly string[];
  readonly probeTimeoutMs?: number;
  readonly probeConcurrency?: number;
}

/** Which tree a store-relative path is in: the store, or `nodes/<name>`. */
function storeTree(file: string): TreeInfo {
  const m = /^nodes\/([^/]+)\//.exec(file);
  return m ? { tree: `nodes/${m[1]}`, node: m[1]! } : { tree: 'pki' };
}

async function outInput(out: string, plan: Plan | undefined): Promise<AuditInput> {
  const obs = await diskSink(out).observe(['pki', 'nodes']);
  if (!obs.dirs.has('pki') && !obs.dirs.has('nodes')) {
    throw new KpkiError('ERR_IO', `${out} holds no kpki store (no pki/ or nodes/ directory); to read any other directory, pass it as a path: kpki check ${out}`);
  }
  // The state is large and, without a plan, needed only for what facts.json does not vouch for.
  let read: StoreState | undefined;
  const state = () => (read ??= readState(obs.files.get(STATE_PATH)?.content));
  let pki: ResolvedPki | undefined;
  if (plan) {
    // The same init node gen would choose, so super-admin.conf is expected where gen keeps it.
    const initNode = chooseInitNode(plan, state().initNode, (p) => obs.files.has(p));
    pki = resolve({ ...plan, initNode });
  }
  return {
    files: obs.files,
    roots: [out],
    treeOf: storeTree,
    resolveRef: (kubeconfig, ref) => {
      const { tree } = storeTree(kubeconfig);
      return ref.startsWith('/') ? `${tree}/${ref.replace(/^\/+/, '')}` : posix.join(posix.dirname(kubeconfig), ref);
    },
    verified: lazyVerified(() => state().verified),
    ...(plan ? { readings: state().readings } : {}),
    facts: factsFile(() => obs.files.get(FACTS_PATH)?.content),
    ...(pki ? { plan: { pki, source: plan!.source } } : {}),
  };
}

function rootsInput(roots: readonly string[], node: string | undefined): AuditInput {
  const { files, unreadableRoots } = observeRoots(roots);
  if (unreadableRoots.length) throw new KpkiError('ERR_IO', `cannot read ${unreadableRoots.join(', ')}: not a readable directory`);
  const refs = readReferenced(files, roots);
  const trimmed = roots.map((r) => r.replace(/\/+$/, '') || '/');
  return {
    files,
    roots,
    treeOf: (file) => {
      const root = trimmed.filter((r) => file === r || file.startsWith(r === '/' ? '/' : `${r}/`)).sort((a, b) => b.length - a.length)[0];
      return { tree: root ?? dirname(file), ...(node ? { node } : {}) };
    },
    resolveRef: (kubeconfig, ref) => refs.get(`${kubeconfig}\0${ref}`) ?? join(dirname(kubeconfig), ref),
  };
}

async function probeFindings(options: CheckOptions, input: AuditInput, now: Date): Promise<Finding[]> {
  // Loaded only for --probe: plain audits never pay for the TLS stack.
  const mod = await import('./probe.js');
  const pki = input.plan?.pki;
  const known = pki ? mod.probeTargets(pki) : [];
  let targets = known;
  if (Array.isArray(options.probe)) {
    targets = [];
    for (const arg of options.probe) {
      const t = mod.parseProbeArg(arg, known);
      if (typeof t === 'string') throw new KpkiError('ERR_IO', `--probe ${arg}: ${t}`);
      targets.push(t);
    }
  } else if (!pki) throw new KpkiError('ERR_IO', '--probe without host:port needs --plan (and --out) to know which servers to connect to');
  const text = (file: string) => input.files.get(file)?.content;
  const caPems: Partial<Record<CaId, string>> = {};
  for (const ca of pki?.cas ?? []) {
    const pem = text(storeCaPaths(ca.entry.stem).crt);
    if (pem) caPems[ca.ref] = pem;
  }
  // etcd with --client-cert-auth wants a client certificate: present what kube-apiserver does.
  const etcdClient = pki?.leaves.find((l) => l.entry.id === 'apiserver-etcd-client');
  const clientCerts: Partial<Record<string, { certPem: string; keyPem: string }>> = {};
  if (etcdClient) {
    const p = leafPaths(etcdClient);
    const certPem = 'crt' in p ? text(p.crt) : undefined;
    const keyPem = 'key' in p ? text(p.key) : undefined;
    if (certPem && keyPem) clientCerts.etcd = { certPem, keyPem };
  }
  const results = await mod.probe(targets, {
    timeoutMs: options.probeTimeoutMs ?? 3000, concurrency: options.probeConcurrency ?? 16, now,
    diskCerts: text, caPems, clientCerts,
  });
  return results.flatMap((r) => [...r.findings]);
}

export async function check(options: CheckOptions): Promise<CheckReport> {
  const now = options.now ?? new Date();
  if (!options.out && !options.roots?.length) throw new KpkiError('ERR_IO', 'nothing to check: give a directory or --out');
  if (options.out && options.roots?.length) throw new KpkiError('ERR_IO', 'give either --out (a kpki store) or directories, not both');
  if (options.plan && !options.out) throw new KpkiError('ERR_IO', '--plan compares a kpki store with its plan: it needs --out');
  const input = options.out ? await outInput(options.out, options.plan) : rootsInput(options.roots!, options.node);
  // With a plan, gen's renewBefore is the warning window unless one is given: a leaf check
  // warns about is then exactly a leaf gen would reissue.
  const planWarn = input.plan?.pki.plan.pki.renewBeforeMs;
  const thresholds: Thresholds = {
    critMs: options.thresholds?.critMs ?? DEFAULT_THRESHOLDS.critMs,
    warnMs: options.thresholds?.warnMs ?? planWarn ?? DEFAULT_THRESHOLDS.warnMs,
  };
  const extraFindings = options.probe ? await probeFindings(options, input, now) : [];
  // A store another user could change: gen refuses it; check warns.
  if (options.out) extraFindings.push(...storeProblems(options.out, { byOwner: true }).map((p) => finding('store-permissions', p.file, `${p.path} ${p.problem}`)));
  return audit(input, { now, thresholds, extraFindings });
}
