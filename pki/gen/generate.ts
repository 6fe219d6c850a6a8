/**
 * `generate`: plan in, file set out. observe (a sink reads what is there) → decide (findings
 * per credential, pure) → issue (keys and signatures) → render (the wanted file set) → plan
 * the changes (pure) → apply them through the sink, and report all of it. The CLI's sink is
 * a directory; `generateFiles` runs the same pipeline in memory.
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { planChanges } from '../sinks/changes.js';
import { resolve, selectNodes, type ResolvedPki } from '../catalog/resolve.js';
import type { CaId } from '../catalog/types.js';
import type { Deps } from '../deps.js';
import { KpkiError, PemError } from '../errors.js';
import { renderFiles, type Credentials } from '../issue/files.js';
import { JOIN_PATH, readJoinSecrets, serialiseJoinSecrets, type JoinSecrets } from '../kubeadm/join-secrets.js';
import { kubeadmConfigs } from '../kubeadm/config.js';
import { rbacManifests } from '../issue/rbac.js';
import { refusalOf, type Finding } from '../findings.js';
import { issueAll, keptCredential, type Issued } from '../issue/credentials.js';
import { bootstrapToken, caCertHash, certificateKey } from '../kubeadm/join.js';
import { chooseInitNode, nodeRoot, readThroughLayouts, storeCaPaths, whyNotWanted } from '../layout/layout.js';
import type { Plan } from '../plan/types.js';
import { decide, type Decisions, type RenewRequest } from '../decide/decide.js';
import { clockWarning } from '../assess/policy.js';
import { diskSink } from '../sinks/disk.js';
import { memorySink, type MemoryFile } from '../sinks/memory.js';
import type { Applied, ChangeSet, Observation, ObservedFile, Sink, WantedFile } from '../sinks/types.js';
import { certFacts } from '../store/readings.js';
import { readRecord, RECORD_PATH, type StoreFacts, type StoreRecord } from '../store/record.js';
import { textDigest } from '../sinks/digest.js';
import { rememberWritten, storeFactsOf } from '../store/remember.js';
import { AsFoundFile, KeptText } from '../sinks/as-found.js';
import { acquireStoreLock, describeHolder, storeLockHolder, type LockHolder } from '../store/lock.js';
import { checkOutDir } from '../store/out-dir.js';
import { generateKey, keyAlgorithmOf, publicKeyPem, spkiOf } from '../x509/keys.js';
import { extendCaCert } from '../issue/extend.js';
import { ROTATION_DIR, readRotations, rotationPath, serialiseRotation, type Rotation, type RotationTarget } from '../rotate/state.js';
import { rotationView, storeDrift, type RotateRequest } from '../rotate/phases.js';
import { beginPhase } from '../rotate/begin.js';
import { nodeMatcher } from '../catalog/resolve.js';
import { CAS } from '../catalog/entries.js';
import { signingCaPath } from '../layout/layout.js';
import { readLeaf } from '../observe/leaf.js';
import type { KeyAlgorithm } from '../plan/types.js';

export type Action = 'keep' | 'create' | 'issue' | 'rewrite';

export interface ReportItem {
  /** `ca`, `sa`, or `<id>@<node>`. */
  readonly ref: string;
  readonly id: string;
  readonly kind: 'ca' | 'keypair' | 'cert' | 'kubeconfig';
  readonly node?: string;
  readonly cn?: string;
  readonly o?: readonly string[];
  readonly signer?: CaId;
  /** Leaves to be issued: the SANs they will carry. */
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  /** ISO 8601. For a dry run's new leaves, the NotAfter they would get. */
  readonly notAfter?: string;
  readonly action: Action;
  readonly reasons: readonly string[];
}

