/**
 * Reads an existing certificate back into the same CertProfile shape that issue writes,
 * so a wanted certificate and a found one compare field by field.
 */
import type { CertProfile } from '../catalog/resolve.js';
import { PemError } from '../errors.js';
import { certFields, pemToDer } from './der-read.js';

export interface ObservedCert {
  readonly pem: string;
  readonly profile: CertProfile;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export function readCert(pem: string, file: string): ObservedCert {
  try {
    const { profile, notBefore, notAfter } = certFields(pemToDer(pem));
    return { pem, profile, notBefore, notAfter };
  } catch (cause) {
    throw new PemError(file, `not a readable certificate: ${(cause as Error).message}`, { cause });
  }
}
