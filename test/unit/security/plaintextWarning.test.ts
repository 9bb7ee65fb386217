import { describe, expect, it } from 'vitest';
import type { NodeSpec } from '../../../src/node/clusterConfig.js';
import { isLoopbackHost, plaintextWarnings } from '../../../src/security/plaintextWarning.js';

const spec = (clientAddress: string, peerAddress: string, tls?: NodeSpec['tls']): NodeSpec => ({
  id: 'n1', clientAddress, peerAddress, dataDir: '/d', ...(tls !== undefined ? { tls } : {}),
});
const files = { ca: '/ca', cert: '/c', key: '/k' };

describe('plaintext warning', () => {
  it('knows loopback from the rest', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.5', '192.168.1.1', '::', '[::]', 'db.example.com', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('warns for each plaintext listener off loopback, and only then', () => {
    expect(plaintextWarnings(spec('127.0.0.1:7001', '[::1]:7101'))).toEqual([]);
    const both = plaintextWarnings(spec('0.0.0.0:7001', '10.0.0.5:7101'));
    expect(both).toHaveLength(2);
    expect(both[0]).toMatch(/client API on 0\.0\.0\.0:7001 is PLAINTEXT on a non-loopback address/);
    expect(both[1]).toMatch(/peer transport on 10\.0\.0\.5:7101 is PLAINTEXT/);
    expect(plaintextWarnings(spec('0.0.0.0:7001', '0.0.0.0:7101', { peer: files, client: { ...files, requireClientCert: false } }))).toEqual([]);
    expect(plaintextWarnings(spec('0.0.0.0:7001', '0.0.0.0:7101', { peer: files, client: null }))).toEqual([expect.stringMatching(/client API/)]);
  });

  it('warns for a status page and metrics port off loopback, TLS or not (it is plain HTTP without authentication)', () => {
    const tls = { peer: files, client: { ...files, requireClientCert: true } };
    expect(plaintextWarnings({ ...spec('0.0.0.0:7001', '0.0.0.0:7101', tls), httpAddress: '127.0.0.1:7201' })).toEqual([]);
    expect(plaintextWarnings({ ...spec('0.0.0.0:7001', '0.0.0.0:7101', tls), httpAddress: '0.0.0.0:7201' })).toEqual([
      expect.stringMatching(/^status page and metrics on 0\.0\.0\.0:7201 are plain HTTP without authentication on a non-loopback address: .*bind httpAddress to loopback/),
    ]);
  });
});
