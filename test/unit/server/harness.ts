import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { pino } from 'pino';
import { resolveLimits, type LockLimits } from '../../../src/lock/limits.js';
import { API_PROTO_LOADER_OPTIONS, API_PROTO_PATH } from '../../../src/server/apiProto.js';
import { createApiServer, type ApiServer, type ApiServerOptions } from '../../../src/server/server.js';
import { FakeNode } from './fakeNode.js';
import { Cleanup } from '../../support/cleanup.js';

/**
 * Test harness for the client API: real gRPC servers on 127.0.0.1:0 in front
 * of FakeNodes, plain grpc-js clients built from the same proto, and a
 * cleanup list every test empties in afterEach.
 */

export const LIMITS: LockLimits = resolveLimits({ maxLocksPerLease: 4, maxWaitsPerLease: 2 });

export { Cleanup };

export interface Served {
  readonly node: FakeNode;
  readonly server: ApiServer;
  readonly port: number;
  readonly address: string;
}

/** serve starts an API server in front of `node` (a new leader FakeNode by default) and makes it lead at its own address. */
export async function serve(cleanup: Cleanup, node = new FakeNode('n1', LIMITS), options: Partial<ApiServerOptions> = {}, lead = true): Promise<Served> {
  const server = createApiServer({
    node,
    limits: LIMITS,
    members: [],
    logger: pino({ level: 'silent' }),
    stopGraceMs: 200,
    healthPollMs: 20,
    ...options,
  });
  cleanup.add(() => server.stop());
  const port = await server.listen('127.0.0.1:0');
  const address = `127.0.0.1:${port}`;
  if (lead) node.makeLeader(address);
  return { node, server, port, address };
}

type Ctor = grpc.ServiceClientConstructor;
interface ApiPackage {
  raftlock: { v1: { Lease: Ctor; Lock: Ctor; Cluster: Ctor } };
  grpc: { health: { v1: { Health: Ctor } } };
}

let pkg: ApiPackage | null = null;

function apiPackage(): ApiPackage {
  if (pkg === null) {
    const api = grpc.loadPackageDefinition(loadSync(API_PROTO_PATH, API_PROTO_LOADER_OPTIONS)) as unknown as ApiPackage;
    const healthPath = new URL('../../../node_modules/grpc-health-check/proto/health/v1/health.proto', import.meta.url).pathname;
    const health = grpc.loadPackageDefinition(loadSync(healthPath, API_PROTO_LOADER_OPTIONS)) as unknown as ApiPackage;
    pkg = { raftlock: api.raftlock, grpc: health.grpc };
  }
  return pkg;
}

export interface Clients {
  readonly lease: grpc.Client;
  readonly lock: grpc.Client;
  readonly cluster: grpc.Client;
  readonly health: grpc.Client;
}

/**
 * clients makes stubs of every service. grpc-js shares one connection among
 * clients with the same address and options; a distinct `connection` number
 * gives the stubs a connection of their own (a distinct caller, in plaintext).
 */
export function clients(cleanup: Cleanup, address: string, connection = 0): Clients {
  const p = apiPackage();
  const creds = grpc.credentials.createInsecure();
  const options: grpc.ChannelOptions = connection === 0 ? {} : { 'raftlock.test.connection': connection };
  const made = {
    lease: new p.raftlock.v1.Lease(address, creds, options),
    lock: new p.raftlock.v1.Lock(address, creds, options),
    cluster: new p.raftlock.v1.Cluster(address, creds, options),
    health: new p.grpc.health.v1.Health(address, creds, options),
  };
  cleanup.add(() => {
    for (const c of Object.values(made)) c.close();
  });
  return made;
}

export interface CallOptions {
  readonly metadata?: grpc.Metadata;
  readonly deadlineMs?: number;
  /** onCall receives the call, e.g. to cancel it. */
  readonly onCall?: (call: grpc.ClientUnaryCall) => void;
}

/** Any is a decoded message: longs as strings, enums as names. */
export type Any = Record<string, any>;

/** call invokes a unary method; it resolves with the response or rejects with the ServiceError. */
export function call(client: grpc.Client, method: string, request: object, options: CallOptions = {}): Promise<Any> {
  return new Promise<Any>((resolve, reject) => {
    const fn = (client as unknown as Record<string, Function>)[method];
    if (fn === undefined) throw new Error(`no method ${method}`);
    const callOptions: grpc.CallOptions = { deadline: Date.now() + (options.deadlineMs ?? 5_000) };
    const c = fn.call(client, request, options.metadata ?? new grpc.Metadata(), callOptions, (err: grpc.ServiceError | null, res: Any) => {
      if (err !== null) reject(err);
      else resolve(res);
    }) as grpc.ClientUnaryCall;
    options.onCall?.(c);
  });
}

/** failure awaits a call that must fail and returns its error. */
export async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** waitFor polls `cond` every 5 ms until it holds, or throws after timeoutMs. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** meta reads one metadata value as a string ('' when absent). */
export function meta(md: grpc.Metadata | undefined, key: string): string {
  const v = md?.get(key)[0];
  return v === undefined ? '' : v.toString();
}

export { grpc };
