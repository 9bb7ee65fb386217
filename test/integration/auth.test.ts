import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, fetchSnapshot, PermissionDeniedError, ResourceExhaustedError, UnauthenticatedError, type Client } from '../../src/client/index.js';
import { API_PROTO_LOADER_OPTIONS } from '../../src/server/apiProto.js';
import { issueToken } from '../../src/security/tokens.js';
import { cleanEnv, runCli } from '../cli/realCluster.js';
import { failure, type ApiClient } from './apiClient.js';
import { REPO, eventually, startCluster, useClusterHarness, type Cluster } from './cluster.js';

/**
 * Authentication and authorisation end to end, with real node processes of
 * a plaintext cluster with auth enabled (bearer tokens; the certificate
 * identities are in authTls.test.ts): who may call, what they may touch, whose
 * leases they may use, revocation on the next call, and the rules surviving
 * restarts and snapshots. Every refusal is followed by a look (as root) that
 * nothing changed.
 */
useClusterHarness();

const ROOT_TOKEN = issueToken().token;

let c: Cluster;
let root: Client;
const clients: Client[] = [];

async function as(token: string | undefined, endpoints: readonly string[] = c.addresses()): Promise<Client> {
  const client = await connect({ endpoints: [...endpoints], ...(token === undefined ? {} : { token }), requestTimeoutMs: 8_000 });
  clients.push(client);
  return client;
}

/** userWithToken adds a user with the given role (made once) and returns a fresh token of theirs. */
async function userWithToken(user: string, role: string | null): Promise<{ token: string; tokenId: string }> {
  await root.auth.addUser(user);
  if (role !== null) await root.auth.grantRole(user, role);
  const t = await root.auth.issueToken(user);
  return { token: t.token, tokenId: t.tokenId };
}

beforeAll(async () => {
  c = await startCluster({ scope: 'file', auth: { rootToken: ROOT_TOKEN }, limits: { maxLeasesPerOwner: 3 }, snapshot: { everyEntries: 20, trailingEntries: 5 } });
  root = await as(ROOT_TOKEN);
  await root.auth.addRole('orders-rw');
  await root.auth.grantPermission('orders-rw', 'lock', 'orders/');
  await root.auth.addRole('audit');
  await root.auth.grantPermission('audit', 'read', '');
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((cl) => cl.close({ revoke: false }).catch(() => undefined)));
});

describe('authentication', () => {
  it('refuses every API call without credentials (UNAUTHENTICATED) and changes nothing; health stays open', async () => {
    const anonymous: ApiClient = c.client({ token: undefined, retry: false });
    const before = await root.leases();
    const refusals = [
      await failure(anonymous.grant(5_000)),
      await failure(anonymous.acquire('orders/anon', '1', { waitMs: 0 })),
      await failure(anonymous.get('orders/anon')),
      await failure(anonymous.list()),
      await failure(anonymous.status(c.addresses()[0] as string, 2_000)),
    ];
    for (const r of refusals) expect(r.code, r.message).toBe(grpc.status.UNAUTHENTICATED);
    expect(refusals[0]?.details).toMatch(/requires authentication/);
    expect(await root.leases()).toEqual(before);
    expect((await root.get('orders/anon')).holders).toEqual([]);

    const health = healthClient(c.addresses()[1] as string);
    try {
      const reply = await new Promise<{ status: string }>((resolve, reject) => {
        health.Check({ service: '' }, { deadline: Date.now() + 5_000 }, (err: grpc.ServiceError | null, res: { status: string }) => (err === null ? resolve(res) : reject(err)));
      });
      expect(reply.status).toBe('SERVING');
    } finally {
      health.close();
    }
  });

  it('refuses a made-up token and a client claiming a forwarded identity', async () => {
    const fake = await failure(c.client({ token: issueToken().token, retry: false }).grant(5_000));
    expect(fake.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(fake.details).toMatch(/not valid/);
    // A plaintext client is no member: the header that members use to relay certificate users must not work for it.
    const md = new grpc.Metadata();
    md.set('raftlock-forwarded-user', 'root');
    const err = await rawGrant(c.addresses()[0] as string, md);
    expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err?.details).toMatch(/accepted only from members/);
  });

  it('revokes a token from its next call on, on every member', async () => {
    const { token, tokenId } = await userWithToken('carol', 'orders-rw');
    const pinned = c.ids.map((id) => c.clientFor(id, { token, retry: true, deadlineMs: 10_000 }));
    for (const p of pinned) await p.grant(5_000);
    // Revoke through one member; then call every member, the others first.
    const revoker = await as(ROOT_TOKEN, [c.spec(c.ids[2] as string).clientAddress]);
    await revoker.auth.revokeToken(tokenId);
    for (const p of [...pinned].reverse()) {
      const err = await failure(p.grant(5_000));
      expect(err.code, err.message).toBe(grpc.status.UNAUTHENTICATED);
    }
    // The client library is refused at connect (its first call, Cluster.Status, needs an identity too).
    await expect(as(token)).rejects.toBeInstanceOf(UnauthenticatedError);
  });
});

