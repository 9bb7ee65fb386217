import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, loadClientTls, PermissionDeniedError, UnauthenticatedError, type Client } from '../../src/client/index.js';
import { issueToken } from '../../src/security/tokens.js';
import { startCluster, useClusterHarness, type Cluster } from './cluster.js';

/**
 * Certificate identities on a TLS cluster with auth enabled: a client
 * certificate naming raftlock://<cluster>/user/<name> authenticates as that
 * user, also through a follower (which relays the name to the leader over its
 * own member certificate); a certificate that names no user does not.
 */
useClusterHarness();

const ROOT_TOKEN = issueToken().token;
let c: Cluster;
const clients: Client[] = [];

function filesOf(name: string): { caFile: string; certFile: string; keyFile: string } {
  const d = c.tlsDir as string;
  return { caFile: join(d, 'ca.pem'), certFile: join(d, `${name}.pem`), keyFile: join(d, `${name}-key.pem`) };
}

async function open(cert: string, endpoints: readonly string[], token?: string): Promise<Client> {
  const client = await connect({ endpoints: [...endpoints], discoverMembers: false, tls: loadClientTls(filesOf(cert)), connectTimeoutMs: 10_000, ...(token === undefined ? {} : { token }) });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  c = await startCluster({ scope: 'file', tls: { users: ['alice', 'root'] }, auth: { rootToken: ROOT_TOKEN } });
  const root = await open('client', c.addresses(), ROOT_TOKEN);
  await root.auth.addUser('alice');
  await root.auth.addRole('orders-rw');
  await root.auth.grantPermission('orders-rw', 'lock', 'orders/');
  await root.auth.grantRole('alice', 'orders-rw');
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((cl) => cl.close({ revoke: true }).catch(() => undefined)));
});

describe('certificate identities', () => {
  it('authenticates a user certificate at the leader and through a follower', async () => {
    const leader = await c.leader();
    const follower = c.ids.find((id) => id !== leader) as string;
    const atLeader = await open('user-alice', [c.spec(leader).clientAddress]);
    expect(await atLeader.auth.whoAmI()).toEqual({ user: 'alice', via: 'certificate', clusterAdmin: false, authEnabled: true });
    const viaFollower = await open('user-alice', [c.spec(follower).clientAddress]);
    expect(await viaFollower.auth.whoAmI()).toEqual({ user: 'alice', via: 'forwarded', clusterAdmin: false, authEnabled: true });
    const lock = await viaFollower.acquire('orders/tls', { waitMs: 5_000 });
    expect(lock.token).toBeGreaterThan(0n);
    await expect(viaFollower.acquire('billing/tls', { waitMs: 0 })).rejects.toBeInstanceOf(PermissionDeniedError);
    await lock.release();
  });

  it('makes the holder of a root user certificate a cluster admin', async () => {
    const root = await open('user-root', c.addresses());
    expect(await root.auth.whoAmI()).toMatchObject({ user: 'root', via: 'certificate', clusterAdmin: true });
    expect((await root.auth.list()).users.map((u) => u.user)).toContain('alice');
  });

  it('refuses a certificate that names no user, at the leader and through a follower', async () => {
    for (const id of c.ids) {
      await expect(open('client', [c.spec(id).clientAddress])).rejects.toBeInstanceOf(UnauthenticatedError);
    }
  });
});
