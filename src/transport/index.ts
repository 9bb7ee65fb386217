/**
 * transport carries Raft messages between the nodes of a cluster over gRPC
 * (proto/raft.proto). The node shell uses PeerTransport; the codec is exported
 * for tests and tools that speak the peer protocol.
 */
export { InvalidPeerMessageError, TransportStoppedError } from './errors.js';
export { decodeMessage, encodeMessage, MAX_NODE_ID_LENGTH, MAX_VOTERS } from './messageCodec.js';
export { PeerTransport, type PeerStats, type PeerTransportOptions, type TransportStats } from './peerTransport.js';
export { MAX_MESSAGE_BYTES, RAFT_PROTO_PATH } from './raftProto.js';
