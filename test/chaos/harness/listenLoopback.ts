import type { Server } from 'node:net';

/** listenLoopback binds `server` to a free port on 127.0.0.1 and returns the port; `name` labels the error if it has none. */
export async function listenLoopback(server: Server, name: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`${name}: no TCP address after listen`);
  return address.port;
}
