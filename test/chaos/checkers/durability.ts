import type { CheckResult, History, HolderView, Op } from '../history.js';
import { describeOp } from './describe.js';

/**
 * Checker 4: nothing acknowledged is lost. Against the state read back after
 * the final heal and a restart of every node (`history.final`):
 * - an acknowledged grant whose lease is still alive, and which nobody tried
 *   to release or revoke, is still held, with the same token;
 * - an acknowledged release is not undone: that grant is not held;
 * - an acknowledged revoke is not undone: the lease is gone and holds nothing;
 * - an acknowledged lease that its client never lost nor revoked (it was kept
 *   alive to the end) still exists;
 * - the final state is consistent: every holder's lease exists.
 * "Tried" counts ok and unknown outcomes alike, since an unknown release may
 * have taken effect.
 */

function holdersOf(history: History, lock: string): readonly HolderView[] {
  return history.final?.locks[lock]?.holders ?? [];
}

function holds(history: History, lock: string, lease: string, token: string): boolean {
  return holdersOf(history, lock).some((h) => h.leaseId === lease && h.token === token);
}

export function checkDurability(history: History): CheckResult {
  const final = history.final;
  if (final === null) {
    return { checker: 'durability', ok: false, violations: ['no final state was read back: nothing to check acknowledged effects against'], stats: {} };
  }
  const violations: string[] = [];
  const alive = new Set(final.leases.map((l) => l.leaseId));
  const tried = (pred: (op: Op) => boolean): boolean => history.ops.some((op) => op.outcome !== 'fail' && pred(op));
  const revokeTried = (lease: string): boolean => tried((op) => op.kind === 'revoke' && op.leaseId === lease);
  let checked = 0;

  for (const op of history.ops) {
    if (op.outcome !== 'ok') continue;
    const lease = op.leaseId;
    if (op.kind === 'acquire' && op.lock !== undefined && lease !== undefined && op.result?.token !== undefined) {
      const token = op.result.token;
      if (!alive.has(lease) || revokeTried(lease)) continue;
      if (tried((r) => r.kind === 'release' && r.lock === op.lock && r.leaseId === lease && r.token === token)) continue;
      checked++;
      if (!holds(history, op.lock, lease, token)) {
        violations.push(
          `lost grant: ${describeOp(history, op)}; its lease ${lease} is alive at the end and nobody released it, but the final state shows holders ${JSON.stringify(holdersOf(history, op.lock))}`,
        );
      }
    } else if (op.kind === 'release' && op.lock !== undefined && lease !== undefined && op.token !== undefined) {
      checked++;
      if (holds(history, op.lock, lease, op.token)) violations.push(`lost release: ${describeOp(history, op)}, but the final state still shows that grant held`);
    } else if (op.kind === 'revoke' && lease !== undefined) {
      checked++;
      if (alive.has(lease)) violations.push(`lost revoke: ${describeOp(history, op)}, but lease ${lease} exists at the end`);
    } else if (op.kind === 'grant') {
      const granted = op.result?.leaseId ?? lease;
      if (granted === undefined || revokeTried(granted) || history.leaseLosses.some((l) => l.leaseId === granted)) continue;
      checked++;
      if (!alive.has(granted)) violations.push(`lost lease: ${describeOp(history, op)} granted lease ${granted}, kept alive to the end, but it is gone`);
    }
  }
  for (const [lock, state] of Object.entries(final.locks)) {
    for (const h of state.holders) {
      if (!alive.has(h.leaseId)) violations.push(`inconsistent final state: lock ${JSON.stringify(lock)} held by lease ${h.leaseId} (token ${h.token}), which does not exist`);
    }
  }
  return { checker: 'durability', ok: violations.length === 0, violations, stats: { acknowledgedChecked: checked, finalLeases: final.leases.length } };
}
