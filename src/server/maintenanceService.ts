import type * as grpc from '@grpc/grpc-js';
import { crc32 } from 'node:zlib';
import type { NodeSnapshot } from '../node/nodeApi.js';
import type { SnapshotChunk, SnapshotRequest } from './apiProto.js';
import { callerAtLeader, routeOrPark, toStatus, type ServerCall, type ServerContext } from './rpc.js';
import { requireClusterAdmin } from './access.js';
import { forwardingMetadata } from './callerIdentity.js';

/**
 * The Maintenance service: operator calls. Snapshot streams the whole lock
 * state, taken on the leader after a ReadIndex round (node.snapshot), in
 * chunks of at most MAINTENANCE_CHUNK_BYTES, writing the next chunk only when
 * the caller has drained the previous ones. A follower forwards the call.
 */

/** MAINTENANCE_CHUNK_BYTES bounds one SnapshotChunk's data. */
export const MAINTENANCE_CHUNK_BYTES = 1 << 20;

type SnapshotCall = grpc.ServerWritableStream<SnapshotRequest, SnapshotChunk>;

export function maintenanceHandlers(ctx: ServerContext): grpc.UntypedServiceImplementation {
  const Snapshot: grpc.handleServerStreamingCall<SnapshotRequest, SnapshotChunk> = (call) => {
    serveSnapshot(ctx, call).catch((err: unknown) => {
      if (!call.cancelled) call.emit('error', toStatus(ctx, err, 'Snapshot').toStatus());
    });
  };
  return { Snapshot };
}

async function serveSnapshot(ctx: ServerContext, call: SnapshotCall): Promise<void> {
  // routeOrPark reads only the call's metadata and deadline, which a server stream has like any call.
  const where = await routeOrPark(ctx, call as unknown as ServerCall, null);
  if (where.kind === 'forward') {
    ctx.forwarder.serverStream<SnapshotRequest, SnapshotChunk>('Maintenance', 'Snapshot', call.request, call, where.leader, forwardingMetadata(call, ctx.auth));
    return;
  }
  // The snapshot holds every lease and lock, and the token hashes: only a cluster admin may take it.
  requireClusterAdmin(ctx, await callerAtLeader(ctx, call as unknown as ServerCall), 'save a snapshot of the cluster');
  const snap = await ctx.node.snapshot();
  ctx.logger.info({ index: snap.index, term: snap.term, bytes: snap.data.length }, 'snapshot requested by an operator: streaming the lock state');
  for (const chunk of snapshotChunks(snap)) {
    if (call.cancelled) return;
    if (!call.write(chunk)) await drained(call);
  }
  call.end();
}

/** snapshotChunks splits a snapshot into messages: the header rides in the first (also when the data is empty). */
export function* snapshotChunks(snap: NodeSnapshot): Generator<SnapshotChunk> {
  const header = { clusterId: snap.clusterId, index: String(snap.index), term: String(snap.term), totalBytes: String(snap.data.length), crc32: crc32(snap.data) };
  const none = { clusterId: '', index: '0', term: '0', totalBytes: '0', crc32: 0 };
  let at = 0;
  do {
    const data = snap.data.subarray(at, at + MAINTENANCE_CHUNK_BYTES);
    yield { ...(at === 0 ? header : none), data };
    at += data.length;
  } while (at < snap.data.length);
}

function drained(call: SnapshotCall): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}
