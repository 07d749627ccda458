/**
 * The ordered lists the machine edits on every step (run queues, lock
 * waiters and readers, held locks, sleep queues, task and interrupt queues),
 * as a ring buffer that allocates nothing per operation and moves no element
 * for the common edits.
 *
 * A plain array does not do: `shift()` left-trims its backing store, so the
 * next `push()` reallocates it, and setting `length` to 0 drops the backing
 * store altogether (V8 `SetLengthImpl`), so a list that empties and refills
 * on every lock release allocated on every acquisition (half the bytes the
 * mutex-storm simulation allocated).
 * @module
 */

/** Initial capacity of a {@link Deque} (a power of two). */
const DEQUE_CAPACITY_MIN = 4;
/** Largest capacity a {@link Deque} grows to (a power of two): far above any queue a scenario builds. */
const DEQUE_CAPACITY_MAX = 1 << 24;

/**
 * An ordered list in a ring buffer: push, pop, shift and unshift move
 * nothing; insertAt and removeAt move the shorter side. The buffer doubles
 * when full (amortised: no allocation once a list reached its largest size)
 * and never shrinks.
 *
 * @example
 * ```ts
 * import { Deque } from "./_array.ts";
 * const q = new Deque<string>();
 * q.push("b");
 * q.unshift("a");
 * console.log(q.shift(), q.length); // "a" 1
 * ```
 */
export class Deque<T> {
  #items: (T | undefined)[];
  #mask: number;
  #head = 0;
  #length = 0;

  /** An empty list. */
  constructor() {
    this.#items = new Array(DEQUE_CAPACITY_MIN).fill(undefined);
    this.#mask = DEQUE_CAPACITY_MIN - 1;
  }

  /** Number of elements. */
  get length(): number {
    return this.#length;
  }

  /** Element `i` (0 = first); `i` must be in 0..length-1. */
  at(i: number): T {
    return this.#items[(this.#head + i) & this.#mask] as T;
  }

  /** The first element, or undefined when empty. */
  first(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** Appends `x`. */
  push(x: T): void {
    if (this.#length > this.#mask) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = x;
    this.#length++;
  }

  /** Prepends `x`. */
  unshift(x: T): void {
    if (this.#length > this.#mask) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#items[this.#head] = x;
    this.#length++;
  }

  /** Removes and returns the first element, or undefined when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const x = this.#items[this.#head];
    this.#items[this.#head] = undefined; // no reference kept past removal
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return x;
  }

  /** Removes and returns the last element, or undefined when empty. */
  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    const at = (this.#head + this.#length) & this.#mask;
    const x = this.#items[at];
    this.#items[at] = undefined;
    return x;
  }

  /** Inserts `x` before element `i` (i = length appends), keeping order. */
  insertAt(i: number, x: T): void {
    const n = this.#length;
    if (!(i >= 0 && i <= n)) throw new RangeError(`deque insertAt(${i}) with length ${n}`);
    if (i === n) return this.push(x);
    if (i === 0) return this.unshift(x);
    if (n > this.#mask) this.#grow();
    const items = this.#items, mask = this.#mask, h = this.#head;
    if (i < n - i) {
      // Move the first i elements one place towards the front.
      this.#head = (h - 1) & mask;
      for (let j = 0; j < i; j++) items[(h - 1 + j) & mask] = items[(h + j) & mask];
    } else {
      for (let j = n; j > i; j--) items[(h + j) & mask] = items[(h + j - 1) & mask];
    }
    items[(this.#head + i) & mask] = x;
    this.#length = n + 1;
  }

  /** Removes element `i`, keeping order. */
  removeAt(i: number): void {
    const n = this.#length;
    if (!(i >= 0 && i < n)) throw new RangeError(`deque removeAt(${i}) with length ${n}`);
    if (i === 0) {
      this.shift();
      return;
    }
    const items = this.#items, mask = this.#mask, h = this.#head;
    if (i < n - 1 - i) {
      // Move the first i elements one place towards the back.
      for (let j = i; j > 0; j--) items[(h + j) & mask] = items[(h + j - 1) & mask];
      items[h] = undefined;
      this.#head = (h + 1) & mask;
    } else {
      for (let j = i; j < n - 1; j++) items[(h + j) & mask] = items[(h + j + 1) & mask];
      items[(h + n - 1) & mask] = undefined;
    }
    this.#length = n - 1;
  }

  /** Index of the first element equal to `x`, or -1. */
  indexOf(x: T): number {
    const items = this.#items, mask = this.#mask, h = this.#head;
    for (let i = 0; i < this.#length; i++) if (items[(h + i) & mask] === x) return i;
    return -1;
  }

  /** Index of the last element equal to `x`, or -1. */
  lastIndexOf(x: T): number {
    const items = this.#items, mask = this.#mask, h = this.#head;
    for (let i = this.#length - 1; i >= 0; i--) if (items[(h + i) & mask] === x) return i;
    return -1;
  }

  /** True if some element equals `x`. */
  includes(x: T): boolean {
    return this.lastIndexOf(x) >= 0;
  }

  /** Removes the last element equal to `x`; true if there was one. */
  removeLast(x: T): boolean {
    const i = this.lastIndexOf(x);
    if (i < 0) return false;
    if (i === this.#length - 1) this.pop();
    else this.removeAt(i);
    return true;
  }

  /** Removes every element. */
  clear(): void {
    while (this.#length > 0) this.pop();
    this.#head = 0;
  }

  /** The elements in order, as a new array (cold paths: messages, digests, tests). */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.#length; i++) out.push(this.at(i));
    return out;
  }

  #grow(): void {
    const n = this.#length;
    const cap = 2 * (this.#mask + 1);
    if (cap > DEQUE_CAPACITY_MAX) throw new RangeError(`deque: more than ${DEQUE_CAPACITY_MAX} elements`);
    const items: (T | undefined)[] = new Array(cap).fill(undefined);
    for (let i = 0; i < n; i++) items[i] = this.at(i);
    this.#items = items;
    this.#mask = cap - 1;
    this.#head = 0;
  }
}
