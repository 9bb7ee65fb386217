import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { History } from '../history.js';
import { checkLinearizability } from './linearizability.js';

/**
 * Histories recorded by real chaos runs, kept because the checkers found
 * something in them (trimmed to the ops the finding needs).
 */
function load(name: string): History {
  return JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8')) as History;
}

describe('real chaos histories', () => {
  it('rejects scenario 10 at seed 10: a waiter lost its queue place when the follower forwarding its wait died', () => {
    // w00 was seen at the head of the queue, then its forwarded wait broke with the node, the leader
    // withdrew it and the client's retry queued it at the back: granted last (token 157), after w01 (107).
    const r = checkLinearizability(load('queueOrderLostPlace.json'));
    expect(r.ok).toBe(false);
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatch(/^lock "lock-10": not linearizable; no order of effects explains op #55 \[w01\] acquire exclusive "lock-10" .* ok -> token 107/);
  });
});

describe('real chaos histories: the 30-minute run at seed 1122', () => {
  it('rejects a shared waiter granted out of queue order when its wait outran a majorities-ring partition', () => {
    // The first 120 s of lock-c. Queue (Get #3236): 684196742510735, 388025651533807, 2681706160857595 (c4, shared),
    // 4381891031705736 (c2, shared). c2 was granted token 1658 alone and c4 token 1661, both after their waitMs: most likely c4's wait ran out while its
    // call was cut off, the server withdrew it, and the client's retry was a fresh try (fixed in the client:
    // test/client/acquireRetryAfterWait.test.ts).
    const r = checkLinearizability(load('sharedWaiterLostPlace.json'));
    expect(r.ok).toBe(false);
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatch(/^lock "lock-c": not linearizable; no order of effects explains op #3263 \[c6\] release "lock-c" lease 684196742510735 token 1635 ok/);
  });
});
