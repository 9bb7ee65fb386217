import type { BenchOptions } from './options.js';
import { emptyResults, type SystemResults } from './results.js';
import type { Cluster, SystemName } from './system.js';
import { contended } from './workloads/contended.js';
import { failover } from './workloads/failover.js';
import { describeFlood, flood } from './workloads/flood.js';
import { footprint } from './workloads/footprint.js';
import { RaftlockCluster } from './raftlockSystem.js';
import { grantLeases, keepAlives } from './workloads/keepAlives.js';
import { leaseGrants } from './workloads/leaseGrants.js';
import { uncontended } from './workloads/uncontended.js';
import { describeError } from './grpcCall.js';

/**
 * runSystem runs every selected workload against one system: the steady
 * workloads on one cluster, failover and footprint each on fresh clusters
 * (they kill members). Only one system's cluster runs at a time, so the two
 * never compete for the CPU. A workload that fails is recorded and the rest go on.
 */

/** Launch starts a cluster of this system; `failover` asks for the timing both systems share in the failover workload. */
export interface Launcher {
  readonly system: SystemName;
  main(): Promise<Cluster>;
  /** matchedTiming: election timeout 1000 ms, heartbeat 100 ms (etcd's defaults). */
  matchedTiming(): Promise<Cluster>;
  /** ownDefaults: raftlock's shipped timing; null for etcd (its defaults are the matched timing). */
  ownDefaults(): Promise<Cluster> | null;
}

export type Say = (line: string) => void;

const FAILOVER_ATTEMPT_MS = 300;
const FAILOVER_MAX_RECOVERY_MS = 20_000;
const FOOTPRINT_CONCURRENCY = 64;
/** KEEPALIVE_PACE_S: in the paced run each lease is renewed once per this many seconds (a 10 s TTL renewed at a third). */
const KEEPALIVE_PACE_S = 10 / 3;

