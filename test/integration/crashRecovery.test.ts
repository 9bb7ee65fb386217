import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { codeOf, failure, sleep, type ApiClient } from './apiClient.js';
import { eventually, startCluster, useClusterHarness, type Cluster } from './cluster.js';
import { mulberry32 } from '../support/prng.js';

/**
 * Issue test 3: SIGKILL every member at once under load from several clients,
 * restart them all: nothing acknowledged is lost (grants, acquires, releases,
 * revokes), and fencing tokens never go backwards (they follow real time
 * before the crash, and a grant after the restart is above every token seen).
 */

useClusterHarness();

/**
 * History of one load run. Every call is recorded with its outcome: 'ok'
 * (acknowledged), 'refused' (a definite refusal that changed nothing), or
 * 'unknown' (an error: it may or may not have taken effect). Workers never
 * retry, so an acknowledgement always belongs to the one attempt recorded.
 */
interface Op {
  readonly worker: number;
  readonly kind: 'grant' | 'revoke' | 'acquire' | 'release';
  readonly leaseId: string;
  readonly name: string;
  /** token: the acquire's token (ok), or the token released. */
  token: number;
  existing: boolean;
  outcome: 'ok' | 'refused' | 'unknown' | 'pending';
  readonly startedAt: number;
  endedAt: number;
}

const NAMES = Array.from({ length: 8 }, (_, i) => `k${i}`);
const LEASE_TTL_MS = 120_000;

/** worker runs try-lock traffic on NAMES until `stop()` says so, one call at a time, rotating endpoints. */
async function worker(w: number, api: ApiClient, endpoints: readonly string[], history: Op[], stop: () => boolean): Promise<void> {
  let seq = 0;
  let lease: string | null = null;
  const held = new Map<string, number>();
  let rr = w;
  const run = async (op: Op, call: (endpoint: string) => Promise<void>): Promise<void> => {
    history.push(op);
    const endpoint = endpoints[rr++ % endpoints.length] as string;
    try {
      await call(endpoint);
      op.outcome = 'ok';
    } catch (err) {
      const code = codeOf(err);
      op.outcome = op.kind === 'acquire' && code === grpc.status.FAILED_PRECONDITION ? 'refused' : 'unknown';
      if (code === -1) throw err; // not a gRPC outcome: a bug in the test
    }
    op.endedAt = performance.now();
    // Yield to timers after every call, so a burst of fast failures can never starve the test.
    if (op.outcome !== 'ok') await sleep(5);
  };
  const rnd = mulberry32(1000 + w);
  while (!stop()) {
    const r = rnd();
    const op = (kind: Op['kind'], leaseId: string, name = '', token = 0): Op => ({
      worker: w, kind, leaseId, name, token, existing: false, outcome: 'pending', startedAt: performance.now(), endedAt: 0,
    });
    if (lease === null) {
      const id = String(w * 1_000_000 + ++seq);
      const o = op('grant', id);
      await run(o, (endpoint) => api.grant(LEASE_TTL_MS, id, { endpoint }).then(() => undefined));
      // A grant with a client-chosen id is idempotent: an unknown outcome is retried with the same id.
      if (o.outcome === 'ok') lease = id;
      else seq--;
    } else if (held.size === 0 && r < 0.08) {
      const o = op('revoke', lease);
      await run(o, (endpoint) => api.revoke(o.leaseId, { endpoint }).then(() => undefined));
      lease = null;
    } else {
      // Hold at most two locks at a time, so the names keep changing hands.
      const name = held.size >= 2 ? ([...held.keys()][0] as string) : (NAMES[Math.floor(rnd() * NAMES.length)] as string);
      const token = held.get(name);
      if (token !== undefined) {
        const o = op('release', lease, name, token);
        await run(o, (endpoint) => api.release(name, o.leaseId, token, { endpoint }).then(() => undefined));
        held.delete(name); // an unknown release: treat it as released; a later acquire tells (existing).
      } else {
        const o = op('acquire', lease, name);
        await run(o, async (endpoint) => {
          const res = await api.acquire(name, o.leaseId, {}, { endpoint });
          o.token = Number(res.token);
          o.existing = res.existing;
        });
        if (o.outcome === 'ok') held.set(name, o.token);
      }
    }
  }
}


async function restartAll(c: Cluster): Promise<void> {
  for (const id of c.ids) c.spawn(id);
  await Promise.all(c.ids.map((id) => c.waitServing(id, 30_000)));
  await c.leader({ timeoutMs: 30_000 });
}

