import * as grpc from '@grpc/grpc-js';
import type { KeepAliveStream } from './system.js';

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

type DuplexFn<Reply> = (md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientDuplexStream<object, Reply>;

/**
 * openKeepAlive opens the bidirectional lease keep-alive stream `method` on a
 * generic stub as a KeepAliveStream. Only the messages differ between the
 * systems: request(leaseId) builds one renewal request, reply(r) reads the
 * lease id and its TTL in ms back out of a reply.
 */
export function openKeepAlive<Reply>(
  client: grpc.Client,
  method: string,
  request: (leaseId: string) => object,
  reply: (r: Reply) => { readonly leaseId: string; readonly ttlMs: number },
): KeepAliveStream {
  const open = (client as unknown as Record<string, DuplexFn<Reply> | undefined>)[method];
  if (open === undefined) throw new Error(`the stub has no method ${method}`);
  const stream = open.call(client, new grpc.Metadata(), {});
  return {
    send: (leaseId) => void stream.write(request(leaseId)),
    onReply: (cb) =>
      void stream.on('data', (r: Reply) => {
        const { leaseId, ttlMs } = reply(r);
        cb(leaseId, ttlMs);
      }),
    onError: (cb) => void stream.on('error', (e: Error) => cb(e)),
    close: () => {
      stream.on('error', () => undefined);
      stream.cancel();
    },
  };
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

/**
 * MemberStubs: a client's stubs, one set per member (by member index), all of
 * a set sharing the channel of its `lease` stub, so closing the lease stubs
 * closes every channel. Both systems' clients are built this way.
 */
export abstract class MemberStubs<S extends { readonly lease: grpc.Client }> {
  protected constructor(private readonly stubs: readonly S[]) {}

  close(): void {
    for (const s of this.stubs) s.lease.close();
  }

  protected at(member: number): S {
    const s = this.stubs[member];
    if (s === undefined) throw new Error(`no member #${member}`);
    return s;
  }
}
