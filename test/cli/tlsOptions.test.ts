import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { resolveTls } from '../../src/cli/tlsOptions.js';
import { issueCerts } from '../support/certs.js';

let dir: string;
let other: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'raftlock-clitls-'));
  other = join(dir, 'other');
  issueCerts(['--out', dir, '--cluster-id', 'c1', '--nodes', '', '--clients', 'client', '--days', '2']);
  issueCerts(['--out', other, '--cluster-id', 'c1', '--nodes', '', '--clients', 'client', '--days', '2']);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('CLI TLS options', () => {
  it('is plaintext without a CA', () => {
    expect(resolveTls({}, {})).toBeUndefined();
  });

  it('takes flags over the environment over the --tls-config file', () => {
    const config = join(dir, 'tls.json');
    writeFileSync(config, JSON.stringify({ cacert: 'other/ca.pem' }));
    const fromFile = resolveTls({ tlsConfig: config }, {});
    const fromEnv = resolveTls({ tlsConfig: config }, { RAFTLOCK_CACERT: join(dir, 'ca.pem') });
    const fromFlag = resolveTls({ tlsConfig: config, cacert: join(other, 'ca.pem') }, { RAFTLOCK_CACERT: join(dir, 'ca.pem') });
    expect(fromFile?.ca).toEqual(fromFlag?.ca);
    expect(fromEnv?.ca).not.toEqual(fromFile?.ca);
    expect(fromFile?.cert).toBeUndefined();
    expect(resolveTls({}, { RAFTLOCK_TLS_CONFIG: config })?.ca).toEqual(fromFile?.ca);
    const full = join(other, 'tls.json');
    writeFileSync(full, JSON.stringify({ cacert: 'ca.pem', cert: 'client.pem', key: 'client-key.pem' }));
    expect(resolveTls({ tlsConfig: full }, {})?.cert).toBeDefined();
  });

  it('refuses incomplete or broken settings with a usage error that says what to do', () => {
    const usage = (f: () => unknown): string => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(usage(() => resolveTls({ cert: join(dir, 'client.pem'), key: join(dir, 'client-key.pem') }, {}))).toMatch(/without a CA: add --cacert FILE/);
    expect(usage(() => resolveTls({ cacert: join(dir, 'ca.pem'), cert: join(dir, 'client.pem') }, {}))).toMatch(/--cert and --key go together/);
    expect(usage(() => resolveTls({ cacert: join(dir, 'nope.pem') }, {}))).toMatch(/nope\.pem: it does not exist/);
    expect(usage(() => resolveTls({ cacert: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(other, 'client-key.pem') }, {}))).toMatch(/does not belong to the certificate/);
    expect(usage(() => resolveTls({ cacert: join(dir, 'ca.pem'), cert: join(other, 'client.pem'), key: join(other, 'client-key.pem') }, {}))).toMatch(/was not issued by the CA/);
    expect(usage(() => resolveTls({ tlsConfig: join(dir, 'none.json') }, {}))).toMatch(/none\.json cannot be read: it does not exist/);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ca: 'x' }));
    expect(usage(() => resolveTls({ tlsConfig: join(dir, 'bad.json') }, {}))).toMatch(/unknown field "ca"; accepted: cacert, cert, key/);
  });
});
