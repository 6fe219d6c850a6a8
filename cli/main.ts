#!/usr/bin/env node
/**
 * The `kpki` executable. `kpki --version` and `kpki [command] --help` are answered here, from
 * package.json and from the help text the build captured from the real command table
 * (dist/cli/help.json, written by scripts/build-cli.mjs; a test holds the two equal), so they
 * start as fast as Node itself instead of loading yargs. Everything else goes to app.ts.
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);

// A reader that stops early (`kpki check --json | head`) is not kpki's failure: the output
// it no longer wants is dropped and the run finishes as it would (a gen still completes its
// writes and releases the store's lock).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

function read(rel: string): string | undefined {
  try {
    return readFileSync(new URL(rel, import.meta.url), 'utf8');
  } catch {
    return undefined; // not built yet (or moved): the full parser answers instead
  }
}

function fastAnswer(): string | undefined {
  if (args.length === 1 && args[0] === '--version') {
    const pkg = read('../../package.json');
    return pkg === undefined ? undefined : (JSON.parse(pkg) as { version: string }).version;
  }
  const asksHelp = args[args.length - 1] === '--help' && args.length <= 2;
  if (!asksHelp) return undefined;
  const help = read('./help.json');
  if (help === undefined) return undefined;
  const table = JSON.parse(help) as Record<string, string>;
  const key = args.length === 2 ? args[0]! : '';
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

const answer = fastAnswer();
if (answer !== undefined) process.stdout.write(`${answer}\n`);
else await (await import('./app.js')).runCli(args);
