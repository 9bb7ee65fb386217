import fc from 'fast-check';
import type { Command, LockMode } from '../../../src/lock/commands.js';
import type { LockLimits } from '../../../src/lock/limits.js';
import type { LockModel } from './model.js';

/**
 * Generators for property tests. Histories use few lease ids and few names so
 * that contention, queues and refusals actually happen; a release names its
 * token symbolically ('held') and is resolved against the model when run, so
 * most releases hit the real token instead of a random number.
 */

export type StepSpec =
  | { readonly op: 'grant'; readonly leaseId: number; readonly ttlMs: number; readonly idempotent: boolean }
  | { readonly op: 'revoke'; readonly leaseId: number }
  | { readonly op: 'expire'; readonly leaseId: number; readonly termDelta: -1 | 0 | 1 }
  | { readonly op: 'acquire'; readonly name: string; readonly leaseId: number; readonly mode: LockMode; readonly wait: boolean }
  /** acquire-live acquires for a lease picked among the model's live leases. */
  | { readonly op: 'acquire-live'; readonly name: string; readonly pick: number; readonly mode: LockMode; readonly wait: boolean }
  | { readonly op: 'release'; readonly name: string; readonly leaseId: number; readonly token: 'held' | 'held-1' | number }
  | { readonly op: 'withdraw'; readonly name: string; readonly leaseId: number }
  /** release-held and withdraw-queued pick a current holder or waiter from the model, so they hit real state. */
  | { readonly op: 'release-held'; readonly pick: number }
  | { readonly op: 'withdraw-queued'; readonly pick: number };

/**
 * Actor: who sends a command. 'none' sends no owner (auth off, or an admin);
 * 'lease' names the lease's own owner, so most owned commands get through;
 * 'alice' and 'bob' name one identity, which is someone else's lease as often
 * as not. A grant by 'none' makes an ownerless lease, by 'lease' one of alice's.
 */
export type Actor = 'none' | 'lease' | 'alice' | 'bob';

export interface Step {
  readonly spec: StepSpec;
  readonly actor: Actor;
  /** gap: how far the Raft index moves (entries without lock commands sit in between). */
  readonly gap: number;
  /** newTerm: a leader change happens before this entry. */
  readonly newTerm: boolean;
}

const leaseIdArb = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(5, 6, Number.MAX_SAFE_INTEGER) },
);

const nameArb = fc.oneof(
  { weight: 14, arbitrary: fc.constantFrom('a', 'b', 'c') },
  { weight: 1, arbitrary: fc.constantFrom('', 'é', '€€', 'toolong', 'd') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
);

const modeArb = fc.constantFrom<LockMode>('exclusive', 'shared');

const ttlArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(100, 200) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 400 }) });

const specArb: fc.Arbitrary<StepSpec> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('grant' as const), leaseId: leaseIdArb, ttlMs: ttlArb, idempotent: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('revoke' as const), leaseId: leaseIdArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const), leaseId: leaseIdArb, termDelta: fc.constantFrom<-1 | 0 | 1>(0, 0, -1, 1) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('acquire' as const), name: nameArb, leaseId: leaseIdArb, mode: modeArb, wait: fc.boolean() }) },
  { weight: 7, arbitrary: fc.record({ op: fc.constant('acquire-live' as const), name: nameArb, pick: fc.nat(), mode: modeArb, wait: fc.constantFrom(true, true, false) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('release' as const),
      name: nameArb,
      leaseId: leaseIdArb,
      token: fc.oneof({ weight: 8, arbitrary: fc.constant('held' as const) }, { weight: 1, arbitrary: fc.constant('held-1' as const) }, { weight: 1, arbitrary: fc.nat(50) }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('withdraw' as const), name: nameArb, leaseId: leaseIdArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('release-held' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('withdraw-queued' as const), pick: fc.nat() }) },
);

const actorArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Actor>('none') },
  { weight: 4, arbitrary: fc.constant<Actor>('lease') },
  { weight: 1, arbitrary: fc.constantFrom<Actor>('alice', 'bob') },
);

export const stepArb: fc.Arbitrary<Step> = fc.record({
  spec: specArb,
  actor: actorArb,
  gap: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 4 }) }),
  newTerm: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

/** historyArb: up to `max` steps. */
export function historyArb(max: number): fc.Arbitrary<Step[]> {
  return fc.array(stepArb, { minLength: 1, maxLength: max, size: 'max' });
}

/** limitsArb: mostly tiny limits so every limit is hit, sometimes roomy ones so queues grow. */
export const limitsArb: fc.Arbitrary<LockLimits> = fc.oneof(
  fc.record({
    maxNameBytes: fc.integer({ min: 2, max: 6 }),
    maxLocksPerLease: fc.integer({ min: 1, max: 4 }),
    maxWaitsPerLease: fc.integer({ min: 1, max: 3 }),
    maxWaitersPerLock: fc.integer({ min: 1, max: 3 }),
    maxLeases: fc.integer({ min: 3, max: 6 }),
    maxLocks: fc.integer({ min: 2, max: 4 }),
    maxLeasesPerOwner: fc.integer({ min: 1, max: 3 }),
    maxLocksPerOwner: fc.integer({ min: 1, max: 5 }),
    minTtlMs: fc.constant(50),
    maxTtlMs: fc.constant(300),
  }),
  fc.constant({ maxNameBytes: 16, maxLocksPerLease: 100, maxWaitsPerLease: 100, maxWaitersPerLock: 100, maxLeases: 100, maxLocks: 100, maxLeasesPerOwner: 1000, maxLocksPerOwner: 1000, minTtlMs: 50, maxTtlMs: 300 }),
);

