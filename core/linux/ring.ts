/**
 * The splice ring of the series (seed linux-tcp-bpf-loopback-splice-2026-06,
 * patch 1/5, `struct sk_psock_splice`): a power-of-two byte ring used as a
 * single-producer single-consumer queue, indexed with the
 * include/linux/circ_buf.h macros (torvalds/linux v6.15):
 *
 *   CIRC_CNT(h, t, s)   = (h - t) & (s - 1)
 *   CIRC_SPACE(h, t, s) = CIRC_CNT(t, h + 1, s)      (capacity s - 1)
 *
 * Cursors are free-running (`ring_head`, `ring_tail`); the producer keeps a
 * private `cached_tail` and reads the consumer-owned `ring_tail` (the only
 * cross-CPU cursor read, an smp_load_acquire) only when its cache says the
 * ring is full (`splice_ring_space`). Bytes are not stored: the model keeps,
 * for the stream detector, which stream offsets the ring holds, as runs of
 * contiguous offsets (a new run starts when TCP-fallback bytes came between
 * two ring writes).
 *
 * A simulation step never interleaves inside one of these calls, so the
 * release/acquire pairs are modelled by where the callers yield: the
 * producer publishes `head` after its copy (splice_ring_write), the consumer
 * publishes `tail` after its copy (splice_ring_read).
 *
 * @example
 * ```ts
 * import { SpliceRing } from "./ring.ts";
 * const r = new SpliceRing(16);
 * r.space(); // 15: capacity is size - 1
 * r.write(10, 0);
 * r.read(4); // 4
 * ```
 * @module
 */

/** Runs of stream offsets tracked per ring (beyond it, the model asserts). */
export const RING_RUNS_MAX = 4096;

/** CIRC_CNT from include/linux/circ_buf.h. */
export function circCnt(head: number, tail: number, size: number): number {
  return (head - tail) & (size - 1);
}

/** CIRC_SPACE from include/linux/circ_buf.h. */
export function circSpace(head: number, tail: number, size: number): number {
  return circCnt(tail, head + 1, size);
}

/** One per-direction ring: the receiving socket owns it, its peer writes into it. */
export class SpliceRing {
  /** Ring size in bytes, a power of two. */
  readonly sizeBytes: number;
  /** Producer cursor (free running; only the low bits index the buffer). */
  head = 0;
  /** Consumer cursor. */
  tail = 0;
  /** The producer's private copy of `tail`. */
  cachedTail = 0;
  /** Times the producer re-read `tail` (cache exhausted): cross-CPU cursor reads. */
  tailRefreshes = 0;
  /** Bytes ever written and read. */
  bytesIn = 0;
  bytesOut = 0;
  /** Writes that wrapped past the end of the buffer (two copies). */
  wraps = 0;
  /**
   * The consumer loaded `ring_head` (splice_ring_has_data, splice_ring_read)
   * since the producer's last store to it: the line sits in the consumer's
   * cache, and the producer's next store must pull it back (an RFO).
   */
  headShared = false;
  /** Producer stores to `ring_head` that had to pull its line back from the consumer. */
  headPulls = 0;
  /** Stream offsets of the bytes held, in ring order. */
  readonly offsets: OffsetRuns = new OffsetRuns("splice ring");

  constructor(sizeBytes: number) {
    if (!Number.isInteger(sizeBytes) || sizeBytes < 2 || (sizeBytes & (sizeBytes - 1)) !== 0) {
      throw new Error(`splice ring size ${sizeBytes} is not a power of two >= 2`);
    }
    if (sizeBytes > 1 << 30) throw new Error(`splice ring size ${sizeBytes} is above 1 GiB`);
    this.sizeBytes = sizeBytes;
  }

  /** Bytes the consumer can read (CIRC_CNT with the true head). */
  count(): number {
    return circCnt(this.head, this.tail, this.sizeBytes);
  }

  /** splice_ring_has_data() (the consumer's smp_load_acquire of ring_head). */
  hasData(): boolean {
    this.headShared = true;
    return this.count() > 0;
  }

  /**
   * splice_ring_space(): free space by the cached tail; when that says the
   * ring is full, refresh the cache from the real tail (counted in
   * `tailRefreshes`) and compute again.
   */
  space(): number {
    const s = circSpace(this.head, this.cachedTail, this.sizeBytes);
    if (s > 0) return s;
    this.cachedTail = this.tail;
    this.tailRefreshes++;
    return circSpace(this.head, this.cachedTail, this.sizeBytes);
  }

