import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/cli/duration.js';
import { EXIT, UsageError } from '../../src/cli/errors.js';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['1500', 1500],
    ['500ms', 500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5s', 1500],
    ['.5s', 500],
    ['0.25m', 15_000],
    [' 10s ', 10_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text, '--ttl')).toBe(ms);
  });

  it.each(['', 'abc', '-5', '-5s', '10x', '10 s', '5sec', 's', '1.5', '0.5ms', '1s2s', '1e3', '10S', '99999999999999999999', 'Infinity'])(
    'refuses %j with one line naming the flag and what is accepted',
    (text) => {
      let err: unknown;
      try {
        parseDuration(text, '--wait');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      const e = err as UsageError;
      expect(e.exitCode).toBe(EXIT.usage);
      expect(e.message).not.toContain('\n');
      expect(e.message).toBe(`invalid --wait ${JSON.stringify(text)}: expected a duration such as 500ms, 10s, 2m or 1m30s, or plain milliseconds such as 1500`);
    },
  );

  it('enforces bounds with the bound in the message', () => {
    expect(() => parseDuration('0', '--ttl', { min: 1 })).toThrow('invalid --ttl "0": must be at least 1ms');
    expect(() => parseDuration('2h', '--wait', { max: 3_600_000 })).toThrow('invalid --wait "2h": must be at most 1h');
    expect(parseDuration('1h', '--wait', { max: 3_600_000 })).toBe(3_600_000);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [500, '500ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [10_000, '10s'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [3_723_004, '1h2m3.004s'],
  ])('renders %d ms as %j, which parses back', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text, 'x')).toBe(ms);
  });
});
