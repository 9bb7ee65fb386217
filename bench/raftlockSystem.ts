import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { apiServices, type AcquireResponse, type GrantResponse, type KeepAliveResponse, type StatusResponse } from '../src/server/apiProto.js';
import { DEFAULT_TIMING, maxElectionTimeoutMs, type TimingConfig } from '../src/node/clusterConfig.js';
import { freePorts } from '../test/support/freePorts.js';
import { CHANNEL_OPTIONS, unary } from './grpcCall.js';
import { pollUntil } from '../test/support/poll.js';
import { killChild, logTail, registerTempDir, removeTempDir, spawnLogged, type Child } from './processes.js';
import { BenchError, type Cluster, type Held, type KeepAliveStream, type LockClient } from './system.js';

/**
 * raftlockSystem: a local raftlock cluster of real `raftlock node` processes
 * (the same command as scripts/cluster.ts and the integration harness use) on
 * free loopback ports with a temp data dir, durable writes on (the default),
 * and its client over raw grpc-js stubs of proto/raftlock.proto.
 */

const REPO = join(import.meta.dirname, '..');
const RAFTLOCK_BIN = join(REPO, 'scripts', 'raftlock.mjs');
const START_TIMEOUT_MS = 30_000;

export interface RaftlockClusterOptions {
  readonly nodes: 3 | 5;
  /** timing: Raft timing; DEFAULT_TIMING (the shipped default) when absent. */
  readonly timing?: TimingConfig;
  /** logLevel of the nodes ('warn' by default: logging costs CPU the benchmark would measure). */
  readonly logLevel?: string;
}

interface Member {
  readonly id: string;
  readonly clientAddress: string;
  readonly logPath: string;
  child: Child | null;
}

export class RaftlockCluster implements Cluster {
  readonly system = 'raftlock' as const;
  readonly size: number;
  readonly description: string;
  private readonly members: Member[];
  private readonly clients: RaftlockClient[] = [];
  private readonly statusClient: RaftlockClient;

  private constructor(
    /** dir: the temp dir with the config, the data and one log per member (removed by destroy). */
    readonly dir: string,
    private readonly configPath: string,
    members: Member[],
    timing: TimingConfig,
  ) {
    this.members = members;
    this.size = members.length;
    const electionMs = timing.electionTicks * timing.tickMs;
    this.description = `${members.length} nodes, durable writes, election timeout ${electionMs}-${2 * electionMs} ms, heartbeat ${timing.heartbeatTicks * timing.tickMs} ms`;
    this.statusClient = new RaftlockClient(members.map((m) => m.clientAddress));
  }

  /** start writes the config, spawns every member and waits (bounded) for a leader every member agrees on. */
  static async start(o: RaftlockClusterOptions): Promise<RaftlockCluster> {
    const timing = o.timing ?? DEFAULT_TIMING;
    for (let attempt = 1; ; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), 'raftlock-bench-'));
      registerTempDir(dir);
      const ports = await freePorts(2 * o.nodes);
      const nodes = Array.from({ length: o.nodes }, (_, i) => ({
        id: `n${i + 1}`,
        clientAddress: `127.0.0.1:${ports[2 * i]}`,
        peerAddress: `127.0.0.1:${ports[2 * i + 1]}`,
      }));
      const config = {
        clusterId: 'raftlock-bench',
        dataDir: join(dir, 'data'),
        nodes,
        timing,
        limits: { minTtlMs: Math.max(500, maxElectionTimeoutMs(timing)) },
        logLevel: o.logLevel ?? 'warn',
      };
      const configPath = join(dir, 'cluster.json');
      writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
      const members = nodes.map((n) => ({ id: n.id, clientAddress: n.clientAddress, logPath: join(dir, `${n.id}.log`), child: null }));
      const cluster = new RaftlockCluster(dir, configPath, members, timing);
      try {
        cluster.startAll();
        await cluster.leader(START_TIMEOUT_MS);
        await cluster.allServing(START_TIMEOUT_MS);
        return cluster;
      } catch (err) {
        const clash = members.some((m) => /EADDRINUSE/.test(logTail(m.logPath, 50)));
        await cluster.destroy();
        // Ports are picked then released: another process may take one first. Retry (bounded) with new ports.
        if (!clash || attempt >= 3) throw err;
      }
    }
  }

  client(): LockClient {
    const c = new RaftlockClient(this.members.map((m) => m.clientAddress));
    this.clients.push(c);
    return c;
  }

  pid(member: number): number | null {
    const c = this.member(member).child;
    return c !== null && c.exited === null ? c.pid : null;
  }

  startAll(): void {
    for (let i = 0; i < this.size; i++) if (this.pid(i) === null) this.spawn(i);
  }

  async start(member: number): Promise<void> {
    this.spawn(member);
    const ok = await pollUntil(async () => {
      this.assertAlive(member);
      return (await this.status(member)) !== null ? true : null;
    }, START_TIMEOUT_MS, 50);
    if (ok === null) throw new BenchError(`raftlock ${this.member(member).id} did not serve within ${START_TIMEOUT_MS} ms:\n${logTail(this.member(member).logPath)}`);
  }

  async kill(member: number): Promise<void> {
    const c = this.member(member).child;
    if (c !== null) await killChild(c);
  }

  async killAll(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i)));
  }

  async leader(timeoutMs = START_TIMEOUT_MS): Promise<number> {
    let last = 'no member answered';
    const found = await pollUntil(async () => {
      const all = await Promise.all(this.members.map((_, i) => (this.pid(i) === null ? null : this.status(i))));
      last = all.map((s, i) => (s === null ? `${this.members[i]?.id}:-` : `${s.id}:${s.role}@${s.term}`)).join(' ');
      for (const [i, s] of all.entries()) {
        if (s === null || s.role !== 'leader') continue;
        const agree = all.filter((o) => o !== null && o.leader === s.id && o.term === s.term).length;
        if (agree > this.size / 2) return i;
      }
      for (let i = 0; i < this.size; i++) if (this.member(i).child !== null) this.assertAlive(i);
      return null;
    }, timeoutMs, 25);
    if (found === null) throw new BenchError(`raftlock: no leader within ${timeoutMs} ms (${last})`);
    return found;
  }

  async term(): Promise<number | null> {
    const s = await this.status(await this.leader());
    return s === null ? null : Number(s.term);
  }

  /** allServing waits (bounded) until every member answers a status call: a leader needs only a majority. */
  async allServing(timeoutMs: number): Promise<void> {
    const ok = await pollUntil(async () => {
      const all = await Promise.all(this.members.map((_, i) => this.status(i)));
      return all.every((s) => s !== null) ? true : null;
    }, timeoutMs, 25);
    if (ok === null) throw new BenchError(`raftlock: not every member served within ${timeoutMs} ms`);
  }

  async destroy(): Promise<void> {
    await this.killAll();
    for (const c of this.clients) c.close();
    this.statusClient.close();
    removeTempDir(this.dir);
  }

  private async status(member: number): Promise<StatusResponse | null> {
    try {
      return await this.statusClient.status(member, 500);
    } catch {
      return null;
    }
  }

  private spawn(member: number): void {
    const m = this.member(member);
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    m.child = spawnLogged(process.execPath, [RAFTLOCK_BIN, 'node', '--config', this.configPath, '--id', m.id], m.logPath, { cwd: REPO, env });
  }

  private assertAlive(member: number): void {
    const m = this.member(member);
    const e = m.child?.exited;
    if (e !== undefined && e !== null && e.signal === null) {
      throw new BenchError(`raftlock ${m.id} exited by itself (code ${e.code}):\n${logTail(m.logPath)}`);
    }
  }

  private member(i: number): Member {
    const m = this.members[i];
    if (m === undefined) throw new Error(`no member #${i}`);
    return m;
  }
}

