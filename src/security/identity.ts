/**
 * identity: how a certificate names a raftlock node. A member's certificate
 * carries the URI subject alternative name
 *
 *   raftlock://<clusterId>/node/<nodeId>
 *
 * so the name binds both the cluster and the member (a certificate of n2 in
 * cluster "a" is no good in cluster "b"), and it does not depend on addresses:
 * node ids are stable names, addresses change. Peers are authenticated by this
 * name only; the IP/DNS names in the same certificate are for clients, which
 * check them the ordinary way (the host they dialled).
 */

/** nodeIdentity is the URI SAN a member's certificate must carry. */
export function nodeIdentity(clusterId: string, nodeId: string): string {
  return `raftlock://${clusterId}/node/${nodeId}`;
}

/**
 * uriSans lists the URI entries of a subjectAltName string as Node prints it
 * ("URI:raftlock://c/node/n1, IP Address:127.0.0.1"); entries with special
 * characters are JSON-quoted by newer Node versions.
 */
export function uriSans(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined || subjectAltName === '') return [];
  const out: string[] = [];
  for (const entry of splitSans(subjectAltName)) {
    if (!entry.startsWith('URI:')) continue;
    let value = entry.slice(4);
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    out.push(value);
  }
  return out;
}

/** PeerIdentity: the member a certificate names in our cluster, or why it names none. */
export type PeerIdentity = { readonly ok: true; readonly nodeId: string } | { readonly ok: false; readonly reason: string };

/**
 * memberNamedBy finds the one member of `clusterId` a certificate's SANs
 * name. A certificate naming no member, several members, or a member of
 * another cluster names none.
 */
export function memberNamedBy(subjectAltName: string | undefined, clusterId: string): PeerIdentity {
  const prefix = `raftlock://${clusterId}/node/`;
  const all = uriSans(subjectAltName).filter((u) => u.startsWith('raftlock://'));
  const ours = all.filter((u) => u.startsWith(prefix)).map((u) => u.slice(prefix.length));
  if (ours.length === 1 && /^[a-z][a-z0-9-]{0,31}$/.test(ours[0] as string)) return { ok: true, nodeId: ours[0] as string };
  if (ours.length > 1) return { ok: false, reason: `the certificate names several members (${ours.join(', ')}); a member certificate names exactly one` };
  const shown = all.length === 0 ? 'no raftlock:// URI SAN' : `URI SANs ${all.join(', ')}`;
  return { ok: false, reason: `the certificate carries ${shown}; a member of cluster "${clusterId}" needs ${prefix}<id>` };
}

function splitSans(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"' && text[i - 1] !== '\\') quoted = !quoted;
    if (!quoted && c === ',' && text[i + 1] === ' ') {
      out.push(current);
      current = '';
      i++;
      continue;
    }
    current += c;
  }
  if (current !== '') out.push(current);
  return out;
}

/** requireUriSan: a TlsCheck identity that the certificate carries `uri` (a member's own name), with the fix in the message. */
export function requireUriSan(uri: string): (leaf: { readonly subjectAltName: string | undefined }) => string | null {
  return (leaf) => {
    const has = uriSans(leaf.subjectAltName);
    if (has.includes(uri)) return null;
    return `must carry the URI SAN ${uri} (it has ${has.length === 0 ? 'no URI SAN' : has.join(', ')}); issue it with npm run certs or add that SAN`;
  };
}
