/**
 * The disk as a read-only host for `kpki check <dir>...`: any directory of any machine (a
 * kubeadm node's /etc/kubernetes, `/`, a cfssl host's /k8s). The sink's walk (disk-walk.ts)
 * reads kpki's own trees; this one meets whatever a host holds, so it is bounded:
 *  - a symbolic link is followed only where it stays inside the roots given (a link to
 *    /etc/shadow, or /proc/<pid>/root back to `/`, is reported, not followed), and every
 *    directory is entered once, so link loops end;
 *  - other file systems mounted inside a root are not entered unless asked (`find -xdev`), and
 *    pseudo-filesystems (/proc, /sys, ...) never: they hold kernel state, not files;
 *  - FIFOs, sockets and devices are never opened (opening a FIFO blocks);
 *  - depth, entries listed and bytes read have limits, and reaching one is reported.
 * Iterative, so a tree of any depth costs no stack. Mount points come from
 * /proc/self/mountinfo where there is one: a mount that is not entered is not even stat'ed (a
 * dead NFS server cannot hang the walk); elsewhere each directory's device number tells.
 */
import * as fs from 'node:fs';
import type { HostObservation, HostReader, ObservedFile, ReadOnlyWalkOptions, Skipped } from './types.js';

/** Directories below a root: deeper ones are reported, not read. */
export const MAX_DEPTH = 128;
/** Directory entries listed in one walk (a big host's `/` has a few hundred thousand). */
export const MAX_ENTRIES = 1_000_000;
/** Larger files are not certificates: not read. */
export const MAX_FILE_BYTES = 1 << 20;
/** Bytes read in one walk. */
export const MAX_TOTAL_BYTES = 256 << 20;
/** Skipped paths listed per reason; the rest are counted. */
const MAX_LISTED = 100;

/** File systems that hold kernel state, not files: never walked, not even with crossMounts. */
const PSEUDO = new Set([
  'proc', 'sysfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'debugfs', 'tracefs', 'securityfs', 'bpf', 'pstore',
  'configfs', 'fusectl', 'mqueue', 'hugetlbfs', 'binfmt_misc', 'autofs', 'efivarfs', 'selinuxfs', 'nsfs', 'rpc_pipefs', 'nfsd',
]);
/** statfs(2) magic numbers of the same, for a host without /proc/self/mountinfo. */
const PSEUDO_MAGIC = new Map<number, string>([
  [0x9fa0, 'proc'], [0x62656572, 'sysfs'], [0x1cd1, 'devpts'], [0x27e0eb, 'cgroup'], [0x63677270, 'cgroup2'], [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'], [0x73636673, 'securityfs'], [0xcafe4a11, 'bpf'], [0x6165676c, 'pstore'], [0x62656570, 'configfs'],
  [0x65735543, 'fusectl'], [0x19800202, 'mqueue'], [0x958458f6, 'hugetlbfs'], [0x42494e4d, 'binfmt_misc'], [0x0187, 'autofs'],
  [0xde5e81e4, 'efivarfs'], [0xf97cff8c, 'selinuxfs'], [0x6e736673, 'nsfs'],
]);

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

/** Mount points and their file system types, from the kernel's table; undefined where there is none. */
function readMounts(): Map<string, string> | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const mounts = new Map<string, string>();
  for (const line of text.split('\n')) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (fields.length < 7 || dash < 0) continue;
    mounts.set(unescape(fields[4]!), fields[dash + 1]!);
  }
  return mounts.size ? mounts : undefined;
}

/** The type of the file system `real` (a real path) is on: the longest mount point above it. */
function fsTypeOf(real: string, mounts: Map<string, string> | undefined): string | undefined {
  if (mounts) {
    for (let p = real; ; p = p.slice(0, Math.max(1, p.lastIndexOf('/')))) {
      const type = mounts.get(p);
      if (type !== undefined || p === '/') return type;
    }
  }
  try {
    return PSEUDO_MAGIC.get(Number(fs.statfsSync(real).type) >>> 0);
  } catch {
    return undefined;
  }
}

const within = (real: string, roots: readonly string[]) => roots.some((r) => real === r || real.startsWith(r === '/' ? '/' : `${r}/`));

