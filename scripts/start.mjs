#!/usr/bin/env node
// `npm start`: start the local 3-node cluster (cluster.example.json) through
// scripts/cluster.ts, which prints where the data and logs are, where each
// member's status page and metrics are, and how to stop it (`npm run cluster -- stop`). Extra arguments pass through, e.g.
// `npm start -- --nodes 5`. Plain JavaScript, so it runs before dependencies
// exist: without node_modules it runs `npm ci` first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

if (!existsSync(join(root, 'node_modules', 'tsx', 'package.json'))) {
  console.log('raftlock: dependencies are not installed; running npm ci first...');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const ci = spawnSync(npm, ['ci'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (ci.status !== 0) {
    console.error(`raftlock: npm ci failed${ci.error ? ` (${ci.error.message})` : ''}; fix that and run npm start again`);
    process.exit(ci.status ?? 1);
  }
}

const cluster = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'cluster.ts'), 'start', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
if (cluster.error) {
  console.error(`raftlock: could not run scripts/cluster.ts: ${cluster.error.message}`);
  process.exit(1);
}
process.exit(cluster.status ?? 1);
