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

/** Initial capacity of the heap's arrays (they double when full). */
const HEAP_CAPACITY_MIN = 64;

/**
 * The heap. Each position keeps its key (time, sequence) in typed arrays
 * beside the entry, so the sifts compare without loading entries (splice-tcp
 * keeps about 5000 timers armed: a dozen levels per pop). The arrays never
 * shrink, and the sifts move a hole instead of swapping pairs. Keys are
 * unique, so the pop order is the same as any other correct priority queue's.
 */
export class TimerHeap {
  #keyT = new Float64Array(HEAP_CAPACITY_MIN);
  #keySeq = new Float64Array(HEAP_CAPACITY_MIN);
  #a: (Timer | null)[] = new Array(HEAP_CAPACITY_MIN).fill(null);
  /** Number of armed timers: positions 0..n-1. */
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
    return this.#n === 0 ? Infinity : this.#keyT[0];
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
    if (this.#n === this.#a.length) this.#grow();
    const a = this.#a, kt = this.#keyT, ks = this.#keySeq;
    let i = this.#n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = kt[p];
      if (!(tNs < pt || (tNs === pt && seq < ks[p]))) break;
      a[i] = a[p];
      kt[i] = pt;
      ks[i] = ks[p];
      i = p;
    }
    a[i] = t;
    kt[i] = tNs;
    ks[i] = seq;
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
    const a = this.#a, kt = this.#keyT, ks = this.#keySeq;
    const top = a[0] as Timer;
    const n = --this.#n;
    if (n > 0) {
      const last = a[n];
      const tNs = kt[n], seq = ks[n];
      let i = 0;
      for (;;) {
        let m = 2 * i + 1;
        if (m >= n) break;
        let mt = kt[m], ms = ks[m];
        const r = m + 1;
        if (r < n) {
          const rt = kt[r];
          if (rt < mt || (rt === mt && ks[r] < ms)) {
            m = r;
            mt = rt;
            ms = ks[r];
          }
        }
        if (!(mt < tNs || (mt === tNs && ms < seq))) break;
        a[i] = a[m];
        kt[i] = mt;
        ks[i] = ms;
        i = m;
      }
      a[i] = last;
      kt[i] = tNs;
      ks[i] = seq;
    }
    a[n] = null; // no reference kept past removal
    return top;
  }

  #grow(): void {
    const cap = 2 * this.#a.length;
    const kt = new Float64Array(cap), ks = new Float64Array(cap);
    kt.set(this.#keyT);
    ks.set(this.#keySeq);
    const a: (Timer | null)[] = new Array(cap).fill(null);
    for (let i = 0; i < this.#n; i++) a[i] = this.#a[i];
    this.#keyT = kt;
    this.#keySeq = ks;
    this.#a = a;
  }
}
