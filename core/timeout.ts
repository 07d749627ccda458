/**
 * OpenBSD timeouts (timeout_set/timeout_add/timeout_del/timeout_del_barrier)
 * fired from the clock soft interrupt. The hardclock interrupt on CPU 0
 * notices due timeouts on tick boundaries (`clock.hz`) and schedules the
 * softclock handler at the clock softint level; so when network soft
 * interrupts of higher priority keep that CPU busy, timeouts run late
 * (reference section 4: "Callouts run at SOFTINT_CLOCK, so a net softint
 * storm starves timers"). The model is tickless: the hardclock interrupt is
 * only raised on ticks where a timeout is due.
 *
 * @example
 * ```ts
 * import { Timeouts } from "./timeout.ts";
 * // const tos = new Timeouts(m); const to = tos.set("tcp_rexmt", fn, arg);
 * // tos.add(to, 200_000_000);
 * ```
 * @module
 */
import type { Machine } from "./machine.ts";
import { type KCode, KObj, type SoftInt, Timeout } from "./objects.ts";
import { KIND } from "./schema.ts";
import { msleep, WHY } from "./sync.ts";

/** The timeout subsystem of one machine. */
export class Timeouts {
  /** Hardclock tick length (from `clock.hz`), ns. */
  readonly tickNs: number;
  readonly #m: Machine;
  readonly #softclock: SoftInt;
  readonly #clockIrq: KObj;
  #armedNs = Infinity;
  #seq = 0;
  /** Timeouts that fired. */
  fired = 0;
  /** Largest lateness of a fired timeout, ns. */
  lateNsMax = 0;

  /** The timeouts of `m`: establishes the softclock handler and the hardclock source. */
  constructor(m: Machine) {
    this.#m = m;
    this.tickNs = Math.max(1, Math.round(1e9 / Number(m.config["clock.hz"])));
    this.#softclock = m.softintEstablish("clock", "softclock", () => this.#softclockRun(), null);
    this.#clockIrq = new KObj(m.newId(), "hardclock");
  }

  /** timeout_set(). */
  set(name: string, fn: (arg: unknown) => KCode, arg: unknown = null): Timeout {
    const m = this.#m;
    const to = new Timeout(m.newId(), name, fn, arg);
    m.registerTimeout(to);
    m.emit(KIND.timeoutInit, to.id, m.str(name));
    return to;
  }

  /** timeout_add_nsec(): (re)schedules `to`; returns 1 if it was not pending. */
  add(to: Timeout, ns: number): number {
    const m = this.#m;
    const added = to.pending ? 0 : 1;
    to.pending = true;
    to.deadlineNs = m.nowNs + Math.max(0, ns);
    to.seq = ++this.#seq;
    m.emit(KIND.timeoutAdd, to.id, to.deadlineNs, added);
    this.#arm(to.deadlineNs);
    return added;
  }

  /** timeout_del(): 1 if it removed a pending timeout. Does not wait for a running handler. */
  del(to: Timeout): number {
    const removed = to.pending ? 1 : 0;
    to.pending = false;
    this.#m.emit(KIND.timeoutDel, to.id, removed);
    return removed;
  }

  /** timeout_del_barrier(): timeout_del, then wait for a running handler to return. */
  *delBarrier(to: Timeout): Generator<number, number, number> {
    const m = this.#m;
    const removed = this.del(to);
    yield m.spend(m.cost.timeoutDel);
    while (to.running) yield* msleep(m, to, null, 0, WHY.barrier);
    return removed;
  }

  /** Arms the hardclock for the tick at or after `deadlineNs`. */
  #arm(deadlineNs: number): void {
    const tick = Math.ceil(deadlineNs / this.tickNs) * this.tickNs;
    if (tick >= this.#armedNs) return;
    this.#armedNs = tick;
    const m = this.#m;
    m.at(Math.max(tick, m.nowNs), () => {
      if (this.#armedNs !== tick) return; // superseded by an earlier arm
      this.#armedNs = Infinity;
      m.postInterrupt(0, this.#clockIrq, () => this.#hardclock(), null);
    });
  }

  /** hardclock(): schedule softclock when a timeout is due, re-arm for the next. */
  *#hardclock(): KCode {
    const m = this.#m;
    if (this.#next(m.nowNs) !== null) m.softintSchedule(this.#softclock);
    else this.#rearm();
    yield m.spend(50);
  }

  /** softclock(): runs every due timeout in deadline order. */
  *#softclockRun(): KCode {
    const m = this.#m;
    for (let to = this.#next(m.nowNs); to !== null; to = this.#next(m.nowNs)) {
      to.pending = false;
      to.running = true;
      const lateNs = m.nowNs - to.deadlineNs;
      this.fired++;
      if (lateNs > this.lateNsMax) this.lateNsMax = lateNs;
      m.emit(KIND.timeoutFire, to.id, lateNs);
      for (const f of m.hooks.timeoutFire.list) f(to, lateNs);
      yield* to.fn(to.arg);
      to.running = false;
      m.emit(KIND.timeoutDone, to.id);
      if (m.hasSleepers(to)) m.wakeup(to);
    }
    this.#rearm();
  }

  #rearm(): void {
    let min = Infinity;
    for (const to of this.#m.timeouts) if (to.pending && to.deadlineNs < min) min = to.deadlineNs;
    if (min !== Infinity) this.#arm(Math.max(min, this.#m.nowNs + 1));
  }

  /** The due timeout with the smallest (deadline, sequence), or null. */
  #next(nowNs: number): Timeout | null {
    let best: Timeout | null = null;
    for (const to of this.#m.timeouts) {
      if (!to.pending || to.deadlineNs > nowNs) continue;
      if (
        best === null || to.deadlineNs < best.deadlineNs || (to.deadlineNs === best.deadlineNs && to.seq < best.seq)
      ) {
        best = to;
      }
    }
    return best;
  }
}
