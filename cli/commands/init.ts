/** `kpki init`: a commented starter plan, so an installed kpki needs no fixtures/ to begin. */
import { open } from 'node:fs/promises';
import { KpkiError } from '../../pki/errors.js';
import { STARTER_PLAN } from '../../pki/plan/starter.js';
import { EXIT } from '../exit.js';

export async function init(o: { out: string; stdout: boolean }): Promise<number> {
  if (o.stdout) {
    process.stdout.write(STARTER_PLAN);
    return EXIT.ok;
  }
  let file;
  try {
    file = await open(o.out, 'wx', 0o644); // never over an existing plan
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new KpkiError('ERR_STORE_CONFLICT', `${o.out} exists; kpki init never overwrites a plan (use --out to write another file)`);
    throw new KpkiError('ERR_IO', `${o.out}: cannot write the plan: ${(err as Error).message}`, { cause: err });
  }
  try {
    await file.writeFile(STARTER_PLAN);
  } finally {
    await file.close();
  }
  process.stderr.write(`Wrote ${o.out}. Edit its nodes, then: kpki gen --plan ${o.out} --out ./out\n`);
  return EXIT.ok;
}
