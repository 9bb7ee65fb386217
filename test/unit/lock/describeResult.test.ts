import { describe, expect, it } from 'vitest';
import { describeResult } from '../../../src/lock/describeResult.js';
import type { CommandResult } from '../../../src/lock/results.js';

/** One sample of every result kind, with the words its message must contain. */
const samples: Array<[CommandResult, RegExp[]]> = [
  [{ kind: 'lease-granted', leaseId: 7, ttlMs: 1000, grantedIndex: 3, existing: false }, [/lease 7 granted/, /1000 ms/]],
  [{ kind: 'lease-granted', leaseId: 7, ttlMs: 1000, grantedIndex: 3, existing: true }, [/already granted/]],
  [{ kind: 'lease-revoked', leaseId: 7, locksReleased: ['a', 'b'], waitsCancelled: [] }, [/revoked/, /"a", "b"/, /none/]],
  [{ kind: 'lease-expired', leaseId: 7, locksReleased: [], waitsCancelled: ['c'] }, [/expired/, /"c"/]],
  [{ kind: 'granted', name: 'a', leaseId: 7, mode: 'shared', token: 12, existing: false }, [/granted shared/, /token 12/]],
  [{ kind: 'granted', name: 'a', leaseId: 7, mode: 'exclusive', token: 12, existing: true }, [/already held/]],
  [{ kind: 'queued', name: 'a', leaseId: 7, mode: 'exclusive', position: 2, queuedIndex: 9 }, [/queued/, /2 waiter/]],
  [{ kind: 'released', name: 'a', leaseId: 7, token: 12 }, [/released/, /token 12/]],
  [{ kind: 'withdrawn', name: 'a', leaseId: 7 }, [/withdrawn/]],
  [{ kind: 'not-waiting', name: 'a', leaseId: 7, heldToken: null }, [/not waiting/, /nothing to withdraw/]],
  [{ kind: 'not-waiting', name: 'a', leaseId: 7, heldToken: 14 }, [/already holds it with token 14/]],
  [{ kind: 'lease-not-found', leaseId: 7 }, [/lease 7 not found/, /grant a new lease/]],
  [{ kind: 'lease-id-conflict', leaseId: 7, ttlMs: 1000, requestedTtlMs: 2000 }, [/1000 ms/, /asked 2000 ms/, /another lease id/]],
  [{ kind: 'lease-id-taken', leaseId: 7 }, [/already in use/, /choose another id/]],
  [{ kind: 'stale-expiry', leaseId: 7, proposerTerm: 3, entryTerm: 4 }, [/term 3/, /term 4/, /ignored/]],
  [{ kind: 'held', name: 'a', mode: 'exclusive', holders: [{ leaseId: 1, token: 5, mode: 'exclusive' }], waiters: 0 }, [/held by lease 1 \(exclusive, token 5\)/, /an exclusive try-lock needs it free/, /wait/]],
  [
    {
      kind: 'held',
      name: 'a',
      mode: 'shared',
      holders: [1, 2, 3, 4, 5].map((leaseId) => ({ leaseId, token: 5, mode: 'shared' as const })),
      waiters: 2,
    },
    [/and 2 more/, /2 waiter\(s\) queued/, /shared with nobody queued/],
  ],
  [{ kind: 'mode-mismatch', name: 'a', leaseId: 7, requested: 'exclusive', current: 'shared', state: 'holding' }, [/already holding/, /shared mode/, /asked exclusive/]],
  [{ kind: 'not-holder', name: 'a', leaseId: 7, holders: [] }, [/does not hold/, /it is free/, /only a current holder/]],
  [{ kind: 'not-holder', name: 'a', leaseId: 7, holders: [{ leaseId: 2, token: 9, mode: 'exclusive' }] }, [/held by lease 2/]],
  [{ kind: 'stale-token', name: 'a', leaseId: 7, token: 3, currentToken: 9 }, [/token 3 does not match/, /token 9/]],
  [{ kind: 'invalid-name', byteLength: 300, maxNameBytes: 256 }, [/300 bytes/, /accepted: 1 to 256 bytes/]],
  [{ kind: 'invalid-ttl', ttlMs: 10, minTtlMs: 500, maxTtlMs: 3_600_000 }, [/ttl 10 ms/, /accepted: 500 to 3600000 ms/]],
  [{ kind: 'limit-exceeded', limit: 'maxLocksPerLease', max: 1000 }, [/maxLocksPerLease/, /1000/, /release some/]],
  [{ kind: 'limit-exceeded', limit: 'maxWaitsPerLease', max: 10 }, [/maxWaitsPerLease/, /withdraw/]],
  [{ kind: 'limit-exceeded', limit: 'maxLeases', max: 10 }, [/maxLeases/, /revoke/]],
  [{ kind: 'limit-exceeded', limit: 'maxLocks', max: 10 }, [/maxLocks/]],
];

describe('describeResult', () => {
  for (const [result, patterns] of samples) {
    it(`describes ${result.kind}${'existing' in result && result.existing ? ' (existing)' : ''} in one line`, () => {
      const text = describeResult(result);
      expect(text).not.toContain('\n');
      for (const pattern of patterns) expect(text).toMatch(pattern);
    });
  }

  it('quotes names so odd characters stay visible', () => {
    expect(describeResult({ kind: 'withdrawn', name: 'a"\n', leaseId: 1 })).toContain('"a\\"\\n"');
  });
});
