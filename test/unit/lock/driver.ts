import { encodeCommand } from '../../../src/lock/commandCodec.js';
import type { Command, LockMode } from '../../../src/lock/commands.js';
import type { LockLimits } from '../../../src/lock/limits.js';
import type { ApplyResult, CommandResult } from '../../../src/lock/results.js';
import { LockStateMachine } from '../../../src/lock/stateMachine.js';

/**
 * Driver plays the Raft log for scenario tests: it numbers entries, carries
 * the current term, encodes each command and checks invariants after every
 * apply, so a scenario reads as a list of commands and expectations.
 */
export class Driver {
  readonly sm: LockStateMachine;
  index = 0;
  term = 1;

  constructor(limits: Partial<LockLimits> = {}, sm?: LockStateMachine) {
    this.sm = sm ?? new LockStateMachine(limits);
    this.index = this.sm.lastAppliedIndex;
  }

  apply(command: Command, term = this.term): ApplyResult {
    this.index += 1;
    const applied = this.sm.apply({ index: this.index, term, data: encodeCommand(command) });
    this.sm.checkInvariants();
    return applied;
  }

  /** run applies and returns only the command result. */
  run(command: Command, term = this.term): CommandResult {
    return this.apply(command, term).result;
  }

  grant(leaseId: number, ttlMs = 1000, idempotent = false): CommandResult {
    return this.run({ type: 'grant-lease', leaseId, ttlMs, idempotent });
  }

  acquire(name: string, leaseId: number, mode: LockMode = 'exclusive', wait = false): CommandResult {
    return this.run({ type: 'acquire', name, leaseId, mode, wait });
  }

  release(name: string, leaseId: number, token: number): ApplyResult {
    return this.apply({ type: 'release', name, leaseId, token });
  }

  withdraw(name: string, leaseId: number): ApplyResult {
    return this.apply({ type: 'withdraw-wait', name, leaseId });
  }

  revoke(leaseId: number): ApplyResult {
    return this.apply({ type: 'revoke-lease', leaseId });
  }

  expire(leaseId: number, proposerTerm: number, entryTerm = this.term): ApplyResult {
    return this.apply({ type: 'expire-lease', leaseId, proposerTerm }, entryTerm);
  }

  /** tokenOf returns the token the lease holds on `name`, failing the test if it holds none. */
  tokenOf(name: string, leaseId: number): number {
    const holder = this.sm.getLock(name)?.holders.find((h) => h.leaseId === leaseId);
    if (holder === undefined) throw new Error(`lease ${leaseId} does not hold ${name}`);
    return holder.token;
  }
}
