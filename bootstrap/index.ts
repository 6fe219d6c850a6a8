/**
 * Host bootstrapper (SSH install of files, systemd units, load-balancer config): not built yet.
 * It will consume the per-node file trees that `generate` writes (`nodes/<name>/`).
 */
export const BOOTSTRAP_AVAILABLE = false as const;
