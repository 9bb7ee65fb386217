import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { CommandResult, HolderView } from '../../../src/lock/results.js';
import {
  NodeError,
  NodeStoppedError,
  NotLeaderError,
  ProposalOutcomeUnknownError,
  ProposalRefusedError,
  WaitCancelledError,
} from '../../../src/node/nodeApi.js';
import { ApiError } from '../../../src/server/apiError.js';
import { MAX_HOLDERS_IN_METADATA, METADATA, statusForError, statusForResult } from '../../../src/server/statusMapping.js';

const holders: HolderView[] = [
  { leaseId: 7, token: 12, mode: 'shared' },
  { leaseId: 9, token: 14, mode: 'shared' },
];

/** Every CommandResult kind with the status it maps to (success kinds are INTERNAL: a server bug if they reach here). */
const table: Array<[CommandResult, grpc.status, RegExp]> = [
  [{ kind: 'lease-not-found', leaseId: 5 }, grpc.status.NOT_FOUND, /lease 5 not found/],
  [{ kind: 'lease-id-conflict', leaseId: 5, ttlMs: 1000, requestedTtlMs: 2000 }, grpc.status.ALREADY_EXISTS, /same ttl/],
  [{ kind: 'lease-id-taken', leaseId: 5 }, grpc.status.ALREADY_EXISTS, /already in use/],
  [{ kind: 'held', name: 'a', mode: 'exclusive', holders, waiters: 2 }, grpc.status.FAILED_PRECONDITION, /is held by lease 7/],
  [{ kind: 'mode-mismatch', name: 'a', leaseId: 5, requested: 'shared', current: 'exclusive', state: 'holding' }, grpc.status.FAILED_PRECONDITION, /mode changes/],
  [{ kind: 'not-holder', name: 'a', leaseId: 5, holders }, grpc.status.FAILED_PRECONDITION, /does not hold/],
  [{ kind: 'stale-token', name: 'a', leaseId: 5, token: 3, currentToken: 4 }, grpc.status.FAILED_PRECONDITION, /current token/],
  [{ kind: 'invalid-name', byteLength: 300, maxNameBytes: 256 }, grpc.status.INVALID_ARGUMENT, /accepted: 1 to 256 bytes/],
  [{ kind: 'invalid-ttl', ttlMs: 1, minTtlMs: 500, maxTtlMs: 9000 }, grpc.status.INVALID_ARGUMENT, /accepted: 500 to 9000 ms/],
  [{ kind: 'limit-exceeded', limit: 'maxLeases', max: 10 }, grpc.status.RESOURCE_EXHAUSTED, /limit maxLeases reached \(10\)/],
  [{ kind: 'stale-expiry', leaseId: 5, proposerTerm: 1, entryTerm: 2 }, grpc.status.INTERNAL, /unexpected result stale-expiry/],
  [{ kind: 'lease-granted', leaseId: 5, ttlMs: 1000, grantedIndex: 3, existing: false }, grpc.status.INTERNAL, /unexpected result/],
  [{ kind: 'lease-revoked', leaseId: 5, locksReleased: [], waitsCancelled: [] }, grpc.status.INTERNAL, /unexpected result/],
  [{ kind: 'lease-expired', leaseId: 5, locksReleased: [], waitsCancelled: [] }, grpc.status.INTERNAL, /unexpected result/],
  [{ kind: 'granted', name: 'a', leaseId: 5, mode: 'exclusive', token: 3, existing: false }, grpc.status.INTERNAL, /unexpected result/],
  [{ kind: 'queued', name: 'a', leaseId: 5, mode: 'exclusive', position: 0, queuedIndex: 3 }, grpc.status.INTERNAL, /unexpected result/],
  [{ kind: 'released', name: 'a', leaseId: 5, token: 3 }, grpc.status.INTERNAL, /unexpected result/],
  [{ kind: 'withdrawn', name: 'a', leaseId: 5 }, grpc.status.INTERNAL, /unexpected result/],
  [{ kind: 'not-waiting', name: 'a', leaseId: 5, heldToken: null }, grpc.status.INTERNAL, /unexpected result/],
];

