import * as grpc from '@grpc/grpc-js';

/** grpcCall: promisified unary calls and status-code helpers over raw grpc-js stubs. */

type UnaryFn = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => grpc.ClientUnaryCall;

/** unary calls `method` on a generic stub with a deadline of deadlineMs from now. */
export function unary<Res>(client: grpc.Client, method: string, request: object, deadlineMs: number): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryFn | undefined>)[method];
  if (fn === undefined) throw new Error(`the stub has no method ${method}`);
  return new Promise<Res>((resolve, reject) => {
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
      if (err !== null) reject(err);
      else resolve(res as Res);
    });
  });
}

/** CHANNEL_OPTIONS: quick reconnects, so a restarted member is found again within a fraction of a second. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = Object.freeze({
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 250,
  'grpc.max_receive_message_length': 64 << 20,
});

/** codeOf is the gRPC status code of an error, or -1. */
export function codeOf(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : -1;
}

/** describeError renders an error in one line (gRPC code name and details when there are some). */
export function describeError(err: unknown): string {
  const e = err as Partial<grpc.ServiceError> | null;
  if (e !== null && typeof e === 'object' && typeof e.code === 'number') return `${grpc.status[e.code] ?? e.code}: ${e.details ?? e.message ?? ''}`;
  return err instanceof Error ? err.message : String(err);
}
