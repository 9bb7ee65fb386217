import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftlockClient } from '../../src/client/client.js';
import type { LeaseLostError } from '../../src/client/errors.js';
import { stateOf } from '../../src/client/lease.js';
import { apiServices, type KeepAliveRequest, type KeepAliveResponse, type TimeToLiveRequest, type TimeToLiveResponse } from '../../src/server/apiProto.js';

/**
 * The client's KeepAlive failover against three fake nodes (real gRPC on
 * 127.0.0.1, scripted answers): the leader pauses (SIGSTOP: TCP stays open,
 * nothing is answered), and the two followers keep proxying streams to it —
 * so they answer nothing either — until they elect a new leader 1.2 s later.
 *
 * With TTL 3 s the lease must survive: it is renewed every second, so it
 * has 2.7 s (TTL minus the 10% safety margin) from its last acknowledged send.
 * A client that waits a whole renewal interval before giving up a silent
 * stream (as it did) reaches a follower before the election, waits another
 * interval there, and loses the lease on its own side though the cluster
 * would have kept it.
 */

const TTL_MS = 3_000;
const ELECTION_AFTER_PAUSE_MS = 1_200;
/** ANSWERED_BEFORE_PAUSE: the leader pauses as the renewal after these arrives (just after an acknowledgement). */
const ANSWERED_BEFORE_PAUSE = 2;

interface FakeCluster {
  readonly endpoints: string[];
  /** Receive times of every keepalive a node answered (performance.now() of this process). */
  readonly answeredAt: number[];
  /** The node that answered keepalives after the pause, if any. */
  readonly answeredAfterPause: Set<string>;
  stop(): Promise<void>;
}

/** fakeCluster: n1 leads until its third keepalive; n2 and n3 answer from ELECTION_AFTER_PAUSE_MS later (never, if `electionAfterMs` is Infinity). */
async function fakeCluster(electionAfterMs: number): Promise<FakeCluster> {
  const answeredAt: number[] = [];
  const answeredAfterPause = new Set<string>();
  let pausedAt: number | null = null;
  let received = 0;
  const servers: grpc.Server[] = [];
  const endpoints: string[] = [];
  for (const node of ['n1', 'n2', 'n3']) {
    const server = new grpc.Server();
    const services = apiServices();
    const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<unknown>): void =>
      callback({ code: grpc.status.UNAVAILABLE, details: `${node} is a fake: no such call` });
    server.addService(services.Lease, {
      Grant: unimplemented,
      Revoke: unimplemented,
      List: unimplemented,
      TimeToLive: (call: grpc.ServerUnaryCall<TimeToLiveRequest, TimeToLiveResponse>, callback: grpc.sendUnaryData<TimeToLiveResponse>) =>
        callback(null, { leaseId: call.request.leaseId, ttlMs: String(TTL_MS), remainingMs: String(TTL_MS), locks: [] }),
      KeepAlive: (call: grpc.ServerDuplexStream<KeepAliveRequest, KeepAliveResponse>) => {
        call.on('data', (req: KeepAliveRequest) => {
          const now = performance.now();
          let answer: boolean;
          if (node === 'n1') {
            if (pausedAt === null && ++received > ANSWERED_BEFORE_PAUSE) pausedAt = now;
            answer = pausedAt === null;
          } else {
            // A follower proxies to the paused leader (no answer) until the election.
            answer = pausedAt !== null && now >= pausedAt + electionAfterMs;
          }
          if (!answer) return;
          answeredAt.push(now);
          if (pausedAt !== null) answeredAfterPause.add(node);
          call.write({ leaseId: req.leaseId, ttlMs: String(TTL_MS) });
        });
        call.on('error', () => undefined);
        call.on('end', () => call.end());
      },
    });
    server.addService(services.Lock, { Acquire: unimplemented, Release: unimplemented, Get: unimplemented });
    server.addService(services.Cluster, { Status: unimplemented });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err))),
    );
    servers.push(server);
    endpoints.push(`127.0.0.1:${port}`);
  }
  return {
    endpoints,
    answeredAt,
    answeredAfterPause,
    stop: async () => {
      for (const s of servers) s.forceShutdown();
    },
  };
}

let cluster: FakeCluster | undefined;
let client: RaftlockClient | undefined;
afterEach(async () => {
  await client?.close();
  await cluster?.stop();
  client = undefined;
  cluster = undefined;
});

/** run adopts lease 7 on a client of the fake cluster and records its loss, if any. */
async function run(electionAfterMs: number): Promise<{ lost: Promise<LeaseLostError>; lostYet: () => LeaseLostError | null; deadline: () => number }> {
  cluster = await fakeCluster(electionAfterMs);
  client = new RaftlockClient({ endpoints: cluster.endpoints, discoverMembers: false });
  const lease = await client.keepAlive('7');
  let lostErr: LeaseLostError | null = null;
  const lost = new Promise<LeaseLostError>((resolve) =>
    lease.onLost((err) => {
      lostErr = err;
      resolve(err);
    }),
  );
  const state = stateOf(lease)!;
  return { lost, lostYet: () => lostErr, deadline: () => state.deadline };
}

describe('KeepAlive failover from a paused leader (TTL 3 s)', () => {
  it('keeps the lease: a silent stream is given up within a ninth of the TTL and the renewal resent on the next node', async () => {
    const { lostYet } = await run(ELECTION_AFTER_PAUSE_MS);
    // Until a node other than the paused leader has renewed the lease twice (or the lease is lost).
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const renewedElsewhere = cluster!.answeredAfterPause.size > 0 && cluster!.answeredAt.length >= ANSWERED_BEFORE_PAUSE + 2;
        if (renewedElsewhere || lostYet() !== null) {
          clearInterval(timer);
          resolve();
        }
      }, 20);
    });
    expect(lostYet()).toBeNull();
    expect([...cluster!.answeredAfterPause].some((n) => n !== 'n1')).toBe(true);
  });

  it('still reports the lease lost no later than TTL after its last acknowledged keepalive was sent when no node answers again', async () => {
    const { lost, deadline } = await run(Infinity);
    const err = await lost;
    expect(err.reason).toBe('expired');
    // The client counts from its send, which came before the node received it.
    const lastAnsweredReceivedAt = Math.max(...cluster!.answeredAt);
    expect(deadline()).toBeLessThanOrEqual(lastAnsweredReceivedAt + TTL_MS);
  });
});
