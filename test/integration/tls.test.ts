import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect, InvalidArgumentError, loadClientTls, UnavailableError } from '../../src/client/index.js';
import type { Message } from '../../src/raft/types.js';
import { PeerTransport } from '../../src/transport/peerTransport.js';
import { cleanEnv, runCli } from '../cli/realCluster.js';
import { eventually, issueCerts, startCluster, useClusterHarness, type Cluster } from './cluster.js';

/**
 * TLS end to end, with real node processes: a TLS cluster serves the client
 * library and the CLI and nobody without the right credentials; the peer
 * port refuses a member certificate from another CA, a member speaking for
 * another member, and (in plaintext) a sender that is not a member; SIGHUP
 * rotates certificates and refuses broken files.
 */
useClusterHarness();

/** ROGUE_TERM: a term no test cluster reaches by itself; a node that accepted a rogue message would jump to it. */
const ROGUE_TERM = 1_000_000;

function rogueHeartbeat(from: string, to: string): Message {
  return { type: 'heartbeat', from, to, term: ROGUE_TERM, commit: 0, readRound: 0 };
}

/** roguePeer is a peer transport run by the test: it dials `target`'s peer port as `nodeId`. */
function roguePeer(c: Cluster, nodeId: string, target: string, credentials?: grpc.ChannelCredentials): PeerTransport {
  return new PeerTransport({
    nodeId,
    clusterId: c.config.clusterId as string,
    peers: new Map([[target, c.spec(target).peerAddress]]),
    onMessage: () => undefined,
    logger: pino({ level: 'silent' }),
    reconnectBackoffMinMs: 50,
    reconnectBackoffMaxMs: 200,
    stopGraceMs: 100,
    ...(credentials !== undefined ? { channelCredentials: credentials } : {}),
  });
}

/**
 * sendUntilLogged keeps sending the rogue's message (bounded) until the target's
 * log shows `refusal`, then checks no member moved to the rogue's term.
 */
async function expectRefused(c: Cluster, rogue: PeerTransport, from: string, target: string, refusal: string): Promise<void> {
  try {
    await eventually(`${target} logs "${refusal}"`, async () => {
      rogue.send([rogueHeartbeat(from, target)]);
      // Log lines are JSON: quotes in the message appear escaped.
      return c.logs(target).includes(JSON.stringify(refusal).slice(1, -1)) ? true : null;
    }, 20_000, 100);
  } finally {
    await rogue.stop();
  }
  const statuses = await c.statuses();
  expect(statuses.size).toBe(c.ids.length);
  for (const s of statuses.values()) expect(s.term, `${s.id} took the rogue's term`).toBeLessThan(ROGUE_TERM);
  expect(c.logs(target)).not.toContain(`"term":${ROGUE_TERM}`);
}

