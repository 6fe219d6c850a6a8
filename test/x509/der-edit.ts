/**
 * TEST HELPER: a tiny lenient DER tree (decode, edit, encode) for crafting bad certificates by
 * hand. Constructed tags (bit 0x20) get children; everything else keeps its content bytes.
 * `lengthOctets` overrides the encoded length, to write non-minimal or indefinite forms.
 */

export interface Node {
  tag: number;
  children?: Node[];
  content?: Uint8Array;
  lengthOctets?: number[];
}

/** The TLV at `off`, leniently: its tag, and where its content starts and ends. */
export function tlv(der: Uint8Array, off: number): { tag: number; start: number; end: number } {
  const tag = der[off] as number;
  let len = der[off + 1] as number;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[p + i] as number);
    p += n;
  }
  return { tag, start: p, end: p + len };
}

function read(der: Uint8Array, off: number): { node: Node; end: number } {
  const { tag, start: p, end } = tlv(der, off);
  const len = end - p;
  const content = der.subarray(p, p + len);
  if (tag & 0x20) {
    const children: Node[] = [];
    for (let q = 0; q < content.length; ) {
      const c = read(content, q);
      children.push(c.node);
      q = c.end;
    }
    return { node: { tag, children }, end: p + len };
  }
  return { node: { tag, content: Uint8Array.from(content) }, end: p + len };
}

export function decode(der: Uint8Array): Node {
  return read(der, 0).node;
}

function lengthOf(len: number): number[] {
  if (len < 0x80) return [len];
  const bytes: number[] = [];
  for (let v = len; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

export function encode(n: Node): Uint8Array {
  const body = n.children ? concat(n.children.map(encode)) : (n.content ?? new Uint8Array());
  return concat([Uint8Array.of(n.tag, ...(n.lengthOctets ?? lengthOf(body.length))), body]);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The node at `path` (child indexes from the root). */
export function at(root: Node, ...path: number[]): Node {
  let n = root;
  for (const i of path) {
    const c = n.children?.[i];
    if (!c) throw new Error(`der-edit: no child ${i} on the path ${path.join('.')}`);
    n = c;
  }
  return n;
}

export const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
export const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
