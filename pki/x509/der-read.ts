/**
 * Reads back the certificates kpki (or kubeadm, cfssl, openssl) wrote: the subject bytes and
 * SKI a signing CA must pass on to its leaves, and the CertProfile a found leaf is compared
 * with. A small walk over the DER, not a general ASN.1 library: it is on every re-run's path.
 */
import type { CertProfile } from '../catalog/resolve.js';
import type { Usage } from '../catalog/types.js';
import type { SubjectExtras } from '../plan/types.js';
import { readTlv, type DerSpan } from './der.js';
import { formatIp } from '../plan/net.js';

function children(der: Uint8Array, parent: DerSpan): Array<DerSpan & { at: number }> {
  const out: Array<DerSpan & { at: number }> = [];
  for (let p = parent.start; p < parent.end; ) {
    const t = readTlv(der, p);
    out.push({ ...t, at: p });
    p = t.end;
  }
  return out;
}

const hex = (der: Uint8Array, t: DerSpan) => Buffer.from(der.subarray(t.start, t.end)).toString('hex');

/** Attribute and extension OIDs, by the hex of their encoded content. */
const NAME_ATTR: Record<string, 'CN' | 'O' | 'OU' | 'C' | 'ST' | 'L'> = {
  '550403': 'CN', '55040a': 'O', '55040b': 'OU', '550406': 'C', '550408': 'ST', '550407': 'L',
};
const EXT = { ski: '551d0e', san: '551d11', eku: '551d25', basicConstraints: '551d13' } as const;
const EKU: Record<string, Usage> = { '2b06010505070301': 'serverAuth', '2b06010505070302': 'clientAuth' };

function text(der: Uint8Array, t: DerSpan): string {
  const bytes = der.subarray(t.start, t.end);
  if (t.tag === 0x1e) return Buffer.from(bytes).swap16().toString('utf16le'); // BMPString
  return Buffer.from(bytes).toString(t.tag === 0x0c ? 'utf8' : 'latin1');
}

function time(der: Uint8Array, t: DerSpan): Date {
  const s = text(der, t);
  const full = t.tag === 0x17 ? `${Number(s.slice(0, 2)) < 50 ? '20' : '19'}${s}` : s; // UTCTime: 1950–2049
  const [y, mo, d, h, mi, se] = [0, 4, 6, 8, 10, 12].map((i, k) => Number(full.slice(i, i + (k === 0 ? 4 : 2))));
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, se!));
}

export interface CertFields {
  /** The subject Name, as encoded (tag and length included). */
  readonly subjectDer: Uint8Array;
  /** The SubjectKeyIdentifier value, if the certificate has one. */
  readonly subjectKeyId?: Uint8Array;
  readonly profile: CertProfile;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function readName(der: Uint8Array, name: DerSpan): { cn: string; o: string[]; extras: SubjectExtras } {
  let cn = '';
  const o: string[] = [];
  const extras: { -readonly [K in keyof SubjectExtras]: string } = {};
  for (const rdn of children(der, name)) {
    for (const atv of children(der, rdn)) {
      const [type, value] = children(der, atv);
      const attr = type && value ? NAME_ATTR[hex(der, type)] : undefined;
      if (!attr || !value) continue;
      const v = text(der, value);
      if (attr === 'CN') cn = v;
      else if (attr === 'O') o.push(v);
      else extras[attr] = v;
    }
  }
  return { cn, o, extras };
}

/** Certificate ::= SEQUENCE { tbs SEQUENCE { [0] version, serial, sigAlg, issuer, validity, subject, spki, ..., [3] exts } ... } */
export function certFields(der: Uint8Array): CertFields {
  const tbs = readTlv(der, readTlv(der, 0).start);
  const fields = children(der, tbs);
  const v = fields[0]?.tag === 0xa0 ? 1 : 0; // v1 certificates have no version field
  const validity = fields[v + 3];
  const subject = fields[v + 4];
  if (!validity || !subject) throw new RangeError('certificate has no validity or subject');
  const [nb, na] = children(der, validity);
  const profile = { ...readName(der, subject), dns: [] as string[], ips: [] as string[], usages: [] as Usage[], isCa: false };
  let subjectKeyId: Uint8Array | undefined;
  const exts = fields.find((f) => f.tag === 0xa3);
  for (const ext of exts ? children(der, readTlv(der, exts.start)) : []) {
    const parts = children(der, ext);
    const id = hex(der, parts[0]!);
    const value = readTlv(der, parts[parts.length - 1]!.start); // inside the OCTET STRING
    if (id === EXT.ski) subjectKeyId = der.slice(value.start, value.end);
    else if (id === EXT.basicConstraints) {
      const first = children(der, value)[0];
      profile.isCa = first?.tag === 0x01 && der[first.start] !== 0;
    } else if (id === EXT.eku) {
      for (const u of children(der, value)) if (EKU[hex(der, u)]) profile.usages.push(EKU[hex(der, u)]!);
    } else if (id === EXT.san) {
      for (const gn of children(der, value)) {
        if (gn.tag === 0x82) profile.dns.push(text(der, gn));
        else if (gn.tag === 0x87) {
          const bytes = der.slice(gn.start, gn.end);
          profile.ips.push(formatIp({ family: bytes.length === 4 ? 4 : 6, bytes }));
        }
      }
    }
  }
  profile.dns.sort();
  return { subjectDer: der.slice(subject.at, subject.end), subjectKeyId, profile, notBefore: time(der, nb!), notAfter: time(der, na!) };
}

/** The DER bytes of the first CERTIFICATE block of a PEM (kubeadm also reads only the first). */
export function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new RangeError('no CERTIFICATE block found');
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}