export async function runSystem(launch: Launcher, o: BenchOptions, say: Say): Promise<SystemResults> {
  const res = emptyResults(launch.system);
  const z = o.sizes;
  const want = (w: string): boolean => (o.workloads as readonly string[]).includes(w);
  const step = async (workload: string, what: string, body: () => Promise<void>): Promise<void> => {
    const t0 = performance.now();
    say(`${launch.system}: ${what} ...`);
    try {
      await body();
      say(`${launch.system}: ${what} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      res.errors[`${workload}: ${what}`] = describeError(err);
      say(`${launch.system}: ${what} FAILED: ${describeError(err)}`);
    }
  };

  const runFootprint = async (cluster: Cluster): Promise<void> => {
    await step('footprint', `footprint, ${z.footprintCount.toLocaleString('en-US')} leases each holding a lock`, async () => {
      const r = await footprint(cluster, cluster.client(), { count: z.footprintCount, concurrency: FOOTPRINT_CONCURRENCY, maxLoadMs: z.footprintMaxLoadMs }, (done) => {
        if (done % 10_000 === 0) say(`  ${done.toLocaleString('en-US')} loaded`);
      });
      res.footprint = r;
      say(`  loaded ${r.loaded} (${r.failed} failed, ${r.electionsDuringLoad ?? '?'} election(s)) in ${fmt(r.loadMs / 1000, 1)} s, RSS ${r.rssBytes.map((b) => (b === null ? '?' : `${(b / 1048576).toFixed(0)} MB`)).join(' / ')}, restart ${fmt(r.restartMs)} ms`);
    });
  };
  const steady = want('uncontended') || want('contended') || want('leases') || want('keepalive') || (want('flood') && launch.system === 'raftlock');

  if (steady) {
    say(`${launch.system}: starting the cluster`);
    const cluster = await launch.main();
    res.description = cluster.description;
    const client = cluster.client();
    try {
      const termBefore = await cluster.term();
      if (want('uncontended')) {
        const placements = z.leaderVariant ? (['spread', 'leader'] as const) : (['spread'] as const);
        for (const placement of placements) {
          for (const clients of z.uncontendedClients) {
            await step('uncontended', `uncontended, ${clients} client(s), ${placement === 'spread' ? 'spread over all members' : 'all to the leader'}`, async () => {
              const r = await uncontended(cluster, client, { clients, placement, durationMs: z.uncontendedMs, maxPairs: z.maxOps }, `${placement}-${clients}`);
              res.uncontended.push(r);
              say(`  ${fmt(r.pairsPerS)} pairs/s, p50 ${fmt(r.pairLatency.p50Ms, 2)} ms, p99 ${fmt(r.pairLatency.p99Ms, 2)} ms, errors ${r.errors}`);
            });
          }
        }
      }
      if (want('contended')) {
        const placements = z.leaderVariant ? (['spread', 'leader'] as const) : (['spread'] as const);
        for (const placement of placements) {
          await step('contended', `contended, ${z.contendedClients} clients on one lock, ${placement === 'spread' ? 'spread over all members' : 'all to the leader'}`, async () => {
            const r = await contended(cluster, client, { clients: z.contendedClients, placement, durationMs: z.contendedMs, maxGrants: z.maxOps }, placement);
            res.contended.push(r);
            say(`  ${fmt(r.grantsPerS)} grants/s, wait p50 ${fmt(r.wait.p50Ms, 2)} ms, p99 ${fmt(r.wait.p99Ms, 2)} ms, per client ${r.fairness.minPerClient}..${r.fairness.maxPerClient}, overtakes ${r.fairness.overtakes}`);
          });
        }
      }
      if (want('leases')) {
        for (const clients of z.leaseClients) {
          await step('leases', `lease grants, ${clients} client(s)`, async () => {
            const r = await leaseGrants(cluster, client, { clients, durationMs: z.leaseMs, maxGrants: z.maxOps });
            res.leases.push(r);
            say(`  ${fmt(r.grantsPerS)} grants/s, p50 ${fmt(r.latency.p50Ms, 2)} ms`);
          });
        }
      }
      if (want('keepalive')) {
        for (const count of z.keepAliveLeases) {
          let ids: string[] = [];
          await step('keepalive', `granting ${count} leases for the keepalive run`, async () => {
            ids = await grantLeases(cluster, client, count);
          });
          if (ids.length !== count) continue;
          for (const via of ['leader', 'follower'] as const) {
            await step('keepalive', `keepalives, ${count} leases on one stream via the ${via}`, async () => {
              const r = await keepAlives(cluster, client, ids, { leases: count, via, durationMs: z.keepAliveMs, window: z.keepAliveWindow });
              res.keepalive.push(r);
              say(`  ${fmt(r.renewalsPerS)} renewals/s, leader CPU ${fmt(r.leaderCores, 2)} cores, lost ${r.lost}${r.error !== null ? `, stream error: ${r.error}` : ''}`);
            });
          }
          if (count !== Math.max(...z.keepAliveLeases)) continue;
          const pacedPerS = Math.round(count / KEEPALIVE_PACE_S);
          await step('keepalive', `keepalives, ${count} leases paced at ${pacedPerS}/s via the leader`, async () => {
            const r = await keepAlives(cluster, client, ids, { leases: count, via: 'leader', durationMs: z.keepAliveMs, window: z.keepAliveWindow, pacedPerS });
            res.keepalive.push(r);
            say(`  ${fmt(r.renewalsPerS)} renewals/s, leader CPU ${fmt(r.leaderCores, 2)} cores, lost ${r.lost}${r.error !== null ? `, stream error: ${r.error}` : ''}`);
          });
        }
      }
      if (want('flood') && cluster instanceof RaftlockCluster) {
        await step('flood', `flood: a victim's acquire + release at the leader, quiet then while another client floods (${z.floodConcurrency} acquire loops, ${z.floodWindow} keepalives in flight)`, async () => {
          const r = await flood(cluster, client, (m) => cluster.clientAddress(m), cluster, { durationMs: z.floodMs, floodConcurrency: z.floodConcurrency, floodWindow: z.floodWindow, maxOps: z.maxOps });
          res.flood = r;
          say(`  ${describeFlood(r)}`);
        });
      }
      const termAfter = await cluster.term();
      res.elections = termBefore === null || termAfter === null ? null : termAfter - termBefore;
      if (want('footprint') && z.footprintOnMainCluster) await runFootprint(cluster);
    } finally {
      await cluster.destroy();
    }
  }

  if (want('failover')) {
    const runFailover = async (start: () => Promise<Cluster>, which: 'failover' | 'failoverDefaults'): Promise<void> => {
      const cluster = await start();
      const descKey = which === 'failover' ? 'failoverDescription' : 'failoverDefaultsDescription';
      res[descKey] = cluster.description;
      try {
        await step('failover', `failover, ${z.failoverRounds} leader kill(s) (${cluster.description})`, async () => {
          res[which] = await failover(cluster, cluster.client(), { rounds: z.failoverRounds, attemptMs: FAILOVER_ATTEMPT_MS, maxRecoveryMs: FAILOVER_MAX_RECOVERY_MS }, (l) => say(`  ${l}`));
        });
      } finally {
        await cluster.destroy();
      }
    };
    await runFailover(() => launch.matchedTiming(), 'failover');
    const own = z.failoverAtDefaults ? launch.ownDefaults() : null;
    if (own !== null) await runFailover(() => own, 'failoverDefaults');
  }

  if (want('footprint') && !(z.footprintOnMainCluster && steady)) {
    const cluster = await launch.main();
    try {
      await runFootprint(cluster);
    } finally {
      await cluster.destroy();
    }
  }
  return res;
}

function fmt(v: number | null, digits = 0): string {
  return v === null ? 'n/a' : v.toFixed(digits);
}
