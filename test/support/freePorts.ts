import { createServer, type Server } from 'node:net';

/**
 * freePorts binds n listeners on 127.0.0.1:0 at once (so the ports differ),
 * then releases them for a test cluster to take. Another process may grab one
 * in between: harnesses retry with new ports when a member reports EADDRINUSE.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => {
      const a = s.address();
      if (a === null || typeof a === 'string') throw new Error('no port');
      return a.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
