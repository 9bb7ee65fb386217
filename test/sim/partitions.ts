import type { SeededRng } from '../../src/raft/prng.js';
import type { Network } from './network.js';
import type { PartitionMode } from './swarm.js';

/**
 * applyPartition cuts links according to the swarm's partition mode, puts the
 * clients on sides (placeClients), and returns a one-line description for the
 * trace. `leader` is the current leader (or -1), used by leader isolation. The
 * caller heals everything later.
 */
export function applyPartition(mode: PartitionMode, net: Network, rng: SeededRng, leader: number): string {
  const n = net.nodeCount;
  switch (mode) {
    case 'none':
      return 'no partition';
    case 'symmetric':
      return `${symmetric(net, rng, n)}; ${placeClients(net, rng, -1)}`;
    case 'one-way':
      return `${oneWay(net, rng, n)}; ${placeClients(net, rng, -1)}`;
    case 'leader-isolation': {
      const victim = leader >= 0 ? leader : rng.nextInt(n);
      isolate(net, n, victim);
      return `isolate n${victim + 1}${leader >= 0 ? ' (leader)' : ''}; ${placeClients(net, rng, victim)}`;
    }
    case 'flapping':
      return `${flap(net, rng, n)}; ${placeClients(net, rng, -1)}`;
  }
}

/**
 * placeClients puts every client beside a home node: the client is cut from
 * whatever its home is cut from, in each direction, and always reaches its
 * home. With `preferred` >= 0 (an isolated leader) a client homes there half
 * the time, so clients get stranded with a leader that is about to be deposed.
 */
function placeClients(net: Network, rng: SeededRng, preferred: number): string {
  const n = net.nodeCount;
  const homes: string[] = [];
  for (let c = 0; c < net.clientCount; c++) {
    const home = preferred >= 0 && rng.chance(0.5) ? preferred : rng.nextInt(n);
    const ep = net.clientEndpoint(c);
    for (let x = 0; x < n; x++) {
      if (x === home) continue;
      net.setCut(ep, x, net.isCut(home, x));
      net.setCut(x, ep, net.isCut(x, home));
    }
    homes.push(`c${c}@n${home + 1}`);
  }
  return `clients ${homes.join(' ')}`;
}

/** symmetric splits the nodes into two non-empty sides and cuts every link between them. */
function symmetric(net: Network, rng: SeededRng, n: number): string {
  const side: boolean[] = [];
  let left = 0;
  for (let i = 0; i < n; i++) {
    side.push(rng.chance(0.5));
    if (side[i]) left++;
  }
  if (left === 0 || left === n) {
    const flip = rng.nextInt(n);
    side[flip] = !side[flip];
  }
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      if (a !== b && side[a] !== side[b]) net.setCut(a, b, true);
    }
  }
  const names = (want: boolean): string => side.map((s, i) => (s === want ? `n${i + 1}` : '')).filter(Boolean).join(',');
  return `split {${names(true)}} | {${names(false)}}`;
}

/** oneWay cuts one node's inbound or outbound links, or a random set of single directions. */
function oneWay(net: Network, rng: SeededRng, n: number): string {
  const victim = rng.nextInt(n);
  const shape = rng.nextInt(3);
  if (shape === 0 || shape === 1) {
    for (let other = 0; other < n; other++) {
      if (other === victim) continue;
      if (shape === 0) net.setCut(victim, other, true);
      else net.setCut(other, victim, true);
    }
    return shape === 0 ? `n${victim + 1} cannot send` : `n${victim + 1} cannot receive`;
  }
  const cuts: string[] = [];
  const count = 1 + rng.nextInt(n);
  for (let k = 0; k < count; k++) {
    const a = rng.nextInt(n);
    const b = (a + 1 + rng.nextInt(n - 1)) % n;
    net.setCut(a, b, true);
    cuts.push(`n${a + 1}->n${b + 1}`);
  }
  return `one-way cuts ${cuts.join(' ')}`;
}

function isolate(net: Network, n: number, victim: number): void {
  for (let other = 0; other < n; other++) {
    if (other === victim) continue;
    net.setCut(victim, other, true);
    net.setCut(other, victim, true);
  }
}

/** flap toggles a few random links (both directions or one); short-lived by the swarm's durations. */
function flap(net: Network, rng: SeededRng, n: number): string {
  const changes: string[] = [];
  const count = 1 + rng.nextInt(3);
  for (let k = 0; k < count; k++) {
    const a = rng.nextInt(n);
    const b = (a + 1 + rng.nextInt(n - 1)) % n;
    const cut = !net.isCut(a, b);
    net.setCut(a, b, cut);
    if (rng.chance(0.5)) net.setCut(b, a, cut);
    changes.push(`n${a + 1}${cut ? '-/-' : '<->'}n${b + 1}`);
  }
  return `flap ${changes.join(' ')}`;
}
