/**
 * Strict PEM (RFC 7468) armor: BEGIN/END lines with matching labels, a body of base64 and
 * whitespace only, correct padding. Text outside the blocks is ignored, as openssl does
 * (certificate bundles carry comments and `openssl x509 -text` dumps before the armor).
 * Everything else is an error with a reason a person can act on, never a silent skip:
 * a block that decodes to the wrong bytes would otherwise surface later as a DER puzzle.
 */

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
  /** 1-based line of the BEGIN line. */
  readonly line: number;
}

export class PemFormatError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'PemFormatError';
  }
}

// RFC 7468 §3: labelchar is printable ASCII except '-'; single '-' or ' ' may join labelchars.
const LABEL = '((?:[\\x21-\\x2c\\x2e-\\x7e](?:[- ]?[\\x21-\\x2c\\x2e-\\x7e])*)?)';
const BEGIN = new RegExp(`^-----BEGIN ${LABEL}-----$`);
const END = new RegExp(`^-----END ${LABEL}-----$`);
const BASE64_LINE = /^[A-Za-z0-9+/=]*$/;
const WHITESPACE = /[ \t\r\n\v\f]+/g;
/** A whole block body in one test: base64 characters and whitespace only (the common case). */
const CLEAN_BODY = /^[A-Za-z0-9+/= \t\r\n\v\f]*$/;

/** Checks one block's body (the text between its BEGIN and END lines) and decodes it. */
function decodeBody(body: string, label: string, line: number): Uint8Array {
  const bad = (reason: string): PemFormatError => new PemFormatError(`PEM block ${label} (line ${line})${reason}`);
  if (!CLEAN_BODY.test(body)) throw bad(` ${badLine(body, line)}`);
  const b64 = body.replace(WHITESPACE, '');
  if (b64.length === 0) throw bad(' is empty');
  if (b64.length % 4 !== 0) throw bad(`: base64 length ${b64.length} is not a multiple of 4 (truncated or damaged)`);
  // '=' only as the last one or two characters.
  const eq = b64.indexOf('=');
  if ((eq !== -1 && eq < b64.length - 2) || (eq === b64.length - 2 && b64.charCodeAt(b64.length - 1) !== 0x3d)) {
    throw bad(": '=' padding in the middle of the base64");
  }
  // A Buffer is a Uint8Array; handing it on as it is saves a wrapper per block.
  return Buffer.from(b64, 'base64');
}

/** Why a body is not clean base64, naming its first offending line. */
function badLine(body: string, firstLine: number): string {
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] as string).replace(/[ \t\r\v\f]+/g, '');
    if (BASE64_LINE.test(text)) continue;
    if (i === 0 && text.includes(':')) return 'has RFC 1421 headers (an encrypted or legacy PEM), which kpki does not read';
    return `line ${firstLine + 1 + i} has characters outside the base64 alphabet`;
  }
  return 'has characters outside the base64 alphabet';
}

/** 1-based line number of offset `at`, counting from a known (offset, line) pair before it. */
function lineAt(text: string, from: number, fromLine: number, at: number): number {
  let line = fromLine;
  for (let p = text.indexOf('\n', from); p !== -1 && p < at; p = text.indexOf('\n', p + 1)) line++;
  return line;
}

/**
 * Every PEM block in `text`, in order. Throws PemFormatError for a BEGIN without its END, an
 * END without a BEGIN, mismatched labels, RFC 1421 headers (encrypted legacy PEM), or a body
 * that is not clean base64. Runs once per certificate on every re-run, so it jumps from one
 * line starting with five dashes to the next (native indexOf) and checks each body with one
 * expression; line numbers are counted only where a block starts or an error is reported.
 */
export function parsePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let open: { label: string; line: number; bodyStart: number } | undefined;
  // The last offset whose line number is known: line numbers are counted forward from it.
  let known = 0;
  let knownLine = 1;
  const lineOf = (at: number): number => {
    knownLine = lineAt(text, known, knownLine, at);
    known = at;
    return knownLine;
  };
  for (let pos = text.indexOf('-----'); pos !== -1; pos = text.indexOf('-----', pos + 5)) {
    if (pos > 0 && text.charCodeAt(pos - 1) !== 0x0a) continue; // armor starts a line
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = text.length;
    // Trailing blanks (and a CR from CRLF files) are not part of the line; RFC 7468 allows them.
    const line = text.slice(pos, nl).trimEnd();
    if (line.startsWith('-----BEGIN')) {
      const m = BEGIN.exec(line);
      if (!m) throw new PemFormatError(`line ${lineOf(pos)}: malformed BEGIN line ${JSON.stringify(line.slice(0, 80))}`);
      if (open) throw new PemFormatError(`line ${lineOf(pos)}: BEGIN ${m[1]} inside the ${open.label} block of line ${open.line} (missing END)`);
      open = { label: m[1] as string, line: lineOf(pos), bodyStart: nl + 1 };
    } else if (line.startsWith('-----END')) {
      const m = END.exec(line);
      if (!m) throw new PemFormatError(`line ${lineOf(pos)}: malformed END line ${JSON.stringify(line.slice(0, 80))}`);
      if (!open) throw new PemFormatError(`line ${lineOf(pos)}: END ${m[1]} without a BEGIN`);
      if (m[1] !== open.label) throw new PemFormatError(`line ${lineOf(pos)}: END ${m[1]} closes BEGIN ${open.label} of line ${open.line}`);
      blocks.push({ label: open.label, line: open.line, der: decodeBody(text.slice(open.bodyStart, pos), open.label, open.line) });
      open = undefined;
    } else if (open) {
      throw new PemFormatError(`PEM block ${open.label} (line ${open.line}) line ${lineOf(pos)} has characters outside the base64 alphabet`);
    }
    pos = Math.max(pos, nl - 5); // continue after this line
  }
  if (open) throw new PemFormatError(`PEM block ${open.label} (line ${open.line}) has no END line (truncated file?)`);
  return blocks;
}

/**
 * True when `bytes` look like a DER SEQUENCE whose length covers exactly the data: how a
 * binary certificate or key saved without PEM armor starts. A hint for error messages only.
 */
export function looksLikeDer(bytes: Uint8Array): boolean {
  if (bytes.length < 2 || bytes[0] !== 0x30) return false;
  const first = bytes[1] as number;
  if (first < 0x80) return 2 + first === bytes.length;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || bytes.length < 2 + n) return false;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (bytes[2 + i] as number);
  return len >= 0x80 && 2 + n + len === bytes.length;
}
