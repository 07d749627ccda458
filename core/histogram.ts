/**
 * A fixed-size log-linear histogram of non-negative integers (latencies in
 * ns): values below 128 are exact; above, each power of two is split in 64
 * buckets, so a quantile is within 1/64 (1.6 %) of the true value. Memory is
 * fixed whatever the run length (a limit on everything); recording allocates
 * nothing.
 *
 * @example
 * ```ts
 * import { Histogram } from "./histogram.ts";
 * const h = new Histogram();
 * for (const v of [100, 200, 300]) h.record(v);
 * h.quantile(50); // 200
 * ```
 * @module
 */

const SUB_BITS = 6;
const SUB = 1 << SUB_BITS; // buckets per power of two
const EXACT = 2 * SUB; // values below are their own bucket
const POW_MAX = 53;
const BUCKETS = EXACT + (POW_MAX - SUB_BITS) * SUB;

/** The histogram. */
export class Histogram {
  /**
   * Counts by bucket, allocated by the first record: a run builds
   * histograms it may never fill, and 25 KiB of zeroed memory each was a
   * visible share of a short run's setup (and of its garbage).
   */
  #counts: Float64Array | null = null;
  /** Values recorded. */
  count = 0;
  /** Largest value recorded. */
  max = 0;

  /** Records one value (negative values count as 0). */
  record(v: number): void {
    const x = v > 0 ? Math.floor(v) : 0;
    const counts = this.#counts ?? (this.#counts = new Float64Array(BUCKETS));
    counts[bucketOf(x)]++;
    this.count++;
    if (x > this.max) this.max = x;
  }

  /** The value at percentile `p` (0..100): the smallest bucket value with at least p % of the values at or below it. */
  quantile(p: number): number {
    const counts = this.#counts;
    if (this.count === 0 || counts === null) return 0;
    const want = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let b = 0; b < counts.length; b++) {
      seen += counts[b];
      if (seen >= want) return Math.min(valueOf(b), this.max);
    }
    return this.max;
  }
}

/** Bucket of a non-negative integer. */
function bucketOf(x: number): number {
  if (x < EXACT) return x;
  const pow = Math.floor(Math.log2(x)); // >= SUB_BITS + 1
  const sub = Math.floor(x / 2 ** (pow - SUB_BITS)) - SUB; // 0..SUB-1
  return EXACT + (pow - SUB_BITS - 1) * SUB + sub;
}

/** A representative (the midpoint) of bucket b. */
function valueOf(b: number): number {
  if (b < EXACT) return b;
  const i = b - EXACT;
  const pow = Math.floor(i / SUB) + SUB_BITS + 1;
  const width = 2 ** (pow - SUB_BITS);
  const low = 2 ** pow + (i % SUB) * width;
  return Math.floor(low + width / 2);
}
