import { describe, expect, it } from 'vitest';
import { parseClusterConfig } from '../../../src/node/clusterConfig.js';
import { configProblems } from '../../support/configProblems.js';

const files = (id: string): Record<string, string> => ({ ca: 'tls/ca.pem', cert: `tls/${id}.pem`, key: `tls/${id}-key.pem` });
const node = (i: number, tls?: unknown): Record<string, unknown> => ({
  id: `n${i}`, clientAddress: `127.0.0.1:70${i}0`, peerAddress: `127.0.0.1:71${i}0`, ...(tls !== undefined ? { tls } : {}),
});
const tlsNode = (i: number, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  node(i, { peer: files(`n${i}`), client: { ...files(`n${i}`), ...extra } });

describe('cluster config: tls', () => {
  it('resolves TLS paths against the config folder, like dataDir; requireClientCert defaults to false', () => {
    const c = parseClusterConfig({ clusterId: 'c1', nodes: [tlsNode(1), tlsNode(2), tlsNode(3, { requireClientCert: true })] }, 'test', '/base');
    expect(c.nodes[0]?.tls).toEqual({
      peer: { ca: '/base/tls/ca.pem', cert: '/base/tls/n1.pem', key: '/base/tls/n1-key.pem' },
      client: { ca: '/base/tls/ca.pem', cert: '/base/tls/n1.pem', key: '/base/tls/n1-key.pem', requireClientCert: false },
    });
    expect(c.nodes[2]?.tls?.client?.requireClientCert).toBe(true);
  });

  it('keeps absolute paths, and leaves plaintext nodes without tls', () => {
    const abs = { ca: '/etc/raftlock/ca.pem', cert: '/etc/raftlock/n1.pem', key: '/etc/raftlock/n1-key.pem' };
    const c = parseClusterConfig({ clusterId: 'c1', nodes: [node(1, { peer: abs }), node(2, { peer: abs }), node(3, { peer: abs })] }, 'test', '/base');
    expect(c.nodes[0]?.tls).toEqual({ peer: abs, client: null });
    expect(parseClusterConfig({ clusterId: 'c1', nodes: [node(1), node(2), node(3)] }, 'test', '/base').nodes[0]?.tls).toBeUndefined();
  });

  const cases: Array<[string, unknown[], RegExp]> = [
    ['tls not an object', [node(1, 'yes'), node(2), node(3)], /nodes\[0\]\.tls must be a JSON object, got "yes"/],
    ['unknown tls field', [node(1, { server: {} }), node(2), node(3)], /nodes\[0\]\.tls has an unknown field "server"; accepted fields: peer, client/],
    ['missing key', [node(1, { peer: { ca: 'a', cert: 'b' } }), node(2), node(3)], /nodes\[0\]\.tls\.peer\.key must be the path of a PEM file/],
    ['empty path', [node(1, { client: { ca: '', cert: 'b', key: 'c' } }), node(2), node(3)], /nodes\[0\]\.tls\.client\.ca must be the path of a PEM file/],
    ['unknown path field', [node(1, { peer: { ...files('n1'), requireClientCert: true } }), node(2), node(3)], /tls\.peer has an unknown field "requireClientCert"/],
    ['requireClientCert not boolean', [tlsNode(1, { requireClientCert: 'yes' }), tlsNode(2), tlsNode(3)], /tls\.client\.requireClientCert must be true or false, got "yes"/],
    ['peer TLS on some members only', [tlsNode(1), tlsNode(2), node(3)], /tls\.peer is set for n1, n2 but not for n3; set it for every member or for none/],
    ['client TLS on some members only', [tlsNode(1), tlsNode(2), node(3, { peer: files('n3') })], /tls\.client is set for n1, n2 but not for n3/],
  ];
  it.each(cases)('refuses %s with a clear message', (_what, nodes, message) => {
    const problems = configProblems({ clusterId: 'c1', nodes });
    expect(problems.join('\n')).toMatch(message);
  });
});
