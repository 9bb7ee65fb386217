import type { LockStateMachine } from '../lock/stateMachine.js';
import type { Command } from '../lock/commands.js';
import type { ApplyResult } from '../lock/results.js';
import type { NodeApi } from '../node/nodeApi.js';
import type { AuthState } from '../auth/authState.js';
import type { Admission } from './admission.js';
import { INTERNAL_CALLER } from './fairQueue.js';

/**
 * fairNode wraps the node so that every proposal and linearizable read the
 * API makes waits its turn in the Admission's FairQueue under the caller of
 * the call that made it (work outside any call, or run through
 * Admission.internal, under INTERNAL_CALLER); work whose call was cancelled
 * while it queued is dropped at its turn.
 * A snapshot for backup is a linearizable read too, so it queues the same way.
 * Everything else (membership changes are admin work, keepalives have their
 * own rate limit) passes straight through.
 */
export function fairNode(node: NodeApi, admission: Admission): NodeApi {
  const queued = <T>(work: () => Promise<T>): Promise<T> => {
    const caller = admission.currentCaller();
    return admission.queue.run(caller ?? INTERNAL_CALLER, work, admission.currentCallGone());
  };
  return {
    id: node.id,
    leader: () => node.leader(),
    isLeader: () => node.isLeader(),
    awaitLeader: (notId, maxWaitMs) => node.awaitLeader(notId, maxWaitMs),
    propose: (command: Command): Promise<ApplyResult> => queued(() => node.propose(command)),
    proposeAuth: (command) => queued(() => node.proposeAuth(command)),
    appliedAuth: () => node.appliedAuth(),
    leaseOwner: (leaseId) => node.leaseOwner(leaseId),
    read: <T>(query: (sm: LockStateMachine, auth: AuthState) => T): Promise<T> => queued(() => node.read(query)),
    keepAlive: (leaseId) => node.keepAlive(leaseId),
    remainingMs: (leaseId) => node.remainingMs(leaseId),
    waitForGrant: (name, leaseId, signal) => node.waitForGrant(name, leaseId, signal),
    status: () => node.status(),
    members: () => node.members(),
    changeMembership: (change) => node.changeMembership(change),
    transferLeadership: (to) => node.transferLeadership(to),
    snapshot: () => queued(() => node.snapshot()),
  };
}
