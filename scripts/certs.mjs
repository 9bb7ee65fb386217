#!/usr/bin/env node
// `npm run certs -- [--out DIR] [--cluster-id ID] [--nodes n1,n2,n3] [--clients NAME,...]
//                   [--users NAME,...] [--hosts 127.0.0.1,::1,localhost] [--days N] [--renew] [--new-ca]`
//
// Issues a DEVELOPMENT certificate authority and certificates for raftlock
// with the `openssl` command: the CA (ca.pem, ca-key.pem), one certificate per
// member (<id>.pem, <id>-key.pem) and one per client (<name>.pem,
// <name>-key.pem). Files that exist are kept, so running it again only fills
// in what is missing; --renew re-issues the member and client certificates
// with the existing CA (rotation), --new-ca starts over with a new CA.
//
// A member certificate carries the URI SAN raftlock://<clusterId>/node/<id>
// (how peers authenticate each other, see src/security/identity.ts) plus the
// --hosts as IP/DNS SANs (how clients check the node they dialled), and may
// serve and dial (serverAuth, clientAuth). A client certificate carries
// raftlock://<clusterId>/client/<name> and is for clientAuth only. A user
// certificate (--users alice,root: user-<name>.pem, user-<name>-key.pem)
// carries raftlock://<clusterId>/user/<name>: on a cluster with auth enabled
// it authenticates as that user (root: the built-in admin).
// Keys are ECDSA P-256, unencrypted, mode 0600: fine for development, keep
// production keys in whatever your platform offers.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = 'usage: npm run certs -- [--out DIR] [--cluster-id ID] [--nodes n1,n2,n3] [--clients client] [--users alice,root] [--hosts 127.0.0.1,::1,localhost] [--days 825] [--renew] [--new-ca]';

function fail(message) {
  console.error(`raftlock certs: ${message}`);
  process.exit(1);
}

let args;
try {
  args = parseArgs({
    options: {
      out: { type: 'string', default: 'data/tls' },
      'cluster-id': { type: 'string', default: 'raftlock-local' },
      nodes: { type: 'string', default: 'n1,n2,n3' },
      clients: { type: 'string', default: 'client' },
      users: { type: 'string', default: '' },
      hosts: { type: 'string', default: '127.0.0.1,::1,localhost' },
      days: { type: 'string', default: '825' },
      renew: { type: 'boolean', default: false },
      'new-ca': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  fail(`${err.message}\n${USAGE}`);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const list = (text) => text.split(',').map((s) => s.trim()).filter((s) => s !== '');
const out = resolve(args.out);
const clusterId = args['cluster-id'];
const nodes = list(args.nodes);
const clients = list(args.clients);
const users = list(args.users);
const hosts = list(args.hosts);
const days = Number(args.days);
if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(clusterId)) fail(`--cluster-id ${JSON.stringify(clusterId)} is not a valid cluster id (letters, digits, '.', '_', '-')`);
for (const id of [...nodes, ...clients]) {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(id)) fail(`${JSON.stringify(id)} is not a valid node or client name (lowercase letters, digits, '-', starting with a letter)`);
}
for (const name of users) {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name)) fail(`${JSON.stringify(name)} is not a valid user name (1-64 of A-Z a-z 0-9 . _ @ -, starting with a letter or digit)`);
}
if (!Number.isSafeInteger(days) || days < 1 || days > 3650) fail(`--days must be a whole number from 1 to 3650, got ${JSON.stringify(args.days)}`);

const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
if (openssl.error || openssl.status !== 0) {
  fail('the `openssl` command is needed to issue certificates and was not found.\n' +
    '  Debian/Ubuntu: sudo apt-get install openssl    Fedora/RHEL: sudo dnf install openssl\n' +
    '  macOS: brew install openssl                    Alpine: apk add openssl');
}

function run(argv) {
  const r = spawnSync('openssl', argv, { encoding: 'utf8' });
  if (r.error || r.status !== 0) fail(`openssl ${argv.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

mkdirSync(out, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'raftlock-certs-'));
const caCert = join(out, 'ca.pem');
const caKey = join(out, 'ca-key.pem');
const issued = [];

function newKey(path) {
  run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
  chmodSync(path, 0o600);
}

function issue(name, sans, usage) {
  const cert = join(out, `${name}.pem`);
  const key = join(out, `${name}-key.pem`);
  if (existsSync(cert) && existsSync(key) && !args.renew && !args['new-ca']) return;
  newKey(key);
  const csr = join(work, `${name}.csr`);
  const ext = join(work, `${name}.ext`);
  run(['req', '-new', '-key', key, '-subj', `/O=raftlock ${clusterId}/CN=${name}`, '-out', csr]);
  writeFileSync(ext, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${usage}`,
    `subjectAltName=${sans.join(',')}`,
    '',
  ].join('\n'));
  run(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
    '-days', String(days), '-sha256', '-extfile', ext, '-out', cert]);
  issued.push(name);
}

try {
  if (args['new-ca'] || !existsSync(caCert) || !existsSync(caKey)) {
    newKey(caKey);
    run(['req', '-x509', '-new', '-key', caKey, '-sha256', '-days', String(days), '-subj', `/O=raftlock ${clusterId}/CN=raftlock development CA`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', caCert]);
    issued.push('ca');
  }
  const hostSans = hosts.map((h) => (/^[0-9.]+$/.test(h) || h.includes(':') ? `IP:${h}` : `DNS:${h}`));
  for (const id of nodes) issue(id, [`URI:raftlock://${clusterId}/node/${id}`, ...hostSans], 'serverAuth,clientAuth');
  for (const name of clients) issue(name, [`URI:raftlock://${clusterId}/client/${name}`], 'clientAuth');
  for (const name of users) issue(`user-${name}`, [`URI:raftlock://${clusterId}/user/${name}`], 'clientAuth');
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(issued.length === 0
  ? `raftlock certs: everything already in ${out} (use --renew to re-issue, --new-ca to start over)`
  : `raftlock certs: issued ${issued.join(', ')} in ${out} (cluster ${clusterId}; development use)`);
