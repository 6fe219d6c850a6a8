/**
 * Sinks: where the bytes of a file set go (a directory on disk, memory, later an SSH host).
 * A sink observes what is there (errors as data, never a throw on the first bad file) and
 * applies a change set that the pure planner (changes.ts) made. Paths are relative to the
 * sink's root and `/`-separated.
 */

export interface ObservedFile {
  /** Permission bits (`0o777` part). */
  readonly mode: number;
  /** The owner's user id, where the sink knows it (disk); absent: the caller's own (memory). */
  readonly uid?: number;
  /** UTF-8 text; absent when the file could not be read (`error`) or is not a regular file. */
  readonly content?: string;
  /** Why the file could not be read (`EACCES`, `a symbolic link`, ...). */
  readonly error?: string;
  /**
   * SHA-256 of the content (digest.ts), when the sink vouches for it without having read the
   * file (the disk sink's tree index); `content` is then read only if asked for.
   */
  readonly digest?: string;
}

export interface Observation {
  /** Every file found below the observed trees. */
  readonly files: ReadonlyMap<string, ObservedFile>;
  /** Every directory found below (and including) the observed trees, with its mode. */
  readonly dirs: ReadonlyMap<string, number>;
  /** Names of the node trees present (`nodes/<name>`), sorted. */
  readonly nodes: readonly string[];
}

/** A file as the plan wants it. `content` is undefined in a dry run for what is not issued yet. */
export interface WantedFile {
  readonly path: string;
  readonly mode: number;
  readonly content?: string;
  /** SHA-256 of `content` when known without hashing it (a file kept as found). */
  readonly digest?: string | undefined;
  /** Never replaced once it exists with other content (the store's CA and SA files). */
  readonly protected: boolean;
  /** kpki's own bookkeeping (pki/record): replaced without a backup. */
  readonly bookkeeping?: boolean | undefined;
}

export type Change =
  | { readonly op: 'create'; readonly path: string; readonly mode: number; readonly content?: string }
  /** Replaced: the previous content is backed up first, unless it is bookkeeping. */
  | { readonly op: 'update'; readonly path: string; readonly mode: number; readonly content?: string; readonly backup: boolean }
  | { readonly op: 'chmod'; readonly path: string; readonly mode: number; readonly from: number }
  /** Backed up, then removed. */
  | { readonly op: 'remove'; readonly path: string; readonly reason: string };

export interface ChangeSet {
  readonly changes: readonly Change[];
  /** Directories to create or whose mode to restore (0700 where one holds a private file), with their mode. */
  readonly dirs: ReadonlyMap<string, number>;
  /** Directories whose mode drifted, with the mode found (reported; `dirs` restores them). */
  readonly dirDrift: ReadonlyMap<string, number>;
  /** Directories that no wanted file needs, deepest first: removed once empty. */
  readonly emptyDirs: readonly string[];
}

export type AppliedAction = 'created' | 'updated' | 'removed' | 'chmod' | 'unchanged';

export interface Applied {
  readonly path: string;
  readonly action: AppliedAction;
  /** Where the previous content was saved (`updated`, `removed`). */
  readonly backup?: string;
  /** Why (`removed`, `chmod`). */
  readonly reason?: string;
}

export interface Sink {
  /** For messages: the directory, `memory`, `host:dir`. */
  readonly name: string;
  /** Reads the given trees (relative roots such as `pki`, `nodes/cp-1`); a missing tree is empty. */
  observe(trees: readonly string[]): Promise<Observation>;
  /** Applies every change or none of the replacements (backups and temp files first). */
  apply(set: ChangeSet, options: ApplyOptions): Promise<Applied[]>;
}

export interface ApplyOptions {
  /** Folder name under `backup/` for replaced and removed files. */
  readonly backupStamp: string;
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * false: skip the flushes (fsync / syncfs) before and after the renames. Writes stay atomic
   * (temp file, rename), but a crash may lose the newest ones. Only for files that are derived
   * and re-rendered by the next run (`kpki install --stage`), never for the store.
   */
  readonly durable?: boolean;
  /**
   * Runs after the renames, before the written files are stamped for the tree index: tests use
   * it to change a file in exactly that window.
   */
  readonly afterRenames?: () => void;
}

/**
 * Something a read-only walk did not read, and why: reported, never silently left out.
 *  - `depth`, `entries`, `bytes`: a limit stopped the walk there.
 *  - `link-outside`: a symbolic link out of the roots given (not followed).
 *  - `mount`: another file system mounted inside a root (not crossed unless asked).
 *  - `special`: a FIFO, socket or device node where a file was wanted (never opened).
 */
export interface Skipped {
  readonly path: string;
  readonly why: 'depth' | 'entries' | 'bytes' | 'link-outside' | 'mount' | 'special';
  /** One clause for people: `a FIFO`, `links to /etc/shadow`, `deeper than 128 directories`. */
  readonly detail: string;
}

/** What a read-only walk of a host's directories found. Paths are as displayed: `<root>/<relative>`. */
export interface HostObservation {
  /** The files whose names were wanted, read (or the error why not). */
  readonly files: Map<string, ObservedFile>;
  /** Roots that could not be read at all (missing, not a directory, no permission, /proc), and why. */
  readonly unreadableRoots: ReadonlyArray<{ readonly root: string; readonly reason: string }>;
  readonly skipped: readonly Skipped[];
}

export interface ReadOnlyWalkOptions {
  /** The file names to read (`.crt`, `.conf`...); everything else is passed over unread. */
  readonly wanted: RegExp;
  /** Walk into other file systems mounted inside a root (pseudo-filesystems such as /proc stay skipped). */
  readonly crossMounts?: boolean;
}

/**
 * A read-only view of a host's files by absolute path (disk today, an SSH host later): what
 * `kpki check <dir>...` reads through. No apply: nothing is ever written.
 */
export interface HostReader {
  /** For messages: `disk`, `host`. */
  readonly name: string;
  /** Walks each root. Links are followed only where they stay inside the roots; every error is data. */
  observe(roots: readonly string[], options: ReadOnlyWalkOptions): Promise<HostObservation>;
  /**
   * Reads files named outside the walk (a kubeconfig's `client-certificate: /var/lib/...`),
   * following links: they were named. Absent from the result: nothing at that path; a
   * directory or special file reads as an error, never opened.
   */
  read(paths: readonly string[]): Promise<Map<string, ObservedFile>>;
}
