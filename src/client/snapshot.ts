import { crc32 } from 'node:zlib';
import { InternalError, UnavailableError } from './errors.js';
import { dispose, newChannel, numberFromWire, openSnapshot, streamFailure, type CallFailure, type SnapshotChunk } from './protocol.js';
import { channelCredentials, type ClientTlsOptions } from './tls.js';

/** FetchedSnapshot is the cluster's whole lock state at Raft position (index, term), as the leader streamed it. */
export interface FetchedSnapshot {
  readonly clusterId: string;
  readonly index: number;
  readonly term: number;
  /** data: the lock state machine's snapshot bytes (CRC-checked against the leader's header). */
  readonly data: Uint8Array;
}

export interface FetchSnapshotOptions {
  readonly endpoints: readonly string[];
  readonly tls?: ClientTlsOptions;
  /** token: a bearer token, for clusters with auth enabled (a snapshot needs a cluster admin). */
  readonly token?: string;
  /** timeoutMs bounds each attempt (one endpoint) from start to the last chunk. */
  readonly timeoutMs: number;
  /** maxBytes: refuse a snapshot larger than this (default 1 GiB). */
  readonly maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 1 << 30;

/**
 * fetchSnapshot asks the cluster for a linearizable snapshot of the lock
 * state (Maintenance.Snapshot; any member forwards to the leader). Members
 * are tried in turn, following a leader hint first; a snapshot is read-only,
 * so trying again elsewhere is always safe. Bounded: at most one attempt per
 * endpoint plus one per leader hint, each within timeoutMs.
 */
export async function fetchSnapshot(o: FetchSnapshotOptions): Promise<FetchedSnapshot> {
  const queue = [...o.endpoints];
  const tried: string[] = [];
  let hints = o.endpoints.length;
  let last: CallFailure | null = null;
  while (queue.length > 0) {
    const address = queue.shift() as string;
    tried.push(address);
    try {
      return await fetchFrom(address, o);
    } catch (err) {
      if (!(err instanceof Error) || err.name !== 'CallFailure') throw err;
      last = err as CallFailure;
      const next = dispose(last, {});
      if (next.kind === 'fail') throw next.error;
      if (next.leader !== null && hints > 0 && next.leader.address !== address) {
        hints--;
        queue.unshift(next.leader.address);
      }
    }
  }
  throw new UnavailableError(`no member served a snapshot (tried ${tried.join(', ')}): ${last?.details ?? 'no endpoints'}`, tried, { cause: last });
}

function fetchFrom(address: string, o: FetchSnapshotOptions): Promise<FetchedSnapshot> {
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
  const channel = newChannel(address, channelCredentials(o.tls), o.token);
  return new Promise<FetchedSnapshot>((resolve, reject) => {
    const call = openSnapshot(channel, o.timeoutMs);
    let header: { clusterId: string; index: number; term: number; totalBytes: number; crc32: number } | null = null;
    let data: Uint8Array | null = null;
    let received = 0;
    let settled = false;
    const settle = (err: Error | null, value?: FetchedSnapshot): void => {
      if (settled) return;
      settled = true;
      call.cancel();
      channel.close();
      if (err !== null) reject(err);
      else resolve(value as FetchedSnapshot);
    };
    call.on('data', (chunk: SnapshotChunk) => {
      if (header === null) {
        const totalBytes = numberFromWire(chunk.totalBytes);
        if (totalBytes > maxBytes) return settle(new InternalError(`${address} offered a snapshot of ${totalBytes} bytes; at most ${maxBytes} are accepted`));
        header = { clusterId: chunk.clusterId, index: numberFromWire(chunk.index), term: numberFromWire(chunk.term), totalBytes, crc32: chunk.crc32 };
        data = new Uint8Array(totalBytes);
      }
      if (received + chunk.data.length > header.totalBytes) {
        return settle(new InternalError(`${address} sent more snapshot bytes than the ${header.totalBytes} it announced`));
      }
      (data as Uint8Array).set(chunk.data, received);
      received += chunk.data.length;
    });
    call.on('error', (err) => settle(streamFailure(err, address)));
    call.on('end', () => {
      if (header === null || data === null) return settle(new InternalError(`${address} ended the snapshot stream without a header`));
      if (received !== header.totalBytes) return settle(new InternalError(`${address} sent ${received} of the ${header.totalBytes} snapshot bytes it announced`));
      const actual = crc32(data);
      if (actual !== header.crc32) return settle(new InternalError(`the snapshot from ${address} fails its checksum (announced ${header.crc32}, computed ${actual})`));
      settle(null, { clusterId: header.clusterId, index: header.index, term: header.term, data });
    });
  });
}
