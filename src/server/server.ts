import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { LockLimits } from '../lock/limits.js';
import type { NodeSpec } from '../node/clusterConfig.js';
import type { NodeApi } from '../node/nodeApi.js';
import { apiServices } from './apiProto.js';
import { clusterHandlers } from './clusterService.js';
import { Admission } from './admission.js';
import { DEFAULT_CLIENT_LIMITS, MAX_FORWARDING_CONNECTIONS, MAX_RECEIVE_MESSAGE_BYTES, type ClientLimits } from './clientLimits.js';
import { fairNode } from './fairNode.js';
import { Forwarder } from './forwarder.js';
import { Health } from './health.js';
import { leaseHandlers } from './leaseService.js';
import { lockHandlers } from './lockService.js';
import { maintenanceHandlers } from './maintenanceService.js';
import { membersHandlers } from './membersService.js';
import type { ServerContext } from './rpc.js';
import { WaitAttachments } from './waitAttachments.js';
import { AUTH_DISABLED, type AuthSettings } from './callerIdentity.js';
import { authHandlers } from './authService.js';
import { WarnLimiter } from '../transport/warnLimiter.js';
import { requestCountingInterceptor, type RequestCounter } from './requestMetrics.js';

/**
 * createApiServer builds the client-facing gRPC server of one node: the
 * Lease, Lock and Cluster services of proto/raftlock.proto and the standard
 * health service. Every request is validated here before it can reach the
 * log; a follower forwards Lease and Lock calls to the leader.
 */
export interface ApiServerOptions {
  readonly node: NodeApi;
  readonly limits: LockLimits;
  readonly members: readonly NodeSpec[];
  readonly logger: Logger;
  /** credentials the server listens with; insecure by default. */
  readonly credentials?: grpc.ServerCredentials;
  /** clientCredentials for forwarding to the leader; insecure by default. */
  readonly clientCredentials?: grpc.ChannelCredentials;
  /** forwardTimeoutMs caps a forwarded call (plus wait_ms for Acquire) when the caller set no shorter deadline. */
  readonly forwardTimeoutMs?: number;
  /** maxKeepAlivesInFlight bounds unanswered keepalives per KeepAlive stream before it stops reading. */
  readonly maxKeepAlivesInFlight?: number;
  /** clientLimits: per-caller and per-connection limits (ClientLimits); DEFAULT_CLIENT_LIMITS when absent. */
  readonly clientLimits?: ClientLimits;
  /** stopGraceMs: how long stop() lets calls finish before cancelling them. */
  readonly stopGraceMs?: number;
  /** healthPollMs: how often health Watch streams see leader changes. */
  readonly healthPollMs?: number;
  /**
   * leaderWaitMs: how long a follower parks a call while no leader is known (an
   * election) or the known one is unreachable, before answering UNAVAILABLE.
   * startNode passes the longest election timeout plus a round trip.
   */
  readonly leaderWaitMs?: number;
  /**
   * waitReattachGraceMs: how long the wait of a cancelled Acquire keeps its
   * place in the queue for the client's retry (often the cancellation is a
   * dropped connection or a dead follower, not the client giving up).
   * startNode covers the client's retry through a member parked for a leader.
   */
  readonly waitReattachGraceMs?: number;
  /** auth: client authentication and authorisation; off by default. */
  readonly auth?: AuthSettings;
  /** countRequest is called once per answered call with its method and status code (the metrics); none by default. */
  readonly countRequest?: RequestCounter;
}

export interface ApiServer {
  /** listen binds `address` ("host:port"; port 0 picks one) and resolves with the bound port. */
  listen(address: string): Promise<number>;
  /** stop lets calls finish for stopGraceMs, then cancels the rest; it never hangs. */
  stop(): Promise<void>;
}

export const API_SERVER_DEFAULTS = Object.freeze({
  forwardTimeoutMs: 30_000,
  maxKeepAlivesInFlight: 10_000,
  stopGraceMs: 2_000,
  healthPollMs: 250,
  leaderWaitMs: 1_500,
  waitReattachGraceMs: 3_000,
});

