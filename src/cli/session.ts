import type { Command } from 'commander';
import {
  connect,
  InternalError,
  InvalidArgumentError,
  LockHeldError,
  PermissionDeniedError,
  RaftlockError,
  UnauthenticatedError,
  UnavailableError,
  type Client,
  type ConnectOptions,
} from '../client/index.js';
import { DURATION_HELP, formatDuration, parseDuration } from './duration.js';
import { ENDPOINTS_HELP, resolveEndpoints, type ResolvedEndpoints } from './endpoints.js';
import { CliError, EXIT, oneLine } from './errors.js';
import { addTlsOptions, resolveTls, resolveToken, type TlsFlags } from './tlsOptions.js';

/**
 * session: what every client command shares — the --endpoints, --json and
 * --timeout options, opening and closing a client (never letting a dead
 * cluster keep the command alive), and turning the client library's typed
 * errors into one-line messages with an exit code (errors.ts EXIT).
 */

export interface CommonOptions extends TlsFlags {
  endpoints?: string;
  json?: boolean;
  timeout: string;
}

export const DEFAULT_TIMEOUT = '10s';

/** addCommonOptions adds --endpoints, --json, --timeout and the TLS options to a client command. */
export function addCommonOptions(cmd: Command, timeoutDefault = DEFAULT_TIMEOUT, timeoutHelp?: string): Command {
  return addTlsOptions(cmd
    .option('--endpoints <list>', ENDPOINTS_HELP)
    .option('--json', 'print JSON instead of text')
    .option('--timeout <duration>', timeoutHelp ?? `give up when the cluster does not answer within this long (${DURATION_HELP})`, timeoutDefault));
}

/** Session is an open client plus what messages need to say where it went. */
export interface Session {
  readonly client: Client;
  readonly target: ResolvedEndpoints;
  readonly timeoutMs: number;
  /** bounded waits for a cluster call, at most `ms` (default: a little over timeoutMs), else fails "unavailable"; other errors pass through unchanged. */
  bounded<T>(what: string, p: Promise<T>, ms?: number): Promise<T>;
  /** close closes the client, bounded (a dead cluster never keeps the command alive); revoke: give up its leases. */
  close(opts?: { revoke?: boolean }): Promise<void>;
}

/** The client library bounds its own calls by --timeout; ours is a backstop a little later. */
const BACKSTOP_MS = 1_000;

/** openSession resolves the endpoints, parses --timeout and connects (UnavailableError -> exit 69). */
export async function openSession(opts: Pick<CommonOptions, 'endpoints' | 'timeout' | keyof TlsFlags>): Promise<Session> {
  const target = resolveEndpoints({ flag: opts.endpoints });
  const timeoutMs = parseDuration(opts.timeout, '--timeout', { min: 1 });
  const tls = resolveTls(opts);
  const token = resolveToken(opts);
  const credentials = { ...(tls !== undefined ? { tls } : {}), ...(token !== undefined ? { token } : {}) };
  const client = await connectTo(target, { connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs, ...credentials }).catch((err: unknown) => {
    // A TLS cluster looks like a dead one to a plaintext client: say so.
    if (tls === undefined && err instanceof CliError && err.exitCode === EXIT.unavailable) {
      throw new CliError(`${err.message} (this was plaintext: if the cluster uses TLS, pass --cacert FILE or set $RAFTLOCK_CACERT)`, EXIT.unavailable);
    }
    throw err;
  });
  return {
    client,
    target,
    timeoutMs,
    bounded: (what, p, ms) => {
      const limit = ms ?? timeoutMs + BACKSTOP_MS;
      return withDeadline(p, limit, () => unavailable(`${what}: no answer within ${formatDuration(limit)}`, target));
    },
    close: (closeOpts) => closeQuietly(client, closeOpts?.revoke ?? false, Math.min(timeoutMs, 5_000) + BACKSTOP_MS),
  };
}

/** connectTo opens a client over `target`'s endpoints. */
export async function connectTo(target: ResolvedEndpoints, options: Omit<ConnectOptions, 'endpoints'> = {}): Promise<Client> {
  try {
    return await connect({ ...options, endpoints: [...target.endpoints] });
  } catch (err) {
    throw clientError(err, target);
  }
}

/** closeQuietly closes a client within `ms`, ignoring failures. */
export async function closeQuietly(client: Client, revoke: boolean, ms: number): Promise<void> {
  await withDeadline(client.close({ revoke }), ms, () => null).catch(() => undefined);
}

/** withSession runs `fn` with an open session and always closes it (leases it granted are not revoked). */
export async function withSession<T>(opts: CommonOptions, fn: (s: Session) => Promise<T>): Promise<T> {
  const s = await openSession(opts);
  try {
    return await fn(s);
  } catch (err) {
    throw clientError(err, s.target);
  } finally {
    await s.close();
  }
}

/** withDeadline settles like `p`, or after `ms` rejects with onTimeout() (resolves undefined when it returns null). */
export function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error | null): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      const err = onTimeout();
      if (err === null) resolve(undefined as T);
      else reject(err);
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** unavailable builds the "cluster unavailable" error, naming the endpoints and where they came from. */
export function unavailable(detail: string, target: ResolvedEndpoints): CliError {
  const from = target.source === '--endpoints' ? '' : ` (from ${target.source})`;
  return new CliError(`cluster unavailable at ${target.endpoints.join(',')}${from}: ${oneLine(detail)}`, EXIT.unavailable);
}

/** clientError maps a failed cluster call to a CliError; errors that are not the client library's pass through. */
export function clientError(err: unknown, target: ResolvedEndpoints | null): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof UnavailableError) {
    // NotLeaderError is an UnavailableError too: no leader served the request in time.
    return target === null ? new CliError(`cluster unavailable: ${oneLine(err.message)}`, EXIT.unavailable) : unavailable(err.message, target);
  }
  if (!(err instanceof RaftlockError)) return err;
  const message = oneLine(err.message);
  if (err instanceof InvalidArgumentError) return new CliError(message, EXIT.usage);
  if (err instanceof LockHeldError) return new CliError(message, EXIT.notAcquired);
  if (err instanceof InternalError) return new CliError(`the cluster failed unexpectedly (a bug, please report it): ${message}`, EXIT.failed);
  if (err instanceof UnauthenticatedError) return new CliError(`${message} (pass --token, set $RAFTLOCK_AUTH_TOKEN, or use a user certificate with --cert/--key)`, EXIT.noPermission);
  if (err instanceof PermissionDeniedError) return new CliError(message, EXIT.noPermission);
  // LeaseNotFound, LeaseLost, LeaseIdConflict, LockConflict, ResourceExhausted, Abort, ClientClosed: refused.
  return new CliError(message, EXIT.failed);
}

/** refusedTtl names the flag or argument when the cluster refuses a TTL (InvalidArgumentError), else maps as usual. */
export function ttlError(err: unknown, what: string, text: string, target: ResolvedEndpoints): unknown {
  if (err instanceof InvalidArgumentError) return new CliError(`${what} ${JSON.stringify(text)} refused by the cluster: ${oneLine(err.message)}`, EXIT.usage);
  return clientError(err, target);
}

/** describeClientError is for main.ts: a client-library error that escaped a command becomes a CliError. */
export function describeClientError(err: unknown): CliError | null {
  const e = clientError(err, null);
  return e instanceof CliError ? e : null;
}
