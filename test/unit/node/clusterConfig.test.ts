import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadClusterConfig, nodeSpec, parseClusterConfig } from '../../../src/node/clusterConfig.js';
import { configProblems } from '../../support/configProblems.js';
import { DEFAULT_CLIENT_LIMITS } from '../../../src/server/clientLimits.js';

const node = (i: number): Record<string, unknown> => ({ id: `n${i}`, clientAddress: `127.0.0.1:70${i}0`, peerAddress: `127.0.0.1:71${i}0` });
const base = (): Record<string, unknown> => ({ clusterId: 'c1', nodes: [node(1), node(2), node(3)] });

describe('cluster config', () => {
  it('accepts the shipped examples', () => {
    for (const file of ['cluster.example.json', 'cluster.5nodes.example.json', 'cluster.tls.example.json']) {
      const c = loadClusterConfig(join(import.meta.dirname, '..', '..', '..', file));
      expect(c.nodes.length === 3 || c.nodes.length === 5).toBe(true);
    }
  });

  it('fills defaults and resolves data dirs against the config folder', () => {
    const c = parseClusterConfig(base(), 'test', '/base');
    expect(c.nodes[0]?.dataDir).toBe('/base/data/n1');
    expect(c.timing).toEqual({ tickMs: 50, electionTicks: 10, heartbeatTicks: 2 });
    expect(c.limits.minTtlMs).toBe(1000); // the longest election timeout
    expect(c.limits.maxWaitersPerLock).toBe(10_000);
    expect(c.clientLimits).toEqual(DEFAULT_CLIENT_LIMITS);
    expect(c.logLevel).toBe('warn');
    expect(c.auth.enabled).toBe(false);
    expect(c.limits.maxLeasesPerOwner).toBe(10_000);
  });

  it('reads an auth section', () => {
    const c = parseClusterConfig({ ...base(), auth: { enabled: true, rootTokenSha256: 'a'.repeat(64), limits: { maxUsers: 5 } } }, 'test', '/base');
    expect(c.auth).toMatchObject({ enabled: true, rootTokenSha256: 'a'.repeat(64) });
    expect(c.auth.limits.maxUsers).toBe(5);
  });

  const cases: Array<[string, (c: Record<string, unknown>) => void, RegExp]> = [
    ['unknown top-level field', (c) => { c.tiemout = 1; }, /unknown field "tiemout"; accepted fields: clusterId/],
    ['bad cluster id', (c) => { c.clusterId = ''; }, /clusterId must be/],
    ['even member count', (c) => { c.nodes = [node(1), node(2)]; }, /nodes must list 1, 3, 5 or 7 initial members/],
    ['even initial count beside a joiner', (c) => { c.nodes = [node(1), node(2), { ...node(3), join: true }]; }, /got 2 initial of 3 members/],
    ['join not a boolean', (c) => { c.nodes = [node(1), node(2), { ...node(3), join: 'yes' }, { ...node(4), join: true }]; }, /nodes\[2\].join must be true or false/],
    ['duplicate id', (c) => { c.nodes = [node(1), node(1), node(3)]; }, /id "n1" is used twice/],
    ['duplicate port', (c) => { c.nodes = [node(1), { ...node(2), clientAddress: '127.0.0.1:7010' }, node(3)]; }, /127.0.0.1:7010 is already used by n1.clientAddress/],
    ['port out of range', (c) => { c.nodes = [{ ...node(1), peerAddress: 'localhost:70000' }, node(2), node(3)]; }, /peerAddress must be host:port with a port from 1 to 65535/],
    ['bad node id', (c) => { c.nodes = [{ ...node(1), id: 'N 1' }, node(2), node(3)]; }, /id must be 1-32 lowercase letters/],
    ['heartbeat not below election', (c) => { c.timing = { heartbeatTicks: 10, electionTicks: 10 }; }, /heartbeatTicks \(10\) must be below timing.electionTicks \(10\)/],
    ['TTL floor below the election timeout', (c) => { c.limits = { minTtlMs: 200 }; }, /minTtlMs \(200\) must be at least the longest election timeout/],
    ['non-integer tunable', (c) => { c.timing = { tickMs: 2.5 }; }, /timing.tickMs must be a positive integer, got 2.5/],
    ['unknown limit', (c) => { c.limits = { maxLockz: 1 }; }, /limits has an unknown field "maxLockz"/],
    ['trailing window not below the interval', (c) => { c.snapshot = { everyEntries: 10, trailingEntries: 10 }; }, /trailingEntries \(10\) must be below/],
    ['name limit over the message size', (c) => { c.limits = { maxNameBytes: 20_000 }; }, /limits.maxNameBytes \(20000\) must be at most 16384: a request carrying the name must fit the API's 65536-byte message limit/],
    ['zero client limit', (c) => { c.clientLimits = { maxInFlightPerConnection: 0 }; }, /clientLimits.maxInFlightPerConnection must be a positive integer, got 0/],
    ['unknown client limit', (c) => { c.clientLimits = { rps: 5 }; }, /clientLimits has an unknown field "rps"/],
    ['bad log level', (c) => { c.logLevel = 'loud'; }, /logLevel must be one of/],
    ['auth.enabled not a boolean', (c) => { c.auth = { enabled: 'yes' }; }, /auth.enabled must be true or false, got "yes"/],
    ['auth root hash not hex', (c) => { c.auth = { enabled: true, rootTokenSha256: 'abc' }; }, /auth.rootTokenSha256 must be 64 lower-case hex digits/],
    ['unknown auth field', (c) => { c.auth = { enable: true }; }, /auth has an unknown field "enable"; accepted fields: enabled, rootTokenSha256, limits/],
    ['bad auth limit', (c) => { c.auth = { limits: { maxUsers: 0 } }; }, /auth.limits.maxUsers must be a positive integer, got 0/],
    ['bad per-owner quota', (c) => { c.limits = { maxLeasesPerOwner: -1 }; }, /limits.maxLeasesPerOwner must be a positive integer/],
    ['bad http address', (c) => { c.nodes = [{ ...node(1), httpAddress: 7201 }, node(2), node(3)]; }, /nodes\[0\]\.httpAddress must be host:port with a port from 1 to 65535 \(e\.g\. "127\.0\.0\.1:7001"\), got 7201/],
    ['http address on another listener\'s port', (c) => { c.nodes = [{ ...node(1), httpAddress: '127.0.0.1:7120' }, node(2), node(3)]; }, /nodes\[0\]\.httpAddress 127\.0\.0\.1:7120 is already used by n2\.peerAddress|nodes\[1\]\.peerAddress 127\.0\.0\.1:7120 is already used by n1\.httpAddress/],
  ];
  it.each(cases)('%s is refused with a message that says what is accepted', (_name, mutate, message) => {
    const c = base();
    mutate(c);
    const problems = configProblems(c);
    expect(problems.some((p) => message.test(p)), problems.join('\n')).toBe(true);
  });

  it('takes an optional httpAddress per member (the shipped examples serve metrics on loopback)', () => {
    const c = parseClusterConfig({ ...base(), nodes: [{ ...node(1), httpAddress: '127.0.0.1:7201' }, node(2), node(3)] }, 'test', '/base');
    expect(c.nodes[0]?.httpAddress).toBe('127.0.0.1:7201');
    expect(c.nodes[1]?.httpAddress).toBeUndefined();
    const example = loadClusterConfig(join(import.meta.dirname, '..', '..', '..', 'cluster.example.json'));
    expect(example.nodes.map((n) => n.httpAddress)).toEqual(['127.0.0.1:7201', '127.0.0.1:7202', '127.0.0.1:7203']);
  });

  it('reports every problem at once', () => {
    expect(configProblems({ clusterId: 'x y', nodes: 'n1', bogus: true }).length).toBe(3);
  });

  it('names the members when asked for an unknown id', () => {
    const c = parseClusterConfig(base(), 'test', '/base');
    expect(() => nodeSpec(c, 'n9')).toThrow(/unknown node id "n9"; this cluster's members are n1, n2, n3/);
  });

  const dir = mkdtempSync(join(tmpdir(), 'raftlock-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('reports unreadable files and bad JSON clearly', () => {
    expect(() => loadClusterConfig(join(dir, 'missing.json'))).toThrow(/cannot read the file/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "clusterId": ');
    expect(() => loadClusterConfig(bad)).toThrow(/not valid JSON/);
  });
});
