import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { DEFAULT_LOCK_LIMITS, type LockLimits } from '../lock/limits.js';
import { DEFAULT_CLIENT_LIMITS, MAX_RECEIVE_MESSAGE_BYTES, type ClientLimits } from '../server/clientLimits.js';
import { DEFAULT_AUTH_LIMITS, type AuthLimits } from '../auth/authLimits.js';
import { validAddress } from '../transport/hostPort.js';

export { validAddress };

/**
 * The cluster config file: the members with their addresses, Raft timing,
 * snapshot policy and lock limits. Every node of a cluster must load the same
 * file (the lock limits and timing are part of the replicated behaviour).
 * Loading validates everything and reports every problem at once, each saying
 * what was wrong and what is accepted.
 */

export interface NodeSpec {
  readonly id: string;
  /** Clients (the public gRPC API) connect here. */
  readonly clientAddress: string;
  /** Other members' Raft traffic arrives here. */
  readonly peerAddress: string;
  /**
   * httpAddress: where the node serves Prometheus metrics (/metrics) and its
   * status page (/, /status.json) over plain HTTP; absent means not served.
   */
  readonly httpAddress?: string;
  /** Absolute path of this node's data directory. */
  readonly dataDir: string;
  /** tls: this node's TLS files; absent (or both parts null) means plaintext. */
  readonly tls?: NodeTls;
  /**
   * join: not one of the initial members. It starts empty and joins the
   * running cluster once an operator adds it (`raftlock member add`); until a
   * leader's configuration names it, it neither campaigns nor votes.
   */
  readonly join?: boolean;
}

/** TlsPaths: absolute paths of a CA bundle, a certificate (chain) and its private key, all PEM. */
export interface TlsPaths {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * NodeTls: per node, TLS for peer traffic (always mutual: both sides present
 * a certificate issued by `ca` naming their member, see src/security/identity.ts)
 * and for client traffic (the node presents `cert`; with requireClientCert,
 * clients must present one issued by `ca` too). Either may be null (plaintext),
 * but every member must agree, or members could not talk to each other.
 */
export interface NodeTls {
  readonly peer: TlsPaths | null;
  readonly client: (TlsPaths & { readonly requireClientCert: boolean }) | null;
}

export interface TimingConfig {
  /** One Raft tick, in milliseconds of monotonic time. */
  readonly tickMs: number;
  /** Election timeout base in ticks; each timeout is drawn from [electionTicks, 2 * electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
}

export interface SnapshotConfig {
  /** Take a snapshot after this many applied entries. */
  readonly everyEntries: number;
  /** Entries kept behind a snapshot so a briefly slow follower catches up without one. */
  readonly trailingEntries: number;
  readonly chunkBytes: number;
}

export interface ClusterConfig {
  readonly clusterId: string;
  readonly nodes: readonly NodeSpec[];
  readonly timing: TimingConfig;
  readonly snapshot: SnapshotConfig;
  readonly limits: LockLimits;
  /** clientLimits: what one client may take from a node's API (not replicated; see src/server/clientLimits.ts). */
  readonly clientLimits: ClientLimits;
  readonly auth: AuthConfig;
  /** pino level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'. */
  readonly logLevel: string;
}

/**
 * AuthConfig: client authentication and authorisation (off by default, for
 * local development). When enabled, every public call except the health
 * service needs an identity: a client certificate naming
 * raftlock://<clusterId>/user/<name>, or a bearer token. rootTokenSha256 is
 * the hex SHA-256 of a bootstrap token that acts as the built-in user root
 * (`raftlock auth bootstrap-token` makes one); the token itself is never stored.
 */
export interface AuthConfig {
  readonly enabled: boolean;
  readonly rootTokenSha256: string | null;
  readonly limits: AuthLimits;
}

export const AUTH_OFF: AuthConfig = Object.freeze({ enabled: false, rootTokenSha256: null, limits: DEFAULT_AUTH_LIMITS });

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly source: string, readonly problems: readonly string[]) {
    super(`invalid cluster config ${source}:\n  - ${problems.join('\n  - ')}`);
  }
}

/** MAX_NAME_BYTES_CEILING: the largest maxNameBytes a config may set (a quarter of the API's message limit). */
const MAX_NAME_BYTES_CEILING = 16_384;

