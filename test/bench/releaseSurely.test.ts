import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { Held, LockClient } from '../../bench/system.js';
import { releaseSurely } from '../../bench/workloads/failover.js';

/**
 * The failover loop's release: a release whose first attempt timed out on the
 * client side but committed must count as done when the retry is refused as
 * "not held", instead of being retried until the deadline (which once showed
 * up as a 9 s "failover").
 */

const held: Held = { name: 'fo-0-1', leaseId: '7', handle: '42' };

function grpcError(code: grpc.status): Error {
  return Object.assign(new Error(grpc.status[code]), { code, details: grpc.status[code] });
}

/** fakeClient answers release calls from a script, recording the member each went to. */
function fakeClient(script: (grpc.status | 'ok')[]): { client: LockClient; members: number[] } {
  const members: number[] = [];
  const release = async (member: number): Promise<void> => {
    members.push(member);
    const next = script.shift();
    if (next === undefined) throw new Error('release called more often than scripted');
    if (next !== 'ok') throw grpcError(next);
  };
  const unused = (): never => {
    throw new Error('not used by releaseSurely');
  };
  const client: LockClient = { system: 'raftlock', release, grant: unused, revoke: unused, acquire: unused, readLock: unused, openKeepAlive: unused, close: unused };
  return { client, members };
}

describe('releaseSurely', () => {
  it('returns at once when the release succeeds', async () => {
    const f = fakeClient(['ok']);
    let failures = 0;
    expect(await releaseSurely(3, 1, f.client, held, 300, () => failures++)).toBe(1);
    expect(f.members).toEqual([1]);
    expect(failures).toBe(0);
  });

  it('moves to the next member after UNAVAILABLE and returns the member that answered', async () => {
    const f = fakeClient([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, 'ok']);
    let failures = 0;
    expect(await releaseSurely(3, 2, f.client, held, 300, () => failures++)).toBe(1);
    expect(f.members).toEqual([2, 0, 1]);
    expect(failures).toBe(2);
  });

  it('treats "no longer held" refusals as an earlier attempt that committed', async () => {
    for (const code of [grpc.status.FAILED_PRECONDITION, grpc.status.NOT_FOUND]) {
      const f = fakeClient([grpc.status.UNAVAILABLE, code]);
      expect(await releaseSurely(3, 0, f.client, held, 300, () => undefined)).toBe(1);
      expect(f.members).toEqual([0, 1]);
    }
  });

  it('retries any other failure (INVALID_ARGUMENT included) at the next member until its deadline', async () => {
    const f = fakeClient([grpc.status.INVALID_ARGUMENT, 'ok']);
    expect(await releaseSurely(3, 0, f.client, held, 300, () => undefined)).toBe(1);
  });
});