const SPECIAL: Array<[(s: fs.Stats | fs.Dirent) => boolean, string]> = [
  [(s) => s.isFIFO(), 'a FIFO'], [(s) => s.isSocket(), 'a socket'], [(s) => s.isCharacterDevice(), 'a character device'],
  [(s) => s.isBlockDevice(), 'a block device'], [(s) => s.isDirectory(), 'a directory'],
];
const kindOf = (s: fs.Stats | fs.Dirent) => SPECIAL.find(([is]) => is(s))?.[1] ?? 'not a regular file';

/** One buffer reused for every file read: thousands of small files allocate nothing but their text. */
let scratch = Buffer.allocUnsafe(1 << 16);
const TOO_LARGE = `larger than ${MAX_FILE_BYTES} bytes; not a certificate file`;

/**
 * Reads a file that should be a regular one. Opening never blocks (O_NONBLOCK: a FIFO swapped
 * in since the listing) and, unless `follow`, never follows a link; fstat on the open
 * descriptor says what it is. `special` names what it was instead of a regular file.
 */
function readFile(abs: string, follow: boolean): { file: ObservedFile; bytes: number } | { special: string; mode: number } {
  let fd: number;
  try {
    fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (follow ? 0 : fs.constants.O_NOFOLLOW));
  } catch (err) {
    return { file: { mode: 0, error: errno(err) === 'ELOOP' && !follow ? 'a symbolic link' : errno(err) }, bytes: 0 };
  }
  try {
    const st = fs.fstatSync(fd);
    const mode = st.mode & 0o777;
    if (!st.isFile()) return { special: kindOf(st), mode };
    if (st.size > MAX_FILE_BYTES) return { file: { mode, error: TOO_LARGE }, bytes: 0 };
    if (st.size >= scratch.length) scratch = Buffer.allocUnsafe(st.size + 1);
    // To EOF, up to the limit: a size of 0 may be a pseudo-file or a file still being written.
    // One read gives the whole file when its size is what fstat said.
    let n = 0;
    for (;;) {
      if (n === scratch.length) {
        if (n > MAX_FILE_BYTES) break;
        const grown = Buffer.allocUnsafe(Math.min(MAX_FILE_BYTES + 1, Math.max(st.size + 1, n * 2)));
        scratch.copy(grown, 0, 0, n);
        scratch = grown;
      }
      const got = fs.readSync(fd, scratch, n, scratch.length - n, null);
      n += got;
      if (got === 0 || (n === st.size && n > 0)) break;
    }
    if (n > MAX_FILE_BYTES) return { file: { mode, error: TOO_LARGE }, bytes: 0 };
    return { file: { mode, content: scratch.toString('utf8', 0, n) }, bytes: n };
  } catch (err) {
    return { file: { mode: 0, error: errno(err) }, bytes: 0 };
  } finally {
    fs.closeSync(fd);
  }
}

/** A directory being listed: the walk's own stack frame. */
interface Frame {
  readonly display: string;
  readonly abs: string;
  /** Its real path (no links, no `..`), for the roots' bounds and the once-only rule. */
  readonly real: string;
  readonly depth: number;
  readonly dev: number;
  readonly entries: fs.Dirent[];
  next: number;
}

