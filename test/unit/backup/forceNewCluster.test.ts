import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BackupError } from '../../../src/backup/backupError.js';
import { forceNewCluster } from '../../../src/backup/forceNewCluster.js';
import { seedDataDir } from '../../../src/backup/seedDataDir.js';
import { encodeCommand } from '../../../src/lock/commandCodec.js';
import type { Command } from '../../../src/lock/commands.js';
import { LockStateMachine } from '../../../src/lock/stateMachine.js';
import { parseClusterConfig } from '../../../src/node/clusterConfig.js';
import type { Entry } from '../../../src/raft/types.js';
import { LevelStorage } from '../../../src/storage/levelStorage.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'raftlock-backup-'));
  dirs.push(d);
  return d;
}

function entry(index: number, term: number, command: Command | null): Entry {
  return command === null ? { index, term, type: 'empty', data: new Uint8Array(0) } : { index, term, type: 'normal', data: encodeCommand(command) };
}

function singleConfig(root: string, clusterId: string) {
  return parseClusterConfig({ clusterId, dataDir: join(root, 'new'), nodes: [{ id: 'n1', clientAddress: '127.0.0.1:7001', peerAddress: '127.0.0.1:7002' }] }, 'test', root);
}

async function openNew(dir: string, clusterId: string) {
  const storage = new LevelStorage(dir);
  const restored = await storage.open({ clusterId, nodeId: 'n1' });
  await storage.close();
  return restored;
}

