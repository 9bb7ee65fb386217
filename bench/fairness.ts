/**
 * fairness: how evenly a contended lock was shared and whether grants
 * followed request order, from what the clients observed. Pure.
 */

export interface GrantRecord {
  readonly client: number;
  /** sentAt: when the client sent its acquire (ms, one clock for all clients). */
  readonly sentAt: number;
  /** grantedAt: when the client received the grant. */
  readonly grantedAt: number;
}

export interface Fairness {
  readonly grants: number;
  readonly minPerClient: number;
  readonly maxPerClient: number;
  /**
   * overtakes: grants whose request was sent more than toleranceMs after a
   * request that was granted later — grants that jumped the queue.
   */
  readonly overtakes: number;
  /** fifo: no overtakes at all. */
  readonly fifo: boolean;
}

/** fairness counts grants per client (every client in [0, clients)) and the grants that overtook an earlier request. */
export function fairness(records: readonly GrantRecord[], clients: number, toleranceMs: number): Fairness {
  const perClient = new Array<number>(clients).fill(0);
  for (const r of records) {
    if (r.client < 0 || r.client >= clients) throw new RangeError(`grant record of client ${r.client}, outside 0..${clients - 1}`);
    perClient[r.client] = (perClient[r.client] as number) + 1;
  }
  const byGrant = [...records].sort((a, b) => a.grantedAt - b.grantedAt);
  // Walk from the last grant back, keeping the earliest request among the grants that came later.
  let earliestLaterSentAt = Infinity;
  let overtakes = 0;
  for (let i = byGrant.length - 1; i >= 0; i--) {
    const g = byGrant[i] as GrantRecord;
    if (earliestLaterSentAt < g.sentAt - toleranceMs) overtakes++;
    earliestLaterSentAt = Math.min(earliestLaterSentAt, g.sentAt);
  }
  return {
    grants: records.length,
    minPerClient: clients === 0 ? 0 : Math.min(...perClient),
    maxPerClient: clients === 0 ? 0 : Math.max(...perClient),
    overtakes,
    fifo: overtakes === 0,
  };
}
