/**
 * Every CLI run of the stress suite goes through here: the output is kept for the secret scan
 * (no private key, no join token secret, no key material in stdout, stderr, --json, --dry-run
 * or errors), and every run is checked for a stack trace. `sampleProc` reads the argv and
 * environment of a running kpki, where a secret must never be either.
 */
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kpki } from '../support/cli.js';
import type { SyncResult } from '../support/proc.js';
import { assertNoStack, bump, tally } from './config.js';

/** Outputs captured so far (bounded: the last few thousand are enough to scan). */
const outputs: { what: string; text: string }[] = [];
const MAX_KEPT = 4000;
/** Secret strings the scan looks for: token secrets, certificate keys, lines of key PEMs. */
const secrets = new Set<string>();

export function keep(what: string, text: string): void {
  if (!text) return;
  outputs.push({ what, text });
  if (outputs.length > MAX_KEPT) outputs.shift();
  bump('outputs captured');
}

/** Runs the CLI, keeps its output, and fails on a stack trace. */
export function cli(args: readonly string[], boundMs = 60_000): SyncResult {
  const r = kpki(args, { boundMs });
  const what = `kpki ${args.join(' ')}`;
  keep(`${what} (stdout)`, r.stdout);
  keep(`${what} (stderr)`, r.stderr);
  assertNoStack(r.stderr, what);
  bump('cli runs');
  return r;
}

/** Learns the secrets of a store: every private key's base64 lines, the join token and certificate key. */
export function learnSecrets(out: string): void {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.isFile() ? [join(d, e.name)] : []));
  let files: string[];
  try {
    files = walk(out);
  } catch {
    return;
  }
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    if (f.endsWith('join.json')) {
      const j = JSON.parse(text) as { token?: string; certificateKey?: string };
      const secret = j.token?.split('.')[1];
      if (secret) secrets.add(secret);
      if (j.certificateKey) secrets.add(j.certificateKey);
    }
    for (const m of text.matchAll(/-----BEGIN [A-Z ]*PRIVATE KEY-----\n([A-Za-z0-9+/=\n]+?)-----END/g)) {
      // Each full base64 line of the key (kubeconfigs embed keys base64 again: the whole PEM is the secret).
      for (const line of m[1]!.split('\n')) if (line.length >= 40) secrets.add(line);
    }
    for (const m of text.matchAll(/client-key-data: (\S+)/g)) secrets.add(m[1]!.slice(0, 64));
  }
}

/** Scans every kept output; returns how many were scanned. */
export function scanOutputs(): number {
  for (const { what, text } of outputs) {
    assert.not.match(text, /PRIVATE KEY/, `${what}: prints a private key`);
    for (const s of secrets) assert.not.ok(text.includes(s), `${what}: prints secret material (${s.slice(0, 6)}…)`);
  }
  tally['secrets known'] = secrets.size;
  return outputs.length;
}

export const secretCount = (): number => secrets.size;

/** Reads /proc/<pid>/cmdline and environ of a running process and fails on any known secret. */
export function sampleProc(pid: number): boolean {
  let seen = false;
  for (const part of ['cmdline', 'environ']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/${part}`, 'latin1').replace(/\0/g, '\n');
    } catch {
      continue; // already gone
    }
    seen = true;
    assert.not.match(text, /PRIVATE KEY/, `/proc/${pid}/${part} holds a private key`);
    for (const s of secrets) assert.not.ok(text.includes(s), `/proc/${pid}/${part} holds secret material`);
  }
  if (seen) bump('proc samples');
  return seen;
}
