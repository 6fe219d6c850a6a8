/** Certificate extensions for the reader (parse.ts): RFC 5280 §4.2, the ones kpki uses decoded. */
import { formatIp } from '../plan/net.js';
import {
  bitString, boolean, checkInteger, d, done, end, fail, hexByte, oid, oidText, read, smallUint, start, stringValue, tag,
  tagName, view,
} from './der-strict.js';
import { DIRECTORY_NAME, name } from './names.js';
import { EKU_NAMES, EXT, EXT_NAMES, KEY_USAGE_NAMES, type KeyUsageName } from './oids.js';

/** The tags used here; a const enum per module compiles to plain numbers. */
const enum T { Boolean = 0x01, Integer = 0x02, BitString = 0x03, OctetString = 0x04, Ia5 = 0x16, Sequence = 0x30 }

export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue OCTET STRING's content (itself one DER value). */
  readonly value: Uint8Array;
}

export interface SubjectAltName {
  readonly dns: readonly string[];
  /** Canonical text (pki/plan/net.ts formatIp). */
  readonly ips: readonly string[];
  readonly emails: readonly string[];
  readonly uris: readonly string[];
  /** otherName, x400Address, directoryName, ediPartyName and registeredID entries. */
  readonly otherCount: number;
}

/** What the reader decodes from the extensions it knows. */
export interface DecodedExtensions {
  basicConstraints?: { readonly ca: boolean; readonly pathLen?: number; readonly critical: boolean };
  keyUsage?: { readonly usages: readonly KeyUsageName[]; readonly critical: boolean };
  /** Every EKU: known ones by name (serverAuth, clientAuth, ...), others as dotted OIDs. */
  extKeyUsage?: readonly string[];
  subjectAltName?: SubjectAltName;
  /** `| undefined`: remembered facts (facts.ts) answer these with getters, always present. */
  subjectKeyId?: Uint8Array | undefined;
  authorityKeyId?: Uint8Array | undefined;
}

/** GeneralNames content [s, e) (RFC 5280 §4.2.1.6), every entry checked. */
function generalNames(s: number, e: number, where: string): SubjectAltName {
  const dns: string[] = [];
  const ips: string[] = [];
  const emails: string[] = [];
  const uris: string[] = [];
  let otherCount = 0;
  for (let p = s; p < e; ) {
    read(p, e, where);
    const g = tag;
    const gs = start;
    const ge = end;
    switch (g) {
      case 0x81: // rfc822Name
        emails.push(stringValue(T.Ia5, gs, ge, where, 'email') as string);
        break;
      case 0x82: // dNSName
        dns.push(stringValue(T.Ia5, gs, ge, where, 'DNS name') as string);
        break;
      case 0x86: // uniformResourceIdentifier
        uris.push(stringValue(T.Ia5, gs, ge, where, 'URI') as string);
        break;
      case 0x87: { // iPAddress: 4 or 16 octets (a SAN names an address, not a range)
        const len = ge - gs;
        if (len !== 4 && len !== 16) fail(where, `IP address of ${len} bytes`);
        // IPv4 written out here is exactly formatIp's dotted decimal, without a view and an array.
        ips.push(len === 4 ? `${d[gs]}.${d[gs + 1]}.${d[gs + 2]}.${d[gs + 3]}` : formatIp({ family: 6, bytes: view(gs, ge) }));
        break;
      }
      case 0xa0: { // otherName: SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
        oid(gs, ge, `${where} otherName type`);
        read(end, ge, `${where} otherName value`, 0xa0);
        const ve = end;
        read(start, ve, `${where} otherName value`);
        done(end, ve, `${where} otherName value`);
        done(ve, ge, `${where} otherName`);
        otherCount++;
        break;
      }
      case 0xa4: { // directoryName: [4] EXPLICIT Name
        const n = name(gs, ge, DIRECTORY_NAME);
        done(gs + n.der.length, ge, DIRECTORY_NAME.self);
        otherCount++;
        break;
      }
      case 0xa3: // x400Address
      case 0xa5: // ediPartyName
        if (gs === ge) fail(where, `empty ${tagName(g)}`);
        otherCount++;
        break;
      case 0x88: // registeredID
        oidText(gs, ge, `${where} registeredID`);
        otherCount++;
        break;
      default:
        fail(where, `tag ${hexByte(g)} is not a GeneralName`);
    }
    p = ge;
  }
  return { dns, ips, emails, uris, otherCount };
}

