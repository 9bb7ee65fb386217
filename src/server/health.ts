import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { NodeApi } from '../node/nodeApi.js';
import { API_PACKAGE } from './apiProto.js';

/**
 * Health serves the standard grpc.health.v1.Health service (grpc-health-check):
 * SERVING while this node knows a leader (it can serve or forward every call),
 * NOT_SERVING otherwise and once the server is stopping. The status applies to
 * the whole server ("") and to each raftlock service by its full name.
 *
 * Check, and the first status of a Watch, report the node's state at the
 * moment they are asked; Watch streams see later changes within pollMs.
 */
export const HEALTH_SERVICE_NAMES: readonly string[] = ['', `${API_PACKAGE}.Lease`, `${API_PACKAGE}.Lock`, `${API_PACKAGE}.Cluster`];

export class Health {
  private readonly impl = new HealthImplementation();
  private current: ServingStatus | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly node: NodeApi) {
    this.refresh();
  }

  /** addTo registers the service on `server`, refreshing the status before each Check and each new Watch. */
  addTo(server: grpc.Server, pollMs: number): void {
    this.impl.addToServer({
      addService: (definition, implementation) => {
        const check = implementation['check'] as grpc.handleUnaryCall<unknown, unknown>;
        const watch = implementation['watch'] as grpc.handleServerStreamingCall<unknown, unknown>;
        server.addService(definition as grpc.ServiceDefinition, {
          ...implementation,
          check: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
            this.refresh();
            check(call, callback);
          },
          watch: (call: grpc.ServerWritableStream<unknown, unknown>) => {
            this.refresh();
            watch(call);
          },
        } as grpc.UntypedServiceImplementation);
      },
    });
    this.timer = setInterval(() => this.refresh(), pollMs);
    this.timer.unref();
  }

  /** refresh recomputes the status from the node and tells watchers when it changed. */
  refresh(): void {
    let next: ServingStatus = 'NOT_SERVING';
    if (!this.stopped) {
      try {
        next = this.node.leader() !== null ? 'SERVING' : 'NOT_SERVING';
      } catch {
        next = 'NOT_SERVING';
      }
    }
    if (next === this.current) return;
    this.current = next;
    for (const name of HEALTH_SERVICE_NAMES) this.impl.setStatus(name, next);
  }

  /** stop reports NOT_SERVING from now on and stops polling. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.refresh();
  }
}