describe('statusForResult', () => {
  it.each(table.map(([r, code, msg]) => [r.kind, r, code, msg] as const))('%s → its status', (_kind, result, code, msg) => {
    const e = statusForResult(result);
    expect(grpc.status[e.code]).toBe(grpc.status[code]);
    expect(e.message).toMatch(msg);
  });

  it('covers every result kind', () => {
    const kinds = new Set(table.map(([r]) => r.kind));
    expect(kinds.size).toBe(19);
  });

  it('held and not-holder carry the holders as JSON for the client library', () => {
    for (const r of [table[3]![0], table[5]![0]]) {
      const md = statusForResult(r).metadata;
      expect(JSON.parse(md.get(METADATA.holders)[0] as string)).toEqual(holders);
      expect(md.get(METADATA.holdersCount)).toEqual(['2']);
    }
  });

  it('caps the holders header and says how many there are', () => {
    const many = Array.from({ length: 500 }, (_, i) => ({ leaseId: i + 1, token: 1000 + i, mode: 'shared' as const }));
    const md = statusForResult({ kind: 'held', name: 'a', mode: 'exclusive', holders: many, waiters: 0 }).metadata;
    const header = md.get(METADATA.holders)[0] as string;
    expect(JSON.parse(header)).toHaveLength(MAX_HOLDERS_IN_METADATA);
    expect(header.length).toBeLessThan(4096);
    expect(md.get(METADATA.holdersCount)).toEqual(['500']);
  });
});

describe('statusForError', () => {
  const hint = { id: 'n2', clientAddress: '10.0.0.2:7000' };

  it('NotLeaderError → UNAVAILABLE with the leader it names', () => {
    const e = statusForError(new NotLeaderError('n3', '10.0.0.3:7000'), hint);
    expect(e.code).toBe(grpc.status.UNAVAILABLE);
    expect(e.metadata.get(METADATA.leader)).toEqual(['10.0.0.3:7000']);
    expect(e.metadata.get(METADATA.leaderId)).toEqual(['n3']);
    expect(e.message).toMatch(/not the leader/);
  });

  it('NotLeaderError without a leader falls back to the hint, or to no metadata', () => {
    expect(statusForError(new NotLeaderError(null, null), hint).metadata.get(METADATA.leaderId)).toEqual(['n2']);
    const none = statusForError(new NotLeaderError(null, null), null);
    expect(none.code).toBe(grpc.status.UNAVAILABLE);
    expect(none.metadata.get(METADATA.leader)).toEqual([]);
  });

  it.each([
    ['NodeStoppedError', new NodeStoppedError()],
    ['ProposalOutcomeUnknownError', new ProposalOutcomeUnknownError('leadership lost')],
    ['ProposalRefusedError', new ProposalRefusedError('too many requests in flight; retry with backoff')],
    ['NodeError', new NodeError('something else')],
  ])('%s → UNAVAILABLE with leader metadata', (_name, err) => {
    const e = statusForError(err, hint);
    expect(e.code).toBe(grpc.status.UNAVAILABLE);
    expect(e.message).toBe(err.message);
    expect(e.metadata.get(METADATA.leader)).toEqual(['10.0.0.2:7000']);
  });

  it('WaitCancelledError → NOT_FOUND', () => {
    const e = statusForError(new WaitCancelledError('a', 5), hint);
    expect(e.code).toBe(grpc.status.NOT_FOUND);
    expect(e.message).toMatch(/lease 5 was revoked or expired while waiting/);
  });

  it('an ApiError passes through; anything else is INTERNAL', () => {
    const api = new ApiError(grpc.status.CANCELLED, 'gone');
    expect(statusForError(api, hint)).toBe(api);
    expect(statusForError(new TypeError('boom'), hint)).toMatchObject({ code: grpc.status.INTERNAL, message: 'internal error: boom' });
    expect(statusForError('text', null)).toMatchObject({ code: grpc.status.INTERNAL, message: 'internal error: text' });
  });
});
