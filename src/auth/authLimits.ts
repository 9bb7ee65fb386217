import { assert } from '../lock/assert.js';

/**
 * AuthLimits bound every table of the auth state. Like LockLimits they are
 * part of the replicated behaviour (every member must use the same values).
 */
export interface AuthLimits {
  readonly maxUsers: number;
  readonly maxRoles: number;
  readonly maxGrantsPerRole: number;
  readonly maxRolesPerUser: number;
  readonly maxTokens: number;
  readonly maxTokensPerUser: number;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = Object.freeze({
  maxUsers: 10_000,
  maxRoles: 1_000,
  maxGrantsPerRole: 100,
  maxRolesPerUser: 32,
  maxTokens: 100_000,
  maxTokensPerUser: 100,
});

export function resolveAuthLimits(overrides: Partial<AuthLimits> = {}): AuthLimits {
  const limits: AuthLimits = Object.freeze({ ...DEFAULT_AUTH_LIMITS, ...overrides });
  for (const [key, value] of Object.entries(limits)) {
    assert(key in DEFAULT_AUTH_LIMITS, () => `unknown auth limit ${key}`);
    assert(Number.isSafeInteger(value) && value >= 1, () => `auth limit ${key} must be a positive integer, got ${value}`);
  }
  return limits;
}
