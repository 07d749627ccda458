/**
 * A FIFO of numbers with a fixed capacity (packet ids, arrival times): no
 * allocation per packet, for device and queue models of the scenarios.
 * @module
 */

/** The FIFO. */
export class Fifo {
  readonly #buf: Float64Array;
  #head = 0;
  /** Items queued. */
  len = 0;

  /** A FIFO of at most `cap` items. */
  constructor(readonly cap: number) {
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`fifo: capacity ${cap}`);
    this.#buf = new Float64Array(cap);
  }

  /** Appends `x`; false when full. */
  push(x: number): boolean {
    if (this.len === this.cap) return false;
    this.#buf[(this.#head + this.len) % this.cap] = x;
    this.len++;
    return true;
  }

  /** Removes and returns the oldest item (the caller checks `len` first). */
  shift(): number {
    if (this.len === 0) throw new Error("fifo: shift on empty");
    const x = this.#buf[this.#head];
    this.#head = (this.#head + 1) % this.cap;
    this.len--;
    return x;
  }
}