export interface GenerateReport {
  readonly dryRun: boolean;
  /** Where the files went: the output directory, or `memory`. */
  readonly out: string;
  readonly items: readonly ReportItem[];
  /** Every file created, replaced, removed or re-moded (in a dry run: that would be). */
  readonly files: readonly Applied[];
  /** `sha256:<hex>` of the Kubernetes CA's public key, for `kubeadm join`; absent when not yet created. */
  readonly caCertHash?: string;
  /** The init node: where super-admin.conf lives. */
  readonly initNode?: string;
  readonly warnings: readonly string[];
  /** Plan changes gen does not carry out (CA subject, lifetime or key type; the SA key type), with the command that does. */
  readonly unapplied: readonly string[];
  /** Every finding behind the decisions. */
  readonly findings: readonly Finding[];
  /** False when the run changed (or, dry, would change) nothing. */
  readonly changed: boolean;
  /** With `extend`: each CA's NotAfter before and after (ISO 8601) and `sha256:` over its (unchanged) public key. */
  readonly extended?: ReadonlyArray<{ readonly ca: CaId; readonly previousNotAfter: string; readonly notAfter: string; readonly publicKeyHash: string }>;
  /** With `rotate`: the phase this run carried out (in a dry run: would carry out). */
  readonly rotated?: RotatedPhase;
  /** Rotations in progress in the store (after this run), by target and recorded phase. */
  readonly rotations?: ReadonlyArray<{ readonly target: RotationTarget; readonly phase: Rotation['phase']; readonly done: boolean }>;
}

/** A rotation phase as reported: the record without its secret (the new key stays in the store). */
export interface RotatedPhase {
  readonly target: RotationTarget;
  readonly phase: Rotation['phase'];
  readonly done: boolean;
  readonly started: string;
  /** A CA's: the old and new certificates (public), for the discovery hashes. */
  readonly oldCertPem?: string;
  readonly newCertPem?: string;
}

const rotatedPhase = (r: Rotation): RotatedPhase => ({
  target: r.target, phase: r.phase, done: r.done, started: r.started,
  ...(r.kind === 'ca' ? { oldCertPem: r.oldCertPem, newCertPem: r.newCertPem } : {}),
});

export interface GenerateOptions {
  /** Output directory: the cluster store plus `nodes/<name>/` trees. */
  readonly out: string;
  /** Where the files go instead of `out` on disk (e.g. a memory sink). */
  readonly sink?: Sink;
  readonly dryRun?: boolean;
  /** Also remove the trees of nodes that are no longer in the plan (backed up first). */
  readonly prune?: boolean;
  readonly deps?: Partial<Deps>;
  /** Called as certificates are signed (`issue`) and files written (`write`): done of total. */
  readonly onProgress?: (phase: 'issue' | 'write', done: number, total: number) => void;
  /** How long a real run waits for another process holding the store's lock; default 60 s. */
  readonly lockTimeoutMs?: number;
  /** Called once when the store is locked by a live process and this run starts waiting. */
  readonly onLockWait?: (holder: LockHolder) => void;
  /**
   * Renewal (`kpki renew`, pki/renew/): the same run, with the leaves the request selects
   * issued again. A store without its CAs is refused: renewal never creates a CA.
   */
  readonly renew?: RenewRequest;
  /**
   * CA extension (`kpki ca extend`): the CA re-signed by its own key until `notAfter`, decided
   * on as if found so (so kubeconfigs embedding it are rewritten), and its store certificate,
   * protected from gen, replaced (backed up). The CA key is never written.
   */
  readonly extend?: { readonly cas: readonly CaId[]; readonly notAfter: Date };
  /**
   * Rotation (`kpki ca rotate`, `kpki sa rotate`): one phase, recorded in the store before any
   * other file is written (rotate/state.ts). Without it, a rotation in progress is still
   * honoured: every run renders the trees as the recorded phase wants them.
   */
  readonly rotate?: RotateRequest;
}

export function defaultDeps(): Deps {
  return {
    now: () => new Date(),
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    generateKey,
  };
}

/** How to extend a CA in place: `kpki ca extend` (same key and subject, so every leaf stays valid). */
const extendHint = (out: string, id: string) =>
  `extend it with its own key (same subject and key, so every leaf stays valid): kpki ca extend ${id} --plan <your plan> --out ${out}; then run kpki gen again`;

/**
 * The error for findings gen will not run with: the first one's code (so the exit status says
 * why), every such finding's sentence. An expired or not yet valid CA says how to extend it.
 */
