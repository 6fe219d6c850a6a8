/** Distinguished Names for the certificate reader (parse.ts): RFC 5280 §4.1.2.4, strictly. */
import type { SubjectExtras } from '../plan/types.js';
import { done, end, fail, hexByte, oid, read, start, stringValue, tag, view } from './der-strict.js';
import { NAME_ATTRS } from './oids.js';

/** The tags used here; a const enum per module compiles to plain numbers. */
const enum T { Sequence = 0x30, Set = 0x31 }

export interface Name {
  /** The whole Name, tag and length included: what a child certificate's issuer must equal. */
  readonly der: Uint8Array;
  /** The last CN, as Go's pkix.Name reads it; '' when there is none. */
  readonly cn: string;
  /** Every O value, in order. */
  readonly o: readonly string[];
  /** The first value of each of these attributes. */
  readonly extras: SubjectExtras;
  /** Encoded order, RFC 4514 escaping: "O=system:nodes, CN=system:node:w1" (" + " joins a multi-valued RDN). */
  readonly text: string;
}

const NEEDS_ESCAPE = /[,+"\\<>;\x00-\x1f\x7f]|^[ #]| $/;

/** RFC 4514 §2.4 escaping, with control characters as \XX (as openssl's esc_2253 + esc_ctrl). */
function escapeValue(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i] as string;
    const code = c.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (',+"\\<>;'.includes(c) || (i === 0 && (c === '#' || c === ' ')) || (i === v.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  }
  return out;
}

/** Error contexts of a Name, built once per kind of Name rather than per attribute. */
export interface NameWhere {
  readonly self: string;
  readonly rdn: string;
  readonly attribute: string;
  readonly type: string;
  readonly value: string;
}
const nameWhere = (self: string): NameWhere =>
  ({ self, rdn: `${self} RDN`, attribute: `${self} attribute`, type: `${self} attribute type`, value: `${self} attribute value` });
export const ISSUER = nameWhere('issuer');
export const SUBJECT = nameWhere('subject');
export const DIRECTORY_NAME = nameWhere('extension subjectAltName directoryName');

/** Name ::= SEQUENCE OF RelativeDistinguishedName (SET SIZE (1..MAX) OF AttributeTypeAndValue). */
export function name(off: number, limit: number, w: NameWhere): Name {
  read(off, limit, w.self, T.Sequence);
  const nEnd = end;
  let cn = '';
  const o: string[] = [];
  const extras: { -readonly [K in keyof SubjectExtras]: string } = {};
  let text = '';
  for (let p = start; p < nEnd; ) {
    read(p, nEnd, w.rdn, T.Set);
    const rEnd = end;
    if (start === rEnd) fail(w.self, 'empty RDN');
    if (text !== '') text += ', '; // every RDN adds text, so '' means this is the first
    let first = true;
    for (let q = start; q < rEnd; ) {
      read(q, rEnd, w.attribute, T.Sequence);
      const aEnd = end;
      const type = oid(start, aEnd, w.type);
      read(end, aEnd, w.value);
      done(end, aEnd, w.attribute);
      const attr = NAME_ATTRS[type];
      const value = attr ? stringValue(tag, start, end, w.self, attr) : stringValue(tag, start, end, w.value);
      // Go rejects a Name whose values are not strings; so does this reader.
      if (value === undefined) fail(`${w.self} ${attr ?? type}`, `value of type ${hexByte(tag)} is not a string`);
      if (attr === 'CN') cn = value;
      else if (attr === 'O') {
        o.push(value);
        extras.O ??= value;
      } else if (attr === 'C' || attr === 'ST' || attr === 'L' || attr === 'OU') extras[attr] ??= value;
      if (!first) text += ' + ';
      text += `${attr ?? type}=${escapeValue(value)}`;
      first = false;
      q = aEnd;
    }
    p = rEnd;
  }
  return { der: view(off, nEnd), cn, o, extras, text };
}
