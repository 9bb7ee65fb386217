import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseClusterConfig } from '../../../src/node/clusterConfig.js';
import { RaftNode } from '../../../src/node/raftNode.js';
import { MemoryStorage } from '../../../src/storage/memoryStorage.js';
import { pollUntil } from '../../support/poll.js';

/**
 * RaftNode.learnPeer is the node's answer when its transport gets a stream
 * from a node of its cluster that neither its config file nor its log names
 * (issue 9): yes, linking back, unless a configuration entry this node
 * applied removed that member, or 8 such unnamed links are already held. A
 * learned link is never dropped for being absent from a configuration (it
 * must not flap while this node's log is behind the leader that sent it),
 * only by an entry that removes the member once it had been named.
 */

let running: RaftNode | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
});

async function singleNode(): Promise<{ node: RaftNode; removed: string[]; linked: string[] }> {
  const config = parseClusterConfig({
    clusterId: 'c1',
    nodes: [{ id: 'n1', clientAddress: '127.0.0.1:7001', peerAddress: '127.0.0.1:7101' }],
    timing: { tickMs: 5, electionTicks: 10, heartbeatTicks: 2 },
  }, 'test', '/unused');
  const removed: string[] = [];
  const linked: string[] = [];
  const node = new RaftNode({
    config, self: config.nodes[0] as (typeof config.nodes)[0], storage: new MemoryStorage(),
    peers: { send: () => undefined, setPeer: (id) => linked.push(id), removePeer: (id) => removed.push(id) },
    logger: pino({ level: 'silent' }), onFatal: (err) => { throw err; },
  });
  running = node;
  await node.start();
  expect(await pollUntil(async () => (node.isLeader() ? true : null), 10_000, 5)).toBe(true);
  // Membership changes are refused until the new leader has committed an entry of its term.
  expect(await pollUntil(async () => (node.status().commitIndex >= 1 ? true : null), 10_000, 5)).toBe(true);
  return { node, removed, linked };
}

const addLearner = (node: RaftNode, id: string, port: number) =>
  node.changeMembership({ type: 'add-learner', node: id, clientAddress: `127.0.0.1:${port}`, peerAddress: `127.0.0.1:${port + 100}` });

describe('RaftNode.learnPeer', () => {
  it('links back to unnamed senders up to 8, never to itself, and keeps them across configuration changes', async () => {
    const { node, removed } = await singleNode();
    expect(node.learnPeer('n1', '127.0.0.1:7101')).toBe(false);
    const unnamed = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'];
    for (const id of unnamed) expect(node.learnPeer(id, '127.0.0.1:9000')).toBe(true);
    expect(node.learnPeer('u9', '127.0.0.1:9000')).toBe(false);
    // Configuration changes that do not name them never drop their links.
    await addLearner(node, 'n2', 7002);
    await node.changeMembership({ type: 'remove', node: 'n2' });
    expect(removed).toEqual(['n2']);
    // A learned sender that a configuration then names leaves the cap: another unnamed sender fits.
    await addLearner(node, 'u1', 7003);
    expect(node.learnPeer('u9', '127.0.0.1:9000')).toBe(true);
    expect(removed).toEqual(['n2']);
  });

  it('declines a member that a configuration entry it applied removed, until a configuration names it again', async () => {
    const { node, removed, linked } = await singleNode();
    await addLearner(node, 'n2', 7002);
    expect(linked).toContain('n2');
    await node.changeMembership({ type: 'remove', node: 'n2' });
    expect(removed).toEqual(['n2']);
    expect(node.learnPeer('n2', '127.0.0.1:7102')).toBe(false);
    await addLearner(node, 'n2', 7002);
    expect(node.learnPeer('n2', '127.0.0.1:7102')).toBe(true);
  });
});