describe('authorisation', () => {
  it('refuses a lock outside the role\'s prefixes (PERMISSION_DENIED naming the permission) and changes nothing', async () => {
    const { token } = await userWithToken('alice', 'orders-rw');
    const alice = await as(token);
    const lease = await alice.grant(60_000);
    const held = await alice.acquire('orders/1', { lease, waitMs: 0 });
    const denied = await alice.acquire('billing/1', { lease, waitMs: 0 }).then(() => null, (e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as Error).message).toMatch(/lock permission on "billing\/" needed for "billing\/1"/);
    expect((await root.get('billing/1')).holders).toEqual([]);
    const read = await alice.get('billing/1').then(() => null, (e: unknown) => e);
    expect(read).toBeInstanceOf(PermissionDeniedError);
    expect((read as Error).message).toMatch(/read permission/);
    expect((await root.timeToLive(lease.id)).locks).toEqual(['orders/1']);
    await held.release();
  });

  it("does not let one identity acquire, release, keep alive, inspect or revoke another's lease", async () => {
    const a = await as((await userWithToken('dave', 'orders-rw')).token);
    const bToken = (await userWithToken('erin', 'orders-rw')).token;
    const lease = await a.grant(60_000);
    const held = await a.acquire('orders/dave', { lease, waitMs: 0 });
    const token = held.token.toString();
    const before = { lock: await root.get('orders/dave'), ttl: (await root.timeToLive(lease.id)).ttlMs };

    const b = c.client({ token: bToken, retry: true });
    const refusals = [
      await failure(b.acquire('orders/erin', lease.id, { waitMs: 0 })),
      await failure(b.acquire('orders/erin', lease.id, { waitMs: 2_000 })),
      await failure(b.release('orders/dave', lease.id, token)),
      await failure(b.revoke(lease.id)),
      await failure(b.timeToLive(lease.id)),
    ];
    for (const r of refusals) {
      expect(r.code, r.message).toBe(grpc.status.PERMISSION_DENIED);
      expect(r.details).toMatch(/belongs to another identity/);
    }
    // KeepAlive: the stream ends with PERMISSION_DENIED and the lease is not renewed for erin.
    const stream = b.openKeepAlive(c.addresses()[0] as string);
    const ended = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('error', () => undefined);
    stream.on('data', () => undefined);
    stream.write({ leaseId: lease.id });
    expect((await ended).code).toBe(grpc.status.PERMISSION_DENIED);

    expect(await root.get('orders/dave')).toEqual(before.lock);
    expect((await root.timeToLive(lease.id)).ttlMs).toBe(before.ttl);
    expect((await root.get('orders/erin')).holders).toEqual([]);
    // The owner, and an admin, still may.
    await held.release();
    await root.revoke(lease.id);
    await expect(root.timeToLive(lease.id)).rejects.toThrow(/not found/);
  });

  it('bounds leases per identity (RESOURCE_EXHAUSTED naming the limit); others are unaffected', async () => {
    const f = await as((await userWithToken('frank', 'orders-rw')).token);
    for (let i = 0; i < 3; i++) await f.grant(60_000);
    const err = await f.grant(60_000).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect((err as Error).message).toMatch(/maxLeasesPerOwner/);
    const g = await as((await userWithToken('grace', 'orders-rw')).token);
    await g.grant(60_000);
  });
});

describe('operator calls', () => {
  it('lets only a cluster admin change membership, move the leadership or save a snapshot; a member list needs an identity', async () => {
    const { token } = await userWithToken('olive', 'orders-rw');
    const olive = await as(token);
    const before = (await root.members()).members;
    const refusals = [
      await olive.addMember('n9', { clientAddress: '127.0.0.1:1', peerAddress: '127.0.0.1:2' }).then(() => null, (e: unknown) => e),
      await olive.removeMember(before[0]!.id).then(() => null, (e: unknown) => e),
      await olive.transferLeader(before[0]!.id).then(() => null, (e: unknown) => e),
      await fetchSnapshot({ endpoints: c.addresses(), token, timeoutMs: 8_000 }).then(() => null, (e: unknown) => e),
    ];
    for (const r of refusals) {
      expect(r).toBeInstanceOf(PermissionDeniedError);
      expect((r as Error).message).toMatch(/admin permission on every name/);
    }
    expect((await olive.members()).members.map((m) => m.id)).toEqual(before.map((m) => m.id));
    expect((await root.members()).members.map((m) => `${m.id}:${m.role}`)).toEqual(before.map((m) => `${m.id}:${m.role}`));
    const anonymous = await fetchSnapshot({ endpoints: c.addresses(), timeoutMs: 8_000 }).then(() => null, (e: unknown) => e);
    expect(anonymous).toBeInstanceOf(UnauthenticatedError);
    const snap = await fetchSnapshot({ endpoints: c.addresses(), token: ROOT_TOKEN, timeoutMs: 8_000 });
    expect(snap.data.length).toBeGreaterThan(0);
  });
});

