/** `kpki ca-hash`, `kpki token`, `kpki certificate-key`: the facts `kubeadm join` needs. */
import { readFile } from 'node:fs/promises';
import { randomBytes, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { bootstrapToken, caCertHash, certificateKey } from '../../pki/kubeadm/join.js';
import { KpkiError, PemError } from '../../pki/errors.js';
import { EXIT } from '../exit.js';

const rand = (n: number) => new Uint8Array(randomBytes(n));
const print = (json: boolean, key: string, value: string) =>
  process.stdout.write(json ? `${JSON.stringify({ [key]: value })}\n` : `${value}\n`);

export async function caHash(o: { out: string; cert?: string; json: boolean }): Promise<number> {
  const file = o.cert ?? join(o.out, 'pki', 'ca.crt');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(await readFile(file));
  } catch (cause) {
    throw new PemError(file, (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not a readable certificate', { cause });
  }
  // kubeadm join pins the CA that signs the API server's certificate; a leaf's hash would make
  // every join fail verification, so say so now rather than then.
  if (!cert.ca) {
    throw new PemError(file, `not a CA certificate (no basicConstraints CA:TRUE; subject ${cert.subject.replace(/\n/g, ', ')}); pass the cluster CA, e.g. <out>/pki/ca.crt`);
  }
  const spki = new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' }));
  print(o.json, 'caCertHash', caCertHash(spki));
  return EXIT.ok;
}

export async function token(o: { json: boolean }): Promise<number> {
  print(o.json, 'token', bootstrapToken(rand));
  return EXIT.ok;
}

export async function certKey(o: { json: boolean }): Promise<number> {
  print(o.json, 'certificateKey', certificateKey(rand));
  return EXIT.ok;
}

/** `kpki join-command NODE`: the full kubeadm join line, token included (shown only here). */
export async function joinCommandLine(o: { node: string; plan: string; out: string }): Promise<number> {
  const { readPlanFile } = await import('./plan-file.js');
  const { joinFacts, joinCommand } = await import('../../pki/kubeadm/join-secrets.js');
  const { diskSink } = await import('../../pki/sinks/disk.js');
  const plan = await readPlanFile(o.plan);
  if (plan.deploy !== 'kubeadm') {
    throw new KpkiError('ERR_BAD_ARGUMENT', `${o.plan} says deploy: ${plan.deploy}; kubeadm join is for deploy: kubeadm plans`);
  }
  const facts = await joinFacts(plan, diskSink(o.out));
  process.stdout.write(`${joinCommand(plan, facts, o.node)}\n`);
  return EXIT.ok;
}