  /**
   * splice_ring_write(): writes up to `len` bytes, bounded by the space the
   * cached tail allows (never more than the true space); `streamOff` is the
   * stream offset of the first byte. Returns the bytes written; {@link headShared}
   * before the call says whether the store pulled the head line back.
   */
  write(len: number, streamOff: number): number {
    const avail = circSpace(this.head, this.cachedTail, this.sizeBytes);
    const want = Math.min(len, avail);
    if (want <= 0) return 0;
    const toEnd = this.sizeBytes - (this.head & (this.sizeBytes - 1));
    if (want > toEnd) this.wraps++;
    this.offsets.push(streamOff, want);
    this.head += want; // smp_store_release(&ring_head): data before the cursor
    if (this.headShared) this.headPulls++;
    this.headShared = false;
    this.bytesIn += want;
    if (this.count() > this.sizeBytes - 1) throw new Error("splice ring overfilled");
    return want;
  }

  /** splice_ring_read(): consumes up to `len` bytes; returns how many. */
  read(len: number): number {
    this.headShared = true; // smp_load_acquire(&ring_head)
    const want = Math.min(len, this.count());
    if (want <= 0) return 0;
    this.tail += want; // smp_store_release(&ring_tail): slots freed after the copy
    this.bytesOut += want;
    return want;
  }

  /** The stream offsets of the next `len` bytes read (call with the count {@link read} returned). */
  takeOffsets(len: number, cb: (offset: number, n: number) => void): void {
    this.offsets.take(len, cb);
  }

  /** Drops everything (splice_ring_free: cursors back to zero). */
  reset(): void {
    this.head = this.tail = this.cachedTail = 0;
    this.headShared = false;
    this.offsets.clear();
  }
}

/**
 * Stream offsets of bytes queued in order (in a ring, or in a TCP sequence
 * space): a FIFO of runs [offset, offset + n) in fixed arrays, merged when
 * contiguous. Bookkeeping for the stream detector, not kernel state.
 */
export class OffsetRuns {
  readonly #start: Float64Array = new Float64Array(RING_RUNS_MAX);
  readonly #len: Float64Array = new Float64Array(RING_RUNS_MAX);
  #head = 0;
  #count = 0;

  constructor(readonly what: string) {}

  /** Runs held. */
  get runs(): number {
    return this.#count;
  }

  /** `n` bytes at stream offset `off` were queued after everything held. */
  push(off: number, n: number): void {
    if (n <= 0) return;
    if (this.#count > 0) {
      const last = (this.#head + this.#count - 1) % RING_RUNS_MAX;
      if (this.#start[last] + this.#len[last] === off) {
        this.#len[last] += n;
        return;
      }
    }
    if (this.#count === RING_RUNS_MAX) throw new Error(`${this.what}: more than ${RING_RUNS_MAX} offset runs`);
    const i = (this.#head + this.#count) % RING_RUNS_MAX;
    this.#start[i] = off;
    this.#len[i] = n;
    this.#count++;
  }

  /** Stream offset of the first byte held (for a caller walking pieces without a callback). */
  headOffset(): number {
    if (this.#count === 0) throw new Error(`${this.what}: offsets missing for bytes taken`);
    return this.#start[this.#head];
  }

  /** Contiguous bytes from {@link headOffset} on. */
  headLen(): number {
    return this.#count === 0 ? 0 : this.#len[this.#head];
  }

  /** The next `len` bytes leave the queue: `cb(offset, n)` per contiguous piece. */
  take(len: number, cb: (offset: number, n: number) => void): void {
    let left = len;
    while (left > 0) {
      if (this.#count === 0) throw new Error(`${this.what}: offsets missing for bytes taken`);
      const i = this.#head;
      const n = Math.min(left, this.#len[i]);
      cb(this.#start[i], n);
      this.#start[i] += n;
      this.#len[i] -= n;
      left -= n;
      if (this.#len[i] === 0) {
        this.#head = (i + 1) % RING_RUNS_MAX;
        this.#count--;
      }
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.#head = this.#count = 0;
  }
}
