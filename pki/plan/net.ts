/**
 * Pure IP, CIDR, host:port and DNS-name helpers. No dependencies: the canonical forms
 * here are what ends up in certificates, so they must not depend on the platform's resolver.
 * Canonical IP text follows Go's `net.IP.String()`, which kubeadm uses for the same job.
 */
import type { Cidr, Endpoint, IpFamily } from './types.js';

/** A parsed address: 4 bytes for IPv4, 16 for IPv6. */
export interface IpAddress {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function parseIpv4Bytes(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (const [i, part] of parts.entries()) {
    // Leading zeros are rejected (as Go does): "010" is octal to some parsers, decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

/** Hex groups of one side of a `::`; an IPv4 tail counts as two groups. */
function parseIpv6Groups(text: string, allowV4Tail: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (allowV4Tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4Bytes(part);
      if (!v4) return undefined;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

function parseIpv6Bytes(text: string): Uint8Array | undefined {
  // Zones (fe80::1%eth0) have no meaning in a certificate or kubeconfig.
  if (text.includes('%')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseIpv6Groups(halves[0] ?? '', false);
    const tail = parseIpv6Groups(halves[1] ?? '', true);
    // "::" must stand for at least one zero group.
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseIpv6Groups(text, true);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  return bytes.length === 16 && V4_MAPPED_PREFIX.every((b, i) => bytes[i] === b);
}

/**
 * Parses an IPv4 or IPv6 address (with `::` compression and an optional dotted IPv4 tail).
 * IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is treated as the IPv4 address, as Go does when it
 * prints the address and when it encodes it into a certificate SAN.
 */
export function parseIp(text: string): IpAddress | undefined {
  if (!text.includes(':')) {
    const v4 = parseIpv4Bytes(text);
    return v4 && { family: 4, bytes: v4 };
  }
  const v6 = parseIpv6Bytes(text);
  if (!v6) return undefined;
  return isV4Mapped(v6) ? { family: 4, bytes: v6.slice(12) } : { family: 6, bytes: v6 };
}

function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // Longest run of zero groups (first one on a tie); a single zero group is not compressed.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Canonical text: dotted decimal, or compressed lower-case IPv6 (RFC 5952, like Go). */
export function formatIp(ip: IpAddress): string {
  return ip.family === 4 ? Array.from(ip.bytes).join('.') : formatIpv6(ip.bytes);
}

/** The canonical form of `text`, or undefined when it is not an IP address. */
// A thousand-node plan canonicalises the same few addresses thousands of times (every leaf's SANs).
const canonical = new Map<string, string | undefined>();

export function canonicalIp(text: string): string | undefined {
  if (canonical.has(text)) return canonical.get(text);
  const ip = parseIp(text);
  const c = ip && formatIp(ip);
  if (canonical.size < 100_000) canonical.set(text, c);
  return c;
}

export function isIp(text: string): boolean {
  return parseIp(text) !== undefined;
}

function bitsOf(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** Zeroes every bit after `prefix`. */
function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = (out[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

function cidrBytes(cidr: Cidr): Uint8Array {
  const bytes = cidr.family === 4 ? parseIpv4Bytes(cidr.network) : parseIpv6Bytes(cidr.network);
  if (!bytes) throw new TypeError(`not a parsed CIDR: ${cidr.text}`);
  return bytes;
}

function formatFamily(bytes: Uint8Array, family: IpFamily): string {
  return family === 4 ? Array.from(bytes).join('.') : formatIpv6(bytes);
}

/**
 * Parses `address/prefix`. Host bits may be set (Go's ParseCIDR and kubeadm accept that);
 * the result carries the canonical network, and `text` is the canonical `network/prefix`.
 * Returns a message saying what is wrong otherwise.
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  if (slash < 0) return `"${text}" is not a CIDR: expected address/prefix, like 10.96.0.0/12 or fd00:10:96::/112`;
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const family: IpFamily = addrText.includes(':') ? 6 : 4;
  const bytes = family === 4 ? parseIpv4Bytes(addrText) : parseIpv6Bytes(addrText);
  if (!bytes) return `"${text}" is not a CIDR: "${addrText}" is not an IPv${family} address`;
  if (family === 6 && isV4Mapped(bytes)) {
    return `"${text}" is an IPv4-mapped IPv6 CIDR; write the IPv4 CIDR instead`;
  }
  const bits = bitsOf(family);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
    return `"${text}" is not a CIDR: prefix length "${prefixText}" must be a number from 0 to ${bits} for IPv${family}`;
  }
  const prefix = Number(prefixText);
  const network = formatFamily(maskBytes(bytes, prefix), family);
  return { text: `${network}/${prefix}`, family, network, prefix };
}

/** How many bits of the address are free for hosts. */
export function hostBits(cidr: Cidr): number {
  return bitsOf(cidr.family) - cidr.prefix;
}

/**
 * The network address plus one: the first service IP, which kubeadm gives to the
 * `kubernetes` Service and puts in the API server certificate.
 * Throws a RangeError for a /32 or /128, which has no such address.
 */
export function firstHost(cidr: Cidr): string {
  if (hostBits(cidr) === 0) throw new RangeError(`${cidr.text} has no host addresses`);
  const bytes = cidrBytes(cidr);
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = ((bytes[i] ?? 0) + 1) & 0xff;
    if (bytes[i] !== 0) break;
  }
  return formatFamily(bytes, cidr.family);
}

/**
 * The network address plus `n`: kubeadm's cluster DNS IP is the 10th. Throws a RangeError when
 * the CIDR holds no such address.
 */
export function nthHost(cidr: Cidr, n: number): string {
  if (hostBits(cidr) < 31 && n >= 2 ** hostBits(cidr)) throw new RangeError(`${cidr.text} has no address +${n}`);
  const bytes = cidrBytes(cidr);
  let carry = n;
  for (let i = bytes.length - 1; i >= 0 && carry > 0; i--) {
    const sum = (bytes[i] ?? 0) + (carry & 0xff);
    bytes[i] = sum & 0xff;
    carry = Math.floor(carry / 256) + (sum > 0xff ? 1 : 0);
  }
  return formatFamily(bytes, cidr.family);
}

/** Whether `ip` (canonical text) lies inside `cidr`. */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const parsed = parseIp(ip);
  if (!parsed || parsed.family !== cidr.family) return false;
  const masked = maskBytes(parsed.bytes, cidr.prefix);
  const net = cidrBytes(cidr);
  return masked.every((b, i) => b === net[i]);
}

/** True when the two CIDRs share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = Math.min(a.prefix, b.prefix);
  const x = maskBytes(cidrBytes(a), shorter);
  const y = maskBytes(cidrBytes(b), shorter);
  return x.every((byte, i) => byte === y[i]);
}

/** What an RFC 1123 label may contain, for messages. */
export const DNS_LABEL_RULE = "lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";

/** Why `label` is not an RFC 1123 label, or undefined when it is one. */
export function dnsLabelProblem(label: string): string | undefined {
  if (label === '') return 'is empty';
  if (label.length > 63) return `is ${label.length} characters long (at most 63)`;
  const bad = /[^a-z0-9-]/.exec(label);
  if (bad) {
    return /[A-Z]/.test(bad[0]) ? 'must be lower case' : `contains ${JSON.stringify(bad[0])}`;
  }
  if (label.startsWith('-') || label.endsWith('-')) return "must start and end with a letter or digit, not '-'";
  return undefined;
}

/** RFC 1123 label, as Kubernetes uses for names (see DNS_LABEL_RULE). */
export function isDnsLabel(text: string): boolean {
  return dnsLabelProblem(text) === undefined;
}

/**
 * Why `name` is not an RFC 1123 subdomain (dot-separated labels, at most 253 characters), as a
 * clause that reads after "is not a DNS name: ", or undefined when it is one.
 * `allowWildcard` admits a leading `*.`, as certificate SANs do.
 */
export function dnsNameProblem(name: string, options: { allowWildcard?: boolean } = {}): string | undefined {
  let rest = name;
  if (options.allowWildcard && rest.startsWith('*.')) rest = rest.slice(2);
  if (rest === '') return 'it is empty';
  if (name.length > 253) return `it is ${name.length} characters long (at most 253)`;
  if (rest.includes('*')) {
    return options.allowWildcard ? "'*' may only be the whole first label, like *.example.com" : "it must not contain '*'";
  }
  const labels = rest.split('.');
  // All-numeric names are malformed IPv4 addresses in practice, not host names.
  if (labels.every((l) => /^[0-9]+$/.test(l))) return 'it looks like an IPv4 address but is not a valid one';
  for (const label of labels) {
    const problem = dnsLabelProblem(label);
    if (problem) return label === '' ? 'it has an empty label (two dots, or a leading or trailing dot)' : `label "${label}" ${problem}`;
  }
  return undefined;
}

export function isDnsName(text: string, options: { allowWildcard?: boolean } = {}): boolean {
  return dnsNameProblem(text, options) === undefined;
}

/** What an RFC 1123 subdomain may contain, for messages. */
export const DNS_SUBDOMAIN_RULE =
  "dot-separated labels of lower-case letters, digits and '-', each starting and ending with a letter or digit and at most 63 characters, at most 253 characters in all";

/**
 * Why `name` is not an RFC 1123 subdomain, as Kubernetes validates object names (node names
 * among them), or undefined when it is one. Unlike dnsNameProblem it takes an all-numeric name
 * such as `1.2.3` as valid, as Kubernetes does; the caller decides about IP addresses.
 */
export function dnsSubdomainProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.length > 253) return `is ${name.length} characters long (at most 253)`;
  for (const label of name.split('.')) {
    if (label === '') return 'has an empty label (two dots, or a leading or trailing dot)';
    const problem = dnsLabelProblem(label);
    if (problem) return name.includes('.') ? `has label "${label}" that ${problem}` : problem;
  }
  return undefined;
}

/** `host:port`, bracketing an IPv6 host. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function parsePort(text: string): number | string {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    return `port "${text}" must be a number from 1 to 65535`;
  }
  return Number(text);
}

function classifyHost(host: string): { host: string; hostIsIp: boolean } | string {
  const ip = canonicalIp(host);
  if (ip !== undefined) return { host: ip, hostIsIp: true };
  const problem = dnsNameProblem(host);
  return problem ? `host "${host}" is neither an IP address nor a DNS name: ${problem}` : { host, hostIsIp: false };
}

/**
 * Parses `host[:port]`, `[ipv6]:port`, `[ipv6]` or a bare IPv6 address. IP hosts are
 * canonicalised and stored without brackets. Returns a message saying what is wrong otherwise.
 */
export function parseHostPort(text: string, defaultPort: number): Endpoint | string {
  // A URL pasted where host:port belongs; its colons would otherwise read as IPv6.
  const url = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)\/?$/i.exec(text);
  if (url) return `"${text}" is a URL; drop the scheme: write ${url[2] || 'host:port'}`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return `"${text}" is a URL; drop the scheme and the path: write host:port`;
  let hostText: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
    if (!m) return `"${text}" is not host:port: expected [ipv6]:port, like [fd00::10]:6443`;
    hostText = m[1] ?? '';
    portText = m[2];
    if (parseIp(hostText) === undefined || !hostText.includes(':')) {
      return `"${hostText}" in brackets is not an IPv6 address`;
    }
  } else {
    const colons = text.split(':').length - 1;
    // Two or more colons: a bare IPv6 address; a port then needs brackets.
    if (colons >= 2) {
      if (!isIp(text)) return `"${text}" is not an IPv6 address; write an IPv6 endpoint with a port as [address]:port`;
      hostText = text;
    } else {
      const colon = text.indexOf(':');
      hostText = colon < 0 ? text : text.slice(0, colon);
      portText = colon < 0 ? undefined : text.slice(colon + 1);
    }
  }
  if (hostText === '') return `"${text}" has no host`;
  const host = classifyHost(hostText);
  if (typeof host === 'string') return host;
  const port = portText === undefined ? defaultPort : parsePort(portText);
  if (typeof port === 'string') return port;
  return { host: host.host, port, hostIsIp: host.hostIsIp };
}