/** Cursor is the log position a history is at. */
export interface Cursor {
  index: number;
  term: number;
}

/** resolve turns a step into the concrete command and log position, advancing the cursor. */
export function resolve(step: Step, cursor: Cursor, model: LockModel): { command: Command; index: number; term: number } {
  if (step.newTerm) cursor.term += 1;
  cursor.index += step.gap;
  const s = step.spec;
  let command: Command;
  switch (s.op) {
    case 'grant':
      command = { type: 'grant-lease', leaseId: s.leaseId, ttlMs: s.ttlMs, idempotent: s.idempotent };
      break;
    case 'revoke':
      command = { type: 'revoke-lease', leaseId: s.leaseId };
      break;
    case 'expire':
      command = { type: 'expire-lease', leaseId: s.leaseId, proposerTerm: Math.max(0, cursor.term + s.termDelta) };
      break;
    case 'acquire':
      command = { type: 'acquire', name: s.name, leaseId: s.leaseId, mode: s.mode, wait: s.wait };
      break;
    case 'acquire-live': {
      const lease = model.leases[s.pick % Math.max(1, model.leases.length)];
      command = { type: 'acquire', name: s.name, leaseId: lease?.leaseId ?? 1, mode: s.mode, wait: s.wait };
      break;
    }
    case 'release': {
      const held = model.tokenHeld(s.name, s.leaseId) ?? 1;
      const token = s.token === 'held' ? held : s.token === 'held-1' ? Math.max(0, held - 1) : s.token;
      command = { type: 'release', name: s.name, leaseId: s.leaseId, token };
      break;
    }
    case 'withdraw':
      command = { type: 'withdraw-wait', name: s.name, leaseId: s.leaseId };
      break;
    case 'release-held': {
      const hold = model.holds[s.pick % Math.max(1, model.holds.length)];
      command = hold === undefined
        ? { type: 'release', name: 'a', leaseId: 1, token: 1 }
        : { type: 'release', name: hold.name, leaseId: hold.leaseId, token: hold.token };
      break;
    }
    case 'withdraw-queued': {
      const wait = model.waits[s.pick % Math.max(1, model.waits.length)];
      command = { type: 'withdraw-wait', name: wait?.name ?? 'a', leaseId: wait?.leaseId ?? 1 };
      break;
    }
  }
  return { command: withOwner(command, step.actor, model), index: cursor.index, term: cursor.term };
}

/** withOwner adds the step's actor to an ownable command (an expiry comes from the lease clock and has none). */
function withOwner(command: Command, actor: Actor, model: LockModel): Command {
  if (command.type === 'expire-lease' || actor === 'none') return command;
  if (actor !== 'lease') return { ...command, owner: actor };
  if (command.type === 'grant-lease') return { ...command, owner: 'alice' };
  const owner = model.ownerOf(command.leaseId);
  return owner === null || owner === '' ? command : { ...command, owner };
}

/** commandArb: any well-formed command over the full value ranges, for codec tests. */
export const commandArb: fc.Arbitrary<Command> = (() => {
  const id = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
  const uint = fc.oneof(fc.nat(300), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
  const name = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constant('\uFEFFbom'));
  // owner: absent (auth off, the original encodings) or an identity name (the owned wrapper).
  const owner = { owner: fc.oneof(fc.constant('alice'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((o) => new TextEncoder().encode(o).length <= 128)) };
  return fc.oneof(
    fc.record({ type: fc.constant('grant-lease' as const), leaseId: id, ttlMs: uint, idempotent: fc.boolean(), ...owner }, { requiredKeys: ['type', 'leaseId', 'ttlMs', 'idempotent'] as const }),
    fc.record({ type: fc.constant('revoke-lease' as const), leaseId: id, ...owner }, { requiredKeys: ['type', 'leaseId'] as const }),
    fc.record({ type: fc.constant('expire-lease' as const), leaseId: id, proposerTerm: uint }),
    fc.record({ type: fc.constant('acquire' as const), name, leaseId: id, mode: modeArb, wait: fc.boolean(), ...owner }, { requiredKeys: ['type', 'name', 'leaseId', 'mode', 'wait'] as const }),
    fc.record({ type: fc.constant('release' as const), name, leaseId: id, token: uint, ...owner }, { requiredKeys: ['type', 'name', 'leaseId', 'token'] as const }),
    fc.record({ type: fc.constant('withdraw-wait' as const), name, leaseId: id, ...owner }, { requiredKeys: ['type', 'name', 'leaseId'] as const }),
  );
})();
