/**
 * Files carried over as found: a kept leaf's files that rendering would give byte for byte,
 * and bookkeeping that did not change. They are compared by digest, so a file the sink
 * vouches for (the disk sink's tree index) is never read unless it has to be written
 * somewhere else.
 */
import { fileDigest } from './digest.js';
import { KpkiError } from '../errors.js';
import type { ObservedFile, WantedFile } from './types.js';

/** A found file's text, read only if asked for (the sink may know only its digest). */
export class KeptText {
  constructor(private readonly file: ObservedFile, private readonly path: string) {}

  get text(): string {
    const t = this.file.content;
    if (t === undefined) throw new KpkiError('ERR_IO', `${this.path} changed while kpki was reading it (${this.file.error}); run again`);
    return t;
  }

  get digest(): string | undefined {
    return fileDigest(this.file);
  }
}

/** A wanted file whose content is a found file's, as it is. A class: thousands per run. */
export class AsFoundFile implements WantedFile {
  readonly 'protected': boolean;

  constructor(
    readonly path: string,
    readonly mode: number,
    private readonly kept: KeptText,
    isProtected: boolean,
    readonly bookkeeping?: boolean,
  ) {
    this.protected = isProtected;
  }

  get content(): string {
    return this.kept.text;
  }

  get digest(): string | undefined {
    return this.kept.digest;
  }
}
