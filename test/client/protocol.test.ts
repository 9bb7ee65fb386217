import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/client/connection.js';
import {
  DeadlineExceededError,
  InternalError,
  InvalidArgumentError,
  LeaseIdConflictError,
  LeaseNotFoundError,
  LockConflictError,
  LockHeldError,
  RaftlockError,
  ResourceExhaustedError,
} from '../../src/client/errors.js';
import { CallFailure, dispose } from '../../src/client/protocol.js';

/** MetadataLike: the one method of grpc-js Metadata that protocol.ts reads (tests do not import grpc). */
type MetadataLike = ConstructorParameters<typeof CallFailure>[2];

function metadata(entries: Record<string, string>): MetadataLike {
  const map = new Map(Object.entries(entries));
  return { get: (key: string) => (map.has(key) ? [map.get(key)!] : []) } as unknown as MetadataLike;
}

/** S: the standard gRPC status codes used here. */
const S = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

function failure(code: number, details: string, md: Record<string, string> = {}, local: 'timeout' | 'aborted' | null = null): CallFailure {
  return new CallFailure(code, details, metadata(md), local, '127.0.0.1:1');
}

describe('dispose: gRPC statuses become retries or typed errors', () => {
  it('retries UNAVAILABLE, following the raftlock-leader hint', () => {
    const d = dispose(failure(S.UNAVAILABLE, 'not leader', { 'raftlock-leader': '127.0.0.1:2', 'raftlock-leader-id': 'n2' }), {});
    expect(d).toMatchObject({ kind: 'retry', leader: { address: '127.0.0.1:2', id: 'n2' } });
    expect(dispose(failure(S.UNAVAILABLE, 'no leader'), {})).toMatchObject({ kind: 'retry', leader: null });
  });

  it('retries a local timeout and a torn-down stream; fails other INTERNAL errors', () => {
    expect(dispose(failure(S.CANCELLED, 'Cancelled on client', {}, 'timeout'), {}).kind).toBe('retry');
    expect(dispose(failure(S.INTERNAL, 'Received RST_STREAM with code 2'), {}).kind).toBe('retry');
    const d = dispose(failure(S.INTERNAL, 'internal error: boom'), {});
    expect(d.kind === 'fail' && d.error).toBeInstanceOf(InternalError);
  });

  it('maps FAILED_PRECONDITION with holders on a try-lock to LockHeldError with exact bigint tokens', () => {
    const holders = JSON.stringify([{ leaseId: 9007199254740991, token: 9007199254740990, mode: 'shared' }, { leaseId: '5', token: '6', mode: 'exclusive' }]);
    const d = dispose(failure(S.FAILED_PRECONDITION, 'held', { 'raftlock-holders': holders, 'raftlock-holders-count': '40' }), { lockName: 'a', waitMs: 0 });
    expect(d.kind).toBe('fail');
    const err = (d as { error: RaftlockError }).error as LockHeldError;
    expect(err).toBeInstanceOf(LockHeldError);
    expect(err.name).toBe('LockHeldError');
    expect(err.lockName).toBe('a');
    expect(err.holders).toEqual([
      { leaseId: '9007199254740991', token: 9007199254740990n, mode: 'shared' },
      { leaseId: '5', token: 6n, mode: 'exclusive' },
    ]);
    expect(err.holdersCount).toBe(40);
  });

  it.each([
    [S.NOT_FOUND, LeaseNotFoundError, 'LeaseNotFoundError'],
    [S.FAILED_PRECONDITION, LockConflictError, 'LockConflictError'],
    [S.ALREADY_EXISTS, LeaseIdConflictError, 'LeaseIdConflictError'],
    [S.RESOURCE_EXHAUSTED, ResourceExhaustedError, 'ResourceExhaustedError'],
    [S.INVALID_ARGUMENT, InvalidArgumentError, 'InvalidArgumentError'],
    [S.UNIMPLEMENTED, InternalError, 'InternalError'],
  ] as const)('maps code %i to %o', (code, type, name) => {
    const d = dispose(failure(code, 'why'), { leaseId: '1' });
    expect(d.kind).toBe('fail');
    const err = (d as { error: RaftlockError }).error;
    expect(err).toBeInstanceOf(type);
    expect(err).toBeInstanceOf(RaftlockError);
    expect(err.name).toBe(name);
    expect(err).not.toHaveProperty('code');
  });

  it('reads DEADLINE_EXCEEDED as "the wait ran out" only for an acquire that waited', () => {
    const waited = dispose(failure(S.DEADLINE_EXCEEDED, 'not granted within wait_ms'), { lockName: 'a', waitMs: 100 });
    expect(waited.kind === 'fail' && waited.error).toBeInstanceOf(DeadlineExceededError);
    expect(dispose(failure(S.DEADLINE_EXCEEDED, 'forwarding timed out'), {}).kind).toBe('retry');
  });
});

describe('Backoff', () => {
  it('draws each delay from [d/2, d], growing to the cap, and restarts after reset', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1_000, multiplier: 2 });
    const expected = [100, 200, 400, 800, 1_000, 1_000];
    for (const d of expected) {
      const ms = b.nextMs();
      expect(ms).toBeGreaterThanOrEqual(d / 2);
      expect(ms).toBeLessThanOrEqual(d);
    }
    b.reset();
    expect(b.nextMs()).toBeLessThanOrEqual(100);
    expect(b.nextMs(50)).toBeLessThanOrEqual(50);
  });
});
