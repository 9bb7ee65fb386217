/**
 * Quorum arithmetic for a single majority configuration. Kept apart from the
 * state machine so commit and vote counting can be tested on their own.
 */

/** majority is the number of voters that forms a quorum. */
export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * quorumIndex returns the largest value that at least a majority of `values`
 * are at or above: the committed index given every voter's match index, or the
 * confirmed read round given every voter's acknowledged round.
 */
export function quorumIndex(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => b - a);
  return sorted[majority(values.length) - 1] as number;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** voteOutcome tallies granted and rejected votes against a voter count. */
export function voteOutcome(granted: number, rejected: number, voterCount: number): VoteOutcome {
  const need = majority(voterCount);
  if (granted >= need) return 'won';
  if (rejected > voterCount - need) return 'lost';
  return 'pending';
}
