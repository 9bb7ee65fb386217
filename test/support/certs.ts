import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** CERTS_SCRIPT issues development certificates with openssl (see the script's header). */
export const CERTS_SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'certs.mjs');

/**
 * issueCerts runs scripts/certs.mjs (development CA, member and client
 * certificates) with `args`, e.g. ['--out', dir, '--nodes', 'n1,n2,n3'].
 */
export function issueCerts(args: readonly string[]): void {
  const r = spawnSync(process.execPath, [CERTS_SCRIPT, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/certs.mjs ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
}
