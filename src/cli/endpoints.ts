import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './errors.js';

/**
 * Where the client commands find the cluster, first match wins:
 *   1. --endpoints host:port,host:port
 *   2. the RAFTLOCK_ENDPOINTS environment variable (same format)
 *   3. the client addresses of cluster.example.json in the package root (the
 *      local cluster `npm start` runs)
 */

export const ENDPOINTS_ENV = 'RAFTLOCK_ENDPOINTS';
export const EXAMPLE_CONFIG = 'cluster.example.json';
export const ENDPOINTS_HELP = `comma-separated host:port list of client addresses (default: $${ENDPOINTS_ENV}, else the members of ${EXAMPLE_CONFIG})`;

export interface ResolvedEndpoints {
  readonly endpoints: readonly string[];
  /** source: where they came from, for messages: "--endpoints", "$RAFTLOCK_ENDPOINTS" or the example config's path. */
  readonly source: string;
}

export interface ResolveOptions {
  /** flag: the --endpoints value, if given. */
  readonly flag?: string | undefined;
  /** env: the environment to read RAFTLOCK_ENDPOINTS from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** root: the package root holding cluster.example.json (default: found from this file). */
  readonly root?: string;
}

/** resolveEndpoints returns the endpoints to use, or throws a UsageError saying how to give them. */
export function resolveEndpoints(options: ResolveOptions = {}): ResolvedEndpoints {
  if (options.flag !== undefined) return { endpoints: parseEndpoints(options.flag, '--endpoints'), source: '--endpoints' };
  const fromEnv = (options.env ?? process.env)[ENDPOINTS_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return { endpoints: parseEndpoints(fromEnv, `$${ENDPOINTS_ENV}`), source: `$${ENDPOINTS_ENV}` };
  }
  const root = options.root ?? packageRoot();
  const path = join(root, EXAMPLE_CONFIG);
  return { endpoints: endpointsFromConfig(path), source: path };
}

/** parseEndpoints splits a comma-separated host:port list and checks every entry. */
export function parseEndpoints(text: string, what: string): string[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`${what} is empty: expected a comma-separated host:port list, e.g. 127.0.0.1:7001,127.0.0.1:7002`);
  const out: string[] = [];
  for (const item of items) {
    const problem = endpointProblem(item);
    if (problem !== null) throw new UsageError(`invalid endpoint ${JSON.stringify(item)} in ${what}: ${problem}`);
    if (!out.includes(item)) out.push(item);
  }
  return out;
}

const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

function endpointProblem(item: string): string | null {
  const expected = 'expected host:port, e.g. 127.0.0.1:7001 or localhost:7001';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(item)) return `drop the scheme; ${expected}`;
  const colon = item.lastIndexOf(':');
  if (colon <= 0) return `no port; ${expected}`;
  const host = item.slice(0, colon);
  const port = item.slice(colon + 1);
  if (!HOST.test(host)) return `bad host ${JSON.stringify(host)}; ${expected}`;
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535) return `the port must be 1-65535; ${expected}`;
  return null;
}

/** endpointsFromConfig reads the client addresses of a cluster config file. */
export function endpointsFromConfig(path: string): string[] {
  const how = `pass --endpoints host:port,... or set ${ENDPOINTS_ENV}`;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'it does not exist' : e instanceof SyntaxError ? `it is not valid JSON (${e.message})` : e.message;
    throw new UsageError(`no endpoints: ${how} (the default, the client addresses in ${path}, cannot be read: ${why})`);
  }
  const nodes = (raw as { nodes?: unknown } | null)?.nodes;
  const addresses = Array.isArray(nodes)
    ? nodes.map((n) => (n as { clientAddress?: unknown } | null)?.clientAddress).filter((a): a is string => typeof a === 'string')
    : [];
  if (addresses.length === 0) throw new UsageError(`no endpoints: ${how} (${path} lists no nodes[].clientAddress)`);
  return parseEndpoints(addresses.join(','), path);
}

/** packageRoot is the raftlock package's folder: the nearest parent of this file with raftlock's package.json. */
export function packageRoot(from: string = import.meta.dirname): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'raftlock') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    if (dirname(dir) === dir) return resolve(import.meta.dirname, '..', '..');
  }
}
