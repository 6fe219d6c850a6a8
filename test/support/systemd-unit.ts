/**
 * A systemd unit file read the way systemd reads it (systemd.syntax(7), systemd.service(5)),
 * written independently of kpki's templates: sections, comments, backslash continuation
 * (replaced by a space), Environment= assignments with quotes, and ExecStart= split into words
 * with quotes, escapes, `$VAR`/`${VAR}` from the unit's Environment and the `%%` specifier. Any
 * other specifier makes the reader throw: kpki's units must not depend on one.
 */

export interface Unit {
  /** `section` → key → every value, in order. */
  readonly sections: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
}

export function parseUnit(text: string): Unit {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    // A trailing backslash joins the next line; comment lines inside a continuation are skipped.
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i]!.trim();
      if (next.startsWith('#') || next.startsWith(';')) {
        line = `${line.slice(0, -1)} \\`;
        continue;
      }
      line = `${line.slice(0, -1)} ${next}`;
    }
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`unit line ${i + 1}: not a section or key=value: ${line}`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    current.set(key, [...(current.get(key) ?? []), value]);
  }
  return { sections };
}

export function unitValues(unit: Unit, section: string, key: string): readonly string[] {
  return unit.sections.get(section)?.get(key) ?? [];
}

/** Splits into words: white space separates, quotes group, backslash escapes (C-style subset). */
function words(text: string, expand: (word: string) => string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    let word = '';
    let quote: string | undefined;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (quote) {
        if (c === quote) quote = undefined;
        else if (c === '\\' && i + 1 < text.length) word += unescape(text[++i]!);
        else word += c;
      } else if (c === '"' || c === "'") quote = c;
      else if (/\s/.test(c)) break;
      else if (c === '\\' && i + 1 < text.length) word += unescape(text[++i]!);
      else word += c;
    }
    if (quote) throw new Error(`unterminated quote in: ${text}`);
    out.push(expand(word));
  }
  return out;
}

function unescape(c: string): string {
  return ({ n: '\n', t: '\t', '\\': '\\', '"': '"', "'": "'", ' ': ' ' } as Record<string, string>)[c] ?? c;
}

function specifiers(word: string): string {
  return word.replace(/%(.)/g, (_, c: string) => {
    if (c === '%') return '%';
    throw new Error(`specifier %${c} in ${JSON.stringify(word)}: this reader does not resolve it`);
  });
}

/** Environment= lines → variables (later assignments win, as in systemd). */
export function unitEnvironment(unit: Unit): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unitValues(unit, 'Service', 'Environment')) {
    for (const assignment of words(line, specifiers)) {
      const eq = assignment.indexOf('=');
      if (eq > 0) env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}

/** The single ExecStart= command line: executable and arguments, with $VAR expanded from the unit's environment. */
export function execStartArgv(unit: Unit): string[] {
  const lines = unitValues(unit, 'Service', 'ExecStart').filter((l) => l !== '');
  if (lines.length !== 1) throw new Error(`expected one ExecStart=, found ${lines.length}`);
  const env = unitEnvironment(unit);
  const expand = (word: string) =>
    specifiers(word).replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a?: string, b?: string) => (m === '$$' ? '$' : env[a ?? b ?? ''] ?? ''));
  const argv = words(lines[0]!, expand);
  // Executable prefixes: @ - : + ! !!
  argv[0] = argv[0]!.replace(/^[@\-:+!]+/, '');
  return argv;
}

/** The value of `--name=value` in an argv (an ExecStart line's); throws naming the line when absent. */
export function flagValue(argv: readonly string[], name: string): string {
  const arg = argv.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) throw new Error(`no --${name} in ${argv.join(' ')}`);
  return arg.slice(name.length + 3);
}
