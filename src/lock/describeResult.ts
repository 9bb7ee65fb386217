import type { LimitName } from './limits.js';
import type { CommandResult, HolderView } from './results.js';

/**
 * describeResult renders a result as one line for logs and gRPC status
 * messages. Refusals say what was wrong and what is accepted, so a user can fix
 * the request without reading the source.
 */
export function describeResult(result: CommandResult): string {
  switch (result.kind) {
    case 'lease-granted':
      return result.existing
        ? `lease ${result.leaseId} already granted (ttl ${result.ttlMs} ms, index ${result.grantedIndex}); idempotent retry returns it`
        : `lease ${result.leaseId} granted with ttl ${result.ttlMs} ms at index ${result.grantedIndex}`;
    case 'lease-revoked':
    case 'lease-expired':
      return `lease ${result.leaseId} ${result.kind === 'lease-revoked' ? 'revoked' : 'expired'}; released ${names(result.locksReleased)}, cancelled waits on ${names(result.waitsCancelled)}`;
    case 'granted':
      return `lock ${q(result.name)} ${result.existing ? 'already held' : 'granted'} ${result.mode} to lease ${result.leaseId} with token ${result.token}`;
    case 'queued':
      return `lease ${result.leaseId} queued for lock ${q(result.name)} (${result.mode}) with ${result.position} waiter(s) ahead`;
    case 'released':
      return `lock ${q(result.name)} released by lease ${result.leaseId} (token ${result.token})`;
    case 'withdrawn':
      return `wait of lease ${result.leaseId} on lock ${q(result.name)} withdrawn`;
    case 'not-waiting':
      return result.heldToken === null
        ? `lease ${result.leaseId} was not waiting on lock ${q(result.name)}; nothing to withdraw`
        : `lease ${result.leaseId} was not waiting on lock ${q(result.name)}: it already holds it with token ${result.heldToken}`;
    case 'lease-not-found':
      return `lease ${result.leaseId} not found: it expired, was revoked or never existed; grant a new lease`;
    case 'lease-id-conflict':
      return `lease ${result.leaseId} already exists with ttl ${result.ttlMs} ms; a retry must ask for the same ttl (asked ${result.requestedTtlMs} ms) or use another lease id`;
    case 'lease-id-taken':
      return `lease id ${result.leaseId} is already in use; choose another id`;
    case 'lease-not-owned':
      return `lease ${result.leaseId} belongs to another identity; only its owner (or an admin) may use, keep alive or revoke it`;
    case 'stale-expiry':
      return `expiry of lease ${result.leaseId} decided in term ${result.proposerTerm} was committed in term ${result.entryTerm}; ignored, the lease stays`;
    case 'held':
      return `lock ${q(result.name)} is held by ${holders(result.holders)}${result.waiters > 0 ? ` with ${result.waiters} waiter(s) queued` : ''}; ${result.mode === 'shared' ? 'a shared try-lock needs it free or shared with nobody queued' : 'an exclusive try-lock needs it free'} — retry later or wait`;
    case 'mode-mismatch':
      return `lease ${result.leaseId} is already ${result.state} on lock ${q(result.name)} in ${result.current} mode; asked ${result.requested} — release or withdraw first (mode changes are not supported)`;
    case 'not-holder':
      return `lease ${result.leaseId} does not hold lock ${q(result.name)}${result.holders.length > 0 ? ` (held by ${holders(result.holders)})` : ' (it is free)'}; only a current holder can release it`;
    case 'stale-token':
      return `token ${result.token} does not match lock ${q(result.name)}: lease ${result.leaseId} holds it with token ${result.currentToken}; release with the current token`;
    case 'invalid-name':
      return `lock name is ${result.byteLength} bytes of UTF-8; accepted: 1 to ${result.maxNameBytes} bytes`;
    case 'invalid-ttl':
      return `ttl ${result.ttlMs} ms is out of range; accepted: ${result.minTtlMs} to ${result.maxTtlMs} ms`;
    case 'limit-exceeded':
      return `limit ${result.limit} reached (${result.max}): ${LIMIT_MEANING[result.limit]}`;
  }
}

const LIMIT_MEANING: Record<LimitName, string> = {
  maxLocksPerLease: 'a lease may hold or wait on at most this many locks; release some first',
  maxWaitsPerLease: 'a lease may queue at most this many waits; withdraw some first',
  maxWaitersPerLock: 'a lock may have at most this many waiters queued; retry later or use another name',
  maxLeases: 'the cluster holds at most this many leases; revoke unused ones',
  maxLocks: 'the cluster tracks at most this many held lock names; release some first',
  maxLeasesPerOwner: 'one identity may have at most this many leases; revoke unused ones',
  maxLocksPerOwner: 'one identity may hold or wait on at most this many locks over all its leases; release some first',
};

function q(name: string): string {
  return JSON.stringify(name);
}

function names(list: readonly string[]): string {
  return list.length === 0 ? 'none' : list.map(q).join(', ');
}

function holders(list: readonly HolderView[]): string {
  if (list.length === 0) return 'nobody';
  const shown = list.slice(0, 3).map((h) => `lease ${h.leaseId} (${h.mode}, token ${h.token})`);
  return list.length > 3 ? `${shown.join(', ')} and ${list.length - 3} more` : shown.join(', ');
}
