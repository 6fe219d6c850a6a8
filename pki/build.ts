/**
 * The fingerprint of this build of kpki: SHA-256 over every compiled module of the library,
 * written into dist/pki/build.js by scripts/build-fingerprint.mjs after tsc. The store's
 * per-leaf record (store/record.ts) is trusted only when this build wrote it: a development
 * build after any code change, like another release, reads every certificate again.
 * Empty when the source runs unbuilt (tsx, a copied file): then no record is ever trusted.
 */
export const BUILD_FINGERPRINT: string = '';
