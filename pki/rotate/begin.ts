/**
 * The record a request leaves before anything else is written: the recorded phase again when
 * it is unfinished (a killed run is completed with the same new key), else the next phase; a
 * new rotation makes its key (and, for a CA, its certificate and cross-signature) here, once.
 */
import type { ResolvedPki } from '../catalog/resolve.js';
import type { Deps } from '../deps.js';
import { KpkiError } from '../errors.js';
import { observeCa, observeKeyPair } from '../observe/ca.js';
import type { Observation } from '../sinks/types.js';
import { publicKeyPem } from '../x509/keys.js';
import { newCa, newSaKey } from './create.js';
import { phaseToRun, type RotateRequest } from './phases.js';
import type { Rotation } from './state.js';

export async function beginPhase(
  pki: ResolvedPki, observed: Observation, current: Rotation | undefined, req: RotateRequest,
  deps: Pick<Deps, 'now' | 'randomBytes' | 'generateKey'>, where: string,
): Promise<Rotation> {
  const phase = phaseToRun(current, req, where);
  const stamp = deps.now().toISOString();
  if (current) {
    if (current.phase === phase && !current.done) return current;
    return { ...current, phase, done: false, phaseStarted: stamp, planned: [] } as Rotation;
  }
  const alg = pki.plan.pki.keyAlgorithm;
  if (req.target === 'sa') {
    const item = pki.keypairs.find((k) => k.ref === 'sa')!;
    const found = observeKeyPair(item, observed);
    if (found.state !== 'present') throw new KpkiError('ERR_CA_MISSING', `${where}/${found.keyFile}: ${found.state === 'absent' ? 'missing' : found.reason}; there is no service-account key to rotate (kpki gen makes one)`);
    const key = await newSaKey(alg, deps);
    return {
      kind: 'sa', target: 'sa', phase: 'overlap', done: false, started: stamp, phaseStarted: stamp,
      oldPubPem: found.pub?.pem ?? publicKeyPem(found.key), newKeyPem: key.keyPem, newPubPem: key.pubPem,
    };
  }
  const item = pki.cas.find((c) => c.ref === req.target)!;
  const found = observeCa(item, observed);
  if (found.state !== 'present') {
    const what = found.state === 'absent' ? `${found.crtFile}: missing` : found.state === 'incomplete' ? `${found.lacks}: missing` : `${found.file}: ${found.reason}`;
    throw new KpkiError('ERR_CA_MISSING', `${where}/${what}; there is no CA ${item.ref} to rotate (kpki gen makes one)`);
  }
  const made = await newCa(item, { certPem: found.cert.pem, keyPem: found.keyPem, keyFile: `${where}/${found.keyFile}` }, alg, pki.plan.pki.caValidityMs, deps);
  return {
    kind: 'ca', target: item.ref, phase: 'trust', done: false, started: stamp, phaseStarted: stamp, reuseKeys: false,
    oldCertPem: found.cert.pem, newCertPem: made.certPem, newKeyPem: made.keyPem, crossPem: made.crossPem,
  };
}
