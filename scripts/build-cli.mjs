#!/usr/bin/env node
// Build step for the `kpki` executable (run after tsc):
// 1. tsc writes files without the execute bit; npm sets it only when it links an installed
//    package, so after `npm run build` in a checkout `npx kpki` would say "Permission denied".
//    Every `bin` of package.json gets mode 0755 here.
// 2. Bundles dist/cli/app.js (the command table and everything it imports) into one file
//    with esbuild, in place. Node then loads one module instead of about ninety: each command
//    starts ~60 ms sooner (measured on `kpki gen`, 2 cores). dist/cli/main.js stays a
//    small module of its own so `--help` and `--version` parse nothing else. Modules imported
//    on demand are evaluated on demand inside the bundle; dependencies stay external, and a
//    module that must load one lazily (yaml in the plan parser) requires it where it runs,
//    since esbuild hoists static imports of external packages to the bundle's top. The
//    library (dist/pki) is untouched.
// 3. Captures `kpki --help` and `kpki <command> --help` exactly as the full parser (yargs, in
//    dist/cli/app.js) prints them into dist/cli/help.json, which dist/cli/main.js prints without
//    loading yargs. test/cli/cli.test.ts holds the two equal.
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const bins = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
for (const bin of bins) chmodSync(new URL(bin, root), 0o755);

const app = new URL('dist/cli/app.js', root).href;
await build({
  entryPoints: [fileURLToPath(app)],
  outfile: fileURLToPath(app),
  allowOverwrite: true,
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The compiled schema validator is CommonJS and requires ajv's runtime helpers.
  banner: { js: "import { createRequire as kpkiCreateRequire } from 'node:module'; const require = kpkiCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

const { COMMANDS } = await import(app);
const help = {};
for (const command of ['', ...COMMANDS.map((c) => c.name)]) {
  const args = [...(command ? [command] : []), '--help'];
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', 'await (await import(process.argv[1])).runCli(process.argv.slice(2))', app, ...args],
    { encoding: 'utf8', cwd: fileURLToPath(root) },
  );
  if (r.status !== 0 || !r.stdout.endsWith('\n')) throw new Error(`kpki ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  help[command] = r.stdout.slice(0, -1);
}
writeFileSync(new URL('dist/cli/help.json', root), `${JSON.stringify(help, null, 2)}\n`);
