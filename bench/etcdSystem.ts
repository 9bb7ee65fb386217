import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { freePorts } from '../test/support/freePorts.js';
import { CHANNEL_OPTIONS, MemberStubs, openKeepAlive, unary } from './grpcCall.js';
import { ProcessCluster, type ProcessMember } from './processCluster.js';
import { registerTempDir, spawnLogged, type Child } from './processes.js';
import { BenchError, type Held, type KeepAliveStream, type LockClient } from './system.js';

/**
 * etcdSystem: a local etcd cluster (the `etcd` binary on PATH, its defaults
 * unless the failover workload sets the election timeout) on free loopback
 * ports with temp data dirs, and its client over raw grpc-js stubs of the
 * minimal protos in bench/etcdProto. A lock pair is v3lock Lock(name, lease)
 * + Unlock(key).
 */

const PROTO_DIR = join(import.meta.dirname, 'etcdProto');

/** etcdVersion is the first line of `etcd --version`, or null when etcd is not on PATH. */
export function etcdVersion(): string | null {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error !== undefined || r.status !== 0) return null;
  return (r.stdout.split('\n')[0] ?? 'etcd').trim();
}

export interface EtcdClusterOptions {
  readonly nodes: 3 | 5;
  /** electionTimeoutMs and heartbeatIntervalMs: passed as flags when set; etcd's defaults (1000, 100) otherwise. */
  readonly electionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
}

interface Member extends ProcessMember {
  readonly clientUrl: string;
  readonly address: string;
  readonly args: string[];
}

export class EtcdCluster extends ProcessCluster<Member, EtcdStatus> {
  readonly system = 'etcd' as const;
  readonly description: string;
  protected readonly statusClient: EtcdClient;

  private constructor(dir: string, members: Member[], o: EtcdClusterOptions) {
    super(dir, members);
    const election = o.electionTimeoutMs ?? 1000;
    const flags = o.electionTimeoutMs === undefined ? 'defaults' : `--election-timeout=${o.electionTimeoutMs} --heartbeat-interval=${o.heartbeatIntervalMs}`;
    this.description = `${members.length} members, ${flags} (election timeout ${election}-${2 * election} ms, heartbeat ${o.heartbeatIntervalMs ?? 100} ms)`;
    this.statusClient = new EtcdClient(members.map((m) => m.address));
  }

  /** start spawns every member on fresh ports and waits (bounded) for a leader; a port clash ("address already in use") is retried. */
  static async start(o: EtcdClusterOptions): Promise<EtcdCluster> {
    return ProcessCluster.startBounded(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'etcd-bench-'));
      registerTempDir(dir);
      const ports = await freePorts(2 * o.nodes);
      const names = Array.from({ length: o.nodes }, (_, i) => `e${i + 1}`);
      const peerUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]}`;
      const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
      const members: Member[] = names.map((name, i) => {
        const clientUrl = `http://127.0.0.1:${ports[2 * i]}`;
        const args = [
          `--name=${name}`,
          `--data-dir=${join(dir, name)}`,
          `--listen-client-urls=${clientUrl}`,
          `--advertise-client-urls=${clientUrl}`,
          `--listen-peer-urls=${peerUrl(i)}`,
          `--initial-advertise-peer-urls=${peerUrl(i)}`,
          `--initial-cluster=${initialCluster}`,
          '--initial-cluster-state=new',
          '--initial-cluster-token=etcd-bench',
          '--logger=zap',
          '--log-level=warn',
          ...(o.electionTimeoutMs !== undefined ? [`--election-timeout=${o.electionTimeoutMs}`] : []),
          ...(o.heartbeatIntervalMs !== undefined ? [`--heartbeat-interval=${o.heartbeatIntervalMs}`] : []),
        ];
        return { name, clientUrl, address: `127.0.0.1:${ports[2 * i]}`, args, logPath: join(dir, `${name}.log`), child: null };
      });
      return new EtcdCluster(dir, members, o);
    }, /address already in use/);
  }

  protected newClient(): LockClient {
    return new EtcdClient(this.members.map((m) => m.address));
  }

  protected spawnMember(m: Member): Child {
    return spawnLogged('etcd', m.args, m.logPath);
  }

  /** claimsLeadership: etcd reports the leader's member id (0: none known); the leader is the member reporting itself. */
  protected claimsLeadership(s: EtcdStatus): boolean {
    return s.leader !== '0' && s.header.memberId === s.leader;
  }

  protected agreesWith(other: EtcdStatus, leader: EtcdStatus): boolean {
    return other.leader === leader.leader && other.raftTerm === leader.raftTerm;
  }

  protected termOf(s: EtcdStatus): number {
    return Number(s.raftTerm);
  }

  protected describeStatus(m: Member, s: EtcdStatus | null): string {
    return `${m.name}:${s === null ? '-' : `leader ${s.leader}`}`;
  }
}

