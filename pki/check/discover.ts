/**
 * From observed files to credentials: every certificate (alone, with its key, in a chain
 * file, or inside a kubeconfig), every private key and public key file, and a finding for
 * every file that cannot be read as what its name says. Pure; never throws for a bad file.
 */
import { hash } from 'node:crypto';
import { finding, type Finding } from '../findings.js';
import { ownKubeconfigCaPem, readKubeconfig, type FoundKubeconfig } from '../kubeconfig/kubeconfig.js';
import type { FactsLookup } from '../store/record.js';
import { isKpkiTemp } from '../sinks/changes.js';
import { fileDigest } from '../sinks/digest.js';
import { readingKey } from '../store/readings.js';
import { KeptText } from '../sinks/as-found.js';
import type { ObservedFile } from '../sinks/types.js';
import { parseCertificate, type ParsedCert } from '../x509/parse.js';
import { parsePem } from '../x509/pem.js';
import { RememberedFacts, type CertFacts, type StoredFacts } from '../x509/facts.js';
import { readCert, type ObservedCert } from '../x509/read.js';

/** A certificate as check sees it: its text, and facts parsed now or remembered (x509/facts.ts). */
export interface CheckedCert {
  readonly pem: string;
  readonly der: Uint8Array;
  readonly parsed: CertFacts;
}

export interface Credential {
  /** The certificate's file, or the kubeconfig that embeds or references it. */
  readonly file: string;
  readonly source: 'file' | 'kubeconfig';
  /** Where the certificate itself came from (a kubeconfig's referenced file, or `file`). */
  readonly certFile: string;
  readonly cert: CheckedCert;
  readonly fingerprint: string;
  /** Further certificates in the same file (a chain: kubeadm's self-signed kubelet.crt holds its CA). */
  readonly chain: readonly ParsedCert[];
  /**
   * Set when gen recorded these exact files (pki/record): the key matched and the
   * certificate verified against the CA with this digest, so neither is checked again.
   */
  readonly remembered?: { readonly caDigest: string };
  readonly keyFile?: string;
  readonly keyPem?: string;
  readonly kubeconfig?: FoundKubeconfig;
  /** A kubeconfig's CA (embedded, or its referenced file), PEM. */
  readonly kubeconfigCaPem?: string;
}

export interface KeyFile {
  readonly file: string;
  readonly pem: string;
  readonly mode: number;
}

export interface Discovered {
  readonly creds: Credential[];
  /** Files holding a private key (standalone, combined with a certificate, or a kubeconfig embedding one). */
  readonly privateKeys: KeyFile[];
  readonly publicKeys: KeyFile[];
  readonly problems: Finding[];
}

const PRIVATE_KEY = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/;
const PUBLIC_KEY = /-----BEGIN PUBLIC KEY-----/;
const CERT = '-----BEGIN CERTIFICATE-----';
const KUBECONFIG_NAME = /\.(conf|kubeconfig)$/i;
const KEY_NAME = /\.key$/i;
/** Files check reads; others in an observed tree (pki/record, CSRs) are not credentials. */
const CANDIDATE = /\.(crt|cer|pem|key|pub)$/i;

export const fingerprintOf = (der: Uint8Array) => hash('sha256', der, 'hex');

/** The private key block of a PEM text, if it has one. */
export const privateKeyBlock = (text: string) => PRIVATE_KEY.exec(text)?.[0];

/** Names a certificate's key may have: kubeadm `x.crt`/`x.key`, cfssl `x.pem`/`x-key.pem`. */
function keyCandidates(file: string): string[] {
  if (/\.crt$/i.test(file) || /\.cer$/i.test(file)) return [file.replace(/\.(crt|cer)$/i, '.key')];
  if (/\.pem$/i.test(file)) return [file.replace(/\.pem$/i, '-key.pem'), file.replace(/\.pem$/i, '.key')];
  return [];
}

