/**
 * The one place @peculiar/x509 is imported: it needs the reflect-metadata polyfill loaded
 * first (its ASN.1 schemas use tsyringe), and it should use Node's native Web Crypto.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
