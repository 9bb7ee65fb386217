import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { endpointsFromConfig, packageRoot, parseEndpoints, resolveEndpoints } from '../../src/cli/endpoints.js';
import { UsageError } from '../../src/cli/errors.js';

const REPO = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'raftlock-cli-endpoints-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeRoot(name: string, config: unknown): string {
  const root = join(dir, name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root);
  if (config !== undefined) writeFileSync(join(root, 'cluster.example.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return root;
}

describe('resolveEndpoints', () => {
  const root = writeRoot('pkg', { nodes: [{ id: 'n1', clientAddress: '127.0.0.1:9001' }, { id: 'n2', clientAddress: '127.0.0.1:9002' }] });

  it('--endpoints wins over the environment and the example config', () => {
    expect(resolveEndpoints({ flag: 'a:1, b:2 ,', env: { RAFTLOCK_ENDPOINTS: 'c:3' }, root })).toEqual({ endpoints: ['a:1', 'b:2'], source: '--endpoints' });
  });

  it('then RAFTLOCK_ENDPOINTS', () => {
    expect(resolveEndpoints({ env: { RAFTLOCK_ENDPOINTS: 'c:3,d:4' }, root })).toEqual({ endpoints: ['c:3', 'd:4'], source: '$RAFTLOCK_ENDPOINTS' });
  });

  it('then the client addresses of cluster.example.json in the package root (an empty variable counts as unset)', () => {
    expect(resolveEndpoints({ env: { RAFTLOCK_ENDPOINTS: '  ' }, root })).toEqual({
      endpoints: ['127.0.0.1:9001', '127.0.0.1:9002'],
      source: join(root, 'cluster.example.json'),
    });
  });

  it('finds the real package root and its cluster.example.json by default', () => {
    expect(packageRoot()).toBe(REPO);
    expect(packageRoot(join(REPO, 'src', 'cli'))).toBe(REPO);
    const r = resolveEndpoints({ env: {} });
    expect(r.source).toBe(join(REPO, 'cluster.example.json'));
    expect(r.endpoints).toEqual(['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003']);
  });

  it('says how to give endpoints when the example config is missing or malformed', () => {
    const missing = writeRoot('missing', undefined);
    expect(() => resolveEndpoints({ env: {}, root: missing })).toThrow(/^no endpoints: pass --endpoints host:port,\.\.\. or set RAFTLOCK_ENDPOINTS \(.*it does not exist\)$/);
    const broken = writeRoot('broken', '{ nope');
    expect(() => resolveEndpoints({ env: {}, root: broken })).toThrow(/not valid JSON/);
    const empty = writeRoot('empty', { nodes: [] });
    expect(() => resolveEndpoints({ env: {}, root: empty })).toThrow(/lists no nodes\[\]\.clientAddress/);
    expect(() => endpointsFromConfig(join(missing, 'nope.json'))).toThrow(UsageError);
  });
});

describe('parseEndpoints', () => {
  it('accepts host:port, hostnames, IPv6 in brackets; drops blanks and duplicates', () => {
    expect(parseEndpoints('127.0.0.1:7001,localhost:7002,[::1]:7003,,127.0.0.1:7001, my-host.example.com:1 ', '--endpoints')).toEqual([
      '127.0.0.1:7001',
      'localhost:7002',
      '[::1]:7003',
      'my-host.example.com:1',
    ]);
  });

  it.each([
    ['', /^--endpoints is empty: expected a comma-separated host:port list/],
    [' , ', /^--endpoints is empty/],
    ['127.0.0.1', /^invalid endpoint "127\.0\.0\.1" in --endpoints: no port; expected host:port/],
    ['127.0.0.1:0', /the port must be 1-65535/],
    ['127.0.0.1:70000', /the port must be 1-65535/],
    ['127.0.0.1:abc', /the port must be 1-65535/],
    [':7001', /no port/],
    ['http://127.0.0.1:7001', /drop the scheme/],
    ['bad host:7001', /bad host "bad host"/],
  ])('refuses %j', (text, message) => {
    expect(() => parseEndpoints(text, '--endpoints')).toThrow(message);
    try {
      parseEndpoints(text, '--endpoints');
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});
