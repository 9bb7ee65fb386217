import { X509Certificate, createPrivateKey, createHash, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * tlsFiles: reading and checking the PEM files of one TLS identity (CA
 * bundle, certificate chain, private key) before anything serves with them.
 * It lives in the client library, which must stand alone; the node's TLS
 * (src/security) uses it too.
 * Every check that TLS would otherwise only fail at the first handshake —
 * and often with an unhelpful message — is made here, naming the file: it
 * exists and is readable, it holds PEM of the right kind, the key matches
 * the certificate, the certificate was issued by the CA, it is valid now,
 * and (for members) it carries the member's identity.
 */

/** TlsFiles: absolute paths of one identity's files. cert and key are absent for a client with no certificate. */
export interface TlsFiles {
  readonly ca: string;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

/** TlsMaterial: the checked contents, ready for a SecureContext. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer | null;
  readonly key: Buffer | null;
  /** leaf: the certificate this side presents, if any. */
  readonly leaf: X509Certificate | null;
  /** fingerprint256 of the leaf (or of the first CA without one), for logs. */
  readonly fingerprint: string;
}

/** TlsFileError: a TLS file is missing, unreadable or does not fit; the message names the file and says what is expected. */
export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';
}

export interface TlsCheck {
  /** identity: what else the certificate must be (a member's name): null when it is, else the problem. */
  readonly identity?: ((leaf: X509Certificate) => string | null) | undefined;
  /** now: the time validity is checked against (default: the current time). */
  readonly now?: Date;
  /** what: a short label for messages, e.g. "n1 peer TLS". */
  readonly what: string;
}

/** loadTlsMaterial reads and checks `files`; TlsFileError says what is wrong. */
export function loadTlsMaterial(files: TlsFiles, check: TlsCheck): TlsMaterial {
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new TlsFileError(`${check.what}: a certificate and its key go together; give both or neither (got ${files.cert === undefined ? 'a key only' : 'a certificate only'})`);
  }
  const ca = readPem(files.ca, `${check.what} CA`);
  const caCerts = parseCertificates(ca, files.ca, `${check.what} CA`);
  if (files.cert === undefined || files.key === undefined) {
    return { ca, cert: null, key: null, leaf: null, fingerprint: (caCerts[0] as X509Certificate).fingerprint256 };
  }
  const cert = readPem(files.cert, `${check.what} certificate`);
  const chain = parseCertificates(cert, files.cert, `${check.what} certificate`);
  const key = readPem(files.key, `${check.what} key`);
  const privateKey = parseKey(key, files.key, `${check.what} key`);
  const leaf = chain[0] as X509Certificate;
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TlsFileError(`${check.what}: the key ${files.key} does not belong to the certificate ${files.cert}; use the key the certificate was issued for`);
  }
  if (!issuedByCa(chain, caCerts)) {
    throw new TlsFileError(`${check.what}: the certificate ${files.cert} (issuer "${oneLine(leaf.issuer)}") was not issued by the CA in ${files.ca}; issue it with that CA or point "ca" at the CA that issued it`);
  }
  const now = check.now ?? new Date();
  if (now < new Date(leaf.validFrom) || now > new Date(leaf.validTo)) {
    throw new TlsFileError(`${check.what}: the certificate ${files.cert} is valid only from ${leaf.validFrom} to ${leaf.validTo}; issue a current one`);
  }
  const problem = check.identity?.(leaf) ?? null;
  if (problem !== null) throw new TlsFileError(`${check.what}: the certificate ${files.cert} ${problem}`);
  return { ca, cert, key, leaf, fingerprint: leaf.fingerprint256 };
}

/** readPem reads a PEM file; TlsFileError when it is missing, unreadable or holds no PEM. */
export function readPem(path: string, what: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'it does not exist' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
    throw new TlsFileError(`${what}: cannot read ${path}: ${why}`);
  }
  if (!data.toString('latin1').includes('-----BEGIN ')) {
    throw new TlsFileError(`${what}: ${path} is not a PEM file (no "-----BEGIN" line); expected PEM text as openssl writes it`);
  }
  return data;
}

/** parseCertificates parses every CERTIFICATE block of a PEM file (at least one). */
export function parseCertificates(pem: Buffer, path: string, what: string): X509Certificate[] {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TlsFileError(`${what}: ${path} holds no "BEGIN CERTIFICATE" block; expected a PEM certificate`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new TlsFileError(`${what}: certificate ${i + 1} in ${path} cannot be parsed: ${(err as Error).message}`);
    }
  });
}

function parseKey(pem: Buffer, path: string, what: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new TlsFileError(`${what}: ${path} holds no usable private key (${(err as Error).message}); expected an unencrypted PEM private key`);
  }
}

/** issuedByCa: the chain (leaf first, then intermediates) leads to one of the CA certificates, each link signed. */
function issuedByCa(chain: readonly X509Certificate[], cas: readonly X509Certificate[]): boolean {
  let current = chain[0] as X509Certificate;
  const intermediates = chain.slice(1);
  for (let depth = 0; depth <= intermediates.length; depth++) {
    if (cas.some((ca) => current.checkIssued(ca) && current.verify(ca.publicKey))) return true;
    const next = intermediates.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (next === undefined) return false;
    current = next;
  }
  return false;
}

/** digest: a short fingerprint of file contents, for "did anything change" logs. */
export function digest(...parts: readonly (Buffer | null)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p ?? Buffer.alloc(0)).update('\0');
  return h.digest('hex').slice(0, 16);
}

function oneLine(s: string): string {
  return s.replace(/\n/g, ', ');
}