function refusalError(refusals: readonly Finding[], pki: ResolvedPki, where: string): KpkiError {
  const code = refusalOf(refusals[0]!)!;
  const same = refusals.filter((f) => refusalOf(f) === code);
  const caId = (ref: string | undefined) => pki.cas.find((c) => c.ref === ref)?.ref ?? 'ca';
  const sentence = (f: Finding) =>
    f.code === 'ca-expired' || f.code === 'ca-not-yet-valid'
      ? `${where}/${f.file}: ${f.message}; kpki will not issue from it. To ${extendHint(where, caId(f.ref)).replace(/^extend/, 'fix it, extend')}`
      : code === 'ERR_PEM_INVALID' ? `${f.file}: ${f.message}`
      : f.code === 'ca-external' ? `${where}/${f.file} has no key beside it, so kpki cannot sign with ${caId(f.ref)}. If it signs elsewhere (an external CA, its key kept off this machine): kpki csr --plan <your plan> --out ${where} writes a key and a request for each of its leaves, kpki import --plan <your plan> --out ${where} FILE... places the signed certificates. Otherwise restore ${f.file.replace(/\.crt$/, '.key')} or move ${f.file} away`
      : f.code === 'sa-mismatch' ? `${where}/${f.file}: ${f.message}; a new pair would invalidate every service-account token: restore the pair (backup/ keeps earlier versions)`
      : f.message;
  const message = same.map(sentence).join('\n');
  return code === 'ERR_PEM_INVALID' && same.length === 1 ? new PemError(same[0]!.file, same[0]!.message) : new KpkiError(code, message);
}

function reportItems(pki: ResolvedPki, d: Decisions, issued: Issued | undefined, now: Date): ReportItem[] {
  const iso = (date?: Date) => date?.toISOString();
  const items: ReportItem[] = [];
  for (const c of d.cas) {
    if (c.action === 'refuse') continue; // gen stops on a refusal before it reports
    const notAfter = issued?.cas.get(c.item.ref)?.notAfter ?? (c.action === 'keep' ? c.existing.cert.notAfter : undefined);
    items.push({
      ref: c.item.ref, id: c.item.ref, kind: 'ca', cn: c.item.profile.cn, o: [], notAfter: iso(notAfter),
      action: c.action, reasons: c.action === 'create' ? c.reasons : c.findings.map((f) => f.message),
    });
  }
  for (const k of d.keypairs) {
    if (k.action === 'refuse') continue;
    items.push({ ref: k.item.ref, id: k.item.ref, kind: 'keypair', action: k.action, reasons: k.action === 'create' ? k.reasons : [] });
  }
  const caNotAfter = new Map(d.cas.map((c) => [c.item.ref, c.action === 'keep' ? c.existing.cert.notAfter.getTime() : now.getTime() + pki.plan.pki.caValidityMs]));
  for (const l of d.leaves) {
    const planned = new Date(Math.min(now.getTime() + pki.plan.pki.certValidityMs, caNotAfter.get(l.item.signer)!));
    const notAfter = issued?.leaves.get(l.item.ref)?.notAfter ?? (l.action !== 'issue' ? l.existing.cert.notAfter : planned);
    items.push({
      ref: l.item.ref, id: l.item.entry.id, kind: l.item.kind, node: l.item.node.name,
      cn: l.item.profile.cn, o: l.item.profile.o, signer: l.item.signer,
      ...(l.action === 'issue' ? { dns: l.item.profile.dns, ips: l.item.profile.ips } : {}),
      notAfter: iso(notAfter), action: l.action, reasons: l.action === 'keep' ? [] : l.reasons,
    });
  }
  return items;
}

function hashOfCa(pem: string | undefined): string | undefined {
  if (pem === undefined) return undefined;
  return caCertHash(createPublicKey(pem).export({ type: 'spki', format: 'der' }));
}

/** The credentials a dry run already knows: everything kept. */
function keptCredentials(d: Decisions): Credentials {
  return {
    cas: new Map(d.cas.flatMap((c) => (c.action === 'keep' ? [[c.item.ref, { certPem: c.existing.cert.pem, keyPem: c.existing.keyPem }] as const] : []))),
    keypairs: new Map(d.keypairs.flatMap((k) => (k.action === 'keep' ? [[k.item.ref, { keyPem: k.keyPem, pubPem: k.pubPem ?? publicKeyPem(createPrivateKey(k.keyPem)) }] as const] : []))),
    leaves: new Map(d.leaves.flatMap((l) => (l.action !== 'issue' ? [[l.item.ref, keptCredential(l)] as const] : []))),
  };
}

const dryApplied = (set: ChangeSet): Applied[] =>
  set.changes.map((c) =>
    c.op === 'remove' ? { path: c.path, action: 'removed', reason: c.reason }
    : c.op === 'chmod' ? { path: c.path, action: 'chmod', reason: `mode ${c.from.toString(8)} → ${c.mode.toString(8)}` }
    : { path: c.path, action: c.op === 'create' ? 'created' : 'updated' },
  );