/** Options the edge provides: how a kubeconfig's path reference maps to an observed file. */
export interface DiscoverOptions {
  readonly resolveRef: (kubeconfig: string, ref: string) => string;
  /** A kpki store's certificate facts: files unchanged since gen read them are not parsed again. */
  readonly facts?: FactsLookup;
}

/** A kubeconfig kpki wrote and remembered: its certificate, key and CA decoded only if asked for. */
class RememberedKubeconfigCert implements CheckedCert {
  readonly parsed: RememberedFacts;
  #found?: FoundKubeconfig;
  constructor(private readonly text: KeptText, private readonly file: string, facts: StoredFacts) {
    this.parsed = new RememberedFacts(facts, () => readCert(this.pem, file).parsed);
  }

  found(): FoundKubeconfig {
    return (this.#found ??= readKubeconfig(this.text.text, this.file));
  }

  get pem(): string {
    return this.found().certPem!;
  }

  get der(): Uint8Array {
    return this.parsed.der;
  }
}

/** A certificate file remembered with its key: its text is read only if asked for. */
class RememberedFileCert implements CheckedCert {
  readonly parsed: RememberedFacts;
  constructor(private readonly text: KeptText, file: string, facts: StoredFacts) {
    this.parsed = new RememberedFacts(facts, () => readCert(this.pem, file).parsed);
  }

  get pem(): string {
    return this.text.text;
  }

