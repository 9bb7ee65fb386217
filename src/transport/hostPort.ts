/** MAX_HOST_PORT_CHARS bounds an address taken from the wire or a config (a DNS name is at most 253 characters). */
const MAX_HOST_PORT_CHARS = 261;

/**
 * validAddress: `address` is host:port, the host a DNS name, an IPv4 address
 * or a bracketed IPv6 address, the port from 1 to 65535. Used for config
 * files, membership requests and the sender address a peer batch carries.
 */
export function validAddress(address: string): boolean {
  if (address.length > MAX_HOST_PORT_CHARS) return false;
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(address);
  if (m === null) return false;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535;
}