interface Stubs {
  readonly lease: grpc.Client;
  readonly lock: grpc.Client;
  readonly cluster: grpc.Client;
}

/** RaftlockClient: one channel per member, shared by the Lease, Lock and Cluster stubs. */
export class RaftlockClient implements LockClient {
  readonly system = 'raftlock' as const;
  private readonly stubs: Stubs[];

  constructor(addresses: readonly string[]) {
    const s = apiServices();
    const Lease = grpc.makeGenericClientConstructor(s.Lease, 'Lease');
    const Lock = grpc.makeGenericClientConstructor(s.Lock, 'Lock');
    const ClusterStub = grpc.makeGenericClientConstructor(s.Cluster, 'Cluster');
    const creds = grpc.credentials.createInsecure();
    this.stubs = addresses.map((address) => {
      const lease = new Lease(address, creds, CHANNEL_OPTIONS);
      const channelOverride = lease.getChannel();
      return { lease, lock: new Lock(address, creds, { channelOverride }), cluster: new ClusterStub(address, creds, { channelOverride }) };
    });
  }

  async grant(member: number, ttlMs: number, deadlineMs: number): Promise<string> {
    const r = await unary<GrantResponse>(this.at(member).lease, 'Grant', { ttlMs, leaseId: 0 }, deadlineMs);
    return String(r.leaseId);
  }

  async revoke(member: number, leaseId: string, deadlineMs: number): Promise<void> {
    await unary(this.at(member).lease, 'Revoke', { leaseId }, deadlineMs);
  }

  async acquire(member: number, name: string, leaseId: string, deadlineMs: number): Promise<Held> {
    // The server withdraws the wait after waitMs; the call's own deadline leaves it a margin to say so.
    const waitMs = Math.max(1, deadlineMs - 500);
    const r = await unary<AcquireResponse>(this.at(member).lock, 'Acquire', { name, leaseId, mode: 'EXCLUSIVE', waitMs }, deadlineMs);
    return { name, leaseId, handle: String(r.token) };
  }

  async release(member: number, held: Held, deadlineMs: number): Promise<void> {
    await unary(this.at(member).lock, 'Release', { name: held.name, leaseId: held.leaseId, token: held.handle }, deadlineMs);
  }

  async readLock(member: number, name: string, deadlineMs: number): Promise<void> {
    await unary(this.at(member).lock, 'Get', { name }, deadlineMs);
  }

  status(member: number, deadlineMs: number): Promise<StatusResponse> {
    return unary<StatusResponse>(this.at(member).cluster, 'Status', {}, deadlineMs);
  }

  openKeepAlive(member: number): KeepAliveStream {
    const stub = this.at(member).lease as unknown as Record<string, (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<object, KeepAliveResponse>>;
    const open = stub.KeepAlive as (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<object, KeepAliveResponse>;
    const stream = open.call(stub, new grpc.Metadata(), {});
    return {
      send: (leaseId) => void stream.write({ leaseId }),
      onReply: (cb) => void stream.on('data', (r: KeepAliveResponse) => cb(String(r.leaseId), Number(r.ttlMs))),
      onError: (cb) => void stream.on('error', (e: Error) => cb(e)),
      close: () => {
        stream.on('error', () => undefined);
        stream.cancel();
      },
    };
  }

  close(): void {
    for (const s of this.stubs) s.lease.close();
  }

  private at(member: number): Stubs {
    const s = this.stubs[member];
    if (s === undefined) throw new Error(`no member #${member}`);
    return s;
  }
}
