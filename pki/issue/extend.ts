/**
 * A CA's certificate issued again by its own key: same subject, key and extensions (SKI), a
 * new serial, NotBefore now (backdated as gen's) and a new NotAfter, so its lifetime reads as
 * the plan's caValidity again (an older NotBefore would read as plan drift). Every leaf it signed keeps verifying and
 * the discovery hash stays the same. Only a self-signed CA kpki can sign with qualifies: an
 * intermediate is extended by whoever issued it.
 */
import type { ResolvedCa } from '../catalog/resolve.js';
import type { CaId } from '../catalog/types.js';
import { caUsability } from '../assess/ca.js';
import { BACKDATE_MS } from '../assess/policy.js';
import type { Deps } from '../deps.js';
import { KpkiError } from '../errors.js';
import { observeCa } from '../observe/ca.js';
import type { Observation } from '../sinks/types.js';
import { keyIdentifier } from '../x509/certificate.js';
import { spkiOf } from '../x509/keys.js';
import { fileSigner, resignWith } from './signer.js';
import type { ObservedCert } from '../x509/read.js';
import { serialFrom } from './credentials.js';

export interface ExtendedCa {
  readonly ca: CaId;
  /** Store path of the CA certificate (`pki/ca.crt`). */
  readonly crtFile: string;
  readonly previous: ObservedCert;
  readonly pem: string;
  readonly notAfter: Date;
}

/** Re-signs the store's CA `item` until `notAfter`. `where` prefixes file names in errors. */
export async function extendCaCert(item: ResolvedCa, obs: Observation, asked: Date, deps: Pick<Deps, 'randomBytes' | 'now'>, where: string): Promise<ExtendedCa> {
  // Whole seconds: what the certificate can hold, so the report says what it holds.
  const notAfter = new Date(Math.floor(asked.getTime() / 1000) * 1000);
  const found = observeCa(item, obs);
  if (found.state === 'absent') throw new KpkiError('ERR_CA_MISSING', `${where}/${found.crtFile}: missing; there is no CA ${item.ref} to extend (kpki gen makes one)`);
  const unusable = caUsability(found, item.ref);
  if (unusable.length || found.state !== 'present') {
    throw new KpkiError('ERR_CA_UNUSABLE', unusable.map((f) => `${where}/${f.file}: ${f.message}`).join('\n') || `${where}: CA ${item.ref} cannot be read`);
  }
  const { subject, issuer } = found.cert.parsed;
  if (!Buffer.from(subject.der).equals(Buffer.from(issuer.der))) {
    throw new KpkiError('ERR_CA_UNUSABLE', `${where}/${found.crtFile}: CA ${item.ref} is issued by another CA; extend it where it was issued, kpki only re-signs a self-signed CA`);
  }
  if (notAfter.getTime() <= found.cert.notAfter.getTime()) {
    throw new KpkiError('ERR_USAGE', `${where}/${found.crtFile}: CA ${item.ref} already lasts until ${found.cert.notAfter.toISOString()}, past the requested ${notAfter.toISOString()}; give a longer --validity`);
  }
  const keyId = found.cert.parsed.subjectKeyId ?? keyIdentifier(spkiOf(found.key));
  const { pem } = await resignWith(found.cert.der, {
    serialHex: serialFrom(deps.randomBytes(8)), notBefore: new Date(deps.now().getTime() - BACKDATE_MS), notAfter,
  }, fileSigner(found.keyPem, keyId, `${where}/${found.keyFile}`));
  return { ca: item.ref, crtFile: found.crtFile, previous: found.cert, pem, notAfter };
}
