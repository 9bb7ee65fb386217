import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The client library stands alone: it imports only its own modules, node: built-ins and the two gRPC packages. */
describe('src/client is standalone', () => {
  const dir = join(import.meta.dirname, '..', '..', 'src', 'client');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

  it.each(files)('%s imports nothing from the rest of src/', (file) => {
    const text = readFileSync(join(dir, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      expect(spec, `${file} imports ${spec}`).toMatch(/^(\.\/[A-Za-z]+\.js|node:[a-z_/]+|@grpc\/grpc-js|@grpc\/proto-loader)$/);
    }
  });

  it('index.ts exports connect, the client and every error', async () => {
    const api = await import('../../src/client/index.js');
    for (const name of [
      'connect',
      'RaftlockClient',
      'Lease',
      'LockHandle',
      'RaftlockError',
      'LockHeldError',
      'LeaseNotFoundError',
      'LeaseLostError',
      'NotLeaderError',
      'UnavailableError',
      'InvalidArgumentError',
      'DeadlineExceededError',
      'AbortError',
      'ClientClosedError',
    ]) {
      expect(api, name).toHaveProperty(name);
    }
  });
});
