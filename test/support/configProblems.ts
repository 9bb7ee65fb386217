import { expect } from 'vitest';
import { ConfigError, parseClusterConfig } from '../../src/node/clusterConfig.js';

/**
 * configProblems parses a raw cluster config (relative paths resolved against
 * /base) and returns the problems its ConfigError lists, [] when it parses:
 * the config tests of several folders assert on those lists. Any other error
 * fails the test. For tests only (it uses vitest's expect; it registers no hooks).
 */
export function configProblems(raw: unknown): string[] {
  try {
    parseClusterConfig(raw, 'test', '/base');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  return [];
}
