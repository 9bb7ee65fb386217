import { afterEach, describe, expect, it } from 'vitest';
import { RaftlockClient } from '../../src/client/client.js';
import type { Invoke } from '../../src/client/connection.js';
import { UnavailableError } from '../../src/client/errors.js';
import { CallFailure } from '../../src/client/protocol.js';

/**
 * A waiting acquire whose call broke after its wait had run out must not be
 * retried as a fresh try. The server withdraws a wait when its wait_ms ends,
 * so such a retry does not rejoin the queue: it can be granted at once, ahead
 * of waiters that queued behind the original wait (found by the chaos
 * checker in a 30-minute run at seed 1122: a shared waiter lost its place to
 * one queued behind it, during a majorities-ring partition). Scripted fake
 * transport: the first Acquire hangs past the wait and breaks; a retry would
 * be granted.
 */

const UNAVAILABLE = 14;
const noMetadata = { get: () => [] } as unknown as ConstructorParameters<typeof CallFailure>[2];
const ENDPOINT = '127.0.0.1:1';

let client: RaftlockClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
});

function fakeCluster(waitMs: number): { invoke: Invoke; acquires: string[] } {
  const acquires: string[] = [];
  const invoke = (async (address: string, method: string, request: Record<string, unknown>) => {
    switch (method) {
      case 'Lease/TimeToLive':
        return { leaseId: request['leaseId'], ttlMs: '60000', remainingMs: '60000', locks: [] };
      case 'Lock/Acquire':
        acquires.push(String(request['waitMs']));
        if (acquires.length === 1) {
          // The wait outlives its wait_ms on the way (a partition), then the connection breaks.
          await new Promise((r) => setTimeout(r, waitMs + 100));
          throw new CallFailure(UNAVAILABLE, 'connection reset', noMetadata, null, address);
        }
        return { token: '9', existing: false };
      case 'Lock/Get':
        return { name: request['name'], holders: [], waiters: [] };
      default:
        throw new CallFailure(UNAVAILABLE, 'no such node', noMetadata, null, address);
    }
  }) as unknown as Invoke;
  return { invoke, acquires };
}

describe('acquire retried after its wait ran out', () => {
  it('reports the wait unanswered (UnavailableError) instead of starting a fresh try', async () => {
    const waitMs = 200;
    const { invoke, acquires } = fakeCluster(waitMs);
    client = new RaftlockClient({ endpoints: [ENDPOINT], backoff: { initialMs: 5, maxMs: 10 } });
    (client.connection as unknown as { invoke: Invoke }).invoke = invoke;
    const lease = await client.keepAlive('7');
    const outcome = await client.acquire('q', { lease, waitMs }).then(
      (handle) => `granted token ${handle.token}`,
      (err: unknown) => err,
    );
    expect(outcome).toBeInstanceOf(UnavailableError);
    expect(acquires).toEqual([String(waitMs)]);
  });
});