  get der(): Uint8Array {
    return this.parsed.der;
  }
}

/** A remembered kubeconfig's private key entry: the key is decoded only if asked for. */
class RememberedKeyFile implements KeyFile {
  constructor(readonly file: string, readonly mode: number, private readonly cert: RememberedKubeconfigCert) {}
  get pem(): string {
    return this.cert.found().keyPem!;
  }
}

export function discover(files: ReadonlyMap<string, ObservedFile>, options: DiscoverOptions): Discovered {
  const creds: Credential[] = [];
  const privateKeys: KeyFile[] = [];
  const publicKeys: KeyFile[] = [];
  const problems: Finding[] = [];
  const parsed = new Map<string, ObservedCert | Error>();
  const parse = (pem: string, file: string): ObservedCert => {
    let hit = parsed.get(pem);
    if (!hit) {
      try {
        hit = readCert(pem, file);
      } catch (e) {
        hit = e as Error;
      }
      parsed.set(pem, hit);
    }
    if (hit instanceof Error) throw hit;
    return hit;
  };
  const chainOf = (text: string): ParsedCert[] => {
    if (text.indexOf(CERT) === text.lastIndexOf(CERT)) return [];
    try {
      return parsePem(text).filter((b) => b.label === 'CERTIFICATE').slice(1).map((b) => parseCertificate(b.der));
    } catch {
      return []; // the first certificate is what software reads; a damaged tail is not fatal
    }
  };
  const consumed = new Set<string>(); // files listed as part of another credential
  // ... and their contents: the kubelet's dated client file is the same bytes as the link kubelet.conf names.
  const consumedText = new Set<string>();
  const unreadable = (file: string, message: string, code: 'unreadable' | 'not-a-certificate' = 'unreadable') => problems.push(finding(code, file, message));

  const remembered = (digests: readonly (string | undefined)[]) => {
    if (!options.facts || digests.some((d) => d === undefined)) return undefined;
    const facts = options.facts.get(readingKey(digests as string[]));
    return facts && !facts.chain ? facts : undefined;
  };
  // A remembered kubeconfig's CA is found by its digest among the files the sink vouches for
  // (the store's ca.crt): the kubeconfig itself is not read.
  let byDigest: Map<string, ObservedFile> | undefined;
  const vouchedText = (digest: string | undefined): string | undefined => {
    if (digest === undefined) return undefined;
    if (!byDigest) {
      byDigest = new Map();
      for (const f of files.values()) if (f.digest !== undefined) byDigest.set(f.digest, f);
    }
    return byDigest.get(digest)?.content;
  };

  // Kubeconfigs first: the files they reference belong to them.
  for (const [file, f] of files) {
    if (!KUBECONFIG_NAME.test(file)) continue;
    const known = remembered([fileDigest(f)]);
    const knownCa = known?.kca !== undefined ? vouchedText(known.kca) ?? (f.content === undefined ? undefined : ownKubeconfigCaPem(f.content)) : undefined;
    if (known && knownCa !== undefined) {
      const cert = new RememberedKubeconfigCert(new KeptText(f, file), file, known);
      privateKeys.push(new RememberedKeyFile(file, f.mode, cert));
      creds.push({
        file, source: 'kubeconfig', certFile: file, cert, fingerprint: known.fp, chain: [], keyFile: file,
        get keyPem() { return cert.found().keyPem; },
        kubeconfigCaPem: knownCa, remembered: { caDigest: known.ca },
      });
      continue;
    }
    if (f.content === undefined) {
      unreadable(file, `cannot be read (${f.error})`);
      continue;
    }
    let k: FoundKubeconfig;
    try {
      k = readKubeconfig(f.content, file);
    } catch (e) {
      unreadable(file, (e as Error).message.replace(`${file}: `, ''));
      continue;
    }
    const ref = (r: string | undefined) => (r === undefined ? undefined : options.resolveRef(file, r));
    const certFile = ref(k.certFile) ?? file;
    const keyFile = ref(k.keyFile) ?? file;
    const caFile = ref(k.caFile);
    for (const p of [certFile, keyFile, caFile]) if (p !== undefined && p !== file) consumed.add(p);
    const refText = (p: string | undefined, what: string): string | undefined => {
      if (p === undefined || p === file) return undefined;
      const rf = files.get(p);
      if (rf?.content === undefined) unreadable(p, `${what} referenced by ${file} cannot be read (${rf?.error ?? 'missing'})`);
      return rf?.content;
    };
    const certText = k.certPem ?? refText(certFile, 'the client certificate');
    const keyText = k.keyPem ?? (keyFile === certFile && certText !== undefined && k.certPem === undefined ? certText : refText(keyFile, 'the client key'));
    const caPem = k.caPem ?? refText(caFile, 'the CA');
    if (certText === undefined) {
      if (k.certPem === undefined && k.certFile === undefined) continue; // token or exec auth: no certificate to check
      continue;
    }
    if (certFile !== file) consumedText.add(certText);
    let cert: ObservedCert;
    try {
      cert = parse(certText, certFile);
    } catch (e) {
      unreadable(certFile, `the client certificate${certFile === file ? ' embedded' : ''}: ${(e as Error).message.replace(`${certFile}: `, '')}`);
      continue;
    }
    // The key as written (kubeconfig data, a key file) hashes the same as gen recorded it; a
    // combined cert+key file gives its key block.
    const keyPem = keyText === undefined ? undefined : keyText.includes(CERT) ? privateKeyBlock(keyText) ?? keyText : keyText;
    if (keyPem !== undefined) privateKeys.push({ file: keyFile, pem: keyPem, mode: files.get(keyFile)?.mode ?? 0 });
    creds.push({
      file, source: 'kubeconfig', certFile, cert, fingerprint: fingerprintOf(cert.der), chain: chainOf(certText),
      keyFile, keyPem, kubeconfig: k, ...(caPem !== undefined ? { kubeconfigCaPem: caPem } : {}),
    });
  }

  // Certificate and key files gen remembered as a pair: neither is read (kpki writes them
  // apart, a certificate without a key block, so the pairing is the one gen made).
  const pairFiles = new Set<string>(); // both files of each remembered pair
  if (consumedText.size === 0) {
    for (const [file, f] of files) {
      if (KUBECONFIG_NAME.test(file) || consumed.has(file) || !/\.(crt|cer|pem)$/i.test(file) || /-key\.pem$/i.test(file)) continue;
      const pairedKey = keyCandidates(file).find((c) => files.has(c));
      const kf = pairedKey === undefined ? undefined : files.get(pairedKey)!;
      const known = kf && remembered([fileDigest(f), fileDigest(kf)]);
      if (!known || pairFiles.has(pairedKey!)) continue;
      const keyText = new KeptText(kf, pairedKey!);
      pairFiles.add(pairedKey!).add(file);
      privateKeys.push({ file: pairedKey!, mode: kf.mode, get pem() { return privateKeyBlock(keyText.text) ?? keyText.text; } });
      creds.push({
        file, source: 'file', certFile: file, cert: new RememberedFileCert(new KeptText(f, file), file, known), fingerprint: known.fp,
        chain: [], keyFile: pairedKey!, get keyPem() { return keyText.text; }, remembered: { caDigest: known.ca },
      });
    }
  }

  for (const [file, f] of files) {
    if (isKpkiTemp(file)) {
      const secret = f.content !== undefined && privateKeyBlock(f.content) !== undefined;
      problems.push(finding('leftover-temp', file, `a temp file left by an interrupted kpki run${secret ? '; it holds a private key' : ''}`));
      continue;
    }
    if (KUBECONFIG_NAME.test(file) || consumed.has(file) || pairFiles.has(file) || file.endsWith('/') || !CANDIDATE.test(file)) {
      if (file.endsWith('/')) unreadable(file, f.error ?? 'not readable');
      continue;
    }
    if (f.content === undefined) {
      unreadable(file, `cannot be read (${f.error})`);
      continue;
    }
    const body = f.content;
    if (consumedText.has(body)) continue;
    const keyBlock = privateKeyBlock(body);
    if (body.includes(CERT)) {
      let cert: ObservedCert;
      try {
        cert = parse(body, file);
      } catch (e) {
        unreadable(file, (e as Error).message.replace(`${file}: `, ''));
        continue;
      }
      let keyFile: string | undefined;
      let keyPem: string | undefined;
      if (keyBlock) {
        keyFile = file;
        keyPem = keyBlock;
        privateKeys.push({ file, pem: keyBlock, mode: f.mode });
      } else {
        for (const c of keyCandidates(file)) {
          const kf = files.get(c);
          if (!kf) continue;
          keyFile = c;
          keyPem = kf.content !== undefined && privateKeyBlock(kf.content) ? kf.content : undefined;
          break;
        }
      }
      creds.push({ file, source: 'file', certFile: file, cert, fingerprint: fingerprintOf(cert.der), chain: chainOf(body), ...(keyFile ? { keyFile } : {}), ...(keyPem ? { keyPem } : {}) });
    } else if (keyBlock) {
      if (!KEY_NAME.test(file) && !/-key\.pem$/i.test(file) && /\.(crt|cer)$/i.test(file)) {
        unreadable(file, 'holds a private key, not a certificate', 'not-a-certificate');
      }
      privateKeys.push({ file, pem: keyBlock, mode: f.mode });
    } else if (PUBLIC_KEY.test(body)) {
      if (KEY_NAME.test(file)) unreadable(file, 'holds a PUBLIC KEY, not a private key', 'not-a-certificate');
      publicKeys.push({ file, pem: body, mode: f.mode });
    } else {
      const what = KEY_NAME.test(file) || /-key\.pem$/i.test(file) ? 'private key' : 'certificate';
      unreadable(file, `not a PEM ${what}: ${describeGarbage(body)}`);
    }
  }
  return { creds, privateKeys, publicKeys, problems };
}

// Characters no PEM text holds: the replacement character (binary read as UTF-8) and C0 controls.
// eslint-disable-next-line no-control-regex
const BINARY = /[\uFFFD\x00-\x08\x0e-\x1f]/;

function describeGarbage(body: string): string {
  if (body.trim() === '') return 'the file is empty';
  if (BINARY.test(body.slice(0, 64))) return 'binary data (DER? convert it with `openssl x509 -inform der -out file.pem`)';
  if (/-----BEGIN /.test(body)) return 'a PEM block of another kind, or a damaged one';
  return 'no PEM block found';
}
