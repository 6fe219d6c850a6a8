/** Exit statuses scripts can rely on; documented in the README and in `kpki --help`. */
export const EXIT = {
  ok: 0,
  /** Unexpected failure (I/O error, bug). */
  failure: 1,
  /**
   * Bad input: invalid plan, unreadable PEM or kubeconfig, an unusable --out, and every usage
   * error (unknown command or flag, a bad flag value), wherever it is found.
   */
  badInput: 2,
  /** Refused: a CA or SA key exists with other content, half a CA is missing, or a CA cannot sign. */
  conflict: 3,
  /** The store is locked by another kpki process and did not free up in time. */
  locked: 4,
} as const;

/**
 * `kpki check` follows the monitoring-plugin convention (0 OK, 1 WARNING, 2 CRITICAL): anything
 * that stops it, usage errors included, is UNKNOWN. Its one usage-error status.
 */
export const CHECK_UNKNOWN = 3;

export function exitCodeFor(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ERR_PLAN_INVALID':
    case 'ERR_PEM_INVALID':
    case 'ERR_OUT_INVALID':
    case 'ERR_USAGE':
    case 'ERR_BAD_ARGUMENT':
      return EXIT.badInput;
    case 'ERR_STORE_CONFLICT':
    case 'ERR_CA_MISSING':
    case 'ERR_CA_UNUSABLE':
      return EXIT.conflict;
    case 'ERR_LOCKED':
      return EXIT.locked;
    default:
      return EXIT.failure;
  }
}

/** The status a command ends with when `err` stops it. */
export const exitStatusFor = (err: unknown, command: string | undefined): number =>
  command === 'check' ? CHECK_UNKNOWN : exitCodeFor(err);