export const DEFAULT_TIMING: TimingConfig = { tickMs: 50, electionTicks: 10, heartbeatTicks: 2 };
export const DEFAULT_SNAPSHOT: SnapshotConfig = { everyEntries: 10_000, trailingEntries: 2_000, chunkBytes: 1 << 20 };
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const NODE_ID = /^[a-z][a-z0-9-]{0,31}$/;
const CLUSTER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** loadClusterConfig reads and validates a config file; relative data dirs resolve against the file's folder. */
export function loadClusterConfig(path: string): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parseClusterConfig(raw, path, dirname(resolve(path)));
}

/** parseClusterConfig validates an already-parsed config object. */
export function parseClusterConfig(raw: unknown, source: string, baseDir: string): ClusterConfig {
  const problems: string[] = [];
  const root = asObject(raw, 'the config', problems);
  if (root === null) throw new ConfigError(source, problems);
  rejectUnknown(root, 'the config', ['clusterId', 'dataDir', 'nodes', 'timing', 'snapshot', 'limits', 'clientLimits', 'auth', 'logLevel'], problems);

  const clusterId = root.clusterId;
  if (typeof clusterId !== 'string' || !CLUSTER_ID.test(clusterId)) {
    problems.push(`clusterId must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), got ${show(clusterId)}`);
  }
  const dataRoot = root.dataDir === undefined ? 'data' : root.dataDir;
  if (typeof dataRoot !== 'string' || dataRoot === '') problems.push(`dataDir must be a non-empty path, got ${show(dataRoot)}`);

  const timing = parseNumbers(root.timing, 'timing', DEFAULT_TIMING, problems);
  const snapshot = parseNumbers(root.snapshot, 'snapshot', DEFAULT_SNAPSHOT, problems);
  // The TTL floor defaults to the longest election timeout: a shorter lease could lapse in any failover.
  const limitDefaults = { ...DEFAULT_LOCK_LIMITS, minTtlMs: Math.max(DEFAULT_LOCK_LIMITS.minTtlMs, maxElectionTimeoutMs(timing)) };
  const limits = parseNumbers(root.limits, 'limits', limitDefaults, problems);
  const clientLimits = parseNumbers(root.clientLimits, 'clientLimits', DEFAULT_CLIENT_LIMITS, problems);
  const auth = parseAuth(root.auth, problems);
  const logLevel = root.logLevel === undefined ? 'warn' : root.logLevel;
  if (typeof logLevel !== 'string' || !LOG_LEVELS.includes(logLevel)) {
    problems.push(`logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${show(logLevel)}`);
  }

  const nodes = parseNodes(root.nodes, typeof dataRoot === 'string' ? resolve(baseDir, dataRoot) : baseDir, baseDir, problems);
  checkConsistency(timing, snapshot, limits, problems);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return {
    clusterId: clusterId as string,
    nodes,
    timing,
    snapshot,
    limits: Object.freeze({ ...limits }),
    clientLimits: Object.freeze({ ...clientLimits }),
    auth,
    logLevel: logLevel as string,
  };
}

/** nodeSpec returns the member with `id` or throws a ConfigError listing the members. */
export function nodeSpec(config: ClusterConfig, id: string): NodeSpec {
  const spec = config.nodes.find((n) => n.id === id);
  if (spec === undefined) {
    throw new ConfigError('', [`unknown node id ${show(id)}; this cluster's members are ${config.nodes.map((n) => n.id).join(', ')}`]);
  }
  return spec;
}

/** maxElectionTimeoutMs is the longest a follower waits before campaigning. */
export function maxElectionTimeoutMs(timing: TimingConfig): number {
  return 2 * timing.electionTicks * timing.tickMs;
}

/** MAX_NODES bounds the config's node list: initial members plus nodes that join later. */
const MAX_NODES = 32;

