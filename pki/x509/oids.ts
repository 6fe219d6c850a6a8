/** The object identifiers the certificate reader (parse.ts) names, in one table each. */

/** Name attributes, by OID, with the short names openssl prints (`-nameopt sname`). */
export const NAME_ATTRS: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU',
  '2.5.4.4': 'SN', '2.5.4.5': 'serialNumber', '2.5.4.9': 'street', '2.5.4.12': 'title', '2.5.4.17': 'postalCode',
  '2.5.4.42': 'GN', '2.5.4.43': 'initials', '2.5.4.46': 'dnQualifier', '2.5.4.65': 'pseudonym',
  '1.2.840.113549.1.9.1': 'emailAddress', '0.9.2342.19200300.100.1.25': 'DC', '0.9.2342.19200300.100.1.1': 'UID',
};

export const EXT = {
  subjectKeyId: '2.5.29.14', keyUsage: '2.5.29.15', subjectAltName: '2.5.29.17', basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35', extKeyUsage: '2.5.29.37',
} as const;

/** RFC 5280 §4.2.1.12 and RFC 3280 purposes, under openssl's / Go's names. */
export const EKU_NAMES: Readonly<Record<string, string>> = {
  '2.5.29.37.0': 'anyExtendedKeyUsage',
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

/** KeyUsage bits in order (RFC 5280 §4.2.1.3; bit 1 was nonRepudiation). */
export const KEY_USAGE_NAMES = [
  'digitalSignature', 'contentCommitment', 'keyEncipherment', 'dataEncipherment', 'keyAgreement',
  'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly',
] as const;

export type KeyUsageName = (typeof KEY_USAGE_NAMES)[number];

/** What a signature AlgorithmIdentifier's parameters must be: NULL (or absent), none, or a SEQUENCE. */
export type SigParams = 'null' | 'none' | 'seq';

export const SIG_ALGS: Readonly<Record<string, { readonly name: string; readonly params: SigParams }>> = {
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', params: 'null' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', params: 'null' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', params: 'null' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', params: 'null' },
  '1.2.840.113549.1.1.10': { name: 'rsassaPss', params: 'seq' },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', params: 'none' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', params: 'none' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', params: 'none' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', params: 'none' },
  '1.3.101.112': { name: 'ED25519', params: 'none' },
  '1.3.101.113': { name: 'ED448', params: 'none' },
};

export const KEY_ALGS: Readonly<Record<string, 'rsa' | 'ec' | 'ed25519' | 'ed448' | 'dsa'>> = {
  '1.2.840.113549.1.1.1': 'rsa',
  '1.2.840.113549.1.1.10': 'rsa', // RSASSA-PSS key
  '1.2.840.10045.2.1': 'ec',
  '1.3.101.112': 'ed25519',
  '1.3.101.113': 'ed448',
  '1.2.840.10040.4.1': 'dsa',
};

export const CURVES: Readonly<Record<string, { readonly name: string; readonly bits: number }>> = {
  '1.2.840.10045.3.1.7': { name: 'P-256', bits: 256 },
  '1.3.132.0.34': { name: 'P-384', bits: 384 },
  '1.3.132.0.35': { name: 'P-521', bits: 521 },
  '1.3.132.0.10': { name: 'secp256k1', bits: 256 },
};

/** Extension names for messages, by OID. */
export const EXT_NAMES: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(EXT).map(([k, v]) => [v, k]));

/** X.690 §8.19 content octets of a dotted OID (for the reader's table of known OIDs). */
function encodeOid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  const push = (n: number): void => {
    const digits = [n % 128];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) digits.unshift((v % 128) | 0x80);
    out.push(...digits);
  };
  push((arcs[0] as number) * 40 + (arcs[1] as number));
  for (const a of arcs.slice(2)) push(a);
  return Uint8Array.from(out);
}

/** Every OID named above, with its encoding: the reader looks these up instead of decoding them. */
export function knownOids(): Array<[Uint8Array, string]> {
  const all = new Set([
    ...Object.keys(NAME_ATTRS), ...Object.values(EXT), ...Object.keys(EKU_NAMES), ...Object.keys(SIG_ALGS),
    ...Object.keys(KEY_ALGS), ...Object.keys(CURVES),
  ]);
  return [...all].map((o) => [encodeOid(o), o]);
}