describe('persistence', () => {
  it('keeps users, roles, tokens and lease owners across snapshots and a restart of every member', async () => {
    const { token } = await userWithToken('heidi', 'orders-rw');
    const ivanToken = (await userWithToken('ivan', 'orders-rw')).token;
    const h = await as(token);
    const lease = await h.grant(120_000);
    await h.acquire('orders/heidi', { lease, waitMs: 0 });
    // Enough entries for every member to snapshot and compact past the auth changes.
    for (let i = 0; i < 30; i++) await root.grant(60_000).then((l) => l.revoke());
    await eventually('every member took a snapshot', async () => {
      const statuses = await c.statuses();
      return [...statuses.values()].every((s) => s.snapshotIndex > 0) ? true : null;
    });
    await c.stop();
    c.startAll();
    await c.waitForLeader({ timeoutMs: 30_000 });
    const again = await as(token);
    expect((await again.timeToLive(lease.id)).locks).toEqual(['orders/heidi']);
    const other = c.client({ token: ivanToken, retry: true });
    expect((await failure(other.revoke(lease.id))).code).toBe(grpc.status.PERMISSION_DENIED);
    // root connected before the restart; a fresh client asks (an unsent call is not retried when not idempotent).
    const listing = await (await as(ROOT_TOKEN)).auth.list();
    expect(listing.users.find((u) => u.user === 'heidi')?.roles).toEqual(['orders-rw']);
    expect(listing.roles.find((r) => r.role === 'orders-rw')?.grants).toEqual([{ permission: 'lock', prefix: 'orders/' }]);
  }, 120_000);
});

describe('the CLI', () => {
  it('adds a user, issues a token that works, revokes it, and the token is refused', async () => {
    const endpoints = c.addresses().join(',');
    const env = cleanEnv({ RAFTLOCK_AUTH_TOKEN: ROOT_TOKEN });
    expect((await runCli(['user', 'add', 'judy', '--endpoints', endpoints], { env })).code).toBe(0);
    expect((await runCli(['user', 'grant-role', 'judy', 'audit', '--endpoints', endpoints], { env })).code).toBe(0);
    const issued = await runCli(['token', 'issue', '--user', 'judy', '--endpoints', endpoints, '--json'], { env });
    expect(issued.code, issued.stderr).toBe(0);
    const t = JSON.parse(issued.stdout) as { tokenId: string; token: string; user: string };
    expect(t.user).toBe('judy');
    const who = await runCli(['auth', 'whoami', '--endpoints', endpoints, '--token', t.token, '--json'], { env: cleanEnv() });
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ user: 'judy', via: 'token', clusterAdmin: false });
    const list = await runCli(['token', 'list', '--endpoints', endpoints], { env });
    expect(list.stdout).toContain(t.tokenId);
    expect((await runCli(['token', 'revoke', t.tokenId, '--endpoints', endpoints], { env })).code).toBe(0);
    const refused = await runCli(['auth', 'whoami', '--endpoints', endpoints, '--token', t.token], { env: cleanEnv() });
    expect(refused.code).toBe(77);
    expect(refused.stderr).toMatch(/not valid/);
    const notAdmin = await runCli(['user', 'add', 'mallory', '--endpoints', endpoints], { env: cleanEnv({ RAFTLOCK_AUTH_TOKEN: t.token }) });
    expect(notAdmin.code).toBe(77);
  }, 60_000);
});

function healthClient(address: string): grpc.Client & { Check: (req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: { status: string }) => void) => void } {
  const path = join(REPO, 'node_modules', 'grpc-health-check', 'proto', 'health', 'v1', 'health.proto');
  const pkg = grpc.loadPackageDefinition(loadSync(path, API_PROTO_LOADER_OPTIONS)) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
  return new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure()) as never;
}

/** rawGrant makes one Lease.Grant with exactly `md` as metadata and returns its error (null on success). */
async function rawGrant(address: string, md: grpc.Metadata): Promise<grpc.ServiceError | null> {
  const path = join(REPO, 'proto', 'raftlock.proto');
  const pkg = grpc.loadPackageDefinition(loadSync(path, API_PROTO_LOADER_OPTIONS)) as unknown as { raftlock: { v1: { Lease: grpc.ServiceClientConstructor } } };
  const client = new pkg.raftlock.v1.Lease(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, (...a: unknown[]) => void>;
  try {
    return await new Promise((resolve) => {
      (client.Grant as (...a: unknown[]) => void)({ ttlMs: 5_000 }, md, { deadline: Date.now() + 5_000 }, (err: grpc.ServiceError | null) => resolve(err));
    });
  } finally {
    client.close();
  }
}
