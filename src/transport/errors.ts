/**
 * InvalidPeerMessageError is thrown by the message codec when a message from a
 * peer is malformed: a missing or mistyped field, a value out of range, an
 * unknown enum value or message type, or a structure Raft can never produce
 * (entries that are not contiguous, a chunk past the end of its snapshot).
 * The transport drops such a message with a warning and keeps the stream: Raft
 * retries, and a malformed message never reaches the core.
 */
export class InvalidPeerMessageError extends Error {
  override readonly name = 'InvalidPeerMessageError';
  /** path names the offending field, e.g. "append.entries[3].index". */
  readonly path: string;
  /** reason says what was wrong and what is accepted. */
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(`invalid peer message: ${path} ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}

/** TransportStoppedError is thrown by listen() on a transport that was stopped. */
export class TransportStoppedError extends Error {
  override readonly name = 'TransportStoppedError';
}