describe('a TLS cluster requiring client certificates', () => {
  let c: Cluster;
  let tlsDir: string;
  let files: { caFile: string; certFile: string; keyFile: string };

  beforeAll(async () => {
    c = await startCluster({ tls: { requireClientCert: true }, scope: 'file' });
    tlsDir = c.tlsDir as string;
    files = { caFile: join(tlsDir, 'ca.pem'), certFile: join(tlsDir, 'client.pem'), keyFile: join(tlsDir, 'client-key.pem') };
  }, 60_000);

  it('serves the client library over TLS with a client certificate', async () => {
    const client = await connect({ endpoints: c.addresses(), tls: loadClientTls(files), connectTimeoutMs: 10_000 });
    try {
      const lock = await client.acquire('tls-lib', { waitMs: 5_000 });
      expect(lock.token).toBeGreaterThan(0n);
      expect((await client.get('tls-lib')).holders.map((h) => h.token)).toEqual([lock.token]);
      await lock.release();
      expect((await client.get('tls-lib')).holders).toEqual([]);
    } finally {
      await client.close({ revoke: true });
    }
  });

  it('forwards from a follower to the leader over TLS, presenting the follower\'s certificate', async () => {
    const leader = await c.leader();
    const follower = c.ids.find((id) => id !== leader) as string;
    const endpoint = c.spec(follower).clientAddress;
    const client = await connect({ endpoints: [endpoint], discoverMembers: false, tls: loadClientTls(files), connectTimeoutMs: 10_000 });
    try {
      const lease = await client.grant(5_000);
      const lock = await client.acquire('tls-forwarded', { lease, waitMs: 5_000 });
      expect(client.leaderAddress === null || client.leaderAddress === endpoint).toBe(true);
      expect((await client.get('tls-forwarded')).holders.map((h) => h.token)).toEqual([lock.token]);
      await lock.release();
      await lease.revoke();
    } finally {
      await client.close({ revoke: true });
    }
  });

  it('serves the CLI with --cacert/--cert/--key and with $RAFTLOCK_CACERT/CERT/KEY', async () => {
    const endpoints = c.addresses().join(',');
    const byFlags = await runCli(['lock', 'tls-cli', '--endpoints', endpoints, '--cacert', files.caFile, '--cert', files.certFile, '--key', files.keyFile,
      '--', process.execPath, '-e', 'console.log("token=" + process.env.RAFTLOCK_TOKEN)'], { env: cleanEnv() });
    expect(byFlags.code, byFlags.stderr).toBe(0);
    expect(byFlags.stderr).not.toContain('raftlock:');
    expect(byFlags.stdout).toMatch(/token=\d+/);

    const env = cleanEnv({ RAFTLOCK_ENDPOINTS: endpoints, RAFTLOCK_CACERT: files.caFile, RAFTLOCK_CERT: files.certFile, RAFTLOCK_KEY: files.keyFile });
    const status = await runCli(['status', '--json'], { env });
    expect(status.code).toBe(0);
    const view = JSON.parse(status.stdout) as { up: number; leader: string | null };
    expect(view.up).toBe(3);
    expect(view.leader).toMatch(/^n[123]$/);

    const tlsConfig = join(c.dir, 'client-tls.json');
    writeFileSync(tlsConfig, JSON.stringify({ cacert: 'tls/ca.pem', cert: 'tls/client.pem', key: 'tls/client-key.pem' }));
    const byFile = await runCli(['get', 'tls-cli', '--endpoints', endpoints, '--tls-config', tlsConfig, '--json'], { env: cleanEnv() });
    expect(byFile.code).toBe(0);
  });

  it('refuses clients without the right credentials: plaintext, no client certificate, another CA', async () => {
    const attempts = {
      plaintext: {},
      'CA but no client certificate': { tls: loadClientTls({ caFile: files.caFile }) },
      'another CA': (() => {
        const other = join(c.dir, 'other-ca');
        issueCerts(['--out', other, '--cluster-id', c.config.clusterId as string, '--nodes', '', '--clients', 'client', '--days', '2']);
        return { tls: loadClientTls({ caFile: join(other, 'ca.pem'), certFile: join(other, 'client.pem'), keyFile: join(other, 'client-key.pem') }) };
      })(),
    };
    for (const [what, extra] of Object.entries(attempts)) {
      const attempt = connect({ endpoints: c.addresses(), connectTimeoutMs: 1_500, ...extra });
      await expect(attempt, what).rejects.toBeInstanceOf(UnavailableError);
    }
    const plain = await runCli(['get', 'x', '--endpoints', c.addresses().join(','), '--timeout', '1s'], { env: cleanEnv() });
    expect(plain.code).toBe(69);
    expect(plain.stderr).toContain('if the cluster uses TLS, pass --cacert FILE');
    const missing = await runCli(['get', 'x', '--endpoints', c.addresses().join(','), '--cacert', join(c.dir, 'nope.pem')], { env: cleanEnv() });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.pem: it does not exist');
  });

  it('refuses a peer whose certificate comes from another CA, and logs why', async () => {
    const other = join(c.dir, 'rogue-ca');
    issueCerts(['--out', other, '--cluster-id', c.config.clusterId as string, '--nodes', 'n3', '--clients', '', '--days', '2']);
    // The rogue trusts the real CA (it is public) but can only present a certificate of its own CA.
    const creds = grpc.credentials.createSsl(readFileSync(join(tlsDir, 'ca.pem')), readFileSync(join(other, 'n3-key.pem')), readFileSync(join(other, 'n3.pem')),
      { checkServerIdentity: () => undefined });
    await expectRefused(c, roguePeer(c, 'n3', 'n1', creds), 'n3', 'n1', 'no certificate issued by this cluster\'s CA');
  });

  it('refuses a peer whose certificate names n2 but who claims to be n3, and logs why', async () => {
    const creds = grpc.credentials.createSsl(readFileSync(join(tlsDir, 'ca.pem')), readFileSync(join(tlsDir, 'n2-key.pem')), readFileSync(join(tlsDir, 'n2.pem')),
      { checkServerIdentity: () => undefined });
    await expectRefused(c, roguePeer(c, 'n3', 'n1', creds), 'n3', 'n1', 'claiming to be "n3": its certificate names "n2"');
  });
});

