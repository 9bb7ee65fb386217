import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, loadClientTls, type ClientTlsOptions } from '../client/index.js';
import { UsageError } from './errors.js';

/**
 * Where the client commands find their TLS files; for each of the CA,
 * certificate and key, the first that names it wins:
 *   1. --cacert FILE, --cert FILE, --key FILE
 *   2. $RAFTLOCK_CACERT, $RAFTLOCK_CERT, $RAFTLOCK_KEY
 *   3. a JSON file { "cacert": ..., "cert": ..., "key": ... } named by
 *      --tls-config FILE or $RAFTLOCK_TLS_CONFIG (paths relative to that file)
 * With no CA from any of them, the commands talk plaintext.
 *
 * The bearer token for a cluster with auth enabled is found the same way:
 * --token TOKEN, then $RAFTLOCK_AUTH_TOKEN, then "token" in that JSON file.
 * (Not $RAFTLOCK_TOKEN: `raftlock lock` already gives its command the fencing
 * token under that name, and a nested raftlock must not mistake one for the other.)
 */

export interface TlsFlags {
  cacert?: string;
  cert?: string;
  key?: string;
  tlsConfig?: string;
  token?: string;
}

export const TLS_ENV = Object.freeze({ cacert: 'RAFTLOCK_CACERT', cert: 'RAFTLOCK_CERT', key: 'RAFTLOCK_KEY', config: 'RAFTLOCK_TLS_CONFIG', token: 'RAFTLOCK_AUTH_TOKEN' });

/** addTlsOptions adds --cacert, --cert, --key and --tls-config to a client command. */
export function addTlsOptions(cmd: Command): Command {
  return cmd
    .option('--cacert <file>', `TLS: PEM CA that issued the nodes' certificates; turns TLS on (default: $${TLS_ENV.cacert})`)
    .option('--cert <file>', `TLS: PEM client certificate, for clusters that require one (default: $${TLS_ENV.cert})`)
    .option('--key <file>', `TLS: PEM private key of --cert (default: $${TLS_ENV.key})`)
    .option('--tls-config <file>', `TLS: JSON file {"cacert","cert","key","token"} with paths relative to it (default: $${TLS_ENV.config})`)
    .option('--token <token>', `auth: bearer token for a cluster with auth enabled (default: $${TLS_ENV.token}, else "token" in --tls-config)`);
}

/** resolveToken returns the bearer token to send, or undefined; see the order above. */
export function resolveToken(flags: TlsFlags, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = flags.token ?? nonEmpty(env[TLS_ENV.token]) ?? readTlsConfig(flags.tlsConfig ?? nonEmpty(env[TLS_ENV.config]))?.token;
  if (token !== undefined && !/^[\x21-\x7e]{1,512}$/.test(token)) {
    throw new UsageError('the token must be printable ASCII without spaces, as raftlock token issue prints it');
  }
  return token;
}

/** resolveTls returns the client's TLS settings, or undefined for plaintext; UsageError names what is wrong. */
export function resolveTls(flags: TlsFlags, env: NodeJS.ProcessEnv = process.env): ClientTlsOptions | undefined {
  const file = readTlsConfig(flags.tlsConfig ?? nonEmpty(env[TLS_ENV.config]));
  const pick = (k: 'cacert' | 'cert' | 'key'): string | undefined => flags[k] ?? nonEmpty(env[TLS_ENV[k]]) ?? file?.[k];
  const caFile = pick('cacert');
  const certFile = pick('cert');
  const keyFile = pick('key');
  if (caFile === undefined) {
    if (certFile !== undefined || keyFile !== undefined) {
      throw new UsageError(`a client certificate or key was given without a CA: add --cacert FILE (or $${TLS_ENV.cacert}) naming the CA that issued the nodes' certificates`);
    }
    return undefined;
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError(`--cert and --key go together: give both (or $${TLS_ENV.cert} and $${TLS_ENV.key}) or neither`);
  }
  try {
    return loadClientTls({ caFile, certFile, keyFile });
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new UsageError(err.message);
    throw err;
  }
}

function readTlsConfig(path: string | undefined): { cacert?: string; cert?: string; key?: string; token?: string } | undefined {
  if (path === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`TLS config ${path} cannot be read: ${e.code === 'ENOENT' ? 'it does not exist' : e.message}; expected JSON like {"cacert": "ca.pem", "cert": "client.pem", "key": "client-key.pem"}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`TLS config ${path} must be a JSON object with "cacert", "cert", "key"`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k !== 'cacert' && k !== 'cert' && k !== 'key' && k !== 'token') throw new UsageError(`TLS config ${path} has an unknown field ${JSON.stringify(k)}; accepted: cacert, cert, key, token`);
    if (typeof v !== 'string' || v === '') throw new UsageError(`TLS config ${path}: "${k}" must be ${k === 'token' ? 'a bearer token' : 'a file path'}, got ${JSON.stringify(k === 'token' ? typeof v : v)}`);
    out[k] = k === 'token' || isAbsolute(v) ? v : resolve(dirname(path), v);
  }
  return out;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}