describe('SIGKILL of every node under load', () => {
  it('loses nothing acknowledged, and tokens never go backwards', async () => {
    const c = await startCluster({ nodes: 3 });
    const history: Op[] = [];
    let stopping = false;
    const workers = Array.from({ length: 6 }, (_, w) => {
      const api = c.client({ retry: false, attemptMs: 3_000 });
      return worker(w + 1, api, c.addresses(), history, () => stopping);
    });

    // Load until plenty is acknowledged (bounded), then kill every node at once, mid-traffic.
    const acked = (kind?: Op['kind']): Op[] => history.filter((o) => o.outcome === 'ok' && (kind === undefined || o.kind === kind));
    try {
      await eventually('enough acknowledged load', async () =>
        acked('acquire').length >= 100 && acked('release').length >= 60 && acked('revoke').length >= 8 ? true : null, 60_000, 20);
      await c.killAll();
    } finally {
      stopping = true;
      await Promise.all(workers);
    }
    expect(history.filter((o) => o.outcome === 'pending')).toEqual([]);
    const stats = Object.fromEntries((['grant', 'revoke', 'acquire', 'release'] as const).map((k) => [k, `${acked(k).length}/${history.filter((o) => o.kind === k).length}`]));
    process.stdout.write(`crash-recovery load (acknowledged/attempted): ${JSON.stringify(stats)}, unknown outcomes: ${history.filter((o) => o.outcome === 'unknown').length}\n`);

    // Tokens increase with real time: an acquire acknowledged before another started has a smaller token.
    const grants = acked('acquire').filter((o) => !o.existing).sort((a, b) => a.endedAt - b.endedAt);
    for (const a of grants) {
      for (const b of grants) {
        if (a.endedAt < b.startedAt) expect(a.token, `${a.name}@${a.leaseId} acked before ${b.name}@${b.leaseId} started`).toBeLessThan(b.token);
      }
    }

    await restartAll(c);
    const api = c.client();

    // Leases: every acknowledged grant exists unless its revoke may have happened; every acknowledged revoke is gone.
    const leaseIds = [...new Set(history.filter((o) => o.kind === 'grant').map((o) => o.leaseId))];
    const listed = new Set((await api.list()).leases.map((l) => l.leaseId));
    for (const id of leaseIds) {
      const ops = history.filter((o) => o.leaseId === id && (o.kind === 'grant' || o.kind === 'revoke'));
      const grantOk = ops.some((o) => o.kind === 'grant' && o.outcome === 'ok');
      const revoke = ops.find((o) => o.kind === 'revoke');
      if (revoke?.outcome === 'ok') {
        expect(listed.has(id), `revoked lease ${id} must be gone`).toBe(false);
        expect(codeOf(await failure(api.timeToLive(id)))).toBe(grpc.status.NOT_FOUND);
      } else if (grantOk && revoke === undefined) {
        expect(listed.has(id), `acknowledged lease ${id} must exist`).toBe(true);
      }
    }

    // Locks: for each (lease, name), the last call on it decides what must be true now, if it was acknowledged.
    const locks = new Map<string, Array<{ leaseId: string; token: string }>>();
    for (const name of NAMES) locks.set(name, (await api.get(name)).holders.map((h) => ({ leaseId: h.leaseId, token: h.token })));
    const pairs = new Map<string, Op[]>();
    for (const o of history) {
      if (o.kind !== 'acquire' && o.kind !== 'release') continue;
      const key = `${o.leaseId}/${o.name}`;
      pairs.set(key, [...(pairs.get(key) ?? []), o]);
    }
    let checkedHeld = 0;
    let checkedReleased = 0;
    for (const ops of pairs.values()) {
      const relevant = ops.filter((o) => o.outcome !== 'refused');
      const last = relevant[relevant.length - 1];
      if (last === undefined || last.outcome !== 'ok') continue;
      const revoke = history.find((o) => o.kind === 'revoke' && o.leaseId === last.leaseId);
      const holders = locks.get(last.name) ?? [];
      const mine = holders.filter((h) => h.leaseId === last.leaseId);
      if (revoke !== undefined) {
        if (revoke.outcome === 'ok') expect(mine, `lease ${last.leaseId} was revoked`).toEqual([]);
      } else if (last.kind === 'acquire') {
        expect(mine, `acknowledged grant of ${last.name} to ${last.leaseId}`).toEqual([{ leaseId: last.leaseId, token: String(last.token) }]);
        checkedHeld++;
      } else {
        expect(mine, `acknowledged release of ${last.name} by ${last.leaseId}`).toEqual([]);
        checkedReleased++;
      }
    }
    expect(checkedHeld + checkedReleased).toBeGreaterThan(0);
    // Every holder is a live lease.
    for (const holders of locks.values()) for (const h of holders) expect(listed.has(h.leaseId)).toBe(true);

    // A new grant after the restart gets a token above every token seen before.
    const maxSeen = Math.max(...acked('acquire').map((o) => o.token), ...[...locks.values()].flat().map((h) => Number(h.token)));
    const fresh = await api.grant(60_000);
    const after = await api.acquire('after-restart', fresh.leaseId);
    expect(Number(after.token)).toBeGreaterThan(maxSeen);
    process.stdout.write(`crash-recovery checks: ${checkedHeld} held, ${checkedReleased} released, max token before ${maxSeen}, after restart ${after.token}\n`);
  }, 120_000);
});
