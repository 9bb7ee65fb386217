#!/usr/bin/env node
// The `raftlock` command: registers tsx's loader, then runs the TypeScript CLI.
import { register } from 'tsx/esm/api';
import './quietIpServername.mjs';

register();
await import('../src/cli/main.ts');
