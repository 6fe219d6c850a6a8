/**
 * Every error kpki throws on purpose is a KpkiError with a stable string `code`, so callers
 * can `switch (err.code)` and the CLI can map codes to exit statuses in one place.
 */

export type KpkiErrorCode =
  | 'ERR_PLAN_INVALID'
  | 'ERR_PEM_INVALID'
  | 'ERR_STORE_CONFLICT'
  | 'ERR_CA_MISSING'
  /** A CA that cannot sign: expired, not yet valid, or a key kpki cannot sign with. */
  | 'ERR_CA_UNUSABLE'
  /** Another kpki process holds the store's lock. */
  | 'ERR_LOCKED'
  /** The output directory cannot be used: empty, a file (or below one), read-only, denied. */
  | 'ERR_OUT_INVALID'
  /** A command line kpki cannot act on: unknown command or flag, a value of the wrong kind. */
  | 'ERR_USAGE'
  /** A bad argument: an unknown node, a command that does not fit the node or the store. */
  | 'ERR_BAD_ARGUMENT'
  | 'ERR_IO';

export class KpkiError extends Error {
  readonly code: KpkiErrorCode;
  constructor(code: KpkiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem in a plan, located as precisely as the YAML allows. */
export interface PlanDiagnostic {
  readonly file: string;
  /** 1-based; 0 when the problem has no place in the text (e.g. an empty file). */
  readonly line: number;
  readonly column: number;
  /** Dotted path of the field, e.g. `nodes[2].address`; empty for the document itself. */
  readonly field: string;
  readonly message: string;
}

export function formatDiagnostic(d: PlanDiagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  return d.field ? `${where}: ${d.field}: ${d.message}` : `${where}: ${d.message}`;
}

/** A plan that failed validation; carries every problem found, not just the first. */
export class PlanError extends KpkiError {
  readonly diagnostics: readonly PlanDiagnostic[];
  constructor(diagnostics: readonly PlanDiagnostic[]) {
    super('ERR_PLAN_INVALID', diagnostics.map(formatDiagnostic).join('\n'));
    this.diagnostics = diagnostics;
  }
}

/** A PEM (or a kubeconfig holding one) that cannot be read; names the file. */
export class PemError extends KpkiError {
  readonly file: string;
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super('ERR_PEM_INVALID', `${file}: ${reason}`, options);
    this.file = file;
  }
}

export type AnyKpkiError = PlanError | PemError | (KpkiError & { code: Exclude<KpkiErrorCode, 'ERR_PLAN_INVALID' | 'ERR_PEM_INVALID'> });
