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

/** The heap. */
export class TimerHeap {
  readonly #a: Timer[] = [];
  /** Entries popped and handed back: reused, so arming a timer allocates nothing. */
  readonly #free: Timer[] = [];
  #seq = 0;

  /** Number of armed timers. */
  get size(): number {
    return this.#a.length;
  }

  /** Earliest time, or Infinity when empty. */
  peekTime(): number {
    return this.#a.length === 0 ? Infinity : this.#a[0].tNs;
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
    const t = this.#free.pop() ?? { tNs: 0, seq: 0, type: 0, fn: null, thread: null, gen: 0, target: null, arg: null };
    t.target = target;
    t.arg = arg;
    t.tNs = tNs;
    t.seq = this.#seq++;
    t.type = type;
    t.fn = fn;
    t.thread = thread;
    t.gen = gen;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  /** Gives a popped entry back for reuse (drops its references). */
  recycle(t: Timer): void {
    t.fn = null;
    t.thread = null;
    t.target = null;
    t.arg = null;
    this.#free.push(t);
  }

  /** Removes and returns the earliest timer; the heap must not be empty. */
  pop(): Timer {
    const a = this.#a;
    const top = a[0];
    const last = a.pop() as Timer;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(x: Timer, y: Timer): boolean {
  return x.tNs < y.tNs || (x.tNs === y.tNs && x.seq < y.seq);
}
