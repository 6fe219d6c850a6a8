/**
 * Reads an existing certificate back into the same CertProfile shape that issue writes,
 * so a wanted certificate and a found one compare field by field.
 */
import { x509 } from './lib.js';
import type { CertProfile } from '../catalog/resolve.js';
import type { Usage } from '../catalog/types.js';
import { canonicalIp } from '../plan/net.js';
import { PemError } from '../errors.js';

export interface ObservedCert {
  readonly cert: x509.X509Certificate;
  readonly pem: string;
  readonly profile: CertProfile;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const USAGE_BY_OID: Record<string, Usage> = {
  [x509.ExtendedKeyUsage.serverAuth]: 'serverAuth',
  [x509.ExtendedKeyUsage.clientAuth]: 'clientAuth',
};

/** The first CERTIFICATE block of a PEM (kubeadm also reads only the first). */
export function parseCertPem(pem: string, file: string): x509.X509Certificate {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new PemError(file, 'no CERTIFICATE block found');
  try {
    return new x509.X509Certificate(match[0]);
  } catch (cause) {
    throw new PemError(file, 'the CERTIFICATE block does not parse', { cause });
  }
}

function attr(cert: x509.X509Certificate, type: string): string[] {
  return cert.subjectName.getField(type);
}

export function profileOf(cert: x509.X509Certificate): CertProfile {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const one = (t: string) => attr(cert, t)[0];
  const extras = Object.fromEntries(
    (['C', 'ST', 'L', 'OU'] as const).flatMap((k) => (one(k) ? [[k, one(k)]] : [])),
  );
  return {
    cn: one('CN') ?? '',
    o: attr(cert, 'O'),
    extras,
    dns: names.filter((n) => n.type === 'dns').map((n) => n.value).sort(),
    ips: names.filter((n) => n.type === 'ip').map((n) => canonicalIp(n.value) ?? n.value),
    usages: (eku?.usages ?? []).flatMap((u) => (USAGE_BY_OID[String(u)] ? [USAGE_BY_OID[String(u)]!] : [])),
    isCa: bc?.ca ?? false,
  };
}

export function readCert(pem: string, file: string): ObservedCert {
  const cert = parseCertPem(pem, file);
  return { cert, pem, profile: profileOf(cert), notBefore: cert.notBefore, notAfter: cert.notAfter };
}