/** Walks `roots` read-only. Synchronous: the syscalls are sequential anyway (see disk.ts). */
export function walkRoots(roots: readonly string[], options: ReadOnlyWalkOptions): HostObservation {
  const { wanted, crossMounts = false } = options;
  const files = new Map<string, ObservedFile>();
  const unreadableRoots: Array<{ root: string; reason: string }> = [];
  const skipped: Skipped[] = [];
  const mounts = readMounts();
  const entered = new Set<string>(); // real paths of directories listed
  let entries = 0;
  let bytes = 0;
  let stopped = false;

  // The roots' real paths bound where links may lead.
  const starts: Array<{ root: string; display: string; real: string; dev: number }> = [];
  for (const root of roots) {
    let st: fs.Stats;
    let real: string;
    try {
      st = fs.statSync(root); // a root given as a link: its target is what was asked for
      real = fs.realpathSync.native(root);
    } catch (err) {
      unreadableRoots.push({ root, reason: errno(err) === 'ENOENT' ? 'no such directory' : `not a readable directory (${errno(err)})` });
      continue;
    }
    if (!st.isDirectory()) {
      unreadableRoots.push({ root, reason: 'not a directory' });
      continue;
    }
    const type = fsTypeOf(real, mounts);
    if (type !== undefined && PSEUDO.has(type)) {
      unreadableRoots.push({ root, reason: `the ${type} pseudo-filesystem holds kernel state, not certificate files` });
      continue;
    }
    starts.push({ root, display: root.replace(/\/+$/, '') || '/', real, dev: st.dev });
  }
  const realRoots = starts.map((s) => s.real);

  const skip = (path: string, why: Skipped['why'], detail: string) => skipped.push({ path, why, detail });
  const stop = (path: string, why: Skipped['why'], detail: string) => {
    skip(path, why, detail);
    stopped = true;
  };

  /** Lists a directory onto the stack; false when a root cannot be listed (recorded). */
  const list = (stack: Frame[], f: Omit<Frame, 'entries' | 'next'>, isRoot: boolean): boolean => {
    if (entered.has(f.real)) return true; // reached again through a link: read once
    let list: fs.Dirent[];
    try {
      list = fs.readdirSync(f.abs, { withFileTypes: true });
    } catch (err) {
      if (isRoot) {
        unreadableRoots.push({ root: f.abs, reason: `not a readable directory (${errno(err)})` });
        return false;
      }
      let mode = 0;
      try {
        mode = fs.lstatSync(f.abs).mode & 0o777;
      } catch {
        // gone: mode 0
      }
      files.set(`${f.display}/`, { mode, error: `directory not readable (${errno(err)})` });
      return true;
    }
    entered.add(f.real);
    entries += list.length;
    if (entries > MAX_ENTRIES) {
      stop(`${f.display}/`, 'entries', `the walk stopped after listing ${MAX_ENTRIES.toLocaleString('en')} directory entries`);
      return true;
    }
    list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    stack.push({ ...f, entries: list, next: 0 });
    return true;
  };

  /**
   * Whether `real` (reached from `from`) lies on another file system that the walk leaves
   * alone: recorded as skipped unless it is kernel state (never a certificate). `dev` is its
   * device number when already stat'ed; `via` the link's target, when a link leads there.
   */
  const offLimits = (from: Frame, display: string, real: string, dev: number | undefined, via: string | undefined): boolean => {
    const mountType = mounts?.get(real);
    if (mountType === undefined && (dev === undefined || dev === from.dev)) return false;
    const type = mountType ?? fsTypeOf(real, mounts);
    if (type !== undefined && PSEUDO.has(type)) return true;
    if (crossMounts) return false;
    const where = type ? `a ${type} file system` : 'another file system';
    skip(display, 'mount', via === undefined ? `${where} is mounted there; not read` : `links to ${via}, on ${where}; not read`);
    return true;
  };

  /** A directory found inside the walk (listed, or a link's target): entered, or recorded as skipped. */
  const enter = (stack: Frame[], parent: Frame, display: string, abs: string, real: string, linkDev: number | undefined): void => {
    let dev = linkDev;
    if (dev === undefined && !mounts) {
      // No mount table: the device number tells where another file system begins.
      try {
        dev = fs.statSync(abs).dev;
      } catch (err) {
        files.set(`${display}/`, { mode: 0, error: `directory not readable (${errno(err)})` });
        return;
      }
    }
    if (offLimits(parent, `${display}/`, real, dev, linkDev === undefined ? undefined : real)) return;
    if (parent.depth + 1 > MAX_DEPTH) {
      skip(`${display}/`, 'depth', `deeper than ${MAX_DEPTH} directories below the path given; not read`);
      return;
    }
    if (dev === undefined) {
      if (mounts?.has(real)) {
        // A mount point crossed on request: its own device number, for the links below it.
        try {
          dev = fs.statSync(abs).dev;
        } catch (err) {
          files.set(`${display}/`, { mode: 0, error: `directory not readable (${errno(err)})` });
          return;
        }
      } else dev = parent.dev;
    }
    list(stack, { display, abs, real, depth: parent.depth + 1, dev }, false);
  };

  for (const start of starts) {
    if (stopped) break;
    const stack: Frame[] = [];
    if (!list(stack, { display: start.display, abs: start.root, real: start.real, depth: 0, dev: start.dev }, true)) continue;
    while (stack.length && !stopped) {
      const dir = stack[stack.length - 1]!;
      const e = dir.entries[dir.next++];
      if (!e) {
        stack.pop();
        continue;
      }
      const display = dir.display === '/' ? `/${e.name}` : `${dir.display}/${e.name}`;
      const abs = dir.abs.endsWith('/') ? dir.abs + e.name : `${dir.abs}/${e.name}`;
      const real = dir.real === '/' ? `/${e.name}` : `${dir.real}/${e.name}`;
      const isWanted = wanted.test(e.name);
      if (e.isDirectory()) enter(stack, dir, display, abs, real, undefined);
      else if (e.isFile()) {
        if (!isWanted) continue;
        if (bytes > MAX_TOTAL_BYTES) {
          stop(display, 'bytes', `the walk stopped after reading ${MAX_TOTAL_BYTES >> 20} MiB`);
          continue;
        }
        const r = readFile(abs, false);
        if ('special' in r) skip(display, 'special', r.special);
        else {
          files.set(display, r.file);
          bytes += r.bytes;
        }
      } else if (e.isSymbolicLink()) {
        let st: fs.Stats;
        let target: string;
        try {
          st = fs.statSync(abs);
          target = fs.realpathSync.native(abs);
        } catch (err) {
          if (isWanted) files.set(display, { mode: 0, error: errno(err) === 'ENOENT' ? 'a dangling symbolic link' : errno(err) });
          continue;
        }
        if (!st.isDirectory() && !isWanted) continue;
        if (!within(target, realRoots)) {
          skip(display, 'link-outside', `links to ${target}, outside the paths given; not followed`);
          continue;
        }
        if (st.isDirectory()) enter(stack, dir, display, abs, target, st.dev);
        else if (offLimits(dir, display, target, st.dev, target)) continue;
        else if (bytes > MAX_TOTAL_BYTES) stop(display, 'bytes', `the walk stopped after reading ${MAX_TOTAL_BYTES >> 20} MiB`);
        else {
          const r = readFile(abs, true);
          if ('special' in r) skip(display, 'special', r.special);
          else {
            files.set(display, r.file);
            bytes += r.bytes;
          }
        }
      } else if (isWanted) skip(display, 'special', kindOf(e));
    }
  }
  return { files, unreadableRoots, skipped: capped(skipped) };
}

