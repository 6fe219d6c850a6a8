/**
 * `check`: the public entry point. The edges are here (disk, clock, network for --probe); the
 * judgement is `audit`, pure over the observed files and the time.
 *
 * Two ways to point it at files:
 *  - `out`: a kpki output directory (the store `pki/` and `nodes/<name>/` trees), optionally
 *    with the plan it was generated from; kubeconfig path references resolve inside each node tree.
 *  - `roots`: any directories (a kubeadm `/etc/kubernetes`, `/`, a cfssl `/k8s`).
 */
import { basename, dirname, join, posix } from 'node:path';
import type { CaId } from '../catalog/types.js';
import { resolve, type ResolvedPki } from '../catalog/resolve.js';
import { KpkiError } from '../errors.js';
import { finding, type Finding } from '../findings.js';
import { chooseInitNode, leafPaths, storeCaPaths } from '../layout/layout.js';
import type { Plan } from '../plan/types.js';
import { diskSink } from '../sinks/disk.js';
import { checkOutDir, storeProblems } from '../store/out-dir.js';
import { readRecord, RECORD_PATH, type RecordUse } from '../store/record.js';
import { readRotations, rotationPath, type Rotation } from '../rotate/state.js';
import { nextPhase, rotationView } from '../rotate/phases.js';
import { diskHostReader } from '../sinks/disk-roots.js';
import type { HostReader } from '../sinks/types.js';
import { audit, type AuditInput, type TreeInfo } from './audit.js';
import { observeRoots, readReferenced } from './observe.js';
import { DEFAULT_THRESHOLDS, type CheckReport, type Thresholds } from './types.js';
import { resolveVersion } from './version.js';
import type { RemoteOptions } from './remote.js';
import type { ObservedFile } from '../sinks/types.js';

export interface CheckOptions {
  /** A kpki output directory. */
  readonly out?: string;
  /** Any directories to read instead (or as well). */
  readonly roots?: readonly string[];
  /**
   * The plan the `out` store was generated from: catalog credentials are judged as `gen` would.
   * With `roots`: the SANs clients use, node names and the Kubernetes release.
   */
  readonly plan?: Plan;
  /** For `roots`: the node's name (checks `system:node:<name>` and etcd member identities). */
  readonly node?: string;
  /** The cluster's Kubernetes release (`1.20.2`, `v1.29`): identities changed in 1.29. Else the plan's, else found in the trees. */
  readonly kubernetesVersion?: string;
  /** For `roots`: CA certificate files to check chains against (a kubeadm worker has no ca.crt of its own). */
  readonly cas?: readonly string[];
  readonly thresholds?: Partial<Thresholds>;
  readonly now?: Date;
  /** Live TLS probes: `true` for every server the plan implies, or `host:port` strings. */
  readonly probe?: boolean | readonly string[];
  readonly probeTimeoutMs?: number;
  readonly probeConcurrency?: number;
  /** `false`: read every file of an `out` store, whatever its record (pki/record) says (`--no-cache`). */
  readonly useRecord?: boolean;
  /** For `roots`: where they are read from (default: this host's disk). */
  readonly reader?: HostReader;
  /** For `roots`: walk into other file systems mounted inside them too (never /proc, /sys). */
  readonly crossMounts?: boolean;
  /** With `out` and `plan`: audit each node's files as its host holds them, read over SSH (`--remote`). */
  readonly remote?: RemoteOptions;
}

/** An unfinished rotation, with the command that takes it on. */
function rotationFinding(r: Rotation, out: string): Finding {
  const cmd = r.target === 'sa' ? 'kpki sa rotate' : `kpki ca rotate ${r.target}`;
  const next = nextPhase(r);
  const what = r.done
    ? `rotation of ${r.target}: phase ${r.phase} done ${r.phaseStarted.slice(0, 10)}; once every node runs with its files: ${cmd} --plan <your plan> --out ${out} (phase ${next})`
    : `rotation of ${r.target}: phase ${r.phase} was interrupted; complete it: ${cmd} --plan <your plan> --out ${out}`;
  return finding('rotation-in-progress', rotationPath(r.target), what, r.target);
}

