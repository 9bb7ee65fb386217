import { encodeCommand, type Command, type LockMode } from '../../../src/lock/index.js';
import { LockStateMachine } from '../../../src/lock/stateMachine.js';
import type { History, Op } from '../history.js';
import { START_MS } from './historyBuilder.js';

/**
 * referenceRun turns a script of client actions into the history a perfect
 * cluster would produce: every action is applied, one at a time, to the real
 * lock state machine (src/lock), and each client records what it would have
 * seen. A waiting acquire stays pending (its client blocked) until a later
 * apply promotes it, so waits overlap other clients' ops as they do in a real
 * run. Some replies are "lost" (the op is recorded as unknown though it took
 * effect), as a timeout would. The checkers must accept every such history.
 */

export type Action =
  | { readonly type: 'acquire'; readonly client: number; readonly lock: number; readonly mode: LockMode; readonly wait: boolean; readonly lost: boolean }
  | { readonly type: 'release'; readonly client: number; readonly lock: number; readonly lost: boolean }
  | { readonly type: 'get'; readonly client: number; readonly lock: number }
  | { readonly type: 'expire'; readonly client: number }
  | { readonly type: 'revoke'; readonly client: number; readonly lost: boolean }
  | { readonly type: 'withdraw'; readonly client: number };

export const LOCK_NAMES = ['a', 'b'] as const;
const STEP_MS = 10;
const TERM = 1;

export function referenceRun(clients: number, actions: readonly Action[]): History {
  const machine = new LockStateMachine();
  const ops: Op[] = [];
  const blocked = new Map<number, Op>();
  let index = 0;
  let nowMs = START_MS;
  const apply = (command: Command) => {
    const applied = machine.apply({ index: ++index, term: TERM, data: encodeCommand(command) });
    // Promotions answer the blocked waiters they granted.
    for (const p of applied.promoted) finish(p.leaseId - 1, 'ok', { token: String(p.token) });
    // A wait cancelled by its lease's death is answered "lease not found", as the server does.
    for (const c of applied.cancelledWaits) finish(c.leaseId - 1, 'fail', undefined, 'LeaseNotFoundError');
    for (const lease of applied.leasesRemoved) finish(lease - 1, 'fail', undefined, 'LeaseNotFoundError');
    return applied.result;
  };
  const finish = (client: number, outcome: Op['outcome'], result?: Op['result'], code?: string) => {
    const op = blocked.get(client);
    if (op === undefined) return;
    blocked.delete(client);
    op.completeMs = nowMs + 1;
    op.outcome = outcome;
    if (result !== undefined) op.result = result;
    if (code !== undefined) op.error = { code, message: code };
  };
  const record = (fields: Omit<Op, 'id' | 'invokeMs' | 'completeMs' | 'outcome'>): Op => {
    const op: Op = { ...fields, id: ops.length + 1, invokeMs: nowMs, completeMs: null, outcome: 'unknown' };
    ops.push(op);
    return op;
  };
  const complete = (op: Op, outcome: Op['outcome'], lost: boolean, result?: Op['result'], code?: string) => {
    op.completeMs = nowMs + 2;
    op.outcome = lost ? 'unknown' : outcome;
    if (!lost && result !== undefined) op.result = result;
    if (code !== undefined) op.error = { code, message: code };
  };

  for (let c = 0; c < clients; c++) apply({ type: 'grant-lease', leaseId: c + 1, ttlMs: 2000, idempotent: true });
  for (const action of actions) {
    nowMs += STEP_MS;
    const client = action.client % clients;
    const leaseId = client + 1;
    const name = 'lock' in action ? LOCK_NAMES[action.lock % LOCK_NAMES.length]! : '';
    const base = { client: `c${client}`, leaseId: String(leaseId) };
    if (action.type === 'expire') {
      apply({ type: 'expire-lease', leaseId, proposerTerm: TERM });
      continue;
    }
    if (action.type === 'withdraw') {
      const waiting = blocked.get(client);
      if (waiting === undefined) continue;
      const result = apply({ type: 'withdraw-wait', name: waiting.lock!, leaseId });
      if (result.kind === 'withdrawn') finish(client, 'fail', undefined, 'DeadlineExceededError');
      continue;
    }
    if (blocked.has(client)) continue;
    switch (action.type) {
      case 'acquire': {
        const op = record({ ...base, kind: 'acquire', lock: name, mode: action.mode, wait: action.wait });
        const result = apply({ type: 'acquire', name, leaseId, mode: action.mode, wait: action.wait });
        if (result.kind === 'granted') complete(op, 'ok', action.lost, { token: String(result.token), existing: result.existing });
        else if (result.kind === 'queued') blocked.set(client, op);
        else if (result.kind === 'held') complete(op, 'fail', action.lost, undefined, 'LockHeldError');
        else if (result.kind === 'lease-not-found') complete(op, 'fail', action.lost, undefined, 'LeaseNotFoundError');
        else complete(op, 'fail', action.lost, undefined, 'LockConflictError');
        break;
      }
      case 'release': {
        const held = machine.getLock(name)?.holders.find((h) => h.leaseId === leaseId);
        const token = String(held?.token ?? index);
        const op = record({ ...base, kind: 'release', lock: name, token });
        const result = apply({ type: 'release', name, leaseId, token: Number(token) });
        complete(op, result.kind === 'released' ? 'ok' : 'fail', action.lost, undefined, result.kind === 'released' ? undefined : 'LockConflictError');
        break;
      }
      case 'get': {
        const op = record({ client: base.client, kind: 'get', lock: name });
        const info = machine.getLock(name);
        complete(op, 'ok', false, {
          holders: (info?.holders ?? []).map((h) => ({ leaseId: String(h.leaseId), token: String(h.token), mode: h.mode })),
          waiters: (info?.waiters ?? []).map((w) => String(w.leaseId)),
        });
        break;
      }
      case 'revoke': {
        const op = record({ ...base, kind: 'revoke' });
        const result = apply({ type: 'revoke-lease', leaseId });
        complete(op, result.kind === 'lease-revoked' ? 'ok' : 'fail', action.lost, undefined, result.kind === 'lease-revoked' ? undefined : 'LeaseNotFoundError');
        break;
      }
    }
  }
  return {
    seed: 0,
    nodes: ['n1', 'n2', 'n3'],
    electionTimeoutMs: 300,
    fencing: true,
    startMs: START_MS,
    endMs: nowMs + 10,
    healedMs: null,
    ops,
    leaseLosses: [],
    writes: [],
    nemesis: [],
    observations: [],
    final: null,
  };
}
