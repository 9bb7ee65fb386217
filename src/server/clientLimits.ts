/**
 * ClientLimits bound what one client can take from a node's public API, so
 * that no client — buggy or hostile — can take the node down or starve the
 * others. Unlike LockLimits they are not replicated: each node enforces them
 * on the calls that arrive at it (a follower on the calls it forwards, so the
 * leader does not count a follower's forwarded calls against that follower).
 *
 * Callers are named by callerKey (callerKey.ts): the TLS client certificate's
 * identity, or the connection.
 *
 * The defaults are far above what a well-behaved client of a 3-node cluster
 * on modest hardware can reach (the benchmark's workloads stay under them);
 * they exist to turn floods into prompt, cheap RESOURCE_EXHAUSTED refusals.
 */
export interface ClientLimits {
  /** requestsPerSecond: unary calls one caller may start per second, sustained (token bucket). */
  readonly requestsPerSecond: number;
  /** requestBurst: unary calls one caller may start at once after being idle. */
  readonly requestBurst: number;
  /** keepAlivesPerSecond: KeepAlive stream messages one caller may send per second, over all its streams. */
  readonly keepAlivesPerSecond: number;
  readonly keepAliveBurst: number;
  /**
   * maxInFlightPerConnection: unary calls being served at once on one
   * connection (waiting Acquires included), straight from a client: calls a
   * follower forwards are counted where they entered. Beyond it a call is
   * refused at once with RESOURCE_EXHAUSTED, before any work.
   */
  readonly maxInFlightPerConnection: number;
  /**
   * maxConcurrentStreams: HTTP/2 streams open at once per connection
   * (SETTINGS_MAX_CONCURRENT_STREAMS). A client at the limit holds further
   * calls itself until a stream ends, so a flood beyond it costs the node
   * nothing: no refusal to send, no retry to parse. (A peer that ignores the
   * setting has its excess streams reset by HTTP/2 before any JavaScript
   * runs.) At or below maxInFlightPerConnection, one connection's unary calls
   * queue in its own client instead of being refused and retried at once by a
   * client that ignores retry hints — the cost that dominated a flood.
   * Followers forward over a pool of connections to the leader, each held to
   * this limit (forwardingPool.ts), so the limit does not cap what one member
   * forwards for all its clients.
   */
  readonly maxConcurrentStreams: number;
  /**
   * maxActiveNodeRequests: proposals and linearizable reads in the node at
   * once, from all callers; the rest queue fairly per caller. One caller may
   * have at most a quarter of them in the node (its share of each Raft batch),
   * and a caller with none may take one of a quarter more fast-lane places.
   */
  readonly maxActiveNodeRequests: number;
  /** maxQueuedPerCaller: requests one caller may have queued for the node; beyond it RESOURCE_EXHAUSTED. */
  readonly maxQueuedPerCaller: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = Object.freeze({
  requestsPerSecond: 10_000,
  requestBurst: 20_000,
  keepAlivesPerSecond: 50_000,
  keepAliveBurst: 100_000,
  maxInFlightPerConnection: 256,
  maxConcurrentStreams: 256,
  maxActiveNodeRequests: 64,
  maxQueuedPerCaller: 1_000,
});

/**
 * MAX_FORWARDING_CONNECTIONS bounds the connections a follower opens to one
 * leader to forward its clients' calls (forwardingPool.ts): with the default
 * maxConcurrentStreams, 16,384 calls and KeepAlive streams at once.
 */
export const MAX_FORWARDING_CONNECTIONS = 64;

/** MAX_TRACKED_CALLERS bounds the rate-limit buckets kept at once (CallerRateLimits). */
export const MAX_TRACKED_CALLERS = 100_000;

/**
 * MAX_RECEIVE_MESSAGE_BYTES: every request is small (the largest carries a
 * name of maxNameBytes, at most 16 KiB by config); a larger message is refused
 * by grpc-js with RESOURCE_EXHAUSTED ("Received message larger than max")
 * before it is decoded.
 */
export const MAX_RECEIVE_MESSAGE_BYTES = 64 * 1024;