function parseNodes(raw: unknown, dataRoot: string, baseDir: string, problems: string[]): NodeSpec[] {
  const initial = Array.isArray(raw) ? raw.filter((n) => !(typeof n === 'object' && n !== null && (n as Record<string, unknown>).join === true)).length : 0;
  if (!Array.isArray(raw) || (initial !== 1 && initial !== 3 && initial !== 5 && initial !== 7) || raw.length > MAX_NODES) {
    problems.push(`nodes must list 1, 3, 5 or 7 initial members (odd sizes tolerate failures best), plus at most ${MAX_NODES} in all with those marked "join": true, got ${Array.isArray(raw) ? `${initial} initial of ${raw.length} members` : show(raw)}`);
    return [];
  }
  const nodes: NodeSpec[] = [];
  const seenIds = new Set<string>();
  const seenAddresses = new Map<string, string>();
  raw.forEach((item, i) => {
    const where = `nodes[${i}]`;
    const o = asObject(item, where, problems);
    if (o === null) return;
    rejectUnknown(o, where, ['id', 'clientAddress', 'peerAddress', 'httpAddress', 'dataDir', 'tls', 'join'], problems);
    if (o.join !== undefined && typeof o.join !== 'boolean') problems.push(`${where}.join must be true or false, got ${show(o.join)}`);
    const id = o.id;
    if (typeof id !== 'string' || !NODE_ID.test(id)) {
      problems.push(`${where}.id must be 1-32 lowercase letters, digits or '-' starting with a letter (e.g. "n1"), got ${show(id)}`);
      return;
    }
    if (seenIds.has(id)) problems.push(`${where}.id ${show(id)} is used twice; every member needs its own id`);
    seenIds.add(id);
    for (const key of ['clientAddress', 'peerAddress', 'httpAddress'] as const) {
      const address = o[key];
      if (key === 'httpAddress' && address === undefined) continue;
      if (typeof address !== 'string' || !validAddress(address)) {
        problems.push(`${where}.${key} must be host:port with a port from 1 to 65535 (e.g. "127.0.0.1:7001"), got ${show(address)}`);
        continue;
      }
      const other = seenAddresses.get(address);
      if (other !== undefined) problems.push(`${where}.${key} ${address} is already used by ${other}; every listener needs its own port`);
      seenAddresses.set(address, `${id}.${key}`);
    }
    const dir = o.dataDir === undefined ? resolve(dataRoot, id) : o.dataDir;
    if (typeof dir !== 'string' || dir === '') {
      problems.push(`${where}.dataDir must be a non-empty path, got ${show(o.dataDir)}`);
      return;
    }
    const tls = parseNodeTls(o.tls, `${where}.tls`, baseDir, problems);
    nodes.push({
      id,
      clientAddress: o.clientAddress as string,
      peerAddress: o.peerAddress as string,
      ...(typeof o.httpAddress === 'string' ? { httpAddress: o.httpAddress } : {}),
      dataDir: isAbsolute(dir) ? dir : resolve(baseDir, dir),
      ...(tls !== null ? { tls } : {}),
      ...(o.join === true ? { join: true } : {}),
    });
  });
  checkTlsAgreement(nodes, problems);
  return nodes;
}

/** parseNodeTls reads a node's "tls" object; its paths resolve against the config file's folder, like dataDir. */
function parseNodeTls(raw: unknown, where: string, baseDir: string, problems: string[]): NodeTls | null {
  if (raw === undefined) return null;
  const o = asObject(raw, where, problems);
  if (o === null) return null;
  rejectUnknown(o, where, ['peer', 'client'], problems);
  const peer = parseTlsPaths(o.peer, `${where}.peer`, [], baseDir, problems);
  const client = parseTlsPaths(o.client, `${where}.client`, ['requireClientCert'], baseDir, problems);
  let requireClientCert = false;
  if (client !== null) {
    const r = (o.client as Record<string, unknown>).requireClientCert;
    if (r !== undefined && typeof r !== 'boolean') problems.push(`${where}.client.requireClientCert must be true or false, got ${show(r)}`);
    else requireClientCert = r ?? false;
  }
  if (peer === null && client === null) return null;
  return { peer, client: client === null ? null : { ...client, requireClientCert } };
}

function parseTlsPaths(raw: unknown, where: string, extra: readonly string[], baseDir: string, problems: string[]): TlsPaths | null {
  if (raw === undefined || raw === null) return null;
  const o = asObject(raw, where, problems);
  if (o === null) return null;
  rejectUnknown(o, where, ['ca', 'cert', 'key', ...extra], problems);
  const out: Record<string, string> = {};
  for (const key of ['ca', 'cert', 'key'] as const) {
    const v = o[key];
    if (typeof v !== 'string' || v === '') {
      problems.push(`${where}.${key} must be the path of a PEM file (relative to the config file), got ${show(v)}`);
      continue;
    }
    out[key] = isAbsolute(v) ? v : resolve(baseDir, v);
  }
  return out.ca !== undefined && out.cert !== undefined && out.key !== undefined ? (out as unknown as TlsPaths) : null;
}

