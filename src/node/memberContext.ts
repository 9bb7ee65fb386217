/**
 * memberContext: the addresses of a member added at run time, carried in its
 * add-learner log entry as the opaque context the Raft core keeps (and puts
 * in snapshots), so every node — and every node that restarts or installs a
 * snapshot later — learns where to reach it without a new config file.
 */
export interface MemberAddresses {
  readonly clientAddress: string;
  readonly peerAddress: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeMemberContext(a: MemberAddresses): Uint8Array {
  return encoder.encode(JSON.stringify({ clientAddress: a.clientAddress, peerAddress: a.peerAddress }));
}

/** decodeMemberContext returns null for a context that is not ours (empty, or written by something else). */
export function decodeMemberContext(data: Uint8Array): MemberAddresses | null {
  if (data.length === 0) return null;
  try {
    const o = JSON.parse(decoder.decode(data)) as Record<string, unknown>;
    if (typeof o.clientAddress !== 'string' || typeof o.peerAddress !== 'string') return null;
    return { clientAddress: o.clientAddress, peerAddress: o.peerAddress };
  } catch {
    return null;
  }
}
