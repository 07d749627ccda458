/**
 * Lost wakeup detection: kernel code that sleeps until a condition holds can
 * register that condition with {@link LostWakeup.expect} just before the
 * sleep. A thread still asleep when nothing can run any more (quiescence),
 * or at the end of the run after sleeping longer than `detect.starvationNs`,
 * while its condition already holds, missed its wakeup: the waker changed the
 * condition and called wakeup() between the sleeper's check and its sleep
 * (reference section 5 "lost wakeup when recvmsg checks only one of the two
 * queues before sleeping"; the check-then-sleep race msleep's interlock
 * exists to close).
 *
 * @example
 * ```ts
 * import { expectWakeup } from "./mod.ts";
 * // if (!ready) { expectWakeup(m, () => ready); yield m.sleep(chan); }
 * ```
 * @module
 */
import type { Machine } from "../machine.ts";
import { Lock, type Thread, TS } from "../objects.ts";

/** Registered conditions one machine may hold at once (one per sleeping thread). */
export const CONDS_MAX = 65536;

interface Expect {
  /** The sleep generation the condition belongs to (Thread.sleepGen after the sleep starts). */
  readonly gen: number;
  readonly cond: () => boolean;
  readonly sinceNs: number;
}

/** The lost wakeup detector of one machine. */
export class LostWakeup {
  readonly #m: Machine;
  readonly #boundNs: number;
  readonly #expects = new Map<Thread, Expect>();
  readonly #reported = new Set<Thread>();

  constructor(m: Machine, boundNs: number) {
    this.#m = m;
    this.#boundNs = boundNs;
  }

  /** The current thread's next sleep waits until `cond()` is true. */
  expect(cond: () => boolean): void {
    const th = this.#m.curThread;
    if (th === null) throw new Error("expectWakeup outside a thread");
    if (this.#expects.size >= CONDS_MAX && !this.#expects.has(th)) throw new Error("lost wakeup: too many conditions");
    this.#expects.set(th, { gen: th.sleepGen + 1, cond, sinceNs: this.#m.nowNs });
  }

  /** At quiescence: reports stuck sleepers whose condition holds; returns how many. */
  atQuiescence(stuck: Thread[]): number {
    let n = 0;
    for (const th of stuck) if (this.#check(th, 0, "nothing is left to wake it")) n++;
    return n;
  }

  /** At the end of a run: sleepers whose condition holds and slept longer than the bound. */
  atEnd(): void {
    for (const th of this.#expects.keys()) this.#check(th, this.#boundNs, "the run ended");
  }

  #check(th: Thread, minNs: number, why: string): boolean {
    const x = this.#expects.get(th);
    if (x === undefined || th.state !== TS.blocked || th.sleepGen !== x.gen) return false;
    const w = th.waitObj;
    if (w === null || w instanceof Lock) return false;
    const m = this.#m;
    if (m.nowNs - x.sinceNs < minNs || this.#reported.has(th) || !x.cond()) return false;
    this.#reported.add(th);
    m.violation(
      "lost-wakeup",
      `lost wakeup: ${th.name} sleeps on ${w.name} since ${x.sinceNs} ns although its wait condition holds; ${why}`,
      th.id,
      w.id,
    );
    return true;
  }
}