interface EtcdStatus {
  readonly header: { readonly memberId: string };
  readonly leader: string;
  readonly raftTerm: string;
}

interface Stubs {
  readonly kv: grpc.Client;
  readonly lease: grpc.Client;
  readonly lock: grpc.Client;
  readonly maintenance: grpc.Client;
}

type Ctor = grpc.ServiceClientConstructor;
let ctors: { KV: Ctor; Lease: Ctor; Lock: Ctor; Maintenance: Ctor } | null = null;

function constructors(): NonNullable<typeof ctors> {
  if (ctors === null) {
    const pkg = loadSync(['rpc.proto', 'v3lock.proto'], { includeDirs: [PROTO_DIR], keepCase: false, longs: String, enums: String, defaults: true });
    const svc = (name: string): Ctor => grpc.makeGenericClientConstructor(pkg[name] as grpc.ServiceDefinition, name);
    ctors = { KV: svc('etcdserverpb.KV'), Lease: svc('etcdserverpb.Lease'), Lock: svc('v3lockpb.Lock'), Maintenance: svc('etcdserverpb.Maintenance') };
  }
  return ctors;
}

/** EtcdClient: one channel per member, shared by the KV, Lease, Lock and Maintenance stubs. */
export class EtcdClient extends MemberStubs<Stubs> implements LockClient {
  readonly system = 'etcd' as const;

  constructor(addresses: readonly string[]) {
    const k = constructors();
    const creds = grpc.credentials.createInsecure();
    super(addresses.map((address) => {
      const lease = new k.Lease(address, creds, CHANNEL_OPTIONS);
      const channelOverride = lease.getChannel();
      return {
        lease,
        kv: new k.KV(address, creds, { channelOverride }),
        lock: new k.Lock(address, creds, { channelOverride }),
        maintenance: new k.Maintenance(address, creds, { channelOverride }),
      };
    }));
  }

  async grant(member: number, ttlMs: number, deadlineMs: number): Promise<string> {
    const r = await unary<{ ID: string; error: string }>(this.at(member).lease, 'LeaseGrant', { TTL: Math.ceil(ttlMs / 1000), ID: 0 }, deadlineMs);
    if (r.error !== '') throw new BenchError(`etcd LeaseGrant: ${r.error}`);
    return String(r.ID);
  }

  async revoke(member: number, leaseId: string, deadlineMs: number): Promise<void> {
    await unary(this.at(member).lease, 'LeaseRevoke', { ID: leaseId }, deadlineMs);
  }

  async acquire(member: number, name: string, leaseId: string, deadlineMs: number): Promise<Held> {
    const r = await unary<{ key: Buffer }>(this.at(member).lock, 'Lock', { name: Buffer.from(name), lease: leaseId }, deadlineMs);
    return { name, leaseId, handle: r.key.toString('base64') };
  }

  async release(member: number, held: Held, deadlineMs: number): Promise<void> {
    await unary(this.at(member).lock, 'Unlock', { key: Buffer.from(held.handle, 'base64') }, deadlineMs);
  }

  async readLock(member: number, name: string, deadlineMs: number): Promise<void> {
    await unary(this.at(member).kv, 'Range', { key: Buffer.from(name), serializable: false }, deadlineMs);
  }

  status(member: number, deadlineMs: number): Promise<EtcdStatus> {
    return unary<EtcdStatus>(this.at(member).maintenance, 'Status', {}, deadlineMs);
  }

  openKeepAlive(member: number): KeepAliveStream {
    type Reply = { ID: string; TTL: string };
    return openKeepAlive<Reply>(this.at(member).lease, 'LeaseKeepAlive', (leaseId) => ({ ID: leaseId }), (r) => ({ leaseId: String(r.ID), ttlMs: Math.max(0, Number(r.TTL)) * 1000 }));
  }
}
