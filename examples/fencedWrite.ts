/**
 * fencedWrite: why locks come with fencing tokens. A lock holder can stall
 * (GC pause, swapped out, slow network) past its lease without noticing;
 * meanwhile the lock goes to someone else. The protected store must then
 * refuse the stalled holder's late write — it does so by remembering the
 * highest token it has seen and rejecting anything lower.
 *
 *   npm start
 *   npx tsx examples/fencedWrite.ts
 */
import { connect } from 'raftlock';

const endpoints = (process.env.RAFTLOCK_ENDPOINTS ?? '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003').split(',');

/** FencedStore is a tiny key-value store that checks fencing tokens (in a real system: your database or storage service). */
class FencedStore {
  private highestToken = 0n;
  private readonly data = new Map<string, string>();

  write(key: string, value: string, token: bigint): void {
    if (token < this.highestToken) {
      throw new Error(`rejected write of ${key}=${value}: token ${token} is older than ${this.highestToken}`);
    }
    this.highestToken = token;
    this.data.set(key, value);
  }

  read(key: string): string | undefined {
    return this.data.get(key);
  }
}

const store = new FencedStore();
const alice = await connect({ endpoints });
const bob = await connect({ endpoints });
try {
  const aliceLock = await alice.acquire('examples/config', { leaseTtlMs: 1_000, waitMs: 10_000 });
  console.log(`alice holds the lock with token ${aliceLock.token}`);
  store.write('config', 'v1 from alice', aliceLock.token);

  // Alice stalls: nothing renews her lease any more (as if her process were frozen) ...
  await alice.close();
  // ... so it expires, and Bob, waiting for the lock, gets it with a higher token.
  const bobLock = await bob.acquire('examples/config', { waitMs: 10_000 });
  console.log(`bob holds the lock with token ${bobLock.token}`);
  store.write('config', 'v2 from bob', bobLock.token);

  // Alice wakes up and finishes the write she started. The store refuses it.
  try {
    store.write('config', 'v1.1 from alice (stale)', aliceLock.token);
  } catch (err) {
    console.log((err as Error).message);
  }
  console.log(`config = ${store.read('config')}`);
  await bobLock.release();
} finally {
  await alice.close();
  await bob.close();
}
