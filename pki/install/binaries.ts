/**
 * `kpki install --binaries DIR`: the executables a host needs, put in its binDir (0755, owner
 * root), skipped when the host's copy has the same SHA-256. Two round trips at most: one reads
 * the digests of the named files, one streams the missing or different ones over the script's
 * stdin (never a temp path on this machine, never an argument), each written to a temp file
 * beside its target, checked against its digest, then renamed over it. kpki downloads nothing.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { KpkiError } from '../errors.js';
import { shQuote, type SshTarget, type Transport } from '../sinks/ssh-transport.js';

/** One executable from --binaries DIR. */
export interface LocalBinary {
  /** File name (`etcd`). */
  readonly name: string;
  /** Where it is on this machine. */
  readonly source: string;
}

export interface BinaryResult {
  readonly name: string;
  readonly action: 'added' | 'changed' | 'unchanged';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Contents and digests read once, shared by every host (keyed by path, size and mtime: a replaced file is read again). */
const cache = new Map<string, { bytes: Buffer; sha256: string }>();
function load(source: string): { bytes: Buffer; sha256: string } {
  try {
    const st = statSync(source);
    const key = `${st.size}:${st.mtimeMs}:${source}`;
    let c = cache.get(key);
    if (!c) {
      const bytes = readFileSync(source);
      c = { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
      for (const k of cache.keys()) if (k.endsWith(`:${source}`)) cache.delete(k);
      cache.set(key, c);
    }
    return c;
  } catch (err) {
    throw new KpkiError('ERR_IO', `cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * Puts `bins` into `binDir` (absolute) on the host; `dryRun` only compares. Returns per binary
 * what happened (or would).
 */
export async function installBinaries(transport: Transport, target: SshTarget, binDir: string, bins: readonly LocalBinary[], dryRun: boolean): Promise<BinaryResult[]> {
  if (!bins.length) return [];
  if (!binDir.startsWith('/') || /[\n\r\0]/.test(binDir)) throw new KpkiError('ERR_BAD_ARGUMENT', `binDir ${JSON.stringify(binDir)} is not an absolute path`);
  for (const b of bins) if (!NAME.test(b.name)) throw new KpkiError('ERR_BAD_ARGUMENT', `${JSON.stringify(b.name)} is not a binary name kpki copies`);
  const dir = shQuote(binDir);
  const read = await transport.exec(target, `cd ${dir} 2>/dev/null || exit 0
for f in ${bins.map((b) => shQuote(b.name)).join(' ')}; do
  if [ -f "$f" ] && [ ! -L "$f" ]; then h=$(sha256sum < "$f") && printf '%s %s\\n' "\${h%% *}" "$f"; fi
done`);
  if (read.code !== 0) throw new KpkiError('ERR_IO', `${target.name}: cannot read the digests in ${binDir}: ${read.stderr.trim().split('\n').at(-1) ?? `exit ${read.code}`}`);
  const there = new Map(read.stdout.toString('utf8').split('\n').filter(Boolean).map((l) => [l.slice(65), l.slice(0, 64)] as const));
  const results: BinaryResult[] = [];
  const send: Array<{ name: string; bytes: Buffer; sha256: string }> = [];
  for (const b of bins) {
    const { bytes, sha256 } = load(b.source);
    const have = there.get(b.name);
    if (have === sha256) {
      results.push({ name: b.name, action: 'unchanged' });
      continue;
    }
    results.push({ name: b.name, action: have === undefined ? 'added' : 'changed' });
    send.push({ name: b.name, bytes, sha256 });
  }
  if (dryRun || !send.length) return results;
  const parts: Buffer[] = [];
  for (const s of send) parts.push(Buffer.from(`${s.sha256} ${s.bytes.length} ${s.name}\n`), s.bytes);
  // Mode 0755 only once the bytes are checked; a failure leaves the old binary in place.
  const script = `set -u
umask 077
mkdir -p -m 755 ${dir} || { echo "kpki: cannot create ${binDir}" >&2; exit 3; }
cd ${dir} || exit 3
while IFS=' ' read -r sum size name; do
  t=".$name.kpki-$$.tmp"
  head -c "$size" > "$t" || { rm -f "$t"; echo "kpki: cannot write ${binDir}/$name" >&2; exit 3; }
  h=$(sha256sum < "$t"); [ "\${h%% *}" = "$sum" ] || { rm -f "$t"; echo "kpki: ${binDir}/$name arrived damaged" >&2; exit 3; }
  chown 0:0 "$t" && chmod 755 "$t" && mv -f -T "$t" "$name" || { rm -f "$t"; echo "kpki: cannot replace ${binDir}/$name" >&2; exit 3; }
  echo "w $name"
done
`;
  const r = await transport.exec(target, script, Buffer.concat(parts));
  const written = new Set(r.stdout.toString('utf8').split('\n').filter((l) => l.startsWith('w ')).map((l) => l.slice(2)));
  if (r.code !== 0 || send.some((s) => !written.has(s.name))) {
    const why = r.stderr.split('\n').filter((l) => l.startsWith('kpki: ')).map((l) => l.slice(6)).join('; ') || r.stderr.trim().split('\n').at(-1) || `exit ${r.code}`;
    throw new KpkiError('ERR_IO', `${target.name}: copying binaries failed: ${why}`);
  }
  return results;
}
