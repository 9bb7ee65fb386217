import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The boundaries of design.md §1, checked by scanning source text: the pure
 * core stays free of I/O, clocks and global randomness, and each I/O library is
 * reached from one layer only.
 */
const srcDir = join(import.meta.dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)) specs.push(m[1] as string);
  for (const m of text.matchAll(/import\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1] as string);
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) specs.push(m[1] as string);
  return specs;
}

/** Strip comments so doc text that mentions Date or process does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

const files = sourceFiles(srcDir).map((path) => {
  const text = readFileSync(path, 'utf8');
  return { rel: relative(srcDir, path), imports: importsOf(text), body: code(text) };
});

const pure = files.filter((f) => f.rel.startsWith('raft/') || f.rel.startsWith('lock/') || f.rel.startsWith('auth/') || f.rel === 'node/replicatedState.ts');
const forbiddenGlobals = [/\bDate\b/, /\bMath\.random\b/, /\bsetTimeout\b/, /\bsetInterval\b/, /\bsetImmediate\b/, /\bprocess\b/, /\bperformance\b/, /\bcrypto\b/, /\brequire\s*\(/];

describe('import rules (design.md §1)', () => {
  it('finds the pure core to check', () => {
    expect(pure.some((f) => f.rel.startsWith('raft/'))).toBe(true);
  });

  it.each(pure.map((f) => [f.rel, f] as const))('%s imports only relative pure modules', (_rel, f) => {
    for (const spec of f.imports) expect(spec, `${f.rel} imports ${spec}`).toMatch(/^\.\.?\//);
  });

  it.each(pure.map((f) => [f.rel, f] as const))('%s uses no clock, timer, process or global randomness', (_rel, f) => {
    for (const pattern of forbiddenGlobals) expect(f.body, `${f.rel} uses ${pattern}`).not.toMatch(pattern);
  });

  it('lock/ imports only its own modules (it sees (index, command bytes), never raft/)', () => {
    for (const f of files.filter((x) => x.rel.startsWith('lock/'))) {
      for (const spec of f.imports) expect(spec, `${f.rel} imports ${spec}`).toMatch(/^\.\/[A-Za-z0-9]+\.js$/);
    }
  });

  it('auth/ imports only its own modules and lock/ (its byte codec and assertions), never raft/; lock/ never imports auth/', () => {
    const auth = files.filter((x) => x.rel.startsWith('auth/'));
    expect(auth.length).toBeGreaterThan(0);
    for (const f of auth) {
      for (const spec of f.imports) expect(spec, `${f.rel} imports ${spec}`).toMatch(/^(\.\/|\.\.\/lock\/)[A-Za-z0-9]+\.js$/);
    }
  });

  it('only storage/ imports level; only transport/, server/, client/ and security/ (credentials) import grpc', () => {
    for (const f of files) {
      for (const spec of f.imports) {
        if (/^(level|classic-level|abstract-level)/.test(spec)) expect(f.rel, `${f.rel} imports ${spec}`).toMatch(/^storage\//);
        if (/grpc/.test(spec)) expect(f.rel, `${f.rel} imports ${spec}`).toMatch(/^(transport|server|client|security)\//);
      }
    }
  });
});
