/**
 * The only source of nondeterminism in lockstep: xoshiro128** (Blackman and
 * Vigna, 2018), seeded by running SplitMix32 over the 53-bit seed's low and
 * high words. 32-bit integer arithmetic only, so every host gives the same
 * sequence.
 *
 * @example
 * ```ts
 * import { Prng } from "./prng.ts";
 * const r = new Prng(7);
 * const die = r.below(6); // 0..5, the same on every machine
 * ```
 * @module
 */

/**
 * SplitMix32: a golden-ratio (0x9e3779b9) counter through the MurmurHash3
 * fmix32 finalizer. Used only to expand a seed into xoshiro128**'s state.
 */
export class SplitMix32 {
  #x: number;

  /** Starts the counter at `x` (taken as 32 bits). */
  constructor(x: number) {
    this.#x = x | 0;
  }

  /** The next unsigned 32-bit output. */
  next32(): number {
    this.#x = (this.#x + 0x9e3779b9) | 0;
    let z = this.#x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
}

/** A seeded xoshiro128** generator. */
export class Prng {
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;
  /** Number of 32-bit draws made so far. */
  draws = 0;

  /** Seeds the generator; `seed` must be a safe non-negative integer; `stream` selects an independent sequence. */
  constructor(seed: number, stream = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    }
    // SplitMix32 decorrelates nearby seeds.
    const sm = new SplitMix32(
      (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x100000000) >>> 0, 0x9e3779b9) ^ Math.imul(stream, 0x632be5ab),
    );
    this.#s0 = sm.next32();
    this.#s1 = sm.next32();
    this.#s2 = sm.next32();
    this.#s3 = sm.next32();
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /**
   * A generator in the given xoshiro128** state (not all zero), for
   * known-answer tests against the reference implementation.
   */
  static fromState(s0: number, s1: number, s2: number, s3: number): Prng {
    if (((s0 | s1 | s2 | s3) >>> 0) === 0) throw new RangeError("xoshiro128** state must not be all zero");
    const p = new Prng(0);
    p.#s0 = s0 | 0;
    p.#s1 = s1 | 0;
    p.#s2 = s2 | 0;
    p.#s3 = s3 | 0;
    return p;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  next32(): number {
    const s0 = this.#s0, s1 = this.#s1, s2 = this.#s2, s3 = this.#s3;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = rotl(n3, 11);
    this.#s0 = n0;
    this.#s1 = n1;
    this.#s2 = n2;
    this.#s3 = n3;
    this.draws++;
    return r;
  }

  /** A uniform integer in [0, n), n in 1..2^32, without modulo bias. */
  below(n: number): number {
    if (!(n >= 1 && n <= 0x100000000)) throw new RangeError(`below(${n})`);
    if (n === 1) return 0;
    // Modulo with rejection: draws at or above the largest multiple of n
    // below 2^32 are redrawn, so every residue is equally likely. (Not
    // Lemire's multiply-shift; changing the method would change every trace.)
    if (n <= 0x40000000) {
      // The same numbers in 32-bit integer arithmetic (a float modulo is a
      // libm call): 2^32 mod n = 2 * (2^31 mod n) mod n, each step below 2^31.
      const nU = n >>> 0;
      const limit = 0x100000000 - ((2 * ((0x7fffffff % nU) + 1)) % nU);
      for (;;) {
        const x = this.next32();
        if (x < limit) return (x >>> 0) % nU;
      }
    }
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.next32();
      if (x < limit) return x % n;
    }
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** True with probability `ppm` per million. */
  chancePpm(ppm: number): boolean {
    return ppm > 0 && this.below(1_000_000) < ppm;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
