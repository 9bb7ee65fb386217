/**
 * The chaos harness: everything a chaos test needs, from one import.
 *
 *   const recorder = new Recorder({ seed, nodes: ['n1', 'n2', 'n3'], electionTimeoutMs: 400, fencing: true });
 *   const cluster = await ChaosCluster.start({ nodes: 3, recorder });
 *   try {
 *     cluster.observe();                                   // leaders/terms over time, for the timeline
 *     const store = new FencedStore(recorder, true);       // fencing on (false: accept stale writes, still recorded)
 *     const c1 = await RecordedClient.connect(cluster, 'c1');
 *     const lease = await c1.grant(3_000);                  // Outcome: { outcome: 'ok', value } | { outcome: 'fail' | 'unknown', error }
 *     ...faults: cluster.kill / pause / resume / restart / isolate / partition / cut / latency / topology / cutClient
 *     const history = await cluster.finish(['lock-a']);    // heal, restart every node, read back FinalState
 *   } finally {
 *     await cluster.destroy();                             // always: kills every process, removes the temp dir
 *   }
 *
 * See chaosCluster.ts (processes and fault points), recordedClient.ts (ops as
 * recorded), fencedStore.ts (the protected resource), recorder.ts (History).
 */
export { ChaosCluster, CHAOS_MIN_TTL_MS, CHAOS_TIMING, sleep, type ChaosClusterOptions, type NodeStatus } from './chaosCluster.js';
export { describeMode, FaultProxy, PASS, type LinkMode } from './faultProxy.js';
export { FencedStore } from './fencedStore.js';
export { now, Recorder } from './recorder.js';
export { RecordedClient, RecordedLease, type Outcome, type RecordedClientOptions } from './recordedClient.js';