/** checkTlsAgreement: peer TLS and client TLS are each on for every member or for none. */
function checkTlsAgreement(nodes: readonly NodeSpec[], problems: string[]): void {
  for (const part of ['peer', 'client'] as const) {
    const on = nodes.filter((n) => n.tls?.[part] != null).map((n) => n.id);
    if (on.length === 0 || on.length === nodes.length) continue;
    const off = nodes.filter((n) => !on.includes(n.id)).map((n) => n.id);
    problems.push(`tls.${part} is set for ${on.join(', ')} but not for ${off.join(', ')}; set it for every member or for none (${part === 'peer' ? 'a TLS member cannot talk to a plaintext one' : 'followers forward client calls to the leader with the same credentials'})`);
  }
}

function checkConsistency(timing: TimingConfig, snapshot: SnapshotConfig, limits: LockLimits, problems: string[]): void {
  if (timing.heartbeatTicks >= timing.electionTicks) {
    problems.push(`timing.heartbeatTicks (${timing.heartbeatTicks}) must be below timing.electionTicks (${timing.electionTicks}), or followers campaign between heartbeats`);
  }
  const electionMaxMs = maxElectionTimeoutMs(timing);
  if (limits.minTtlMs < electionMaxMs) {
    problems.push(`limits.minTtlMs (${limits.minTtlMs}) must be at least the longest election timeout (2 x electionTicks x tickMs = ${electionMaxMs} ms), or leases lapse during a failover`);
  }
  if (limits.maxNameBytes > MAX_NAME_BYTES_CEILING) {
    problems.push(`limits.maxNameBytes (${limits.maxNameBytes}) must be at most ${MAX_NAME_BYTES_CEILING}: a request carrying the name must fit the API's ${MAX_RECEIVE_MESSAGE_BYTES}-byte message limit`);
  }
  if (limits.minTtlMs > limits.maxTtlMs) problems.push(`limits.minTtlMs (${limits.minTtlMs}) exceeds limits.maxTtlMs (${limits.maxTtlMs})`);
  if (snapshot.trailingEntries >= snapshot.everyEntries) {
    problems.push(`snapshot.trailingEntries (${snapshot.trailingEntries}) must be below snapshot.everyEntries (${snapshot.everyEntries})`);
  }
}

function parseAuth(raw: unknown, problems: string[]): AuthConfig {
  if (raw === undefined) return AUTH_OFF;
  const o = asObject(raw, 'auth', problems);
  if (o === null) return AUTH_OFF;
  rejectUnknown(o, 'auth', ['enabled', 'rootTokenSha256', 'limits'], problems);
  const enabled = o.enabled === undefined ? false : o.enabled;
  if (typeof enabled !== 'boolean') problems.push(`auth.enabled must be true or false, got ${show(enabled)}`);
  const root = o.rootTokenSha256 === undefined ? null : o.rootTokenSha256;
  if (root !== null && (typeof root !== 'string' || !/^[0-9a-f]{64}$/.test(root))) {
    problems.push(`auth.rootTokenSha256 must be 64 lower-case hex digits (the SHA-256 of the root token; make one with raftlock auth bootstrap-token), got ${show(root)}`);
  }
  const limits = parseNumbers(o.limits, 'auth.limits', DEFAULT_AUTH_LIMITS, problems);
  return Object.freeze({ enabled: enabled === true, rootTokenSha256: typeof root === 'string' ? root : null, limits: Object.freeze(limits) });
}

function parseNumbers<T extends object>(raw: unknown, where: string, defaults: T, problems: string[]): T {
  if (raw === undefined) return { ...defaults };
  const o = asObject(raw, where, problems);
  if (o === null) return { ...defaults };
  rejectUnknown(o, where, Object.keys(defaults), problems);
  const out: Record<string, number> = { ...(defaults as Record<string, number>) };
  for (const key of Object.keys(defaults)) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (key === 'trailingEntries' ? 0 : 1)) {
      problems.push(`${where}.${key} must be a ${key === 'trailingEntries' ? 'non-negative' : 'positive'} integer, got ${show(v)}`);
      continue;
    }
    out[key] = v;
  }
  return out as T;
}

function asObject(raw: unknown, where: string, problems: string[]): Record<string, unknown> | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${where} must be a JSON object, got ${show(raw)}`);
    return null;
  }
  return raw as Record<string, unknown>;
}

function rejectUnknown(o: Record<string, unknown>, where: string, known: readonly string[], problems: string[]): void {
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) problems.push(`${where} has an unknown field ${show(key)}; accepted fields: ${known.join(', ')}`);
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
