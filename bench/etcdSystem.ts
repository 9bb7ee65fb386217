import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { freePorts } from '../test/support/freePorts.js';
import { CHANNEL_OPTIONS, unary } from './grpcCall.js';
import { pollUntil } from '../test/support/poll.js';
import { killChild, logTail, registerTempDir, removeTempDir, spawnLogged, type Child } from './processes.js';
import { BenchError, type Cluster, type Held, type KeepAliveStream, type LockClient } from './system.js';

/**
 * etcdSystem: a local etcd cluster (the `etcd` binary on PATH, its defaults
 * unless the failover workload sets the election timeout) on free loopback
 * ports with temp data dirs, and its client over raw grpc-js stubs of the
 * minimal protos in bench/etcdProto. A lock pair is v3lock Lock(name, lease)
 * + Unlock(key).
 */

const PROTO_DIR = join(import.meta.dirname, 'etcdProto');
const START_TIMEOUT_MS = 30_000;

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

interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly address: string;
  readonly args: string[];
  readonly logPath: string;
  child: Child | null;
}

export class EtcdCluster implements Cluster {
  readonly system = 'etcd' as const;
  readonly size: number;
  readonly description: string;
  private readonly clients: EtcdClient[] = [];
  private readonly statusClient: EtcdClient;

  private constructor(private readonly dir: string, private readonly members: Member[], o: EtcdClusterOptions) {
    this.size = members.length;
    const election = o.electionTimeoutMs ?? 1000;
    const flags = o.electionTimeoutMs === undefined ? 'defaults' : `--election-timeout=${o.electionTimeoutMs} --heartbeat-interval=${o.heartbeatIntervalMs}`;
    this.description = `${members.length} members, ${flags} (election timeout ${election}-${2 * election} ms, heartbeat ${o.heartbeatIntervalMs ?? 100} ms)`;
    this.statusClient = new EtcdClient(members.map((m) => m.address));
  }

  static async start(o: EtcdClusterOptions): Promise<EtcdCluster> {
    for (let attempt = 1; ; attempt++) {
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
      const cluster = new EtcdCluster(dir, members, o);
      try {
        cluster.startAll();
        await cluster.leader(START_TIMEOUT_MS);
        await cluster.allServing(START_TIMEOUT_MS);
        return cluster;
      } catch (err) {
        const clash = members.some((m) => /address already in use/.test(logTail(m.logPath, 50)));
        await cluster.destroy();
        if (!clash || attempt >= 3) throw err;
      }
    }
  }

  client(): LockClient {
    const c = new EtcdClient(this.members.map((m) => m.address));
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
    if (ok === null) throw new BenchError(`etcd ${this.member(member).name} did not serve within ${START_TIMEOUT_MS} ms:\n${logTail(this.member(member).logPath)}`);
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
      last = all.map((s, i) => `${this.members[i]?.name}:${s === null ? '-' : `leader ${s.leader}`}`).join(' ');
      for (const [i, s] of all.entries()) {
        if (s === null || s.leader === '0' || s.header.memberId !== s.leader) continue;
        const agree = all.filter((o) => o !== null && o.leader === s.leader && o.raftTerm === s.raftTerm).length;
        if (agree > this.size / 2) return i;
      }
      for (let i = 0; i < this.size; i++) if (this.member(i).child !== null) this.assertAlive(i);
      return null;
    }, timeoutMs, 25);
    if (found === null) throw new BenchError(`etcd: no leader within ${timeoutMs} ms (${last})`);
    return found;
  }

  async term(): Promise<number | null> {
    const s = await this.status(await this.leader());
    return s === null ? null : Number(s.raftTerm);
  }

  /** allServing waits (bounded) until every member answers a status call: a leader needs only a majority. */
  async allServing(timeoutMs: number): Promise<void> {
    const ok = await pollUntil(async () => {
      const all = await Promise.all(this.members.map((_, i) => this.status(i)));
      return all.every((s) => s !== null) ? true : null;
    }, timeoutMs, 25);
    if (ok === null) throw new BenchError(`etcd: not every member served within ${timeoutMs} ms`);
  }

  async destroy(): Promise<void> {
    await this.killAll();
    for (const c of this.clients) c.close();
    this.statusClient.close();
    removeTempDir(this.dir);
  }

  private async status(member: number): Promise<EtcdStatus | null> {
    try {
      return await this.statusClient.status(member, 500);
    } catch {
      return null;
    }
  }

  private spawn(member: number): void {
    const m = this.member(member);
    m.child = spawnLogged('etcd', m.args, m.logPath);
  }

  private assertAlive(member: number): void {
    const m = this.member(member);
    const e = m.child?.exited;
    if (e !== undefined && e !== null && e.signal === null) throw new BenchError(`etcd ${m.name} exited by itself (code ${e.code}):\n${logTail(m.logPath)}`);
  }

  private member(i: number): Member {
    const m = this.members[i];
    if (m === undefined) throw new Error(`no member #${i}`);
    return m;
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
export class EtcdClient implements LockClient {
  readonly system = 'etcd' as const;
  private readonly stubs: Stubs[];

  constructor(addresses: readonly string[]) {
    const k = constructors();
    const creds = grpc.credentials.createInsecure();
    this.stubs = addresses.map((address) => {
      const lease = new k.Lease(address, creds, CHANNEL_OPTIONS);
      const channelOverride = lease.getChannel();
      return {
        lease,
        kv: new k.KV(address, creds, { channelOverride }),
        lock: new k.Lock(address, creds, { channelOverride }),
        maintenance: new k.Maintenance(address, creds, { channelOverride }),
      };
    });
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
    const stub = this.at(member).lease as unknown as Record<string, (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<object, Reply>>;
    const open = stub.LeaseKeepAlive as (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<object, Reply>;
    const stream = open.call(stub, new grpc.Metadata(), {});
    return {
      send: (leaseId) => void stream.write({ ID: leaseId }),
      onReply: (cb) => void stream.on('data', (r: Reply) => cb(String(r.ID), Math.max(0, Number(r.TTL)) * 1000)),
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