describe('forceNewCluster', () => {
  it('applies every entry of the survivor\'s log, also those above the commit index it knew, and starts the new log after the last', async () => {
    const root = tempDir();
    const old = join(root, 'old');
    const storage = new LevelStorage(old);
    await storage.open({ clusterId: 'lost', nodeId: 'n1' });
    const entries = [
      entry(1, 1, null),
      entry(2, 1, { type: 'grant-lease', leaseId: 10, ttlMs: 60_000, idempotent: true }),
      entry(3, 1, { type: 'acquire', name: 'held', leaseId: 10, mode: 'exclusive', wait: false }),
      entry(4, 2, { type: 'grant-lease', leaseId: 11, ttlMs: 60_000, idempotent: true }),
      // The survivor appended this one but had not learnt that it committed: its client may have been told of the grant.
      entry(5, 2, { type: 'acquire', name: 'late', leaseId: 11, mode: 'exclusive', wait: false }),
    ];
    await storage.persist({ snapshot: null, entries, hardState: { term: 2, vote: 'n2', commit: 4 } });
    await storage.close();

    const result = await forceNewCluster({ fromDataDir: old, config: singleConfig(root, 'recovered'), nodeId: 'n1' });
    expect(result).toMatchObject({ from: { clusterId: 'lost', nodeId: 'n1' }, index: 5, term: 2, committedIndex: 4, leases: 2, locks: 2 });

    const restored = await openNew(join(root, 'new', 'n1'), 'recovered');
    expect(restored.snapshot?.meta).toEqual({ index: 5, term: 2, voters: ['n1'] });
    expect(restored.hardState).toEqual({ term: 2, vote: '', commit: 5 });
    expect(restored.entries).toEqual([]);
    const sm = LockStateMachine.restore(restored.snapshot!.data);
    expect(sm.getLock('late')?.holders).toEqual([{ leaseId: 11, token: 5, mode: 'exclusive' }]);
    expect(sm.getLock('held')?.holders).toEqual([{ leaseId: 10, token: 3, mode: 'exclusive' }]);
    // The survivor's own dir is untouched.
    const again = new LevelStorage(old);
    expect((await again.open({ clusterId: 'lost', nodeId: 'n1' })).entries).toHaveLength(5);
    await again.close();
  });

  it('starts from the survivor\'s snapshot and applies only the entries after it', async () => {
    const root = tempDir();
    const old = join(root, 'old');
    const base = new LockStateMachine();
    base.apply({ index: 1, term: 1, data: encodeCommand({ type: 'grant-lease', leaseId: 7, ttlMs: 30_000, idempotent: true }) });
    base.apply({ index: 2, term: 1, data: encodeCommand({ type: 'acquire', name: 'a', leaseId: 7, mode: 'shared', wait: false }) });
    const storage = new LevelStorage(old);
    await storage.open({ clusterId: 'lost', nodeId: 'n1' });
    await storage.persist({ snapshot: { meta: { index: 2, term: 1, voters: ['n1', 'n2', 'n3'] }, data: base.snapshot() }, entries: [], hardState: { term: 3, vote: '', commit: 2 } });
    await storage.persist({ snapshot: null, entries: [entry(3, 3, { type: 'acquire', name: 'b', leaseId: 7, mode: 'exclusive', wait: false })], hardState: null });
    await storage.close();

    const result = await forceNewCluster({ fromDataDir: old, config: singleConfig(root, 'recovered'), nodeId: 'n1' });
    expect(result).toMatchObject({ index: 3, term: 3, locks: 2, leases: 1 });
    const sm = LockStateMachine.restore((await openNew(join(root, 'new', 'n1'), 'recovered')).snapshot!.data);
    expect(sm.getLock('a')?.holders).toEqual([{ leaseId: 7, token: 2, mode: 'shared' }]);
    expect(sm.getLock('b')?.holders).toEqual([{ leaseId: 7, token: 3, mode: 'exclusive' }]);
  });

  it('refuses a survivor whose write-ahead log LevelDB would recover by dropping records', async () => {
    const root = tempDir();
    const old = join(root, 'old');
    const storage = new LevelStorage(old);
    await storage.open({ clusterId: 'lost', nodeId: 'n1' });
    for (let i = 1; i <= 40; i++) {
      await storage.persist({ snapshot: null, entries: [entry(i, 1, { type: 'grant-lease', leaseId: i, ttlMs: 60_000, idempotent: true })], hardState: { term: 1, vote: '', commit: i } });
    }
    // A graceful close leaves the records in LevelDB's write-ahead log.
    await storage.close();
    const logs = readdirSync(old).filter((f) => f.endsWith('.log')).map((f) => join(old, f)).filter((f) => readFileSync(f).length > 0);
    expect(logs).toHaveLength(1);
    const bytes = readFileSync(logs[0]!);
    bytes[bytes.length >> 1] ^= 0x55;
    writeFileSync(logs[0]!, bytes);
    await expect(forceNewCluster({ fromDataDir: old, config: singleConfig(root, 'recovered'), nodeId: 'n1' })).rejects.toThrow(/corrupt write-ahead log/);
    expect(existsSync(join(root, 'new'))).toBe(false);
  });

  it('refuses a dir that is not a member\'s data dir', async () => {
    const root = tempDir();
    await expect(forceNewCluster({ fromDataDir: join(root, 'nothing'), config: singleConfig(root, 'recovered'), nodeId: 'n1' })).rejects.toThrow(/is not a raftlock data dir/);
  });
});

describe('seedDataDir', () => {
  it('never writes into a non-empty dir', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'something'), 'x');
    const sm = new LockStateMachine();
    sm.applyNoop(1);
    await expect(seedDataDir(dir, { clusterId: 'c', nodeId: 'n1' }, ['n1'], { index: 1, term: 1, data: sm.snapshot() })).rejects.toThrow(BackupError);
  });

  it('refuses a state whose applied index is not the index it is described with', async () => {
    const sm = new LockStateMachine();
    sm.applyNoop(4);
    await expect(seedDataDir(join(tempDir(), 'd'), { clusterId: 'c', nodeId: 'n1' }, ['n1'], { index: 5, term: 1, data: sm.snapshot() })).rejects.toThrow(
      'the lock state is at index 4, but it was described as index 5',
    );
  });
});
