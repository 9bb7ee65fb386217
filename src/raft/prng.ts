import type { Rng } from './types.js';

/**
 * SeededRng is a small, fast, deterministic PRNG (sfc32 seeded through
 * splitmix32). The core never reaches for global randomness: the shell seeds one
 * of these from the OS, the simulator from its run seed, so any run replays.
 */
export class SeededRng implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** nextU32 returns a uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** nextFloat returns a number in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** nextInt returns an integer in [0, bound). */
  nextInt(bound: number): number {
    if (!(bound > 0)) throw new Error(`nextInt bound must be positive, got ${bound}`);
    return Math.floor(this.nextFloat() * bound);
  }

  /** chance returns true with probability p. */
  chance(p: number): boolean {
    return this.nextFloat() < p;
  }

  /** fork derives an independent generator, so adding draws in one place does not shift another. */
  fork(): SeededRng {
    return new SeededRng(this.nextU32());
  }
}