describe('a plaintext cluster', () => {
  it('refuses peer messages from an id that is not a member, and logs why', async () => {
    const c = await startCluster();
    await expectRefused(c, roguePeer(c, 'n9', 'n1'), 'n9', 'n1', 'refused a peer stream from unknown node "n9"');
  });
});

describe('certificate rotation on SIGHUP', () => {
  /** servedSerial opens a new TLS connection to `address` and returns the serial of the certificate the node presents. */
  function servedSerial(address: string, ca: Buffer): Promise<string> {
    const colon = address.lastIndexOf(':');
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), ca, ALPNProtocols: ['h2'] }, () => {
        const serial = socket.getPeerCertificate().serialNumber;
        socket.destroy();
        resolve(serial.toUpperCase());
      });
      socket.once('error', reject);
    });
  }

  const serialOf = (path: string): string => new X509Certificate(readFileSync(path)).serialNumber.toUpperCase();

  it('serves a re-issued certificate on new connections, and refuses a broken file while serving on', async () => {
    const c = await startCluster({ tls: {} });
    const dir = c.tlsDir as string;
    const ca = readFileSync(join(dir, 'ca.pem'));
    const n1 = c.spec('n1').clientAddress;
    const before = serialOf(join(dir, 'n1.pem'));
    expect(await servedSerial(n1, ca)).toBe(before);

    issueCerts(['--out', dir, '--cluster-id', c.config.clusterId as string, '--nodes', 'n1', '--clients', '', '--days', '2', '--renew']);
    const renewed = serialOf(join(dir, 'n1.pem'));
    expect(renewed).not.toBe(before);
    process.kill(c.pid('n1') as number, 'SIGHUP');
    await eventually('n1 logs the reload', async () => (c.logs('n1').includes('new client certificates in use') ? true : null));
    expect(await servedSerial(n1, ca)).toBe(renewed);
    // Peers dial n1 with its new certificate too: the cluster keeps a leader and serves.
    await c.api.grant(5_000);

    writeFileSync(join(dir, 'n1.pem'), 'not a certificate\n');
    process.kill(c.pid('n1') as number, 'SIGHUP');
    await eventually('n1 logs the refused reload', async () => (c.logs('n1').includes('TLS reload refused') ? true : null));
    expect(c.logs('n1')).toContain('is not a PEM file');
    expect(c.isRunning('n1')).toBe(true);
    expect(await servedSerial(n1, ca)).toBe(renewed);
    const client = await connect({ endpoints: [n1], tls: { ca }, discoverMembers: false, connectTimeoutMs: 10_000 });
    try {
      expect((await client.status({ endpoint: n1 })).id).toBe('n1');
    } finally {
      await client.close();
    }
  });
});

describe('client library TLS validation', () => {
  it('says what is wrong with PEM text and files', async () => {
    await expect(connect({ endpoints: '127.0.0.1:1', tls: { ca: 'ca.pem' } })).rejects.toThrow(/tls\.ca holds no PEM text/);
    expect(() => loadClientTls({ caFile: '/nonexistent/ca.pem' })).toThrow(InvalidArgumentError);
    expect(() => loadClientTls({ caFile: '/nonexistent/ca.pem' })).toThrow(/ca\.pem: it does not exist/);
  });
});
