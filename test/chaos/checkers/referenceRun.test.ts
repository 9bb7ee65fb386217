import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizability } from './linearizability.js';
import { referenceRun, type Action } from './referenceRun.js';
import { checkTokenOrder } from './tokenOrder.js';

const CLIENTS = 4;

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('acquire' as const), client: fc.nat(CLIENTS - 1), lock: fc.nat(1), mode: fc.constantFrom('exclusive' as const, 'shared' as const), wait: fc.boolean(), lost: fc.nat(5).map((n) => n === 0) }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('release' as const), client: fc.nat(CLIENTS - 1), lock: fc.nat(1), lost: fc.nat(5).map((n) => n === 0) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('get' as const), client: fc.nat(CLIENTS - 1), lock: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('expire' as const), client: fc.nat(CLIENTS - 1) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('revoke' as const), client: fc.nat(CLIENTS - 1), lost: fc.nat(5).map((n) => n === 0) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('withdraw' as const), client: fc.nat(CLIENTS - 1) }) },
);

describe('histories of a sequential run of the real lock state machine', () => {
  it('are always accepted by the linearizability and token checkers', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 40 }), (actions) => {
        const history = referenceRun(CLIENTS, actions);
        const lin = checkLinearizability(history);
        expect(lin.violations).toEqual([]);
        expect(checkTokenOrder(history).violations).toEqual([]);
      }),
      { numRuns: 300, seed: 20261122 },
    );
  });

  it('stop being accepted when one Get is made to show a holder that was never granted', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 30 }), (actions) => {
        const history = referenceRun(CLIENTS, actions);
        const get = history.ops.find((op) => op.kind === 'get');
        fc.pre(get !== undefined);
        get!.result = { holders: [...(get!.result?.holders ?? []), { leaseId: '99', token: '1', mode: 'exclusive' }], waiters: get!.result?.waiters ?? [] };
        expect(checkLinearizability(history).ok).toBe(false);
      }),
      { numRuns: 100, seed: 20261122 },
    );
  });
});
