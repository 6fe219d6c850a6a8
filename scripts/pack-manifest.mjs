#!/usr/bin/env node
// The package.json that `npm pack` and `npm publish` put in the tarball carries no scripts.
//
// The repository needs `prepare` (so `npm ci` in a fresh clone builds dist/ and `npx kpki`
// works), but a package that declares `prepare` is reported by npm 11 as having an install
// script whenever it is installed from a tarball or a folder ("install scripts not yet covered
// by allowScripts"), and a program that embeds kpki must install silently. None of the scripts
// means anything in an installed package (they build and test sources it does not contain), so
// the packed manifest leaves them out, and `allowScripts` (this repository's own install
// policy, read only from a project's root) with them.
//
//   node scripts/pack-manifest.mjs strip     prepack, after the build: package.json → package.json.prepack,
//                                            and a package.json without those fields in its place
//   node scripts/pack-manifest.mjs restore   postpack: package.json.prepack back to package.json
//
// npm reads package.json from disk when it makes the tarball, after prepack. `npm pack
// --ignore-scripts` skips both steps and packs package.json as it is. A pack that stopped
// between the two leaves package.json.prepack behind; the next `strip` (or `restore`) puts it
// back first.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const manifest = new URL('package.json', root);
const backup = new URL('package.json.prepack', root);
/** Fields only this repository uses; they are not published. */
const DEVELOPMENT_ONLY = ['scripts', 'allowScripts'];

function restore() {
  if (existsSync(backup)) renameSync(backup, manifest);
}

const step = process.argv[2];
if (step === 'strip') {
  restore();
  const text = readFileSync(manifest, 'utf8');
  const pkg = JSON.parse(text);
  for (const field of DEVELOPMENT_ONLY) delete pkg[field];
  writeFileSync(backup, text);
  writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
} else if (step === 'restore') {
  restore();
} else {
  console.error('usage: node scripts/pack-manifest.mjs strip|restore');
  process.exit(2);
}
