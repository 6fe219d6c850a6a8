/**
 * Everything the core needs from the outside world, injected so the core stays pure and
 * tests can pin the clock and randomness. `defaultDeps()` wires in Node's crypto.
 */
import type { KeyAlgorithm } from './plan/types.js';

/** A freshly generated key: PEM in kubeadm's encoding (PKCS#1 / SEC1) and the public SPKI. */
export interface KeyMaterial {
  readonly algorithm: KeyAlgorithm;
  readonly privatePem: string;
  readonly spkiDer: Uint8Array;
}

export interface Deps {
  readonly now: () => Date;
  /** `n` cryptographically random bytes. */
  readonly randomBytes: (n: number) => Uint8Array;
  /** Generates a key off the main thread; callers start many at once to use every core. */
  readonly generateKey: (algorithm: KeyAlgorithm) => Promise<KeyMaterial>;
}
