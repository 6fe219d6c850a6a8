/**
 * The SSH host sink: the same contract as the disk sink, on a host reached through a
 * Transport. A host costs two round trips: `observe` is one `tar -c` of the trees (modes,
 * owners and contents; links and devices reported, never followed), `apply` is one script
 * fed a framed change set on stdin. Each write goes to a temp file created 0600 (umask 077)
 * beside its target, owned by root, then renamed over it; backups and every temp file come
 * first, so a failure before the renames replaces nothing. Key material travels only on the
 * script's stdin: never in a process argument, an environment variable or a log line.
 */
import { randomBytes } from 'node:crypto';
import { KpkiError } from '../errors.js';
import { isKpkiTemp } from './changes.js';
import { readTar } from './tar-read.js';
import { shQuote, type SshTarget, type Transport } from './ssh-transport.js';
import type { Applied, ApplyOptions, ChangeSet, Observation, ObservedFile, Sink } from './types.js';

export interface SshSinkOptions {
  /** The directory on the host that paths are relative to (default `/`). */
  readonly root?: string;
  /** Where replaced and removed files are kept on the host, absolute (default `/var/backups/kpki`). */
  readonly backupDir?: string;
  /** Files larger than this (KiB) are observed by digest only, never transferred (default 1024). */
  readonly contentLimitKib?: number;
}

/** Paths kpki writes: relative, `/`-separated, no `.`/`..` segment, nothing a line-framed stream could misread. */
function checkPath(p: string): string {
  if (!p || p.startsWith('/') || /[\n\r\0]/.test(p) || p !== p.trim() || p.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new KpkiError('ERR_BAD_ARGUMENT', `${JSON.stringify(p)}: not a path the SSH sink writes (relative, no . or .. segment, no line break or edge blank)`);
  }
  return p;
}

const octal = (m: number) => (m & 0o7777).toString(8);

/** The fewest directories whose trees hold every path (`etc/kubernetes` covers `etc/kubernetes/pki`): what to observe for a file set. */
export function coveringDirs(paths: readonly string[]): string[] {
  const dirs = [...new Set(paths.map((p) => p.slice(0, Math.max(0, p.lastIndexOf('/'))) || p))].sort();
  return dirs.filter((d, i) => !dirs.slice(0, i).some((o) => d.startsWith(`${o}/`)));
}

/** Every proper ancestor of the trees (`etc` for `etc/kubernetes`). */
const ancestorsOf = (trees: readonly string[]) =>
  [...new Set(trees.flatMap((t) => t.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))))];

/**
 * Lists node trees and the trees' ancestors that are directories, and the SHA-256 of each file
 * larger than `limitKib` (a binary in binDir travels as 64 hex digits, not megabytes), then
 * archives the rest of the trees that exist (tar exits 2 on a file it could not read: data,
 * not a failure).
 */
const observeScript = (root: string, trees: readonly string[], limitKib: number) => `
cd ${shQuote(root)} 2>/dev/null || { echo NOROOT; exit 0; }
printf NODES
if [ -d nodes ] && [ ! -L nodes ]; then for d in nodes/*/; do [ -d "$d" ] || continue; d=\${d#nodes/}; printf ' %s' "\${d%/}"; done; fi
printf '\\n'
for a in ${ancestorsOf(trees).map(shQuote).join(' ')}; do [ -d "$a" ] && [ ! -L "$a" ] && printf 'A %s\\n' "$a"; done
set --
for t in ${trees.map(shQuote).join(' ')}; do if [ -e "$t" ] || [ -L "$t" ]; then set -- "$@" "$t"; fi; done
if [ $# -gt 0 ]; then
  find "$@" -type f -size +${limitKib}k -printf '%m %U %p\\n' | while IFS=' ' read -r m u p; do
    h=$(sha256sum < "$p") && printf 'H %s %s %s %s\\n' "\${h%% *}" "$m" "$u" "$p"
  done
fi
echo TAR
[ $# -eq 0 ] && exit 0
find "$@" \\( -type f -size +${limitKib}k \\) -o -print0 | tar -cf - --format=gnu --numeric-owner --hard-dereference --null --no-recursion -T -
`;

