import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { Connection, type Invoke } from '../../src/client/connection.js';
import { UnauthenticatedError } from '../../src/client/errors.js';
import { CallFailure, type StatusResponse } from '../../src/client/protocol.js';

/**
 * discover (connect) and credentials: a member that has not applied a token
 * yet refuses it for a moment, so a refusal from one member must not fail the
 * connect while another accepts; the refusal is reported only when no member
 * accepts the credentials.
 */
const STATUS: StatusResponse = { id: 'n1', role: 'leader', term: '2', leader: 'n1', commitIndex: '5', appliedIndex: '5', snapshotIndex: '0', members: [{ id: 'n1', clientAddress: 'a:1', peerAddress: 'a:2', role: 'voter', matchIndex: '5' }] };

function connection(answer: (address: string, attempt: number) => StatusResponse | CallFailure): { conn: Connection; asked: Map<string, number> } {
  const asked = new Map<string, number>();
  const invoke = (async (address: string) => {
    const n = (asked.get(address) ?? 0) + 1;
    asked.set(address, n);
    const a = answer(address, n);
    if (a instanceof CallFailure) throw a;
    return a;
  }) as unknown as Invoke;
  const conn = new Connection({ endpoints: ['a:1', 'b:1'], attemptTimeoutMs: 500, requestTimeoutMs: 1_000, backoff: { initialMs: 1, maxMs: 4, multiplier: 2 }, discoverMembers: false }, invoke);
  return { conn, asked };
}

const refused = (address: string): CallFailure => new CallFailure(grpc.status.UNAUTHENTICATED, 'the bearer token is not valid', new grpc.Metadata(), null, address);

describe('discover with credentials', () => {
  it('connects through the member that accepts while another still refuses', async () => {
    const { conn } = connection((address) => (address === 'a:1' ? STATUS : refused(address)));
    await expect(conn.discover(2_000)).resolves.toEqual(STATUS);
    conn.close();
  });

  it('asks a refusing member again, so one that catches up is used', async () => {
    const { conn, asked } = connection((address, attempt) => (address === 'b:1' && attempt >= 3 ? { ...STATUS, leader: '' } : refused(address)));
    await expect(conn.discover(2_000)).resolves.toMatchObject({ id: 'n1' });
    expect(asked.get('b:1')).toBe(3);
    conn.close();
  });

  it('reports the refusal, after a bounded number of asks, when no member accepts', async () => {
    const { conn, asked } = connection((address) => refused(address));
    await expect(conn.discover(2_000)).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(asked.get('a:1')).toBe(4);
    expect(asked.get('b:1')).toBe(4);
    conn.close();
  });
});