/**
 * Bookkeeping, after decide, issue and render: the record's lines for the next run (store/
 * record.ts). Leaves issued now are remembered as they are written (read back once, here);
 * kept leaves decide read in full and verified, from what it learned; remembered ones carry
 * over. Returns the keys of every leaf in use: the record keeps those and drops the rest.
 */
function remember(pki: ResolvedPki, d: Decisions, issued: Issued, wanted: readonly WantedFile[], record: StoreRecord, trust: ReadonlyMap<string, string>): string[] {
  // The wanted files themselves: their content is looked at for issued leaves only (a kept
  // file's content may not even have been read).
  const byPath = new Map(wanted.map((f) => [f.path, f]));
  const keys: string[] = [];
  for (const l of d.leaves) {
    if (l.action !== 'issue') {
      const key = l.existing.readingKey;
      if (l.action !== 'keep' || key === undefined) continue;
      const learned = l.existing.learned;
      if (learned) record.set(key, learned.reading, certFacts(l.existing.cert, learned.reading));
      keys.push(key);
      continue;
    }
    const embedded = trust.get(l.item.signer);
    const key = rememberWritten(l.item, issued.leaves.get(l.item.ref)!.certPem, issued.cas.get(l.item.signer)!.certPem, byPath, record, pki.plan, embedded);
    if (key !== undefined) keys.push(key);
  }
  return keys;
}

/**
 * A rotation's issue phase with `--reuse-keys`: each leaf of those CAs that is issued again signs
 * its current key, when that key is readable and of the plan's type (else a new one, as gen would).
 */
function reusingKeys(d: Decisions, obs: Observation, cas: ReadonlySet<CaId>, alg: KeyAlgorithm): Decisions {
  const leaves = d.leaves.map((l) => {
    if (l.action !== 'issue' || l.kept !== undefined || !cas.has(l.item.signer)) return l;
    const keyPem = readLeaf(l.item, obs).keyPem;
    if (keyPem === undefined) return l;
    let spkiDer: Uint8Array;
    try {
      const key = createPrivateKey(keyPem);
      if (keyAlgorithmOf(key) !== alg) return l;
      spkiDer = spkiOf(key); // from the key itself: the leaf is reissued, its old certificate proves nothing
    } catch {
      return l;
    }
    return { ...l, kept: { keyPem, spkiDer }, reasons: [...l.reasons, 'same key'] };
  });
  return { ...d, leaves };
}

/** The observation with one file's content replaced (what decide reads; the planner still sees the disk). */
function withFile(observed: Observation, path: string, content: string): Observation {
  const files = new Map(observed.files);
  files.set(path, { ...observed.files.get(path)!, content, digest: textDigest(content) });
  return { ...observed, files };
}

/** The record file: as found when nothing changed (compared by digest, not rendered again), else rendered. */
function recordFile(record: StoreRecord, found: ObservedFile | undefined, store: StoreFacts, keys: readonly string[]): WantedFile {
  if (found && record.unchangedFor(store, keys)) return new AsFoundFile(RECORD_PATH, 0o600, new KeptText(found, RECORD_PATH), false, true);
  return { path: RECORD_PATH, mode: 0o600, content: record.render(store, keys), protected: false, bookkeeping: true };
}

/**
 * The change that records a rotation phase: before the phase, the record with `done: false`;
 * after (`finished`), `done: true`, or for finalize and abort the record removed (backed up).
 */
function recordChange(r: Rotation, observed: Observation, root: string, finished = false): ChangeSet {
  const path = rotationPath(r.target);
  if (finished && (r.phase === 'finalize' || r.phase === 'abort')) {
    const gone = !observed.files.has(path);
    return { changes: gone ? [] : [{ op: 'remove', path, reason: `the rotation of ${r.target} ended (${r.phase})` }], dirs: new Map(), dirDrift: new Map(), emptyDirs: [ROTATION_DIR] };
  }
  const file: WantedFile = { path, mode: 0o600, content: serialiseRotation(finished ? { ...r, done: true } : r), protected: false, bookkeeping: true };
  // Only its own directory: the planner would judge pki/ by this one file.
  return { ...planChanges([file], observed, { exact: [], whyRemoved: () => '', root }), dirs: new Map([[ROTATION_DIR, 0o700]]), dirDrift: new Map(), emptyDirs: [] };
}

