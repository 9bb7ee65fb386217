/**
 * fnv1a32 hashes bytes with 32-bit FNV-1a. The simulator uses it to compare
 * entry payloads and state-machine digests cheaply; it is not cryptographic.
 */
const FNV_OFFSET = 0x811c9dc5;

export function fnv1a32(data: Uint8Array, seed: number = FNV_OFFSET): number {
  let h = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i] as number;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