/** Decodes the extensions kpki and `kpki check` look at; every other value must be one DER TLV. */
function decodeExtension(id: string, critical: boolean, s: number, e: number, where: string, out: DecodedExtensions): void {
  switch (id) {
    case EXT.basicConstraints: {
      read(s, e, where, T.Sequence);
      done(end, e, where);
      const seqEnd = end;
      let p = start;
      let ca = false;
      let pathLen: number | undefined;
      if (p < seqEnd && d[p] === T.Boolean) {
        read(p, seqEnd, BC_CA);
        ca = boolean(start, end, BC_CA);
        p = end;
      }
      if (p < seqEnd) {
        read(p, seqEnd, BC_PATHLEN, T.Integer);
        pathLen = smallUint(start, end, BC_PATHLEN);
        p = end;
      }
      done(p, seqEnd, where);
      out.basicConstraints = pathLen === undefined ? { ca, critical } : { ca, pathLen, critical };
      return;
    }
    case EXT.keyUsage: {
      read(s, e, where, T.BitString);
      done(end, e, where);
      bitString(start, end, where, false);
      const usages: KeyUsageName[] = [];
      const bs = start + 1;
      for (let bit = 0; bit < (end - bs) * 8; bit++) {
        if (((d[bs + (bit >> 3)] as number) & (0x80 >> (bit & 7))) === 0) continue;
        const usage = KEY_USAGE_NAMES[bit];
        if (!usage) fail(where, `bit ${bit} is not a defined key usage`);
        usages.push(usage);
      }
      out.keyUsage = { usages, critical };
      return;
    }
    case EXT.extKeyUsage: {
      read(s, e, where, T.Sequence);
      done(end, e, where);
      const seqEnd = end;
      if (start === seqEnd) fail(where, 'empty list');
      const usages: string[] = [];
      for (let p = start; p < seqEnd; p = end) {
        const u = oid(p, seqEnd, EKU_PURPOSE);
        usages.push(EKU_NAMES[u] ?? u);
      }
      out.extKeyUsage = usages;
      return;
    }
    case EXT.subjectAltName: {
      read(s, e, where, T.Sequence);
      done(end, e, where);
      if (start === end) fail(where, 'empty list');
      out.subjectAltName = generalNames(start, end, where);
      return;
    }
    case EXT.subjectKeyId: {
      read(s, e, where, T.OctetString);
      done(end, e, where);
      out.subjectKeyId = view(start, end);
      return;
    }
    case EXT.authorityKeyId: {
      // SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL,
      //   authorityCertIssuer [1] IMPLICIT GeneralNames OPTIONAL, authorityCertSerialNumber [2] IMPLICIT INTEGER OPTIONAL }
      read(s, e, where, T.Sequence);
      done(end, e, where);
      const seqEnd = end;
      let p = start;
      if (p < seqEnd && d[p] === 0x80) {
        read(p, seqEnd, where);
        out.authorityKeyId = view(start, end);
        p = end;
      }
      if (p < seqEnd && d[p] === 0xa1) {
        read(p, seqEnd, where);
        if (start === end) fail(where, 'empty authorityCertIssuer');
        const ie = end;
        generalNames(start, ie, AKI_ISSUER);
        p = ie;
      }
      if (p < seqEnd && d[p] === 0x82) {
        read(p, seqEnd, where);
        checkInteger(start, end, AKI_SERIAL);
        p = end;
      }
      if (p < seqEnd) {
        read(p, seqEnd, where);
        fail(where, `unexpected ${tagName(tag)}`);
      }
      return;
    }
    default:
      read(s, e, where);
      done(end, e, where);
  }
}

const EXTENSION = 'extension';
const EXTENSION_ID = 'extension id';
const BC_CA = 'extension basicConstraints cA';
const BC_PATHLEN = 'extension basicConstraints pathLenConstraint';
const EKU_PURPOSE = 'extension extKeyUsage purpose';
const AKI_ISSUER = 'extension authorityKeyId authorityCertIssuer';
const AKI_SERIAL = 'extension authorityKeyId authorityCertSerialNumber';

/** Error contexts of one extension, by OID; built once for the known ones. */
interface ExtWhere {
  readonly self: string;
  readonly critical: string;
  readonly value: string;
}
const extWhereOf = (id: string): ExtWhere => {
  const self = `extension ${EXT_NAMES[id] ?? id}`;
  return { self, critical: `${self} critical`, value: `${self} value` };
};
const EXT_WHERE = new Map(Object.values(EXT).map((id) => [id as string, extWhereOf(id)]));

/** Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension in [s, e); no OID twice (RFC 5280 §4.2). */
export function extensions(s: number, e: number, out: DecodedExtensions): Extension[] {
  read(s, e, 'extensions', T.Sequence);
  done(end, e, 'extensions');
  const seqEnd = end;
  if (start === seqEnd) fail('extensions', 'empty list');
  const list: Extension[] = [];
  for (let p = start; p < seqEnd; ) {
    read(p, seqEnd, EXTENSION, T.Sequence);
    const xEnd = end;
    const id = oid(start, xEnd, EXTENSION_ID);
    let q = end;
    const w = EXT_WHERE.get(id) ?? extWhereOf(id);
    for (let i = 0; i < list.length; i++) if ((list[i] as Extension).oid === id) fail(w.self, 'appears twice');
    let critical = false;
    if (q < xEnd && d[q] === T.Boolean) {
      // DER omits critical = FALSE (DEFAULT); an explicit FALSE is read, as Go and OpenSSL do.
      read(q, xEnd, w.critical);
      critical = boolean(start, end, w.critical);
      q = end;
    }
    read(q, xEnd, w.value, T.OctetString);
    const vs = start;
    const ve = end;
    done(ve, xEnd, w.self);
    decodeExtension(id, critical, vs, ve, w.self, out);
    list.push({ oid: id, critical, value: view(vs, ve) });
    p = xEnd;
  }
  return list;
}
