import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberNamedBy, nodeIdentity, requireUriSan, uriSans } from '../../../src/security/identity.js';
import { TlsIdentity } from '../../../src/security/reloadableTls.js';
import { loadTlsMaterial, TlsFileError, type TlsFiles } from '../../../src/client/tlsFiles.js';
import { issueCerts } from '../../support/certs.js';

/** Certificates from scripts/certs.mjs (openssl): cluster "c1" with n1, n2 and a client, and a second CA. */
let dir: string;
let other: string;
const f = (name: string): string => join(dir, name);
const n1 = (): TlsFiles => ({ ca: f('ca.pem'), cert: f('n1.pem'), key: f('n1-key.pem') });
const check = { identity: requireUriSan(nodeIdentity('c1', 'n1')), what: 'n1 peer TLS' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'raftlock-tlsfiles-'));
  other = join(dir, 'other');
  issueCerts(['--out', dir, '--cluster-id', 'c1', '--nodes', 'n1,n2', '--clients', 'client', '--days', '2']);
  issueCerts(['--out', other, '--cluster-id', 'c1', '--nodes', 'n1', '--clients', '', '--days', '2']);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function refusal(files: TlsFiles, c: Parameters<typeof loadTlsMaterial>[1] = check): string {
  try {
    loadTlsMaterial(files, c);
  } catch (err) {
    expect(err).toBeInstanceOf(TlsFileError);
    return (err as Error).message;
  }
  throw new Error('the files were accepted');
}

describe('loadTlsMaterial', () => {
  it('accepts a member certificate issued by the CA that names the member', () => {
    const m = loadTlsMaterial(n1(), check);
    expect(m.leaf?.subject).toContain('CN=n1');
    expect(m.cert).not.toBeNull();
  });

  it('accepts a CA alone (a client without a certificate)', () => {
    expect(loadTlsMaterial({ ca: f('ca.pem') }, { what: 'client' }).leaf).toBeNull();
  });

  it('accepts a CA bundle holding an old and a new CA (CA rotation)', () => {
    writeFileSync(f('bundle.pem'), Buffer.concat([readFileSync(join(other, 'ca.pem')), readFileSync(f('ca.pem'))]));
    expect(loadTlsMaterial({ ...n1(), ca: f('bundle.pem') }, check).leaf?.subject).toContain('CN=n1');
    expect(loadTlsMaterial({ ca: f('bundle.pem'), cert: join(other, 'n1.pem'), key: join(other, 'n1-key.pem') }, check).leaf?.subject).toContain('CN=n1');
  });

  it('names the file and the problem', () => {
    expect(refusal({ ...n1(), ca: f('missing.pem') })).toMatch(/n1 peer TLS CA: cannot read .*missing\.pem: it does not exist/);
    writeFileSync(f('garbage.pem'), 'hello\n');
    expect(refusal({ ...n1(), cert: f('garbage.pem') })).toMatch(/garbage\.pem is not a PEM file/);
    expect(refusal({ ...n1(), cert: f('n1-key.pem') })).toMatch(/n1-key\.pem holds no "BEGIN CERTIFICATE" block/);
    expect(refusal({ ...n1(), key: f('ca.pem') })).toMatch(/ca\.pem holds no usable private key/);
    expect(refusal({ ...n1(), key: f('n2-key.pem') })).toMatch(/the key .*n2-key\.pem does not belong to the certificate .*n1\.pem/);
    expect(refusal({ ...n1(), ca: join(other, 'ca.pem') })).toMatch(/n1\.pem .* was not issued by the CA in .*other\/ca\.pem/);
    expect(refusal({ ...n1(), cert: f('n2.pem'), key: f('n2-key.pem') })).toMatch(/must carry the URI SAN raftlock:\/\/c1\/node\/n1 \(it has raftlock:\/\/c1\/node\/n2\)/);
    expect(refusal(n1(), { ...check, now: new Date(Date.now() + 10 * 86_400_000) })).toMatch(/n1\.pem is valid only from .* to /);
    expect(refusal({ ca: f('ca.pem'), cert: f('n1.pem') })).toMatch(/a certificate and its key go together/);
  });
});

describe('member identity', () => {
  it('reads URI SANs, quoted or not', () => {
    expect(uriSans('URI:raftlock://c1/node/n1, IP Address:127.0.0.1, DNS:localhost')).toEqual(['raftlock://c1/node/n1']);
    expect(uriSans('DNS:a, URI:"raftlock://c1/node/n2"')).toEqual(['raftlock://c1/node/n2']);
    expect(uriSans(undefined)).toEqual([]);
  });

  it('names exactly one member of our cluster, or says why not', () => {
    expect(memberNamedBy('URI:raftlock://c1/node/n3, IP Address:127.0.0.1', 'c1')).toEqual({ ok: true, nodeId: 'n3' });
    expect(memberNamedBy('URI:raftlock://c2/node/n3', 'c1')).toMatchObject({ ok: false, reason: expect.stringMatching(/URI SANs raftlock:\/\/c2\/node\/n3; a member of cluster "c1" needs/) });
    expect(memberNamedBy('URI:raftlock://c1/node/n1, URI:raftlock://c1/node/n2', 'c1')).toMatchObject({ ok: false, reason: expect.stringMatching(/several members/) });
    expect(memberNamedBy('DNS:localhost', 'c1')).toMatchObject({ ok: false, reason: expect.stringMatching(/no raftlock:\/\/ URI SAN/) });
    expect(memberNamedBy('URI:raftlock://c1/client/client', 'c1').ok).toBe(false);
  });
});

describe('TlsIdentity.reload', () => {
  it('takes re-issued files, refuses broken ones and keeps serving the last good ones', () => {
    const rot = join(dir, 'rotation');
    issueCerts(['--out', rot, '--cluster-id', 'c1', '--nodes', 'n1', '--clients', '', '--days', '2']);
    const files = { ca: join(rot, 'ca.pem'), cert: join(rot, 'n1.pem'), key: join(rot, 'n1-key.pem') };
    const id = new TlsIdentity(files, check);
    const seen: string[] = [];
    id.subscribe((m) => seen.push(m.fingerprint));
    const first = id.current().fingerprint;
    expect(id.reload()).toEqual({ ok: true, changed: false, fingerprint: first });

    issueCerts(['--out', rot, '--cluster-id', 'c1', '--nodes', 'n1', '--clients', '', '--days', '2', '--renew']);
    const renewed = id.reload();
    expect(renewed.ok && renewed.changed).toBe(true);
    const second = id.current().fingerprint;
    expect(second).not.toBe(first);
    expect(seen).toEqual([second]);

    copyFileSync(f('n2-key.pem'), files.key);
    const broken = id.reload();
    expect(broken.ok).toBe(false);
    expect(!broken.ok && broken.error.message).toMatch(/does not belong to the certificate/);
    expect(id.current().fingerprint).toBe(second);
    expect(seen).toEqual([second]);
  });
});