/** Which tree a store-relative path is in: the store, or `nodes/<name>`. */
function storeTree(file: string): TreeInfo {
  const m = /^nodes\/([^/]+)\//.exec(file);
  return m ? { tree: `nodes/${m[1]}`, node: m[1]! } : { tree: 'pki' };
}

async function outInput(out: string, plan: Plan | undefined, useRecord: boolean, remote?: RemoteOptions): Promise<{ input: AuditInput; record: { use: RecordUse; kubernetesVersion?: string }; remoteFindings?: Finding[] }> {
  const stored = await diskSink(out).observe(['pki', 'nodes']);
  // --remote: the node trees as the hosts hold them (the store's record describes the store's copies, so it is not used).
  // Loaded only for --remote, as the probes are for --probe.
  const fromHosts = remote && plan ? await (await import('./remote.js')).readRemote(plan, stored.files, remote) : undefined;
  const obs = fromHosts ? { ...stored, files: fromHosts.files } : stored;
  if (fromHosts) useRecord = false;
  if (!obs.dirs.has('pki') && !obs.dirs.has('nodes')) {
    throw new KpkiError('ERR_IO', `${out} holds no kpki store (no pki/ or nodes/ directory); to read any other directory, pass it as a path: kpki check ${out}`);
  }
  const record = readRecord(obs.files.get(RECORD_PATH), { bypass: !useRecord });
  let pki: ResolvedPki | undefined;
  if (plan) {
    // The same init node gen would choose, so super-admin.conf is expected where gen keeps it.
    const initNode = chooseInitNode(plan, record.initNode, (p) => obs.files.has(p));
    pki = resolve({ ...plan, initNode });
  }
  // A rotation in progress: judged as its phase renders the trees, and named with its next step.
  const rotations = readRotations(obs, out);
  const rotationFindings = [...rotations.values()].map((r) => rotationFinding(r, out));
  const view = pki && rotations.size ? rotationView(pki, rotations.values()) : undefined;
  const input: AuditInput = {
    ...(rotationFindings.length ? { findings: rotationFindings } : {}),
    ...(view ? { rotation: { seenAs: view.seenAs, bundles: view.bundles } } : {}),
    files: obs.files,
    roots: [out],
    treeOf: storeTree,
    resolveRef: (kubeconfig, ref) => {
      const { tree } = storeTree(kubeconfig);
      return ref.startsWith('/') ? `${tree}/${ref.replace(/^\/+/, '')}` : posix.join(posix.dirname(kubeconfig), ref);
    },
    ...(plan ? { readings: { get: (k: string) => record.reading(k) } } : {}),
    facts: { get: (k) => record.facts(k) },
    ...(pki ? { plan: { pki, source: plan!.source } } : {}),
  };
  return { input, record: { use: fromHosts ? { used: false, why: 'the node trees were read from the hosts (--remote)' } : record.use, ...(record.kubernetesVersion ? { kubernetesVersion: record.kubernetesVersion } : {}) }, ...(fromHosts ? { remoteFindings: fromHosts.findings } : {}) };
}

/** `--ca` files: certificates added to what is read, as trust anchors for the chains. */
async function readAnchors(reader: HostReader, paths: readonly string[]): Promise<Map<string, ObservedFile>> {
  const found = await reader.read(paths);
  const out = new Map<string, ObservedFile>();
  for (const p of paths) {
    const f = found.get(p);
    if (f?.content === undefined) throw new KpkiError('ERR_IO', `--ca ${p}: cannot read it (${f?.error ?? 'no such file'})`);
    if (!f.content.includes('-----BEGIN CERTIFICATE-----')) throw new KpkiError('ERR_IO', `--ca ${p}: no PEM certificate in it`);
    out.set(p, { mode: 0o644, content: f.content });
  }
  return out;
}

