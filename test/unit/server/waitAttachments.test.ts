import { afterEach, describe, expect, it } from 'vitest';
import { WaitAttachments, type Expiring } from '../../../src/server/waitAttachments.js';
import { sleep, waitFor } from './harness.js';

const made: WaitAttachments[] = [];
afterEach(() => {
  for (const w of made.splice(0)) w.clear();
});

function attachments(maxHeld: number): WaitAttachments {
  const w = new WaitAttachments(maxHeld);
  made.push(w);
  return w;
}

describe('WaitAttachments', () => {
  it('detach tells whether another call of the same wait is still attached', () => {
    const w = attachments(10);
    w.attach('a', 1);
    w.attach('a', 1);
    w.attach('a', 2);
    expect(w.detach('a', 1)).toBe(true);
    expect(w.detach('a', 1)).toBe(false);
    expect(w.detach('a', 2)).toBe(false);
    expect(w.size).toBe(0);
  });

  it('a hold expires when no call attaches, and is forgotten once done', async () => {
    const w = attachments(10);
    const expired: Expiring[] = [];
    expect(w.hold('a', 1, 10, (e) => expired.push(e))).toBe(true);
    await waitFor(() => expired.length === 1, 'the hold to expire');
    expect(expired[0]?.reattached()).toBe(false);
    expect(w.held).toBe(1);
    expired[0]?.done();
    expect(w.held).toBe(0);
    expect(w.size).toBe(0);
  });

  it('an attach takes a held wait over: its expiry never runs', async () => {
    const w = attachments(10);
    let expired = 0;
    expect(w.hold('a', 1, 20, () => expired++)).toBe(true);
    w.attach('a', 1);
    expect(w.held).toBe(0);
    await sleep(60);
    expect(expired).toBe(0);
    expect(w.detach('a', 1)).toBe(false);
    expect(w.size).toBe(0);
  });

  it('an attach during the withdrawal marks it re-attached', async () => {
    const w = attachments(10);
    const expired: Expiring[] = [];
    w.hold('a', 1, 0, (e) => expired.push(e));
    await waitFor(() => expired.length === 1, 'the hold to expire');
    w.attach('a', 1);
    expect(expired[0]?.reattached()).toBe(true);
    expired[0]?.done();
    expect(w.detach('a', 1)).toBe(false);
    expect(w.size).toBe(0);
  });

  it('refuses to hold beyond maxHeld, or while a call is attached', () => {
    const w = attachments(2);
    expect(w.hold('a', 1, 10_000, () => undefined)).toBe(true);
    expect(w.hold('b', 1, 10_000, () => undefined)).toBe(true);
    expect(w.hold('c', 1, 10_000, () => undefined)).toBe(false);
    expect(w.held).toBe(2);
    w.attach('d', 1);
    expect(w.hold('d', 1, 10_000, () => undefined)).toBe(false);
    w.clear();
    expect(w.held).toBe(0);
    expect(w.size).toBe(1);
  });

  it('clear forgets held waits without expiring them', async () => {
    const w = attachments(10);
    let expired = 0;
    w.hold('a', 1, 10, () => expired++);
    w.clear();
    await sleep(40);
    expect(expired).toBe(0);
    expect(w.size).toBe(0);
  });

  it('rejects a bad bound', () => {
    expect(() => new WaitAttachments(-1)).toThrow(/maxHeld must be a non-negative integer, got -1/);
  });
});
