// A small seeded PRNG whose whole state is two 32-bit words, so a checkpoint can save it and a
// resumed run draws exactly the numbers an uninterrupted run would have drawn.
// Algorithm: xoroshiro64** (Blackman & Vigna), seeded through splitmix32.

export interface RngState { s0: number; s1: number }

function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [x, (z ^ (z >>> 16)) >>> 0];
}

export class Rng {
  private s0: number;
  private s1: number;

  constructor(seed: number | RngState) {
    if (typeof seed === 'number') {
      const [x1, a] = splitmix32(seed | 0);
      const [, b] = splitmix32(x1);
      this.s0 = a || 1;
      this.s1 = b;
    } else {
      this.s0 = seed.s0 >>> 0;
      this.s1 = seed.s1 >>> 0;
    }
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s0 = this.s0;
    let s1 = this.s1;
    const out = Math.imul(rotl(Math.imul(s0, 0x9e3779bb), 5), 5) >>> 0;
    s1 ^= s0;
    this.s0 = (rotl(s0, 26) ^ s1 ^ (s1 << 9)) >>> 0;
    this.s1 = rotl(s1, 13) >>> 0;
    return out;
  }

  /** Uniform in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /** A derived generator, so sub-streams (e.g. per dataset, per sampler) do not disturb each other. */
  fork(): Rng {
    return new Rng(this.nextU32() ^ 0x5bd1e995);
  }

  state(): RngState {
    return { s0: this.s0, s1: this.s1 };
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