/** MAX_HELD_WAITS bounds the cancelled waits held for a retry at once; beyond it a cancelled wait is withdrawn at once. */
const MAX_HELD_WAITS = 10_000;

/** MAX_SEND_MESSAGE_BYTES: List replies may carry up to maxLeases entries (about 20 bytes each). */
const MAX_SEND_MESSAGE_BYTES = 64 * 1024 * 1024;

export function createApiServer(options: ApiServerOptions): ApiServer {
  const logger = options.logger;
  const clientLimits = options.clientLimits ?? DEFAULT_CLIENT_LIMITS;
  const forwarder = new Forwarder({
    credentials: options.clientCredentials ?? grpc.credentials.createInsecure(),
    logger,
    timeoutMs: options.forwardTimeoutMs ?? API_SERVER_DEFAULTS.forwardTimeoutMs,
    maxMessageBytes: MAX_SEND_MESSAGE_BYTES,
    streamsPerConnection: clientLimits.maxConcurrentStreams,
    maxConnections: MAX_FORWARDING_CONNECTIONS,
  });
  const admission = new Admission(clientLimits);
  const ctx: ServerContext = {
    node: fairNode(options.node, admission),
    limits: options.limits,
    members: options.members,
    logger,
    forwarder,
    maxKeepAlivesInFlight: options.maxKeepAlivesInFlight ?? API_SERVER_DEFAULTS.maxKeepAlivesInFlight,
    leaderWaitMs: options.leaderWaitMs ?? API_SERVER_DEFAULTS.leaderWaitMs,
    waitReattachGraceMs: options.waitReattachGraceMs ?? API_SERVER_DEFAULTS.waitReattachGraceMs,
    waits: new WaitAttachments(MAX_HELD_WAITS),
    admission,
    memberIds: { has: (id) => options.node.members().some((m) => m.id === id) },
    auth: options.auth ?? AUTH_DISABLED,
    warnLimiter: new WarnLimiter(10_000),
  };
  const server = new grpc.Server({
    'grpc.max_send_message_length': MAX_SEND_MESSAGE_BYTES,
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.max_concurrent_streams': clientLimits.maxConcurrentStreams,
    ...(options.countRequest !== undefined ? { interceptors: [requestCountingInterceptor(options.countRequest)] } : {}),
  });
  const services = apiServices();
  server.addService(services.Lease, leaseHandlers(ctx));
  server.addService(services.Lock, lockHandlers(ctx));
  server.addService(services.Cluster, clusterHandlers(ctx));
  server.addService(services.Maintenance, maintenanceHandlers(ctx));
  server.addService(services.Members, membersHandlers(ctx));
  server.addService(services.Auth, authHandlers(ctx));
  const health = new Health(options.node);
  health.addTo(server, options.healthPollMs ?? API_SERVER_DEFAULTS.healthPollMs);
  const credentials = options.credentials ?? grpc.ServerCredentials.createInsecure();
  const stopGraceMs = options.stopGraceMs ?? API_SERVER_DEFAULTS.stopGraceMs;
  let stopping: Promise<void> | null = null;

  return {
    listen(address: string): Promise<number> {
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(address, credentials, (err, port) => {
          if (err !== null) {
            reject(new Error(`cannot listen for clients on ${address}: ${err.message}`));
            return;
          }
          logger.info({ address, port }, 'client API listening');
          resolve(port);
        });
      });
    },
    stop(): Promise<void> {
      if (stopping === null) {
        health.stop();
        // Forwarding channels close after the calls using them have finished or been cancelled.
        // Held waits are forgotten, not withdrawn: a stopping leader hands over and the clients' retries re-attach there.
        stopping = shutdown(server, stopGraceMs).finally(() => {
          forwarder.close();
          ctx.waits.clear();
        });
      }
      return stopping;
    },
  };
}

/** shutdown: tryShutdown, and forceShutdown after graceMs if calls are still open. */
function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
