/**
 * The writer's growable tables (the block index and the checkpoint
 * positions it writes into the footer), kept in one Float64Array each.
 * @module
 */

/** Growable rows of `width` numbers (block index, checkpoint positions). */
export class Columns {
  #data: Float64Array;
  #rows = 0;
  readonly #width: number;

  constructor(width: number) {
    this.#width = width;
    this.#data = new Float64Array(width * 256);
  }

  get length(): number {
    return this.#rows;
  }

  at(row: number, col: number): number {
    return this.#data[row * this.#width + col];
  }

  push2(a: number, b: number): void {
    const at = this.#grow();
    this.#data[at] = a;
    this.#data[at + 1] = b;
  }

  push4(a: number, b: number, c: number, d: number): void {
    const at = this.#grow();
    this.#data[at] = a;
    this.#data[at + 1] = b;
    this.#data[at + 2] = c;
    this.#data[at + 3] = d;
  }

  /** A copy of the rows, row after row. */
  rows(): Float64Array {
    return this.#data.slice(0, this.#rows * this.#width);
  }

  /** Replaces the rows with `rows` (from {@link rows}). */
  restore(rows: Float64Array): void {
    let cap = this.#data.length;
    while (cap < rows.length) cap *= 2;
    if (cap !== this.#data.length) this.#data = new Float64Array(cap);
    this.#data.set(rows);
    this.#rows = rows.length / this.#width;
  }

  /** Keeps rows 0, 2, 4, ... */
  keepEven(): void {
    const w = this.#width;
    let kept = 0;
    for (let row = 0; row < this.#rows; row += 2) {
      this.#data.copyWithin(kept * w, row * w, row * w + w);
      kept++;
    }
    this.#rows = kept;
  }

  #grow(): number {
    const at = this.#rows * this.#width;
    if (at + this.#width > this.#data.length) {
      const grown = new Float64Array(this.#data.length * 2);
      grown.set(this.#data);
      this.#data = grown;
    }
    this.#rows++;
    return at;
  }
}
