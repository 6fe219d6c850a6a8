/** The file set `kpki install` renders: one root-relative tree per host. */
import type { Role } from '../pki/plan/types.js';

/** One file a host gets, root-relative (`etc/systemd/system/etcd.service`). */
export interface StagedFile {
  readonly path: string;
  readonly mode: number;
  readonly content: string;
}

export interface HostFiles {
  readonly host: string;
  readonly address: string;
  readonly roles: readonly Role[];
  /** Sorted by path. */
  readonly files: readonly StagedFile[];
  /** The systemd units among the files, by unit name (`etcd.service`), in start order. */
  readonly units: readonly string[];
}

/** What the renderer reads from the store `kpki gen` wrote (read by store-files.ts). */
export interface StoreFiles {
  /** Each node's tree as gen wrote it, by node name. */
  readonly nodes: ReadonlyMap<string, readonly StagedFile[]>;
  /** pki/ca.crt: the load balancers verify the apiservers with it. */
  readonly caCert: string;
  /** pki/rbac.yaml, when gen wrote one (binary deploys on 1.29+). */
  readonly rbac?: string;
}
