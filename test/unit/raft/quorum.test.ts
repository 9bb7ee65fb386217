import { describe, expect, it } from 'vitest';
import { majority, quorumIndex, voteOutcome, type VoteOutcome } from '../../../src/raft/quorum.js';

describe('majority', () => {
  const cases: ReadonlyArray<{ voters: number; quorum: number }> = [
    { voters: 1, quorum: 1 },
    { voters: 2, quorum: 2 },
    { voters: 3, quorum: 2 },
    { voters: 4, quorum: 3 },
    { voters: 5, quorum: 3 },
    { voters: 6, quorum: 4 },
    { voters: 7, quorum: 4 },
  ];
  it.each(cases)('$voters voters need $quorum', ({ voters, quorum }) => {
    expect(majority(voters)).toBe(quorum);
  });
});

describe('quorumIndex', () => {
  const cases: ReadonlyArray<{ name: string; matches: number[]; want: number }> = [
    { name: 'no voters', matches: [], want: 0 },
    { name: 'single voter', matches: [5], want: 5 },
    { name: 'two voters need both', matches: [1, 2], want: 1 },
    { name: 'three voters: the median', matches: [3, 1, 2], want: 2 },
    { name: 'three voters: two ahead', matches: [5, 5, 1], want: 5 },
    { name: 'three voters: one ahead', matches: [9, 1, 1], want: 1 },
    { name: 'four voters need three', matches: [1, 2, 3, 4], want: 2 },
    { name: 'five voters: the third highest', matches: [1, 2, 3, 4, 5], want: 3 },
    { name: 'five voters: three ahead', matches: [9, 0, 0, 9, 9], want: 9 },
    { name: 'five voters: one ahead', matches: [0, 0, 0, 0, 9], want: 0 },
    { name: 'seven voters', matches: [7, 6, 5, 4, 3, 2, 1], want: 4 },
    { name: 'ties', matches: [4, 4, 4, 4, 4], want: 4 },
  ];
  it.each(cases)('$name: $matches -> $want', ({ matches, want }) => {
    const before = [...matches];
    expect(quorumIndex(matches)).toBe(want);
    expect(matches).toEqual(before); // the input is not reordered
  });
});

describe('voteOutcome', () => {
  const cases: ReadonlyArray<{ voters: number; granted: number; rejected: number; want: VoteOutcome }> = [
    { voters: 1, granted: 0, rejected: 0, want: 'pending' },
    { voters: 1, granted: 1, rejected: 0, want: 'won' },
    { voters: 1, granted: 0, rejected: 1, want: 'lost' },
    { voters: 3, granted: 1, rejected: 0, want: 'pending' },
    { voters: 3, granted: 2, rejected: 0, want: 'won' },
    { voters: 3, granted: 1, rejected: 1, want: 'pending' },
    { voters: 3, granted: 1, rejected: 2, want: 'lost' },
    { voters: 3, granted: 2, rejected: 1, want: 'won' },
    { voters: 4, granted: 2, rejected: 1, want: 'pending' },
    { voters: 4, granted: 2, rejected: 2, want: 'lost' },
    { voters: 4, granted: 3, rejected: 1, want: 'won' },
    { voters: 5, granted: 2, rejected: 2, want: 'pending' },
    { voters: 5, granted: 3, rejected: 2, want: 'won' },
    { voters: 5, granted: 2, rejected: 3, want: 'lost' },
    { voters: 5, granted: 1, rejected: 0, want: 'pending' },
    { voters: 7, granted: 3, rejected: 3, want: 'pending' },
    { voters: 7, granted: 4, rejected: 0, want: 'won' },
    { voters: 7, granted: 3, rejected: 4, want: 'lost' },
  ];
  it.each(cases)('$voters voters, $granted granted, $rejected rejected: $want', ({ voters, granted, rejected, want }) => {
    expect(voteOutcome(granted, rejected, voters)).toBe(want);
  });
});
