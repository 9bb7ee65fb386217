import * as grpc from '@grpc/grpc-js';

/**
 * ApiError is a request's outcome as a gRPC status: a code, a message that
 * says what was wrong and what is accepted, and optional trailing metadata
 * (leader redirect, lock holders). Handlers throw it; the call wrappers in
 * rpc.ts turn it into the call's status.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly code: grpc.status,
    message: string,
    readonly metadata: grpc.Metadata = new grpc.Metadata(),
  ) {
    super(message);
  }

  /** toStatus is the shape grpc-js accepts for a unary callback's error and a stream's 'error' event. */
  toStatus(): grpc.StatusObject {
    return { code: this.code, details: this.message, metadata: this.metadata };
  }
}

/** invalidArgument is an INVALID_ARGUMENT ApiError. */
export function invalidArgument(message: string): ApiError {
  return new ApiError(grpc.status.INVALID_ARGUMENT, message);
}
