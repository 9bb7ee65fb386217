import type { FencedWrite, FinalState, History, LeaseLoss, NemesisEvent, NodeObservation, Op } from '../history.js';

/** Mutable view of an Op while it is in flight (the fields the recorder fills in on completion). */
export type OpRequest = Omit<Op, 'id' | 'invokeMs' | 'completeMs' | 'outcome' | 'result' | 'error'>;

/** MAX_HISTORY_OPS bounds a run's history (a 30-minute run stays far below it). */
export const MAX_HISTORY_OPS = 2_000_000;

/**
 * Recorder owns the History of one run. Every time is `now()`: ms of
 * `performance.now()` in this process, the one monotonic clock of the run.
 *
 *   const op = rec.invoke({ client: 'c1', kind: 'acquire', lock: 'a', leaseId, mode: 'exclusive', wait: false });
 *   rec.ok(op, { token: '42' });     // or rec.fail(op, err) / rec.unknown(op, err)
 *
 * An op still pending when the run ends stays `unknown` with completeMs
 * null; one the client gave up on is `unknown` with completeMs set to when
 * it gave up. Either way its effect may land at any time after invokeMs.
 */
export class Recorder {
  readonly history: History;
  private nextId = 0;

  constructor(init: { seed: number; nodes: readonly string[]; electionTimeoutMs: number; fencing: boolean }) {
    this.history = {
      seed: init.seed,
      nodes: [...init.nodes],
      electionTimeoutMs: init.electionTimeoutMs,
      fencing: init.fencing,
      startMs: now(),
      endMs: now(),
      healedMs: null,
      ops: [],
      leaseLosses: [],
      writes: [],
      nemesis: [],
      observations: [],
      final: null,
    };
  }

  /** invoke records the start of an op; complete it with ok / fail / unknown. */
  invoke(request: OpRequest): Op {
    if (this.history.ops.length >= MAX_HISTORY_OPS) throw new Error(`history is full (${MAX_HISTORY_OPS} ops): shorten the run`);
    const op: Op = { ...request, id: this.nextId++, invokeMs: now(), completeMs: null, outcome: 'unknown' };
    this.history.ops.push(op);
    return op;
  }

  /**
   * invokeAt records an op that was invoked at `atMs`, a moment ago, before
   * the harness could see it (a keepalive the library sent before its lease
   * was handed over). Ids stay unique; this one may sort a moment late.
   */
  invokeAt(request: OpRequest, atMs: number): Op {
    const op = this.invoke(request);
    (op as { invokeMs: number }).invokeMs = Math.min(atMs, op.invokeMs);
    return op;
  }

  ok(op: Op, result?: Op['result']): void {
    this.complete(op, 'ok', result, undefined);
  }

  /** fail: the cluster definitely did not apply it (see history.ts). */
  fail(op: Op, error: { code: string; message: string }): void {
    this.complete(op, 'fail', undefined, error);
  }

  /**
   * unknown: the client gave up (timed out, connection lost) without knowing
   * whether it took effect; completeMs is when it gave up, but the effect may
   * land at any time after invokeMs, also later. An op never completed at all
   * (still pending when the run ended) keeps completeMs null.
   */
  unknown(op: Op, error: { code: string; message: string }): void {
    if (op.completeMs !== null || op.error !== undefined) throw new Error(`op ${op.id} completed twice`);
    op.completeMs = now();
    op.outcome = 'unknown';
    op.error = error;
  }

  leaseLoss(loss: LeaseLoss): void {
    this.history.leaseLosses.push(loss);
  }

  write(write: FencedWrite): void {
    this.history.writes.push(write);
  }

  nemesis(kind: string, detail: string, nodes: readonly string[]): NemesisEvent {
    const e: NemesisEvent = { atMs: now(), kind, detail, nodes: [...nodes] };
    this.history.nemesis.push(e);
    return e;
  }

  observe(o: NodeObservation): void {
    this.history.observations.push(o);
  }

  markHealed(): void {
    this.history.healedMs = now();
  }

  setFinal(final: FinalState): void {
    this.history.final = final;
  }

  /** finish stamps endMs and returns the history (pending ops stay unknown). */
  finish(): History {
    this.history.endMs = now();
    return this.history;
  }

  private complete(op: Op, outcome: 'ok' | 'fail', result: Op['result'] | undefined, error: Op['error'] | undefined): void {
    if (op.completeMs !== null || op.error !== undefined) throw new Error(`op ${op.id} completed twice`);
    op.completeMs = now();
    op.outcome = outcome;
    if (result !== undefined) op.result = result;
    if (error !== undefined) op.error = error;
  }
}

/** now is the run's clock: performance.now() of this process, in ms. */
export function now(): number {
  return performance.now();
}
