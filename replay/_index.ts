/**
 * The block index: where each block is, its first event index and time, its
 * event count and payload length, and (once decoded) its last event time.
 * Filled from the footer, or block by block while scanning a file without one.
 *
 * @module
 */
import { BLOCKS_MAX } from "../format/format.ts";

/** Growable columns of block facts. */
export class BlockIndex {
  offset: Float64Array = new Float64Array(64);
  firstIndex: Float64Array = new Float64Array(64);
  firstTNs: Float64Array = new Float64Array(64);
  count: Float64Array = new Float64Array(64);
  payloadBytes: Float64Array = new Float64Array(64);
  /** Time of the block's last event; NaN until the block was decoded. */
  lastTNs: Float64Array = new Float64Array(64);
  length = 0;

  /** Appends a block; the caller has checked it against the previous one. */
  push(offset: number, firstIndex: number, firstTNs: number, count: number, payloadBytes: number): void {
    if (this.length >= BLOCKS_MAX) throw new RangeError(`block index: more than ${BLOCKS_MAX} blocks`);
    if (this.length === this.offset.length) this.#grow();
    const b = this.length++;
    this.offset[b] = offset;
    this.firstIndex[b] = firstIndex;
    this.firstTNs[b] = firstTNs;
    this.count[b] = count;
    this.payloadBytes[b] = payloadBytes;
    this.lastTNs[b] = NaN;
  }

  /** Number of events in all known blocks. */
  events(): number {
    const last = this.length - 1;
    return last < 0 ? 0 : this.firstIndex[last] + this.count[last];
  }

  /** The block holding event `index`, which must be below `events()`. */
  find(index: number): number {
    let lo = 0;
    let hi = this.length - 1;
    // Invariant: firstIndex[lo] <= index; the answer is in [lo, hi]. Halves every turn.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.firstIndex[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #grow(): void {
    const cap = this.offset.length * 2;
    const grow = (a: Float64Array): Float64Array => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.offset = grow(this.offset);
    this.firstIndex = grow(this.firstIndex);
    this.firstTNs = grow(this.firstTNs);
    this.count = grow(this.count);
    this.payloadBytes = grow(this.payloadBytes);
    this.lastTNs = grow(this.lastTNs);
  }
}
