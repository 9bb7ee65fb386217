import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../../../src/lock/commandCodec.js';
import type { LockLimits } from '../../../src/lock/limits.js';
import type { ApplyResult } from '../../../src/lock/results.js';
import { LockStateMachine } from '../../../src/lock/stateMachine.js';
import type { Cursor, Step } from './arbitraries.js';
import { historyArb, limitsArb, resolve } from './arbitraries.js';
import { LockModel } from './model.js';

/**
 * Random histories against the reference model (model.ts). Each run draws the
 * limits too, so the tiny-limit refusals and the long-queue paths both get
 * exercised.
 */

const RUNS = 300;
const MAX_STEPS = 200;

function observeMachine(sm: LockStateMachine): unknown {
  return {
    lastAppliedIndex: sm.lastAppliedIndex,
    leases: sm.listLeases().map((l) => ({ ...l, info: sm.getLease(l.leaseId) })),
    locks: sm.listLocks().map((name) => sm.getLock(name)),
    probes: ['a', 'b', 'c'].map((name) => sm.getLock(name)),
    counts: sm.counts(),
  };
}

function observeModel(model: LockModel): unknown {
  return {
    lastAppliedIndex: model.lastAppliedIndex,
    leases: model.leaseList().map((l) => ({ leaseId: l.leaseId, owner: l.owner, ttlMs: l.ttlMs, grantedIndex: l.grantedIndex, info: model.lease(l.leaseId) })),
    locks: model.lockNames().map((name) => model.lock(name)),
    probes: ['a', 'b', 'c'].map((name) => model.lock(name)),
    counts: model.counts(),
  };
}

/** newTokens lists every token this apply granted afresh (a direct grant or a promotion). */
function newTokens(applied: ApplyResult): number[] {
  const tokens = applied.promoted.map((p) => p.token);
  if (applied.result.kind === 'granted' && !applied.result.existing) tokens.push(applied.result.token);
  return tokens;
}

/** replay runs `steps` on a machine and the model in lockstep, calling `each` after every step. */
function replay(limits: LockLimits, steps: readonly Step[], each: (sm: LockStateMachine, model: LockModel, applied: ApplyResult) => void): void {
  const sm = new LockStateMachine(limits);
  const model = new LockModel(limits);
  const cursor: Cursor = { index: 0, term: 1 };
  for (const step of steps) {
    const { command, index, term } = resolve(step, cursor, model);
    const applied = sm.apply({ index, term, data: encodeCommand(command) });
    const expected = model.apply(index, term, command);
    expect(applied).toEqual(expected);
    each(sm, model, applied);
  }
}

describe('LockStateMachine against the reference model', () => {
  it('gives the same results and observable state, keeps its invariants and round-trips snapshots at every step', () => {
    let grants = 0;
    let promotions = 0;
    let refusals = 0;
    const ownerRefusals = { notOwned: 0, maxLeasesPerOwner: 0, maxLocksPerOwner: 0 };
    fc.assert(
      fc.property(limitsArb, historyArb(MAX_STEPS), (limits, steps) => {
        let lastGrantIndex = 0;
        replay(limits, steps, (sm, model, applied) => {
          sm.checkInvariants();
          expect(observeMachine(sm)).toEqual(observeModel(model));
          // Fencing tokens: every fresh grant carries this entry's index, which exceeds every earlier grant's.
          for (const token of newTokens(applied)) {
            expect(token).toBe(applied.index);
            expect(token).toBeGreaterThan(lastGrantIndex);
          }
          if (newTokens(applied).length > 0) lastGrantIndex = applied.index;
          // A lease that is gone is never granted anything.
          for (const p of applied.promoted) expect(applied.leasesRemoved).not.toContain(p.leaseId);
          const image = sm.snapshot();
          expect(LockStateMachine.restore(image, limits).snapshot()).toEqual(image);
          grants += newTokens(applied).length;
          promotions += applied.promoted.length;
          const r = applied.result;
          if (r.kind === 'lease-not-owned') ownerRefusals.notOwned++;
          if (r.kind === 'limit-exceeded' && (r.limit === 'maxLeasesPerOwner' || r.limit === 'maxLocksPerOwner')) ownerRefusals[r.limit]++;
          if (!['lease-granted', 'lease-revoked', 'lease-expired', 'granted', 'queued', 'released', 'withdrawn', 'not-waiting'].includes(applied.result.kind)) refusals++;
        });
      }),
      { numRuns: RUNS },
    );
    // The generators must produce real contention, or the property proves little.
    expect(grants).toBeGreaterThan(RUNS * 5);
    expect(promotions).toBeGreaterThan(RUNS / 2);
    expect(refusals).toBeGreaterThan(RUNS * 5);
    // Owners and their quotas are exercised too (leases belong to whoever granted them).
    expect(ownerRefusals.notOwned).toBeGreaterThan(RUNS);
    expect(ownerRefusals.maxLeasesPerOwner).toBeGreaterThan(RUNS / 10);
    expect(ownerRefusals.maxLocksPerOwner).toBeGreaterThan(RUNS / 10);
  });

  it('restoring a snapshot taken at any point and replaying the rest equals never snapshotting', () => {
    fc.assert(
      fc.property(limitsArb, historyArb(MAX_STEPS), fc.nat(), (limits, steps, cutSeed) => {
        const cut = cutSeed % (steps.length + 1);
        const full = new LockStateMachine(limits);
        const model = new LockModel(limits);
        const cursor: Cursor = { index: 0, term: 1 };
        const records = steps.map((step) => {
          const { command, index, term } = resolve(step, cursor, model);
          model.apply(index, term, command);
          return { index, term, data: encodeCommand(command) };
        });
        const fullResults = records.map((r) => full.apply(r));

        const prefix = new LockStateMachine(limits);
        records.slice(0, cut).forEach((r) => prefix.apply(r));
        const image = prefix.snapshot();
        const restored = LockStateMachine.restore(image, limits);
        expect(restored.lastAppliedIndex).toBe(prefix.lastAppliedIndex);
        const restResults = records.slice(cut).map((r) => restored.apply(r));
        restored.checkInvariants();

        expect(restResults).toEqual(fullResults.slice(cut));
        expect(restored.snapshot()).toEqual(full.snapshot());
        expect(observeMachine(restored)).toEqual(observeMachine(full));
      }),
      { numRuns: 150 },
    );
  });
});
