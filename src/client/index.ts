/**
 * raftlock client library: leases, locks with fencing tokens, and typed errors.
 *
 *   import { connect } from 'raftlock';
 *   const client = await connect({ endpoints: ['127.0.0.1:7001', '127.0.0.1:7002'] });
 *   await client.withLock('reports', async ({ token, signal }) => { ... });
 *   await client.close();
 */
export {
  connect,
  RaftlockClient,
  /** Client is RaftlockClient under a shorter name. */
  RaftlockClient as Client,
  type AcquireOptions,
  type CallOptions,
  type CloseOptions,
  type ClusterStatus,
  type ConnectOptions,
  type GrantOptions,
  type LeaseInfo,
  type MemberChange,
  type MemberInfo,
  type MemberList,
  type StatusOptions,
  type TryAcquireOptions,
} from './client.js';
export type { BackoffPolicy } from './connection.js';
export { loadClientTls, type ClientTlsFiles, type ClientTlsOptions } from './tls.js';
export { Lease, safetyMarginMs, type LeaseTimeToLive } from './lease.js';
export { LockHandle, type LockContext, type LockState, type LockWaiter } from './lock.js';
export { fetchSnapshot, type FetchedSnapshot, type FetchSnapshotOptions } from './snapshot.js';
export {
  AbortError,
  ClientClosedError,
  DeadlineExceededError,
  InternalError,
  InvalidArgumentError,
  LeaseIdConflictError,
  LeaseLostError,
  LeaseNotFoundError,
  LockConflictError,
  LockHeldError,
  MembershipError,
  NotLeaderError,
  PermissionDeniedError,
  RaftlockError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
  type LeaseLostReason,
  type LockHolder,
  type LockMode,
} from './errors.js';
export { AuthAdmin, type AuthListing, type IssuedToken, type Permission, type WhoAmI } from './authAdmin.js';
