/**
 * poll: bounded waiting, shared by the integration harness and the benchmark
 * (which imports it outside vitest: this module must not load vitest).
 */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * pollUntil calls `probe` every intervalMs until it returns non-null (that
 * value is returned) or timeoutMs passes (null). A probe that throws ends the
 * poll with that error.
 */
export async function pollUntil<T>(probe: () => Promise<T | null>, timeoutMs: number, intervalMs = 50): Promise<T | null> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (performance.now() >= deadline) return null;
    await sleep(intervalMs);
  }
}
