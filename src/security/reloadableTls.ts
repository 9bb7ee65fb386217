import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate, SecureContextOptions } from 'node:tls';
import { digest, loadTlsMaterial, TlsFileError, type TlsCheck, type TlsFiles, type TlsMaterial } from '../client/tlsFiles.js';

/**
 * reloadableTls: one TLS identity whose files can be re-read without a
 * restart, and the gRPC credentials built on it.
 *
 * Rotation: reload() re-reads and re-checks the files. Good new files
 * replace the old ones for every *new* connection (servers swap their
 * SecureContext through grpc-js's ServerCredentials.updateSecureContextOptions,
 * which calls http2's setSecureContext; channels build a SecureContext per
 * connection attempt from the latest files through grpc-js's certificate
 * provider interface). Connections already open keep the certificates they
 * were made with. Bad new files are refused: reload() reports why and the
 * old material keeps serving.
 */

export type ReloadResult =
  | { readonly ok: true; readonly changed: boolean; readonly fingerprint: string }
  | { readonly ok: false; readonly error: TlsFileError };

export class TlsIdentity implements grpc.experimental.CertificateProvider {
  private material: TlsMaterial;
  private contentDigest: string;
  private readonly subscribers = new Set<(m: TlsMaterial) => void>();
  private readonly caListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();
  private readonly identityListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();

  /** The constructor loads and checks the files at once: a TlsFileError stops a node before it serves. */
  constructor(readonly files: TlsFiles, private readonly check: TlsCheck) {
    this.material = loadTlsMaterial(files, check);
    this.contentDigest = digestOf(this.material);
  }

  current(): TlsMaterial {
    return this.material;
  }

  /** reload re-reads the files; on any problem the current material stays and the error is returned. */
  reload(): ReloadResult {
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(this.files, { ...this.check, now: new Date() });
    } catch (err) {
      if (err instanceof TlsFileError) return { ok: false, error: err };
      throw err;
    }
    const d = digestOf(next);
    if (d === this.contentDigest) return { ok: true, changed: false, fingerprint: next.fingerprint };
    this.material = next;
    this.contentDigest = d;
    for (const fn of this.subscribers) fn(next);
    for (const l of this.caListeners) l({ caCertificate: next.ca });
    if (next.cert !== null && next.key !== null) for (const l of this.identityListeners) l({ certificate: next.cert, privateKey: next.key });
    return { ok: true, changed: true, fingerprint: next.fingerprint };
  }

  /** subscribe: `fn` sees every material a reload accepts. */
  subscribe(fn: (m: TlsMaterial) => void): void {
    this.subscribers.add(fn);
  }

  // grpc-js CertificateProvider: listeners get the current files on the next tick (grpc-js registers
  // its own watcher only after adding the listener), then every accepted reload.
  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    process.nextTick(() => {
      if (this.caListeners.has(listener)) listener({ caCertificate: this.material.ca });
    });
  }

  removeCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => {
      const m = this.material;
      if (!this.identityListeners.has(listener)) return;
      listener(m.cert !== null && m.key !== null ? { certificate: m.cert, privateKey: m.key } : null);
    });
  }

  removeIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(listener);
  }
}

/**
 * ReloadableServerCredentials: TLS server credentials that start with the
 * identity's current files and follow every accepted reload.
 * requestCert asks clients for a certificate; rejectUnauthorized refuses the
 * handshake of a client without one issued by the CA. The peer port asks
 * but does not refuse at the handshake, so the transport can refuse the
 * stream itself and log why (see PeerTransport's authenticate option).
 */
export class ReloadableServerCredentials extends grpc.ServerCredentials {
  constructor(identity: TlsIdentity, o: { readonly requestCert: boolean; readonly rejectUnauthorized: boolean }) {
    super({ requestCert: o.requestCert, rejectUnauthorized: o.rejectUnauthorized }, contextOptions(identity.current()));
    identity.subscribe((m) => this.updateSecureContextOptions(contextOptions(m)));
  }

  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * channelCredentials: TLS channel credentials that verify the server against
 * the identity's CA and present its certificate (when it has one), following
 * reloads for new connections. checkServerIdentity replaces the host name
 * check when given (peers check the member's raftlock:// name instead).
 */
export function channelCredentials(
  identity: TlsIdentity,
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined,
): grpc.ChannelCredentials {
  const presents = identity.current().cert !== null;
  return grpc.experimental.createCertificateProviderChannelCredentials(identity, presents ? identity : null, checkServerIdentity === undefined ? {} : { checkServerIdentity });
}

function contextOptions(m: TlsMaterial): SecureContextOptions {
  const o: SecureContextOptions = { ca: m.ca };
  if (m.cert !== null && m.key !== null) {
    o.cert = m.cert;
    o.key = m.key;
  }
  return o;
}

function digestOf(m: TlsMaterial): string {
  return digest(m.ca, m.cert, m.key);
}
