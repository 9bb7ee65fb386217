/**
 * stateFootprint: the live heap of the lock state machine and the lease clock
 * holding `--count` leases each with one exclusive lock, built in-process
 * (no cluster, no gRPC), so the replicated state's own cost per lease+lock
 * can be measured apart from the node process around it (the `footprint`
 * workload measures a whole node's RSS). Needs --expose-gc:
 *
 *   node --expose-gc --import tsx bench/stateFootprint.ts --count 100000
 */
import { encodeCommand } from '../src/lock/commandCodec.js';
import { LeaseClock } from '../src/lock/leaseClock.js';
import { LockStateMachine } from '../src/lock/stateMachine.js';
import { randomLeaseId } from '../src/server/leaseService.js';

const COUNT_MAX = 10_000_000;

function parseCount(argv: readonly string[]): number {
  const at = argv.indexOf('--count');
  if (at < 0) return 100_000;
  const n = Number(argv[at + 1]);
  if (!Number.isSafeInteger(n) || n < 1 || n > COUNT_MAX) {
    throw new Error(`--count must be an integer from 1 to ${COUNT_MAX}, got ${JSON.stringify(argv[at + 1])}`);
  }
  return n;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (see the comment at the top of bench/stateFootprint.ts)');
const count = parseCount(process.argv);
const heapUsed = (): number => {
  gc();
  return process.memoryUsage().heapUsed;
};

const before = heapUsed();
const machine = new LockStateMachine({ maxLeases: count, maxLocks: count });
const clock = new LeaseClock();
let index = 1;
for (let i = 0; i < count; i++) {
  const leaseId = randomLeaseId();
  const granted = machine.apply({ index: index++, term: 1, data: encodeCommand({ type: 'grant-lease', leaseId, ttlMs: 3_600_000, idempotent: false }) });
  if (granted.leaseGranted !== null) clock.leaseGranted(granted.leaseGranted.leaseId, granted.leaseGranted.ttlMs, 0);
  machine.apply({ index: index++, term: 1, data: encodeCommand({ type: 'acquire', leaseId, name: `fp-${i}`, mode: 'exclusive', wait: true }) });
}
clock.activate(0);
const after = heapUsed();
const counts = machine.counts();
if (counts.leases !== count || counts.holders !== count) throw new Error(`loaded ${counts.leases} leases and ${counts.holders} holders, expected ${count} each`);
const bytes = after - before;
console.log(`${count.toLocaleString('en-US')} leases each holding a lock: ${(bytes / 1048576).toFixed(1)} MB live heap, ${Math.round(bytes / count)} bytes per lease+lock (state machine + active lease clock)`);
console.log(`snapshot: ${(machine.snapshot().length / 1048576).toFixed(1)} MB`);