async function rootsInput(roots: readonly string[], node: string | undefined, options: Pick<CheckOptions, 'reader' | 'crossMounts' | 'plan' | 'cas'>): Promise<AuditInput> {
  const reader = options.reader ?? diskHostReader();
  const plan = options.plan;
  const { files, findings } = await observeRoots(reader, roots, { crossMounts: options.crossMounts ?? false });
  for (const [p, f] of await readAnchors(reader, options.cas ?? [])) if (!files.has(p)) files.set(p, f);
  const refs = await readReferenced(reader, files, roots);
  const trimmed = roots.map((r) => r.replace(/\/+$/, '') || '/');
  // With a plan, a tree named after one of its nodes (out/nodes/worker-1) is that node's.
  const planNode = (root: string | undefined) => (root !== undefined && plan?.nodes.some((n) => n.name === basename(root)) ? basename(root) : undefined);
  return {
    files,
    roots,
    treeOf: (file) => {
      const root = trimmed.filter((r) => file === r || file.startsWith(r === '/' ? '/' : `${r}/`)).sort((a, b) => b.length - a.length)[0];
      const name = node ?? planNode(root);
      return { tree: root ?? dirname(file), ...(name ? { node: name } : {}) };
    },
    resolveRef: (kubeconfig, ref) => refs.get(`${kubeconfig}\0${ref}`) ?? join(dirname(kubeconfig), ref),
    ...(plan ? { reference: { plan, source: plan.source } } : {}),
    ...(findings.length ? { findings } : {}),
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
  // Servers named by hand are an audit of their own (served chain, expiry, hostname).
  const namedServers = Array.isArray(options.probe) && options.probe.length > 0;
  if (!options.out && !options.roots?.length && !namedServers) throw new KpkiError('ERR_IO', 'nothing to check: give a directory, --out or --probe host:port');
  if (options.out && options.roots?.length) throw new KpkiError('ERR_IO', 'give either --out (a kpki store) or directories, not both');
  if (options.remote && !(options.out && options.plan)) throw new KpkiError('ERR_IO', '--remote compares the hosts with a store: give --out and --plan (nodes[].ssh says how to reach each node)');
  if (options.cas?.length && options.out) throw new KpkiError('ERR_IO', '--ca adds trust anchors to directories given as paths; with --out the store\'s own CAs are used');
  // Node fires a timer longer than 2^31-1 ms after 1 ms: every probe would read as unreachable.
  const timeout = options.probeTimeoutMs;
  if (timeout !== undefined && !(timeout > 0 && timeout <= 2 ** 31 - 1)) {
    throw new KpkiError('ERR_BAD_ARGUMENT', `probe timeout ${timeout} ms: must be more than 0 and at most ${2 ** 31 - 1} ms (about 24.8 days)`);
  }
  // A file given as `out`: the one sentence gen says for it, not an errno from the walk.
  if (options.out) checkOutDir(options.out, { write: false });
  const { input: base, record, remoteFindings } = options.out
    ? await outInput(options.out, options.plan, options.useRecord ?? true, options.remote)
    : { input: await rootsInput(options.roots ?? [], options.node, options), record: undefined, remoteFindings: undefined };
  const version = await resolveVersion({
    reader: options.reader ?? diskHostReader(),
    ...(options.kubernetesVersion !== undefined ? { flag: options.kubernetesVersion } : {}), ...(options.plan ? { plan: options.plan } : {}),
    ...(record?.kubernetesVersion ? { recorded: record.kubernetesVersion } : {}), roots: options.out ? [] : options.roots ?? [],
  });
  const input: AuditInput = version ? { ...base, version } : base;
  // With a plan, gen's renewBefore is the warning window unless one is given: a leaf check
  // warns about is then exactly a leaf gen would reissue.
  const planWarn = input.plan?.pki.plan.pki.renewBeforeMs;
  const thresholds: Thresholds = {
    critMs: options.thresholds?.critMs ?? DEFAULT_THRESHOLDS.critMs,
    warnMs: options.thresholds?.warnMs ?? planWarn ?? DEFAULT_THRESHOLDS.warnMs,
  };
  const extraFindings = options.probe ? await probeFindings(options, input, now) : [];
  if (remoteFindings) extraFindings.push(...remoteFindings);
  // A store another user could change: gen refuses it; check warns.
  if (options.out) extraFindings.push(...storeProblems(options.out, { byOwner: true }).map((p) => finding('store-permissions', p.file, `${p.path} ${p.problem}`)));
  const report = audit(input, { now, thresholds, extraFindings });
  // An audit says what it trusted: whether unchanged leaves were judged from the store's record.
  return record ? { ...report, record: record.use } : report;
}
