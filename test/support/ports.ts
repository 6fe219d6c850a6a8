/** Ports for servers a test starts itself, on loopback addresses only. */
import { createServer, type AddressInfo } from 'node:net';

/** A TCP port free on `host` just now (the kernel's choice); the caller binds it next. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });
}
