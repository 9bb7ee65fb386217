/**
 * The record a chaos run leaves behind, and the only thing the checkers read.
 *
 * The harness appends to it while the run goes (clients, the fenced resource,
 * the nemesis) and writes it as JSON to the run's results folder; the
 * checkers are pure functions of it, so a history from a failed run can be
 * re-checked (and hand-written histories can test the checkers).
 *
 * Times are milliseconds on one monotonic clock (`performance.now()` of the
 * harness process, which owns every client), never wall-clock time. Ids and
 * tokens are uint64 decimal strings, as on the wire, so the JSON round-trips
 * exactly.
 */

/** What a client asked the cluster to do. */
export type OpKind = 'grant' | 'keepalive' | 'revoke' | 'acquire' | 'release' | 'get';

export type LockMode = 'exclusive' | 'shared';

/** A lock's holder as a Get reports it. */
export interface HolderView {
  readonly leaseId: string;
  readonly token: string;
  readonly mode: LockMode;
}

/**
 * One client operation: invoked at `invokeMs`, and either completed (`ok` or
 * `fail`, at `completeMs`) or of `unknown` outcome (timed out, connection
 * lost, or still pending when the run ended: it may or may not have taken
 * effect, at any time after `invokeMs`).
 *
 * `fail` means the cluster definitely did not apply it (a refusal computed by
 * the state machine, or an error the client library documents as "not
 * applied", e.g. INVALID_ARGUMENT before proposing). Anything else that
 * is not a success is `unknown`.
 */
export interface Op {
  /** Unique within the history, in invocation order. */
  readonly id: number;
  /** The client (one connection, one logical process) that ran it; a client runs one op at a time. */
  readonly client: string;
  readonly kind: OpKind;
  readonly invokeMs: number;
  completeMs: number | null;
  outcome: 'ok' | 'fail' | 'unknown';

  // --- request ---
  /** grant / keepalive / revoke / acquire / release: the lease used (grant: the client-chosen id, if any). */
  readonly leaseId?: string;
  /** grant: the TTL asked for. */
  readonly ttlMs?: number;
  /** acquire / release / get: the lock name. */
  readonly lock?: string;
  readonly mode?: LockMode;
  /** acquire: true to wait in the queue (up to waitMs), false to try once. */
  readonly wait?: boolean;
  readonly waitMs?: number;
  /** release: the token released. */
  readonly token?: string;

  // --- response (ok only, unless noted) ---
  /** grant: the lease id the cluster answered; acquire: the token granted. */
  result?: {
    readonly leaseId?: string;
    readonly ttlMs?: number;
    readonly token?: string;
    /** acquire: true when the lease already held the lock (a retry); the token is the held one. */
    readonly existing?: boolean;
    /** get: the holders and the queued waiters' leases, in queue order. */
    readonly holders?: readonly HolderView[];
    readonly waiters?: readonly string[];
  };
  /** fail / unknown: the error's code and message, for the report. */
  error?: { readonly code: string; readonly message: string };
}

/**
 * The client library's own word that a lease is lost (LeaseLostError, or its
 * signal aborting): from `atMs` on, the client no longer believes it holds
 * anything under that lease. `lastAckedKeepAliveSentMs` is when the newest
 * keepalive the cluster acknowledged was sent (or the grant was invoked, if
 * none was), so the checker can verify the client stopped believing no later
 * than TTL after it.
 */
export interface LeaseLoss {
  readonly client: string;
  readonly leaseId: string;
  readonly ttlMs: number;
  readonly atMs: number;
  readonly lastAckedKeepAliveSentMs: number;
  readonly reason: string;
  /**
   * Optional: when the library's loss listeners ran. For an expiry this can be
   * later than `atMs` (the deadline, from which on every read of the lease's
   * signal already says lost) when the process's timers ran late.
   */
  readonly notifiedMs?: number;
}

/**
 * A write to the fenced resource (Kleppmann's fencing): a client that believes
 * it holds `lock` with `token` writes; the store accepts only a token at least
 * as high as the highest it has accepted for that lock. `fencing: false`
 * marks a run where the store accepts everything (to show the checker sees
 * stale writes).
 */
export interface FencedWrite {
  readonly client: string;
  readonly lock: string;
  readonly leaseId: string;
  readonly token: string;
  readonly mode: LockMode;
  /** When the client started and finished its critical-section write. */
  readonly startMs: number;
  readonly endMs: number;
  readonly accepted: boolean;
  /** The highest token the store had accepted for the lock before this write. */
  readonly highestBeforeToken: string | null;
}

/** A fault the nemesis injected or healed, for the timeline and the report. */
export interface NemesisEvent {
  readonly atMs: number;
  /** e.g. 'kill', 'restart', 'pause', 'resume', 'partition', 'heal', 'latency', 'cut-client'. */
  readonly kind: string;
  /** Human-readable detail: which nodes, which links, which direction. */
  readonly detail: string;
  readonly nodes: readonly string[];
}

/** What a node said about itself when polled (for the timeline: who led when). */
export interface NodeObservation {
  readonly atMs: number;
  readonly node: string;
  readonly up: boolean;
  readonly role?: string;
  readonly term?: number;
  readonly leader?: string;
  readonly commitIndex?: number;
}

/** The state read back after the final heal and a restart of every node. */
export interface FinalState {
  readonly atMs: number;
  /** Leases alive at the end, by id. */
  readonly leases: readonly { readonly leaseId: string; readonly ttlMs: number }[];
  /** Every lock name the workload used, as Get answered it. */
  readonly locks: Readonly<Record<string, { readonly holders: readonly HolderView[]; readonly waiters: readonly string[] }>>;
  /** When the cluster first served a linearizable request after the final heal. */
  readonly servedAgainMs: number | null;
}

export interface History {
  readonly seed: number;
  readonly nodes: readonly string[];
  /** The election timeout and lease TTLs the run used, so the checkers can derive their bounds. */
  readonly electionTimeoutMs: number;
  readonly fencing: boolean;
  readonly startMs: number;
  endMs: number;
  /** When the last fault was healed (checker 5 measures from here). */
  healedMs: number | null;
  readonly ops: Op[];
  readonly leaseLosses: LeaseLoss[];
  readonly writes: FencedWrite[];
  readonly nemesis: NemesisEvent[];
  readonly observations: NodeObservation[];
  final: FinalState | null;
}

/** A checker's verdict: `ok`, or the violations with enough context to read. */
export interface CheckResult {
  readonly checker: string;
  readonly ok: boolean;
  /** One line per violation, each naming the ops (by id), clients, locks and times involved. */
  readonly violations: readonly string[];
  /** Counts worth printing even when ok (ops checked, states explored, …). */
  readonly stats: Readonly<Record<string, number>>;
}
