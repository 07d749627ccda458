/**
 * A binary min-heap of timers ordered by (time, insertion sequence), so timers
 * due at the same nanosecond fire in the order they were armed.
 * @module
 */
import type { Thread } from "./objects.ts";

/** Something a timer calls with an argument: lets per-packet timers arm without allocating a closure. */
export interface TimerTarget {
  /** Called at the timer's time with the argument and number it was armed with. */
  onTimer(arg: unknown, n: number): void;
}

/**
 * One armed timer. type 1: sleep timeout of `thread` (valid while gen
 * matches); 2: callback `fn`; 3: `target.onTimer(arg, gen)`.
 */
export interface Timer {
  tNs: number;
  seq: number;
  type: number;
  fn: (() => void) | null;
  thread: Thread | null;
  gen: number;
  target: TimerTarget | null;
  arg: unknown;
}

/**
 * The heap. Its arrays never shrink (an array emptied to length 0 loses its
 * backing store in V8 and reallocates on the next push), and the sifts move
 * a hole instead of swapping pairs. Keys (time, sequence) are unique, so the
 * pop order is the same as any other correct priority queue's.
 */
export class TimerHeap {
  readonly #a: Timer[] = [];
  /** Number of armed timers: #a[0..n) (slots past n are stale). */
  #n = 0;
  /** Entries popped and handed back: reused, so arming a timer allocates nothing. */
  readonly #free: Timer[] = [];
  #freeN = 0;
  #seq = 0;

  /** Number of armed timers. */
  get size(): number {
    return this.#n;
  }

  /** Earliest time, or Infinity when empty. */
  peekTime(): number {
    return this.#n === 0 ? Infinity : this.#a[0].tNs;
  }

  /** Arms a timer. */
  push(
    tNs: number,
    type: number,
    fn: (() => void) | null,
    thread: Thread | null,
    gen: number,
    target: TimerTarget | null = null,
    arg: unknown = null,
  ): void {
    const a = this.#a;
    let t: Timer;
    if (this.#freeN > 0) t = this.#free[--this.#freeN];
    else t = { tNs: 0, seq: 0, type: 0, fn: null, thread: null, gen: 0, target: null, arg: null };
    t.target = target;
    t.arg = arg;
    t.tNs = tNs;
    const seq = this.#seq++;
    t.seq = seq;
    t.type = type;
    t.fn = fn;
    t.thread = thread;
    t.gen = gen;
    let i = this.#n++;
    if (i === a.length) a.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const y = a[p];
      if (!(tNs < y.tNs || (tNs === y.tNs && seq < y.seq))) break;
      a[i] = y;
      i = p;
    }
    a[i] = t;
  }

  /** Gives a popped entry back for reuse (drops its references). */
  recycle(t: Timer): void {
    t.fn = null;
    t.thread = null;
    t.target = null;
    t.arg = null;
    if (this.#freeN === this.#free.length) this.#free.push(t);
    else this.#free[this.#freeN] = t;
    this.#freeN++;
  }

  /** Removes and returns the earliest timer; the heap must not be empty. */
  pop(): Timer {
    const a = this.#a;
    const top = a[0];
    const n = --this.#n;
    if (n > 0) {
      const last = a[n];
      const tNs = last.tNs, seq = last.seq;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        let m = l;
        let x = a[l];
        if (l + 1 < n) {
          const y = a[l + 1];
          if (y.tNs < x.tNs || (y.tNs === x.tNs && y.seq < x.seq)) {
            m = l + 1;
            x = y;
          }
        }
        if (!(x.tNs < tNs || (x.tNs === tNs && x.seq < seq))) break;
        a[i] = x;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}
