/**
 * A TLS server standing in for kube-apiserver: the serving pair and client CA a unit's flags
 * name, on its --advertise-address and --secure-port. It answers GET /readyz with `ok` (what
 * HAProxy's health check asks) and anything else with a /version-like body saying which host
 * served it and which client certificate (CN) came through.
 *
 * In this process: `standInApiserver(...)`. In another network namespace (a test-bed host):
 * `node apiserver-stand-in.js --cert F --key F --ca F --address A --port P --name N --log F`,
 * which appends one JSON line per request to the log (inside the host's own mounts).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface StandInRequest {
  readonly server: string;
  readonly path: string;
  /** The verified client certificate's CN; absent when the client sent none or it did not verify. */
  readonly cn?: string;
}

export interface StandInOptions {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  readonly address: string;
  readonly port: number;
  /** The host it stands in for: reported as `servedBy`. */
  readonly name: string;
  readonly onRequest: (r: StandInRequest) => void;
}

/** This file, compiled: what a test starts in another namespace. */
export const STAND_IN_JS = fileURLToPath(import.meta.url);

export async function standInApiserver(o: StandInOptions): Promise<Server> {
  const server = createServer(
    { cert: readFileSync(o.cert), key: readFileSync(o.key), ca: readFileSync(o.ca), requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const cn = socket.authorized ? (socket.getPeerCertificate().subject?.CN as string | undefined) : undefined;
      o.onRequest({ server: o.name, path: req.url ?? '', ...(cn ? { cn } : {}) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url === '/readyz' ? 'ok' : JSON.stringify({ major: '1', minor: '31', gitVersion: `v1.31.2+${o.name}`, servedBy: o.name, client: cn ?? null }));
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.address, () => resolve());
  });
  return server;
}

if (process.argv[1] === STAND_IN_JS) {
  const { values: v } = parseArgs({
    options: {
      cert: { type: 'string' }, key: { type: 'string' }, ca: { type: 'string' }, address: { type: 'string' },
      port: { type: 'string' }, name: { type: 'string' }, log: { type: 'string' },
    },
  });
  const need = (k: keyof typeof v) => v[k] ?? (() => { throw new Error(`apiserver stand-in: --${k} is required`); })();
  const log = need('log');
  await standInApiserver({
    cert: need('cert'), key: need('key'), ca: need('ca'), address: need('address'), port: Number(need('port')), name: need('name'),
    onRequest: (r) => appendFileSync(log, `${JSON.stringify(r)}\n`),
  });
  appendFileSync(log, `${JSON.stringify({ listening: `${v.address}:${v.port}` })}\n`);
}
