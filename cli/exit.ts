/** Exit statuses scripts can rely on; documented in the README and in `kpki --help`. */
export const EXIT = {
  ok: 0,
  /** Unexpected failure (I/O error, bug). */
  failure: 1,
  /** Bad input: invalid plan, unreadable PEM or kubeconfig, bad flags. */
  badInput: 2,
  /** Refused to overwrite: a CA or SA key exists with other content, or half a CA is missing. */
  conflict: 3,
} as const;

export function exitCodeFor(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ERR_PLAN_INVALID':
    case 'ERR_PEM_INVALID':
      return EXIT.badInput;
    case 'ERR_STORE_CONFLICT':
    case 'ERR_CA_MISSING':
      return EXIT.conflict;
    default:
      return EXIT.failure;
  }
}
