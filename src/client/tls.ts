import * as grpc from '@grpc/grpc-js';
import { createPrivateKey } from 'node:crypto';
import { loadTlsMaterial, parseCertificates, TlsFileError } from './tlsFiles.js';
import { InvalidArgumentError } from './errors.js';

/**
 * tls: the client library's TLS settings. A cluster with client TLS
 * presents certificates issued by its CA; the client verifies them (and the
 * host it dialled, against the certificate's IP/DNS names) with `ca`, and
 * presents `cert`/`key` when the cluster requires client certificates.
 */
export interface ClientTlsOptions {
  /** ca: PEM text of the CA that issued the nodes' certificates. */
  readonly ca: string | Buffer;
  /** cert: PEM text of this client's certificate (chain), for clusters that require one. */
  readonly cert?: string | Buffer;
  /** key: PEM text of cert's private key (unencrypted). */
  readonly key?: string | Buffer;
}

/** ClientTlsFiles: paths of the PEM files, as the CLI takes them (--cacert, --cert, --key). */
export interface ClientTlsFiles {
  readonly caFile: string;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

/** loadClientTls reads and checks PEM files (InvalidArgumentError naming the file when one is missing or wrong). */
export function loadClientTls(files: ClientTlsFiles): ClientTlsOptions {
  try {
    const m = loadTlsMaterial({ ca: files.caFile, cert: files.certFile, key: files.keyFile }, { what: 'client TLS' });
    return m.cert !== null && m.key !== null ? { ca: m.ca, cert: m.cert, key: m.key } : { ca: m.ca };
  } catch (err) {
    if (err instanceof TlsFileError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** channelCredentials: TLS credentials for `tls`, or plaintext without it; InvalidArgumentError when the PEM text is wrong. */
export function channelCredentials(tls: ClientTlsOptions | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  const ca = pem(tls.ca, 'tls.ca');
  const cert = tls.cert === undefined ? null : pem(tls.cert, 'tls.cert');
  const key = tls.key === undefined ? null : pem(tls.key, 'tls.key');
  if ((cert === null) !== (key === null)) throw new InvalidArgumentError('tls.cert and tls.key go together; give both or neither');
  try {
    parseCertificates(ca, 'tls.ca', 'client TLS CA');
    if (cert !== null && key !== null) {
      const leaf = parseCertificates(cert, 'tls.cert', 'client TLS certificate')[0];
      let privateKey;
      try {
        privateKey = createPrivateKey(key);
      } catch (err) {
        throw new TlsFileError(`tls.key holds no usable private key (${(err as Error).message}); accepted: an unencrypted PEM private key`);
      }
      if (leaf === undefined || !leaf.checkPrivateKey(privateKey)) throw new TlsFileError('tls.key does not belong to tls.cert; use the key the certificate was issued for');
    }
  } catch (err) {
    if (err instanceof TlsFileError) throw new InvalidArgumentError(err.message);
    throw err;
  }
  return grpc.credentials.createSsl(ca, key, cert);
}

function pem(value: string | Buffer, name: string): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value) : value;
  if (!Buffer.isBuffer(b) || !b.toString('latin1').includes('-----BEGIN ')) {
    throw new InvalidArgumentError(`${name} holds no PEM text; accepted: the contents of a PEM file (or use loadClientTls({ caFile, certFile, keyFile }) to read files)`);
  }
  return b;
}
