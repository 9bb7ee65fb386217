/**
 * floodClient: the abusive client of the flood workload, run as its own
 * process (so its CPU and event loop are not the measuring client's):
 *
 *   tsx bench/floodClient.ts --target HOST:PORT --duration-ms N --concurrency N --window N --out FILE
 *
 * For duration-ms it keeps `concurrency` acquire+release loops on fresh lock
 * names and one KeepAlive stream with `window` renewals in flight, never
 * backing off: a refused call is retried at once, a refused stream reopened
 * at once. It writes what it achieved and what was refused, by status code,
 * as JSON to FILE.
 */
import { writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { RaftlockClient } from './raftlockSystem.js';

interface Args {
  readonly target: string;
  readonly durationMs: number;
  readonly concurrency: number;
  readonly window: number;
  readonly out: string;
}

export interface FloodReport {
  readonly acquired: number;
  readonly renewals: number;
  /** refused: failed calls and ended streams by gRPC status name. */
  readonly refused: Record<string, number>;
  /** firstRefusal: the message of the first refusal of each status. */
  readonly firstRefusal: Record<string, string>;
  readonly elapsedMs: number;
}

function parseArgs(argv: readonly string[]): Args {
  const get = (flag: string): string => {
    const i = argv.indexOf(flag);
    const v = i >= 0 ? argv[i + 1] : undefined;
    if (v === undefined) throw new Error(`floodClient: missing ${flag}`);
    return v;
  };
  const num = (flag: string): number => {
    const n = Number(get(flag));
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`floodClient: ${flag} must be a positive integer`);
    return n;
  };
  return { target: get('--target'), durationMs: num('--duration-ms'), concurrency: num('--concurrency'), window: num('--window'), out: get('--out') };
}

async function main(a: Args): Promise<void> {
  const client = new RaftlockClient([a.target], 'flooder');
  const refused: Record<string, number> = {};
  const firstRefusal: Record<string, string> = {};
  const count = (err: unknown, where: string): void => {
    const code = (err as { code?: number }).code;
    const name = `${where} ${typeof code === 'number' ? (grpc.status[code] ?? String(code)) : 'OTHER'}`;
    refused[name] = (refused[name] ?? 0) + 1;
    firstRefusal[name] ??= (err as Error).message;
  };
  const lease = await client.grant(0, 60_000, 10_000);
  const start = performance.now();
  const end = start + a.durationMs;
  let acquired = 0;
  let renewals = 0;

  const openStream = (): void => {
    if (performance.now() >= end) return;
    const stream = client.openKeepAlive(0);
    let closed = false;
    stream.onReply(() => {
      renewals++;
      if (!closed && performance.now() < end) stream.send(lease);
      else if (!closed) {
        closed = true;
        stream.close();
      }
    });
    stream.onError((err) => {
      if (closed) return;
      closed = true;
      count(err, 'keepalive');
      setImmediate(openStream);
    });
    for (let i = 0; i < a.window; i++) stream.send(lease);
  };
  openStream();

  const loop = async (i: number): Promise<void> => {
    for (let seq = 0; performance.now() < end; seq++) {
      try {
        const held = await client.acquire(0, `flood-${i}-${seq}`, lease, 5_000);
        acquired++;
        await client.release(0, held, 5_000);
      } catch (err) {
        count(err, 'acquire');
        // Yield once so a burst of instant refusals cannot block this process's event loop.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, (_, i) => loop(i)));
  const report: FloodReport = { acquired, renewals, refused, firstRefusal, elapsedMs: performance.now() - start };
  writeFileSync(a.out, `${JSON.stringify(report)}\n`);
  client.close();
}

main(parseArgs(process.argv.slice(2))).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`floodClient: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
