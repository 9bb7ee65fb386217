/**
 * system: what a workload needs from a lock service, implemented once for
 * raftlock (raftlockSystem.ts) and once for etcd (etcdSystem.ts) with raw
 * @grpc/grpc-js stubs, so both run the very same workload code.
 *
 * Endpoints are member indexes (0-based); every call names the member it goes to.
 */

export type SystemName = 'raftlock' | 'etcd';

/** Held is a granted lock as the client must present it to release it. */
export interface Held {
  readonly name: string;
  readonly leaseId: string;
  /** raftlock: the fencing token; etcd: the lock's key. */
  readonly handle: string;
}

/** KeepAliveStream is one bidirectional renewal stream; replies may come in any order. */
export interface KeepAliveStream {
  /** send writes one renewal request. */
  send(leaseId: string): void;
  /** onReply is called with the lease id and its TTL in ms (0: the lease is gone). */
  onReply(cb: (leaseId: string, ttlMs: number) => void): void;
  onError(cb: (err: Error) => void): void;
  close(): void;
}

export interface LockClient {
  readonly system: SystemName;
  grant(member: number, ttlMs: number, deadlineMs: number): Promise<string>;
  revoke(member: number, leaseId: string, deadlineMs: number): Promise<void>;
  /** acquire waits in the lock's queue until granted or the deadline passes. */
  acquire(member: number, name: string, leaseId: string, deadlineMs: number): Promise<Held>;
  release(member: number, held: Held, deadlineMs: number): Promise<void>;
  /** readLock is a linearizable read of a lock's state (raftlock Lock.Get; etcd KV.Range). */
  readLock(member: number, name: string, deadlineMs: number): Promise<void>;
  openKeepAlive(member: number): KeepAliveStream;
  close(): void;
}

/** Cluster is a running local cluster of one system: its processes and a client to it. */
export interface Cluster {
  readonly system: SystemName;
  readonly size: number;
  /** description: the settings that matter for reading the figures (timing, durability). */
  readonly description: string;
  /** client returns a client of this cluster (one gRPC channel per member, shared by callers). */
  client(): LockClient;
  /** leader returns the member index of the current leader, waiting (bounded) for one. */
  leader(timeoutMs?: number): Promise<number>;
  /** pid of a member's process, or null when it is not running. */
  pid(member: number): number | null;
  kill(member: number): Promise<void>;
  /** start starts a stopped member and waits (bounded) until it serves. */
  start(member: number): Promise<void>;
  killAll(): Promise<void>;
  /** startAll starts every member without waiting for anything. */
  startAll(): void;
  /** term is the leader's current Raft term (to count elections), or null when unknown. */
  term(): Promise<number | null>;
  destroy(): Promise<void>;
}

export class BenchError extends Error {
  override readonly name = 'BenchError';
}
