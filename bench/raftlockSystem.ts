import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { apiServices, type AcquireResponse, type GrantResponse, type KeepAliveResponse, type StatusResponse } from '../src/server/apiProto.js';
import { DEFAULT_TIMING, maxElectionTimeoutMs, type TimingConfig } from '../src/node/clusterConfig.js';
import { freePorts } from '../test/support/freePorts.js';
import { CHANNEL_OPTIONS, MemberStubs, openKeepAlive, unary } from './grpcCall.js';
import { ProcessCluster, type ProcessMember } from './processCluster.js';
import { registerTempDir, spawnLogged, type Child } from './processes.js';
import type { Held, KeepAliveStream, LockClient } from './system.js';

/**
 * raftlockSystem: a local raftlock cluster of real `raftlock node` processes
 * (the same command as scripts/cluster.ts and the integration harness use) on
 * free loopback ports with a temp data dir, durable writes on (the default),
 * and its client over raw grpc-js stubs of proto/raftlock.proto.
 */

const REPO = join(import.meta.dirname, '..');
const RAFTLOCK_BIN = join(REPO, 'scripts', 'raftlock.mjs');

export interface RaftlockClusterOptions {
  readonly nodes: 3 | 5;
  /** timing: Raft timing; DEFAULT_TIMING (the shipped default) when absent. */
  readonly timing?: TimingConfig;
  /** logLevel of the nodes ('warn' by default: logging costs CPU the benchmark would measure). */
  readonly logLevel?: string;
  /** metrics: give each member an httpAddress (metrics counted, status page served), as the shipped configs do; default true. */
  readonly metrics?: boolean;
}

interface Member extends ProcessMember {
  readonly clientAddress: string;
  /** httpAddress serves /metrics; null with --no-metrics. */
  readonly httpAddress: string | null;
}

export class RaftlockCluster extends ProcessCluster<Member, StatusResponse> {
  readonly system = 'raftlock' as const;
  readonly description: string;
  protected readonly statusClient: RaftlockClient;

  private constructor(
    dir: string,
    private readonly configPath: string,
    members: Member[],
    timing: TimingConfig,
    metrics: boolean,
  ) {
    super(dir, members);
    const electionMs = timing.electionTicks * timing.tickMs;
    this.description = `${members.length} nodes, durable writes, election timeout ${electionMs}-${2 * electionMs} ms, heartbeat ${timing.heartbeatTicks * timing.tickMs} ms, metrics ${metrics ? 'on' : 'off'}`;
    this.statusClient = new RaftlockClient(members.map((m) => m.clientAddress));
  }

  /** start writes the config, spawns every member and waits (bounded) for a leader every member agrees on; a port clash (EADDRINUSE) is retried. */
  static async start(o: RaftlockClusterOptions): Promise<RaftlockCluster> {
    const timing = o.timing ?? DEFAULT_TIMING;
    return ProcessCluster.startBounded(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'raftlock-bench-'));
      registerTempDir(dir);
      const metrics = o.metrics ?? true;
      const ports = await freePorts((metrics ? 3 : 2) * o.nodes);
      const nodes = Array.from({ length: o.nodes }, (_, i) => ({
        id: `n${i + 1}`,
        clientAddress: `127.0.0.1:${ports[2 * i]}`,
        peerAddress: `127.0.0.1:${ports[2 * i + 1]}`,
        ...(metrics ? { httpAddress: `127.0.0.1:${ports[2 * o.nodes + i]}` } : {}),
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
      // A member's name is its node id (the --id it is started with).
      const members = nodes.map((n) => ({ name: n.id, clientAddress: n.clientAddress, httpAddress: n.httpAddress ?? null, logPath: join(dir, `${n.id}.log`), child: null }));
      return new RaftlockCluster(dir, configPath, members, timing, metrics);
    }, /EADDRINUSE/);
  }

  /** clientAddress of a member, by index (the flood workload's flooder dials it directly). */
  clientAddress(member: number): string {
    const m = this.members[member];
    if (m === undefined) throw new Error(`no member #${member}`);
    return m.clientAddress;
  }

  /** httpAddress of a member (its /metrics), or null when metrics are off. */
  httpAddress(member: number): string | null {
    const m = this.members[member];
    if (m === undefined) throw new Error(`no member #${member}`);
    return m.httpAddress;
  }

  protected newClient(): LockClient {
    return new RaftlockClient(this.members.map((m) => m.clientAddress));
  }

  protected spawnMember(m: Member): Child {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    return spawnLogged(process.execPath, [RAFTLOCK_BIN, 'node', '--config', this.configPath, '--id', m.name], m.logPath, { cwd: REPO, env });
  }

  protected claimsLeadership(s: StatusResponse): boolean {
    return s.role === 'leader';
  }

  protected agreesWith(other: StatusResponse, leader: StatusResponse): boolean {
    return other.leader === leader.id && other.term === leader.term;
  }

  protected termOf(s: StatusResponse): number {
    return Number(s.term);
  }

  protected describeStatus(m: Member, s: StatusResponse | null): string {
    return s === null ? `${m.name}:-` : `${s.id}:${s.role}@${s.term}`;
  }
}

interface Stubs {
  readonly lease: grpc.Client;
  readonly lock: grpc.Client;
  readonly cluster: grpc.Client;
}

/**
 * RaftlockClient: one channel per member, shared by the Lease, Lock and
 * Cluster stubs. grpc-js shares connections among clients with equal
 * options; a `connection` tag gives this client connections of its own (the
 * server then sees it as another caller).
 */
export class RaftlockClient extends MemberStubs<Stubs> implements LockClient {
  readonly system = 'raftlock' as const;

  constructor(addresses: readonly string[], connection?: string) {
    const s = apiServices();
    const Lease = grpc.makeGenericClientConstructor(s.Lease, 'Lease');
    const Lock = grpc.makeGenericClientConstructor(s.Lock, 'Lock');
    const ClusterStub = grpc.makeGenericClientConstructor(s.Cluster, 'Cluster');
    const creds = grpc.credentials.createInsecure();
    super(addresses.map((address) => {
      const lease = new Lease(address, creds, connection === undefined ? CHANNEL_OPTIONS : { ...CHANNEL_OPTIONS, 'raftlock.bench.connection': connection });
      const channelOverride = lease.getChannel();
      return { lease, lock: new Lock(address, creds, { channelOverride }), cluster: new ClusterStub(address, creds, { channelOverride }) };
    }));
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
    return openKeepAlive<KeepAliveResponse>(this.at(member).lease, 'KeepAlive', (leaseId) => ({ leaseId }), (r) => ({ leaseId: String(r.leaseId), ttlMs: Number(r.ttlMs) }));
  }
}
