import { readFile, readdir, readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';

/**
 * socketOwner finds which of a few known processes opened the far end of a
 * loopback connection this process accepted (Linux: /proc).
 *
 * Why: a member added at run time is reached by every other node at the one
 * address in its `member add` entry, so the harness cannot give each
 * directed link to it a proxy port of its own, as it does for the members in
 * the config files. Instead that address is a demultiplexer (see
 * linkDemux.ts) that asks, per accepted connection, which node process
 * opened it, and hands the connection to that link's FaultProxy.
 *
 * How: the connecting socket is the /proc/net/tcp row whose local address
 * is the accepted socket's remote address and whose remote address is our
 * listener; its inode appears as `socket:[inode]` among the owner's
 * /proc/<pid>/fd links. Candidates are the harness's own node pids only.
 */

/** MAX_FDS_SCANNED bounds the descriptors looked at per candidate process. */
const MAX_FDS_SCANNED = 4_096;

/**
 * ownerOf returns the key of the candidate whose process holds the far end
 * of `accepted`, or null when none does (or the connection is already gone).
 */
export async function ownerOf(accepted: Socket, candidates: ReadonlyMap<string, number>): Promise<string | null> {
  const remotePort = accepted.remotePort;
  const localPort = accepted.localPort;
  if (remotePort === undefined || localPort === undefined || accepted.remoteAddress !== '127.0.0.1') return null;
  const inode = await connectingInode(remotePort, localPort);
  if (inode === null) return null;
  const link = `socket:[${inode}]`;
  for (const [key, pid] of candidates) {
    if (await holdsLink(pid, link)) return key;
  }
  return null;
}

/** connectingInode: the inode of the socket 127.0.0.1:fromPort -> 127.0.0.1:toPort, from /proc/net/tcp. */
async function connectingInode(fromPort: number, toPort: number): Promise<string | null> {
  const local = `0100007F:${hex4(fromPort)}`;
  const remote = `0100007F:${hex4(toPort)}`;
  const table = await readFile('/proc/net/tcp', 'utf8');
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (f[1] === local && f[2] === remote) return f[9] ?? null;
  }
  return null;
}

async function holdsLink(pid: number, link: string): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return false; // the process is gone
  }
  for (const fd of fds.slice(0, MAX_FDS_SCANNED)) {
    try {
      if ((await readlink(`/proc/${pid}/fd/${fd}`)) === link) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

function hex4(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}
