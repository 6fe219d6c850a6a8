/**
 * kpki's own version, read from its package.json through the package's own name (Node's
 * package self-reference), so it resolves the same from dist/pki and from the bundled CLI.
 * Empty when kpki runs outside its package (copied files): callers treat that as unknown.
 */
import { createRequire } from 'node:module';

export const KPKI_VERSION: string = (() => {
  try {
    return (createRequire(import.meta.url)('kpki/package.json') as { version?: string }).version ?? '';
  } catch {
    return '';
  }
})();