/** At most MAX_LISTED paths per reason: a hostile tree cannot make the report unbounded. */
function capped(skipped: Skipped[]): Skipped[] {
  const seen = new Map<Skipped['why'], number>();
  const out: Skipped[] = [];
  for (const s of skipped) {
    const n = (seen.get(s.why) ?? 0) + 1;
    seen.set(s.why, n);
    if (n <= MAX_LISTED) out.push(s);
  }
  for (const [why, n] of seen) {
    if (n > MAX_LISTED) out.push({ path: skipped.filter((s) => s.why === why)[MAX_LISTED]!.path, why, detail: `and ${n - MAX_LISTED} more paths like the ones listed (not each reported)` });
  }
  return out;
}

/** Reads named files, following links (they were named); a directory or special file is never opened. */
export function readNamed(paths: readonly string[]): Map<string, ObservedFile> {
  const out = new Map<string, ObservedFile>();
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (err) {
      if (errno(err) !== 'ENOENT' && errno(err) !== 'ENOTDIR') out.set(p, { mode: 0, error: errno(err) });
      continue;
    }
    if (!st.isFile()) {
      out.set(p, { mode: st.mode & 0o777, error: `not a regular file (${kindOf(st)})` });
      continue;
    }
    const r = readFile(p, true);
    out.set(p, 'special' in r ? { mode: r.mode, error: `not a regular file (${r.special})` } : r.file);
  }
  return out;
}

/** The disk as a HostReader: the default for `kpki check <dir>...`. */
export function diskHostReader(): HostReader {
  return {
    name: 'disk',
    observe: async (roots, options) => walkRoots(roots, options),
    read: async (paths) => readNamed(paths),
  };
}

