/**
 * Observing the store's CAs and key pairs: what the files hold, parsed once. Nothing here
 * judges them (assess/ca.ts does) and nothing throws for a bad file: it is described.
 */
import { X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import type { ResolvedCa, ResolvedKeyPair } from '../catalog/resolve.js';
import { KpkiError } from '../errors.js';
import { storeCaPaths, storeKeyPairPaths } from '../layout/layout.js';
import type { Observation } from '../sinks/types.js';
import { readPrivateKey } from '../x509/keys.js';
import { readCert, type ObservedCert } from '../x509/read.js';

export type ObservedCa =
  | { readonly state: 'absent'; readonly crtFile: string; readonly keyFile: string }
  /** One of the two files without the other. */
  /** `lacking: 'key'`: the certificate without its key, as an external CA's store holds it. */
  | { readonly state: 'incomplete'; readonly has: string; readonly lacks: string; readonly lacking: 'crt' | 'key' }
  | { readonly state: 'unreadable'; readonly file: string; readonly reason: string }
  | {
      readonly state: 'present';
      readonly crtFile: string;
      readonly keyFile: string;
      readonly cert: ObservedCert;
      readonly native: NodeX509;
      readonly key: KeyObject;
      readonly keyPem: string;
    };

/**
 * Runs a reader; a file it cannot read becomes its reason (without the file prefix). Only the
 * readers' own errors (and, with `any`, Node's parser's) are described; anything else is a bug.
 */
function attempt<T>(file: string, read: () => T, any = false): T | Failed {
  try {
    return read();
  } catch (e) {
    if (!any && !(e instanceof KpkiError)) throw e;
    return new Failed((e as Error).message.replace(`${file}: `, ''));
  }
}
class Failed {
  constructor(readonly failed: string) {}
}
const failed = <T>(v: T | Failed): v is Failed => v instanceof Failed;

export function observeCa(item: ResolvedCa, obs: Observation): ObservedCa {
  const p = storeCaPaths(item.entry.stem);
  const crt = obs.files.get(p.crt);
  const key = obs.files.get(p.key);
  if (crt === undefined && key === undefined) return { state: 'absent', crtFile: p.crt, keyFile: p.key };
  if (crt === undefined || key === undefined) {
    const [has, lacks] = crt === undefined ? [p.key, p.crt] : [p.crt, p.key];
    return { state: 'incomplete', has, lacks, lacking: crt === undefined ? 'crt' : 'key' };
  }
  if (crt.content === undefined) return { state: 'unreadable', file: p.crt, reason: `cannot be read (${crt.error})` };
  if (key.content === undefined) return { state: 'unreadable', file: p.key, reason: `cannot be read (${key.error})` };
  const cert = attempt(p.crt, () => readCert(crt.content!, p.crt));
  if (failed(cert)) return { state: 'unreadable', file: p.crt, reason: cert.failed };
  const keyObj = attempt(p.key, () => readPrivateKey(key.content!, p.key));
  if (failed(keyObj)) return { state: 'unreadable', file: p.key, reason: keyObj.failed };
  const native = attempt(p.crt, () => new NodeX509(cert.pem), true);
  if (failed(native)) return { state: 'unreadable', file: p.crt, reason: `not a readable certificate (${native.failed})` };
  return { state: 'present', crtFile: p.crt, keyFile: p.key, cert, native, key: keyObj, keyPem: key.content };
}

export type ObservedKeyPair =
  | { readonly state: 'absent'; readonly keyFile: string }
  | { readonly state: 'unreadable'; readonly keyFile: string; readonly reason: string }
  | {
      readonly state: 'present'; readonly keyFile: string; readonly key: KeyObject; readonly keyPem: string;
      /** The public half as found beside it (`sa.pub`): absent, unreadable, or its text. */
      readonly pubFile: string;
      readonly pub?: { readonly pem?: string; readonly error?: string };
    };

export function observeKeyPair(item: ResolvedKeyPair, obs: Observation): ObservedKeyPair {
  const { key: keyFile, pub: pubFile } = storeKeyPairPaths(item.entry.stem);
  const key = obs.files.get(keyFile);
  if (key === undefined) return { state: 'absent', keyFile };
  if (key.content === undefined) return { state: 'unreadable', keyFile, reason: `cannot be read (${key.error})` };
  const keyObj = attempt(keyFile, () => readPrivateKey(key.content!, keyFile));
  if (failed(keyObj)) return { state: 'unreadable', keyFile, reason: keyObj.failed };
  const pub = obs.files.get(pubFile);
  return {
    state: 'present', keyFile, key: keyObj, keyPem: key.content, pubFile,
    ...(pub ? { pub: pub.content !== undefined ? { pem: pub.content } : { error: pub.error ?? 'unreadable' } } : {}),
  };
}
