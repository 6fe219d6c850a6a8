#!/usr/bin/env node
// Regenerates schema/cluster.schema.json from the compiled planSchema (run `npm run build` first).
// The plan test fails when the two differ, so run this after every schema change.
import { writeFile } from 'node:fs/promises';

const root = new URL('../', import.meta.url);
const { planSchema } = await import(new URL('dist/pki/plan/schema.js', root).href);
const target = new URL('schema/cluster.schema.json', root);
await writeFile(target, `${JSON.stringify(planSchema, null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
