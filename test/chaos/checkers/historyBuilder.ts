import type { FencedWrite, FinalState, History, HolderView, LeaseLoss, LockMode, Op } from '../history.js';

/**
 * HistoryBuilder writes small histories by hand for the checkers' tests:
 * times are given relative to the run's start, ops get ids in call order.
 *
 *   const h = new HistoryBuilder();
 *   h.acquire('c1', 'L1', 'x', [0, 10], { token: '5' });
 *   h.get('c2', 'x', [20, 30], [['L1', '5']]);
 *   checkLinearizability(h.build());
 */

export const START_MS = 1_000;

type Span = readonly [number, number | null];

export interface AcquireOptions {
  readonly token?: string;
  readonly outcome?: Op['outcome'];
  readonly mode?: LockMode;
  readonly wait?: boolean;
  readonly existing?: boolean;
  readonly code?: string;
}

export class HistoryBuilder {
  readonly ops: Op[] = [];
  readonly leaseLosses: LeaseLoss[] = [];
  readonly writes: FencedWrite[] = [];

  add(fields: Omit<Op, 'id' | 'invokeMs' | 'completeMs'>, [invokeMs, completeMs]: Span): Op {
    const op: Op = { ...fields, id: this.ops.length + 1, invokeMs: START_MS + invokeMs, completeMs: completeMs === null ? null : START_MS + completeMs };
    this.ops.push(op);
    return op;
  }

  grant(client: string, lease: string, ttlMs: number, span: Span, outcome: Op['outcome'] = 'ok'): Op {
    return this.add({ client, kind: 'grant', outcome, ttlMs, leaseId: lease, ...(outcome === 'ok' ? { result: { leaseId: lease, ttlMs } } : {}) }, span);
  }

  keepalive(client: string, lease: string, span: Span): Op {
    return this.add({ client, kind: 'keepalive', outcome: 'ok', leaseId: lease }, span);
  }

  revoke(client: string, lease: string, span: Span, outcome: Op['outcome'] = 'ok'): Op {
    return this.add({ client, kind: 'revoke', outcome, leaseId: lease }, span);
  }

  acquire(client: string, lease: string, lock: string, span: Span, options: AcquireOptions = {}): Op {
    const outcome = options.outcome ?? 'ok';
    return this.add(
      {
        client,
        kind: 'acquire',
        outcome,
        leaseId: lease,
        lock,
        mode: options.mode ?? 'exclusive',
        wait: options.wait ?? false,
        ...(outcome === 'ok' ? { result: { token: options.token ?? '', existing: options.existing ?? false } } : {}),
        ...(options.code !== undefined ? { error: { code: options.code, message: options.code } } : {}),
      },
      span,
    );
  }

  release(client: string, lease: string, lock: string, token: string, span: Span, outcome: Op['outcome'] = 'ok'): Op {
    return this.add({ client, kind: 'release', outcome, leaseId: lease, lock, token }, span);
  }

  /** get: holders as [lease, token, mode?]; waiters as lease ids in queue order. */
  get(client: string, lock: string, span: Span, holders: ReadonlyArray<readonly [string, string, LockMode?]>, waiters: readonly string[] = []): Op {
    const views: HolderView[] = holders.map(([leaseId, token, mode]) => ({ leaseId, token, mode: mode ?? 'exclusive' }));
    return this.add({ client, kind: 'get', outcome: 'ok', lock, result: { holders: views, waiters } }, span);
  }

  write(client: string, lock: string, lease: string, token: string, [startMs, endMs]: readonly [number, number], accepted: boolean, highestBeforeToken: string | null, mode: LockMode = 'exclusive'): void {
    this.writes.push({ client, lock, leaseId: lease, token, mode, startMs: START_MS + startMs, endMs: START_MS + endMs, accepted, highestBeforeToken });
  }

  loss(client: string, lease: string, ttlMs: number, atMs: number, lastAckedKeepAliveSentMs: number): void {
    this.leaseLosses.push({ client, leaseId: lease, ttlMs, atMs: START_MS + atMs, lastAckedKeepAliveSentMs: START_MS + lastAckedKeepAliveSentMs, reason: 'expired' });
  }

  build(extra: Partial<Omit<History, 'final'>> & { final?: FinalState | null } = {}): History {
    const lastMs = Math.max(START_MS, ...this.ops.map((op) => op.completeMs ?? op.invokeMs), ...this.writes.map((w) => w.endMs));
    return {
      seed: 1,
      nodes: ['n1', 'n2', 'n3'],
      electionTimeoutMs: 300,
      fencing: true,
      startMs: START_MS,
      endMs: lastMs + 1,
      healedMs: null,
      ops: this.ops,
      leaseLosses: this.leaseLosses,
      writes: this.writes,
      nemesis: [],
      observations: [],
      final: null,
      ...extra,
    };
  }
}

/** finalState builds a FinalState: live leases, and each lock's holders as [lease, token, mode?]. */
export function finalState(
  leases: readonly string[],
  locks: Readonly<Record<string, ReadonlyArray<readonly [string, string, LockMode?]>>>,
  servedAgainMs: number | null = null,
): FinalState {
  const out: Record<string, { holders: HolderView[]; waiters: string[] }> = {};
  for (const [name, holders] of Object.entries(locks)) {
    out[name] = { holders: holders.map(([leaseId, token, mode]) => ({ leaseId, token, mode: mode ?? 'exclusive' })), waiters: [] };
  }
  return { atMs: START_MS + 100_000, leases: leases.map((leaseId) => ({ leaseId, ttlMs: 3000 })), locks: out, servedAgainMs: servedAgainMs === null ? null : START_MS + servedAgainMs };
}
