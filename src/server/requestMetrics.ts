import * as grpc from '@grpc/grpc-js';

/**
 * requestMetrics counts every gRPC call the node answers, by method and
 * status code, through a server interceptor: one place sees every service
 * (Lease, Lock, Cluster, Health) and every way a call ends (a handler's
 * reply, a validation error, a stream's end). The server knows nothing of
 * the metrics library: it calls `count`.
 */

/** RequestCounter receives the method path ("/raftlock.v1.Lock/Acquire") and the status code a call ended with. */
export type RequestCounter = (method: string, code: grpc.status) => void;

/** requestCountingInterceptor calls `count` once for each call whose status this server sends. */
export function requestCountingInterceptor(count: RequestCounter): grpc.ServerInterceptor {
  return (method, call) => new grpc.ServerInterceptingCall(call, {
    sendStatus: (status, next) => {
      count(method.path, status.code);
      next(status);
    },
  });
}