/**
 * kube-controller-manager's single signing-CA file (layout.ts signingCaPath) on every node that
 * holds ca.key: written while the Kubernetes CA rotates, and kept current afterwards wherever it
 * is found (a manifest may still point at it).
 */
function signingFiles(pki: ResolvedPki, observed: Observation, rotating: boolean, caPem: string | undefined): WantedFile[] {
  const entry = CAS.find((c) => c.id === 'ca')!;
  const matches = nodeMatcher(pki.plan);
  const rel = signingCaPath(pki.plan);
  return pki.plan.nodes.flatMap((n) => {
    const path = `${nodeRoot(n.name)}/${rel}`;
    if (!matches(n, entry.keyOn) || !(rotating || observed.files.has(path))) return [];
    return [{ path, mode: 0o644, content: caPem, protected: false }];
  });
}

/** kpki's own bookkeeping in the store: written when it changes, never reported as a change. */
const BOOKKEEPING = new Set([RECORD_PATH]);

/** The RBAC bindings a binary install applies once (`kubectl apply -f`), written by gen. */
export const RBAC_PATH = 'pki/rbac.yaml';

/** The store's join secrets, or new ones (from the injected randomness) and the file that keeps them. */
function joinSecrets(observed: Observation, where: string, deps: Deps): { secrets: JoinSecrets; file: WantedFile } {
  const found = observed.files.get(JOIN_PATH);
  const secrets = found ? readJoinSecrets(found, `${where}/${JOIN_PATH}`) : { token: bootstrapToken(deps.randomBytes), certificateKey: certificateKey(deps.randomBytes) };
  // Kept byte for byte once written: protected, like the CAs.
  return { secrets, file: { path: JOIN_PATH, mode: 0o600, content: found?.content ?? serialiseJoinSecrets(secrets), protected: true } };
}

/**
 * On disk, `--out` is checked first (an unusable one is refused before anything is touched),
 * and a real run holds the store's lock for its whole read-decide-write cycle, so concurrent
 * runs take turns instead of replacing each other's CAs. A dry run only reads: it does not
 * wait, but says when another run holds the lock. A caller-supplied sink brings its own rules.
 */
export async function generate(plan: Plan, options: GenerateOptions): Promise<GenerateReport> {
  if (options.sink) return generateLocked(plan, options, options.sink);
  checkOutDir(options.out, { write: !options.dryRun });
  const notes: string[] = [];
  if (options.dryRun) {
    const holder = storeLockHolder(options.out);
    if (holder) notes.push(`the store is locked by ${describeHolder(holder)}; what it writes may change this plan`);
  }
  const release = options.dryRun
    ? undefined
    : await acquireStoreLock(options.out, {
        waitMs: options.lockTimeoutMs,
        onWait: options.onLockWait,
        command: options.renew ? 'kpki renew' : options.extend ? 'kpki ca extend' : options.rotate ? `kpki ${options.rotate.target === 'sa' ? 'sa' : 'ca'} rotate` : 'kpki gen',
        onTakeover: (stale, why) =>
          notes.push(`took over a stale store lock${stale ? ` left by ${describeHolder(stale)}` : ''}: ${why}`),
      });
  try {
    const report = await generateLocked(plan, options, diskSink(options.out));
    return notes.length ? { ...report, warnings: [...notes, ...report.warnings] } : report;
  } finally {
    release?.();
  }
}

