/**
 * Reads a tar stream (GNU or POSIX ustar, as `tar -cf -` writes it) into entries: how the SSH
 * sink sees a host's trees in one round trip, modes and owners included, links and device
 * nodes reported as such and never followed or opened.
 */

export interface TarEntry {
  /** Relative, without a trailing `/`. */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  readonly mode: number;
  readonly uid: number;
  /** Regular files only. */
  readonly content?: Buffer;
}

const text = (b: Buffer, from: number, len: number) => {
  const s = b.subarray(from, from + len);
  const nul = s.indexOf(0);
  return s.subarray(0, nul < 0 ? s.length : nul).toString('utf8');
};

function numeric(b: Buffer, from: number, len: number): number {
  const s = b.subarray(from, from + len);
  if (s[0]! & 0x80) {
    // GNU base-256 for values that do not fit in octal.
    let n = 0;
    for (let i = 1; i < s.length; i++) n = n * 256 + s[i]!;
    return n;
  }
  const t = text(b, from, len).trim();
  return t ? parseInt(t, 8) : 0;
}

/** Pax records `<len> key=value\n`: only `path` matters here. */
function paxPath(data: Buffer): string | undefined {
  let at = 0;
  let path: string | undefined;
  while (at < data.length) {
    const sp = data.indexOf(0x20, at);
    if (sp < 0) break;
    const len = parseInt(data.subarray(at, sp).toString('ascii'), 10);
    if (!(len > 0)) break;
    const rec = data.subarray(sp + 1, at + len - 1).toString('utf8');
    if (rec.startsWith('path=')) path = rec.slice(5);
    at += len;
  }
  return path;
}

export function readTar(buf: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let at = 0;
  let longName: string | undefined;
  while (at + 512 <= buf.length) {
    const h = buf.subarray(at, at + 512);
    if (h.every((x) => x === 0)) break;
    const size = numeric(h, 124, 12);
    const type = String.fromCharCode(h[156]!);
    const dataAt = at + 512;
    const data = buf.subarray(dataAt, dataAt + size);
    if (data.length < size) throw new Error('the tar stream ended inside a file');
    at = dataAt + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = text(data, 0, data.length);
      continue;
    }
    if (type === 'x') {
      longName = paxPath(data) ?? longName;
      continue;
    }
    if (type === 'K' || type === 'g') continue;
    let name = text(h, 0, 100);
    if (h.subarray(257, 263).toString('latin1') === 'ustar\0') {
      const prefix = text(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (longName !== undefined) name = longName;
    longName = undefined;
    const path = name.replace(/^\.\//, '').replace(/\/+$/, '');
    const mode = numeric(h, 100, 8) & 0o777;
    const uid = numeric(h, 108, 8);
    if (type === '0' || type === '\0' || type === '7') out.push({ path, type: 'file', mode, uid, content: Buffer.from(data) });
    else if (type === '5') out.push({ path, type: 'dir', mode, uid });
    else if (type === '2') out.push({ path, type: 'symlink', mode, uid });
    else out.push({ path, type: 'other', mode, uid }); // hard link, device, FIFO
  }
  return out;
}
