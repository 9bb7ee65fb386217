/**
 * The client-facing server: the public gRPC API of proto/raftlock.proto in
 * front of a NodeApi, with validation, status mapping and leader forwarding.
 */
export { createApiServer, API_SERVER_DEFAULTS, type ApiServer, type ApiServerOptions } from './server.js';
export { API_PACKAGE, API_PROTO_LOADER_OPTIONS, API_PROTO_PATH, apiServices } from './apiProto.js';
export { ApiError } from './apiError.js';
export { MAX_HOLDERS_IN_METADATA, METADATA } from './statusMapping.js';
export { MAX_WAIT_MS } from './validation.js';
export { DEFAULT_CLIENT_LIMITS, MAX_RECEIVE_MESSAGE_BYTES, type ClientLimits } from './clientLimits.js';
export { RETRY_AFTER_METADATA } from './fairQueue.js';