/**
 * The apply interpreter. Reads `op mode size path` lines: before COMMIT `D` (directory:
 * size `c` creates it if missing, `r` also restores the mode of an existing one),
 * `T` (leftover temp to remove), `B` (back up), `W` (write `size` bytes that follow into a
 * temp file); at COMMIT everything is flushed and renamed into place; after it `C` (chmod),
 * `R` (remove, after its backup), `E` (remove the directory if empty). Prints `b <path>` per
 * backup made. Exit 3: nothing replaced; exit 4: stopped during or after the renames (the
 * backups stay: they hold the only copies of what was replaced).
 */
const applyScript = (root: string, backup: string, suffix: string) => `
set -u
umask 077
base=${shQuote(root === '/' ? '' : root)}
bk=${shQuote(backup)}
work=$(mktemp -d) || exit 3
trap 'rm -rf "$work"' EXIT
: > "$work/temps"; : > "$work/backups"; : > "$work/dirs"; : > "$work/renames"
n=0; total=0
[ -z "$base" ] || [ -d "$base" ] || mkdir -p -- "$base" || { echo "kpki: cannot create $base" >&2; exit 3; }
committed=0
abort() {
  # After the renames nothing is undone: the replaced files' backups are their only copies.
  [ "$committed" = 0 ] || stop "$1" "; previous versions are in $bk"
  printf 'kpki: %s\\n' "$1" >&2
  while IFS= read -r f; do rm -f -- "$f"; done < "$work/temps"
  while IFS= read -r f; do rm -f -- "$f"; done < "$work/backups"
  tac "$work/dirs" | while IFS= read -r d; do rmdir -- "$d" 2>/dev/null; done
  exit 3
}
stop() { printf 'kpki: %s; %s of %s changes were made%s\\n' "$1" "$n" "$total" "$2" >&2; while IFS= read -r f; do rm -f -- "$f"; done < "$work/temps"; exit 4; }
aside() { mkdir -p -- "$(dirname -- "$2")" && mv -f -T -- "$1" "$2"; }
# fsync what this run wrote (files listed one per line), not every dirty page of the host;
# a sync(1) without file arguments (coreutils before 8.24) flushes everything instead.
flush() { [ -s "$1" ] || return 0; xargs -d '\\n' sync -- < "$1" 2>/dev/null || sync; }
: > "$work/parents"
while IFS=' ' read -r op mode size p; do
  a="$base/$p"
  case $op in
  D)
    if [ -d "$a" ] && [ ! -L "$a" ]; then [ "$size" = c ] || chmod "$mode" -- "$a" || abort "cannot set the mode of $a"
    elif [ -e "$a" ] || [ -L "$a" ]; then abort "cannot create the directory $a: a file or link is in the way"
    else mkdir -m "$mode" -- "$a" || abort "cannot create the directory $a"; printf '%s\\n' "$a" >> "$work/dirs"; chown 0:0 -- "$a"; fi ;;
  T) rm -f -- "$a" ;;
  B)
    if [ -f "$a" ] && [ ! -L "$a" ]; then
      mkdir -p -- "$(dirname -- "$bk/$p")" || abort "cannot create the backup directory for $a"
      cat -- "$a" > "$bk/$p" || abort "cannot back up $a"
      printf '%s\\n' "$bk/$p" >> "$work/backups"; printf 'b %s\\n' "$p"
    elif [ -e "$a" ] || [ -L "$a" ]; then printf 'b %s\\n' "$p"; printf '%s\\n' "$p" >> "$work/aside"; fi ;;
  W)
    t="$a.kpki-${suffix}.tmp"
    printf '%s\\n' "$t" >> "$work/temps"
    head -c "$size" > "$t" || abort "cannot write $a"
    [ "$(wc -c < "$t")" -eq "$size" ] || abort "the change set ended early at $a"
    chown 0:0 -- "$t" && chmod "$mode" -- "$t" || abort "cannot set the owner and mode of $a"
    if [ -d "$a" ] && [ ! -L "$a" ]; then abort "cannot replace $a: it is a directory"; fi
    printf '%s\\n%s\\n' "$t" "$p" >> "$work/renames"; total=$((total+1)) ;;
  COMMIT)
    cat "$work/temps" "$work/backups" > "$work/flush"; flush "$work/flush" || abort "cannot flush the written files"
    touch "$work/aside"
    while IFS= read -r t && IFS= read -r p; do
      a="$base/$p"
      if grep -qxF -- "$p" "$work/aside"; then aside "$a" "$bk/$p" || stop "cannot move $a aside" ""; fi
      mv -f -T -- "$t" "$a" || stop "cannot replace $a" "; previous versions are in $bk"
      printf '%s\\n' "\${a%/*}" >> "$work/parents"
      n=$((n+1))
    done < "$work/renames"
    : > "$work/temps"; committed=1 ;;
  C) total=$((total+1)); if [ -f "$a" ] && [ ! -L "$a" ]; then chmod "$mode" -- "$a" || stop "cannot set the mode of $a" ""; fi; n=$((n+1)) ;;
  R)
    total=$((total+1))
    printf '%s\\n' "\${a%/*}" >> "$work/parents"
    if [ -f "$a" ] && [ ! -L "$a" ]; then rm -f -- "$a" || stop "cannot remove $a" ""
    elif [ -e "$a" ] || [ -L "$a" ]; then aside "$a" "$bk/$p" || stop "cannot move $a aside" ""; fi
    n=$((n+1)) ;;
  E) rmdir -- "$a" 2>/dev/null || true ;;
  END) sort -u "$work/parents" > "$work/flush"; flush "$work/flush"; echo done; exit 0 ;;
  *) abort "unexpected instruction $op" ;;
  esac
done
abort "the change set ended early"
`;

