/**
 * The machine's timers: callbacks at a simulated time outside any CPU
 * (device and external-host events) and sleep timeouts. Timers due at the
 * same nanosecond fire in the order they were armed (_timer_heap.ts).
 *
 * A sleep timeout is handed to the sleep queues (sleepq.ts) with the current
 * thread left as it was; a callback runs with no current thread, so its
 * events carry thread 0.
 * @module
 */
import type { MachineBase } from "./machine_base.ts";
import type { Thread } from "./objects.ts";
import { TimerHeap, type TimerTarget } from "./_timer_heap.ts";

export type { TimerTarget } from "./_timer_heap.ts";

const SLEEP = 1, CALLBACK = 2, TARGET = 3;

/** Receives sleep timeouts: `th`'s sleep number `gen` timed out (stale when it was woken before). */
export interface SleepTimeoutTarget {
  /** Called at the timeout's time. */
  onSleepTimeout(th: Thread, gen: number): void;
}

/** The timers of one machine. */
export class Timers {
  readonly #m: MachineBase;
  readonly #heap = new TimerHeap();
  #sleepTarget: SleepTimeoutTarget | null = null;

  /** Timers of machine `m`. */
  constructor(m: MachineBase) {
    this.#m = m;
  }

  /** Number of armed timers. */
  get size(): number {
    return this.#heap.size;
  }

  /** Earliest due time, or Infinity when none is armed. */
  peekTime(): number {
    return this.#heap.peekTime();
  }

  /** Sets who handles sleep timeouts (the sleep queues; once). */
  setSleepTarget(t: SleepTimeoutTarget): void {
    if (this.#sleepTarget !== null) throw new Error("timers: sleep target already set");
    this.#sleepTarget = t;
  }

  /** Arms the timeout of `th`'s sleep number `gen` at `tNs`. */
  armSleep(tNs: number, th: Thread, gen: number): void {
    this.#heap.push(tNs, SLEEP, null, th, gen);
  }

  /** Runs `fn` at simulated time `tNs` outside any CPU. */
  at(tNs: number, fn: () => void): void {
    if (tNs < this.#m.nowNs) throw new Error(`at(${tNs}) is in the past (${this.#m.nowNs})`);
    this.#heap.push(tNs, CALLBACK, fn, null, 0);
  }

  /** Calls `target.onTimer(arg, n)` at `tNs`, outside any CPU, without a closure. */
  atCall(tNs: number, target: TimerTarget, arg: unknown, n = 0): void {
    if (tNs < this.#m.nowNs) throw new Error(`atCall(${tNs}) is in the past (${this.#m.nowNs})`);
    this.#heap.push(tNs, TARGET, null, null, n, target, arg);
  }

  /** Fires the earliest timer (the machine set its clock to the timer's time). */
  fire(): void {
    const t = this.#heap.pop();
    // Copy out and hand the entry back to the heap's pool before acting: the
    // callback may arm new timers.
    const type = t.type, th = t.thread, gen = t.gen, fn = t.fn, target = t.target, arg = t.arg;
    this.#heap.recycle(t);
    if (type === SLEEP) {
      (this.#sleepTarget as SleepTimeoutTarget).onSleepTimeout(th as Thread, gen);
      return;
    }
    this.#m.curThread = null;
    if (type === TARGET) (target as TimerTarget).onTimer(arg, gen);
    else (fn as () => void)();
  }
}
