import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import type { PeerAckWire, PeerBatchWire } from './messageCodec.js';

/**
 * raftProto loads proto/raft.proto (found relative to this module, so any
 * working directory works) and exposes the RaftPeer service definition.
 */

/** RAFT_PROTO_PATH is the absolute path of the peer protocol definition. */
export const RAFT_PROTO_PATH = join(import.meta.dirname, '..', '..', 'proto', 'raft.proto');

/**
 * PROTO_LOADER_OPTIONS: camelCase field names, uint64 as JS numbers (the codec
 * rejects anything above MAX_SAFE_INTEGER), enums by name, every scalar field
 * present with its default, and the name of the set oneof case in `body`.
 */
export const PROTO_LOADER_OPTIONS: Options = Object.freeze({
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

/** STREAM_METHOD_PATH is the full gRPC method name of RaftPeer.Stream. */
export const STREAM_METHOD_PATH = '/raftlock.raft.v1.RaftPeer/Stream';

/**
 * MAX_MESSAGE_BYTES is the gRPC max message size, send and receive, on peer
 * links: 16 MiB. One PeerBatch must fit it. The core bounds an AppendEntries
 * message (maxBytesPerMsg, 1 MiB by default, plus at most one entry of up to
 * maxEntryBytes) and a snapshot chunk (snapshotChunkBytes, 1 MiB), and the
 * sender closes a batch at maxBatchBytes (4 MiB by default), so a batch stays
 * well inside it; a single message that could not fit is dropped by the sender.
 */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export type StreamMethod = grpc.MethodDefinition<PeerBatchWire, PeerAckWire>;

let cached: grpc.ServiceDefinition | null = null;

/** raftPeerService returns the RaftPeer service definition, loading the proto file once. */
export function raftPeerService(): grpc.ServiceDefinition {
  if (cached === null) {
    const pkg = loadSync(RAFT_PROTO_PATH, PROTO_LOADER_OPTIONS);
    const service = pkg['raftlock.raft.v1.RaftPeer'];
    if (service === undefined || !('Stream' in service)) {
      throw new Error(`${RAFT_PROTO_PATH} does not define service raftlock.raft.v1.RaftPeer with method Stream`);
    }
    cached = service as grpc.ServiceDefinition;
  }
  return cached;
}

/** streamMethod returns the typed definition of RaftPeer.Stream (serializers and path). */
export function streamMethod(): StreamMethod {
  return raftPeerService()['Stream'] as StreamMethod;
}