/** A TransportError or a failed script, as one sentence naming the host. */
function hostError(name: string, what: string, stderr: string): KpkiError {
  const msg = stderr.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('kpki: ') || l.startsWith('tar: ')).map((l) => l.replace(/^kpki: /, '')).join('; ');
  return new KpkiError('ERR_IO', `${name}: ${what}${msg ? `: ${msg}` : stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`);
}

export function sshSink(transport: Transport, target: SshTarget, options: SshSinkOptions = {}): Sink {
  const root = (options.root ?? '/').replace(/(.)\/+$/, '$1');
  const backupDir = options.backupDir ?? '/var/backups/kpki';
  const name = `${target.name}:${root}`;
  let temps: string[] = [];
  /** Directories above the last observed trees that exist: never re-moded (they are the host's: /etc, /var/lib). */
  let ancestors = new Set<string>();
  return {
    name,
    async observe(trees) {
      for (const t of trees) checkPath(t);
      const r = await transport.exec(target, observeScript(root, trees, Math.max(1, Math.floor(options.contentLimitKib ?? 1024))));
      if (r.code !== 0 && r.code !== 2) throw hostError(name, `cannot read ${trees.join(', ')}`, r.stderr);
      const files = new Map<string, ObservedFile>();
      const dirs = new Map<string, number>();
      ancestors = new Set();
      // Header lines up to `TAR`, then the archive.
      let at = 0;
      let nodes: string[] | undefined;
      for (;;) {
        const nl = r.stdout.indexOf(0x0a, at);
        const line = r.stdout.subarray(at, nl < 0 ? r.stdout.length : nl).toString('utf8');
        at = nl < 0 ? r.stdout.length : nl + 1;
        if (line === 'NOROOT') return { files, dirs, nodes: [] };
        if (line.startsWith('NODES')) nodes = line.slice(5).split(' ').filter(Boolean).sort();
        else if (line.startsWith('A ')) ancestors.add(line.slice(2));
        else if (line.startsWith('H ')) {
          // H <sha256 hex> <mode octal> <uid> <path>: vouched for by digest (digest.ts's base64url form).
          const m = /^H ([0-9a-f]{64}) ([0-7]+) (\d+) (.+)$/.exec(line);
          if (!m) throw hostError(name, 'unexpected answer from the host', r.stderr);
          files.set(m[4]!, { mode: parseInt(m[2]!, 8) & 0o777, uid: Number(m[3]), digest: Buffer.from(m[1]!, 'hex').toString('base64url') });
        }
        else if (line === 'TAR') break;
        else throw hostError(name, 'unexpected answer from the host', r.stderr);
        if (nl < 0) throw hostError(name, 'the answer from the host ended early', r.stderr);
      }
      if (!nodes) throw hostError(name, 'unexpected answer from the host', r.stderr);
      let entries;
      try {
        entries = readTar(r.stdout.subarray(at));
      } catch (err) {
        throw new KpkiError('ERR_IO', `${name}: the archive of ${trees.join(', ')} is damaged: ${(err as Error).message}`);
      }
      temps = [];
      for (const e of entries) {
        if (e.type === 'dir') dirs.set(e.path, e.mode);
        else if (e.type === 'file') {
          files.set(e.path, { mode: e.mode, uid: e.uid, content: e.content!.toString('utf8') });
          if (isKpkiTemp(e.path)) temps.push(e.path);
        } else files.set(e.path, { mode: e.mode, uid: e.uid, error: e.type === 'symlink' ? 'a symbolic link' : 'not a regular file' });
      }
      // Files tar could not read: data, as the disk sink reports them.
      for (const m of r.stderr.matchAll(/^tar: (.+?): Cannot (?:open|read|stat): (.+)$/gm)) {
        files.set(m[1]!, { mode: 0, error: m[2]!.trim() });
      }
      return { files, dirs, nodes } satisfies Observation;
    },
    async apply(set: ChangeSet, options: ApplyOptions) {
      const results: Applied[] = [];
      const leftovers = temps;
      temps = [];
      // Directories to create (`c`: an existing one is left as it is) or to restore (`r`, drifted);
      // an ancestor of the trees that exists is the host's own and is not touched.
      const dirs = [...set.dirs]
        .filter(([d]) => set.dirDrift.has(d) || !ancestors.has(d))
        .sort(([a], [b]) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
      if (!set.changes.length && !dirs.length && !leftovers.length) return results;
      const stamp = checkPath(options.backupStamp);
      const bk = `${backupDir}/${stamp}`;
      const parts: Buffer[] = [];
      const line = (op: string, mode: string, size: string, p: string) => parts.push(Buffer.from(`${op} ${mode} ${size} ${checkPath(p)}\n`));
      for (const c of set.changes) {
        if ((c.op === 'create' || c.op === 'update') && c.content === undefined) throw new Error(`${c.path}: no content to write (a dry-run change set)`);
      }
      for (const t of leftovers) line('T', '-', '-', t);
      for (const [d, m] of dirs) line('D', octal(m), set.dirDrift.has(d) ? 'r' : 'c', d);
      for (const c of set.changes) if ((c.op === 'update' && c.backup) || c.op === 'remove') line('B', '-', '-', c.path);
      let writes = 0;
      for (const c of set.changes) {
        if (c.op !== 'create' && c.op !== 'update') continue;
        const bytes = Buffer.from(c.content!, 'utf8');
        line('W', octal(c.mode), String(bytes.length), c.path);
        parts.push(bytes);
        writes++;
      }
      parts.push(Buffer.from('COMMIT - - -\n'));
      for (const c of set.changes) {
        if (c.op === 'chmod') line('C', octal(c.mode), '-', c.path);
        else if (c.op === 'remove') line('R', '-', '-', c.path);
      }
      for (const d of set.emptyDirs) line('E', '-', '-', d);
      parts.push(Buffer.from('END - - -\n'));
      const r = await transport.exec(target, applyScript(root, bk, randomBytes(6).toString('hex')), Buffer.concat(parts));
      if (r.code === 3) throw hostError(name, 'nothing was replaced', r.stderr);
      if (r.code !== 0 || !/^done$/m.test(r.stdout.toString('utf8'))) throw hostError(name, r.code === 4 ? 'stopped while replacing files' : `the apply script failed (exit ${r.code})`, r.stderr);
      const backedUp = new Set(r.stdout.toString('utf8').split('\n').filter((l) => l.startsWith('b ')).map((l) => l.slice(2)));
      const backupOf = (p: string) => {
        if (!backedUp.has(p)) return {};
        const where = `${bk}/${p}`;
        const rel = root === '/' ? where.slice(1) : where.startsWith(`${root}/`) ? where.slice(root.length + 1) : where;
        return { backup: rel };
      };
      for (const p of leftovers) results.push({ path: p, action: 'removed', reason: 'a temp file left by an interrupted kpki run' });
      options.onProgress?.(writes, writes);
      for (const c of set.changes) {
        const base = { path: c.path, ...backupOf(c.path) };
        if (c.op === 'create') results.push({ ...base, action: 'created' });
        else if (c.op === 'update') results.push({ ...base, action: 'updated' });
        else if (c.op === 'chmod') results.push({ ...base, action: 'chmod', reason: `mode ${c.from.toString(8)} → ${c.mode.toString(8)}` });
        else results.push({ ...base, action: 'removed', reason: c.reason });
      }
      return results;
    },
  };
}