async function generateLocked(plan: Plan, options: GenerateOptions, sink: Sink): Promise<GenerateReport> {
  const deps: Deps = { ...defaultDeps(), ...options.deps };
  const now = deps.now();

  // observe
  const observed = await sink.observe(['pki', 'nodes']);
  const record = readRecord(observed.files.get(RECORD_PATH));
  const initNode = chooseInitNode(plan, record.initNode, (p) => observed.files.has(p));
  const pki = resolve({ ...plan, initNode });

  // A CA extension is decided on as found after it: the new certificates in the store's place.
  const extend = options.extend;
  const extended = extend ? await Promise.all(pki.cas.filter((c) => extend.cas.includes(c.ref)).map((c) => extendCaCert(c, observed, extend.notAfter, deps, sink.name))) : [];
  // Rotations: the records found, and the phase a request runs, recorded before anything else.
  const backupStamp = now.toISOString().replace(/[:.]/g, '-');
  const rotations = readRotations(observed, sink.name);
  let rotated: Rotation | undefined;
  const rotatingExtended = extend?.cas.find((c) => rotations.has(c));
  if (rotatingExtended) throw new KpkiError('ERR_USAGE', `${sink.name}: ${rotatingExtended} is being rotated (${sink.name}/${rotationPath(rotatingExtended)}); finish the rotation (kpki ca rotate ${rotatingExtended}) or abort it before extending it`);
  if (options.rotate) {
    rotated = await beginPhase(pki, observed, rotations.get(options.rotate.target), options.rotate, deps, sink.name);
    rotations.set(rotated.target, rotated);
    if (options.rotate.reuseKeys && rotated.kind === 'ca' && rotated.phase === 'issue' && !rotated.reuseKeys) rotations.set(rotated.target, (rotated = { ...rotated, reuseKeys: true }));
  }
  for (const r of rotations.values()) {
    const drift = storeDrift(pki, r, observed, sink.name);
    if (drift) throw new KpkiError('ERR_STORE_CONFLICT', drift);
  }
  const view = rotationView(pki, rotations.values());
  const seen = [...view.seenAs].reduce((obs, [path, text]) => withFile(obs, path, text), extended.reduce((obs, e) => withFile(obs, e.crtFile, e.pem), observed));

  // observe → assess → decide (a leaf found under another layout's names is kept, and moved)
  const readable = readThroughLayouts(pki, seen);
  const decided = decide(pki, readable, now, { readings: { get: (k) => record.reading(k) } }, { renew: options.renew, trust: view.bundles });
  const decisions = view.reuseKeys.size ? reusingKeys(decided, readable, view.reuseKeys, pki.plan.pki.keyAlgorithm) : decided;
  if (decisions.refusals.length) throw refusalError(decisions.refusals, pki, sink.name);
  const absentCa = options.renew && decisions.cas.find((c) => c.action === 'create');
  if (absentCa) {
    throw new KpkiError('ERR_CA_MISSING', `${sink.name}/${storeCaPaths(absentCa.item.entry.stem).crt}: missing; renewal signs with the store's CAs and never creates one (kpki gen makes a new PKI)`);
  }
  const planned = new Set(plan.nodes.map((n) => n.name));
  const gone = observed.nodes.filter((n) => !planned.has(n));
  const clock = clockWarning(now);
  const warnings = [
    ...(clock ? [clock] : []),
    ...decisions.findings.filter((f) => f.code === 'ca-expiring').map((f) => `${f.message}: ${extendHint(sink.name, pki.cas.find((c) => c.ref === f.ref)!.ref)}`),
    // Never deleted unless asked: the host may still run with these credentials.
    ...(options.prune ? [] : gone.map((n) => `${nodeRoot(n)} is not in the plan any more; its files were left as they are (--prune removes them)`)),
  ];
  const unapplied = decisions.findings.filter((f) => f.code === 'ca-plan-drift').map((f) => `${f.message}; ${f.ref === 'sa' ? 'a new key pair without breaking tokens: kpki sa rotate' : `a CA change needs kpki ca rotate ${f.ref ?? 'ca'}`} (its phases apply the plan's subject, lifetime and key type)`);

  // issue and render (a dry run renders what it already knows)
  let issued: Issued | undefined;
  let creds: Credentials;
  if (options.dryRun) creds = keptCredentials(decisions);
  else {
    const progress = options.onProgress;
    creds = issued = await issueAll(pki, decisions, deps, progress && ((d, t) => progress('issue', d, t)));
  }
  const join = plan.deploy === 'kubeadm' ? joinSecrets(observed, sink.name, deps) : undefined;
  const caPem = creds.cas.get('ca')?.certPem;
  const configs = join && caPem !== undefined ? kubeadmConfigs(pki.plan, { token: join.secrets.token, caCertHash: caCertHash(caPem) }) : undefined;
  const rendered = renderFiles(pki, creds, (_id, node) => configs?.get(node), view);
  // A rotation keeps the store's old CA (or key) until finalize, then replaces it (backed up).
  const wanted: WantedFile[] = rendered.flatMap((w) => view.keepStore.has(w.path) ? [] : view.replaceStore.has(w.path) ? [{ ...w, protected: false }] : [w]);
  wanted.push(...signingFiles(pki, observed, view.signingFile, creds.cas.get('ca')?.certPem));
  if (join) wanted.push(join.file);
  // Binary installs: the bindings kubeadm would have made (kubeadm:cluster-admins), to apply with super-admin.conf.
  const rbac = plan.deploy === 'binary' ? rbacManifests(pki.plan) : '';
  if (rbac) wanted.push({ path: RBAC_PATH, mode: 0o644, content: rbac, protected: false });
  // The one deliberate replacement of a CA certificate (its key is kept byte for byte).
  const replaced = new Set(extended.map((e) => e.crtFile));
  if (replaced.size) wanted.forEach((w, i) => replaced.has(w.path) && (wanted[i] = { ...w, protected: false }));
  const chosenInit = selectNodes(pki.plan, 'init-node')[0]?.name;
  // bookkeeping: what the next run needs to skip reading unchanged leaves (a dry run writes nothing)
  if (issued) {
    wanted.push(recordFile(record, observed.files.get(RECORD_PATH), storeFactsOf(pki.plan), remember(pki, decisions, issued, wanted, record, view.bundles)));
  }

  // plan the changes, then apply them
  const changes = planChanges(wanted, observed, {
    exact: [...plan.nodes.map((n) => nodeRoot(n.name)), ...(options.prune ? gone.map(nodeRoot) : [])],
    whyRemoved: (p) => whyNotWanted(pki.plan, p),
    root: sink.name,
  });
  // A rotation phase: its record, with every file it is about to write, goes first.
  if (rotated && !options.dryRun) {
    const paths = changes.changes.filter((c) => c.op !== 'chmod').map((c) => c.path);
    rotated = { ...rotated, planned: [...new Set([...(rotated.planned ?? []), ...paths])] };
    await sink.apply(recordChange(rotated, observed, sink.name), { backupStamp });
  }
  const files = options.dryRun
    ? dryApplied(changes)
    : await sink.apply(changes, {
        backupStamp,
        onProgress: options.onProgress && ((d, t) => options.onProgress!('write', d, t)),
      });
  // The phase's files are in place: the record says so (a finished rotation's record goes to backup/).
  if (rotated && !options.dryRun) {
    const after = await sink.observe([ROTATION_DIR]);
    await sink.apply(recordChange(rotated, after, sink.name, true), { backupStamp });
    if (rotated.phase === 'finalize' || rotated.phase === 'abort') rotations.delete(rotated.target);
    else rotations.set(rotated.target, (rotated = { ...rotated, done: true }));
  }
  const ca = decisions.cas.find((c) => c.item.ref === 'ca');
  const visible = [
    ...files.filter((f) => !BOOKKEEPING.has(f.path)),
    ...[...changes.dirDrift].map(([dir, from]): Applied => ({ path: `${dir}/`, action: 'chmod', reason: `mode ${from.toString(8)} → ${changes.dirs.get(dir)!.toString(8)}` })),
  ];
  return {
    dryRun: options.dryRun ?? false, out: sink.name,
    items: reportItems(pki, decisions, issued, now),
    files: visible,
    caCertHash: hashOfCa(issued?.cas.get('ca')?.certPem ?? (ca?.action === 'keep' ? ca.existing.cert.pem : undefined)),
    initNode: chosenInit,
    warnings, unapplied, findings: decisions.findings,
    changed: visible.length > 0,
    ...(rotated ? { rotated: rotatedPhase(rotated) } : {}),
    ...(rotations.size ? { rotations: [...rotations.values()].map((r) => ({ target: r.target, phase: r.phase, done: r.done })) } : {}),
    ...(extend ? {
      extended: extended.map((e) => ({
        ca: e.ca, previousNotAfter: e.previous.notAfter.toISOString(), notAfter: e.notAfter.toISOString(), publicKeyHash: hashOfCa(e.pem)!,
      })),
    } : {}),
  };
}

/**
 * The same pipeline with no disk: plan (+ the files an installer already has) in, the whole
 * file set and the report out. What it returns equals what `generate` writes to a directory.
 */
export async function generateFiles(
  plan: Plan,
  options: { existing?: ReadonlyMap<string, MemoryFile>; deps?: Partial<Deps>; dryRun?: boolean; prune?: boolean } = {},
): Promise<{ files: Map<string, MemoryFile>; report: GenerateReport }> {
  const sink = memorySink(options.existing);
  const report = await generate(plan, { out: sink.name, sink, deps: options.deps, dryRun: options.dryRun, prune: options.prune });
  return { files: sink.files, report };
}
