#!/usr/bin/env node
// Build step (after tsc, before the CLI bundle): writes the build's fingerprint into
// dist/pki/build.js (see pki/build.ts). SHA-256 over the path and bytes of every compiled
// library module (dist/pki/**/*.js and .cjs, sorted by path), build.js itself left out.
// The CLI bundle is made from these modules afterwards, so it carries the same fingerprint.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const lib = fileURLToPath(new URL('../dist/pki/', import.meta.url));
const target = join(lib, 'build.js');

function* modules(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* modules(p);
    else if (/\.c?js$/.test(e.name) && p !== target) yield p;
  }
}

const h = createHash('sha256');
for (const p of [...modules(lib)].map((p) => relative(lib, p).split(sep).join('/')).sort()) {
  h.update(p).update('\0').update(readFileSync(join(lib, p))).update('\0');
}
const fingerprint = h.digest('base64url');
const text = readFileSync(target, 'utf8');
const next = text.replace(/export const BUILD_FINGERPRINT = '[^']*';/, `export const BUILD_FINGERPRINT = '${fingerprint}';`);
if (next === text && !text.includes(fingerprint)) throw new Error(`${target}: no BUILD_FINGERPRINT declaration to fill in`);
writeFileSync(target, next);
