import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * src/lock must stay pure and deterministic: it imports only its own files (no
 * node: modules, no packages, nothing from src/raft) and never touches a
 * clock, randomness, timers or the process.
 */
const dir = join(import.meta.dirname, '../../../src/lock');
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

const importPattern = /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\brequire\s*\(/g;
const forbidden: Array<[RegExp, string]> = [
  [/\bDate\b/, 'Date'],
  [/\bMath\.random\b/, 'Math.random'],
  [/\b(?:setTimeout|setInterval|setImmediate|queueMicrotask)\b/, 'timers'],
  [/\bprocess\b/, 'process'],
  [/\bperformance\b/, 'performance'],
  [/\bcrypto\b/, 'crypto'],
  [/\brequire\s*\(/, 'require'],
];

/** stripComments removes comments so doc text may mention what code may not use. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('src/lock purity', () => {
  it('has files to check', () => {
    expect(files).toContain('stateMachine.ts');
    expect(files).toContain('leaseClock.ts');
  });

  for (const file of files) {
    it(`${file} imports only sibling files and uses no clock, randomness, timers or process`, () => {
      const code = stripComments(readFileSync(join(dir, file), 'utf8'));
      for (const match of code.matchAll(importPattern)) {
        const spec = match[1] ?? match[2];
        expect(spec, `${file}: ${match[0].trim()}`).toBeDefined();
        expect(spec).toMatch(/^\.\/[A-Za-z0-9]+\.js$/);
      }
      for (const [pattern, what] of forbidden) {
        expect(pattern.test(code), `${file} uses ${what}`).toBe(false);
      }
    });
  }
});
