import { uriSans } from './identity.js';

/**
 * userIdentity: how a client certificate names a raftlock user — the URI SAN
 *
 *   raftlock://<clusterId>/user/<name>
 *
 * issued by `npm run certs -- --users alice,root`. Like member names it binds
 * the cluster, so a user certificate of cluster "a" means nothing in "b".
 */
export function userIdentity(clusterId: string, user: string): string {
  return `raftlock://${clusterId}/user/${user}`;
}

/** userNamedBy returns the one user of `clusterId` a certificate's SANs name, or null (none, or several). */
export function userNamedBy(subjectAltName: string | undefined, clusterId: string): string | null {
  const prefix = `raftlock://${clusterId}/user/`;
  const users = uriSans(subjectAltName).filter((u) => u.startsWith(prefix)).map((u) => u.slice(prefix.length));
  return users.length === 1 ? (users[0] as string) : null;
}
