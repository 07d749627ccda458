/**
 * Starvation: a soft interrupt left pending, a timeout left unfired, or a
 * thread left waiting for a lock longer than `detect.starvationNs`. NetBSD's
 * kmutex hands a released lock to nobody, so a waiter can lose to barging
 * threads again and again (kern_mutex.c mutex_vector_exit). NetBSD runs callouts at SOFTINT_CLOCK,
 * the lowest level, so a storm at a higher level (net) starves timers
 * (reference section 4). Checked when the handler finally runs or the timeout
 * fires, and at the end of the run for those still waiting. Reported once per
 * handler or timeout.
 *
 * @example
 * ```ts
 * import { Starvation } from "./starvation.ts";
 * // new Starvation(m, 50_000_000).install();
 * ```
 * @module
 */
import { SOFTINT_LEVELS } from "../config.ts";
import type { Machine } from "../machine.ts";
import type { Lock, SoftInt, Thread, Timeout } from "../objects.ts";

/** The starvation detector of one machine. */
export class Starvation {
  readonly #m: Machine;
  readonly #boundNs: number;
  /** Per soft interrupt: since when it is pending on each CPU (-1 not pending). */
  readonly #since = new Map<SoftInt, number[]>();
  readonly #reported = new Set<object>();
  /** Threads waiting for a lock: since when, and which lock. */
  readonly #lockSince = new Map<Thread, number>();
  readonly #lockOf = new Map<Thread, Lock>();

  constructor(m: Machine, boundNs: number) {
    if (!(boundNs > 0)) throw new Error("starvation bound must be positive");
    this.#m = m;
    this.#boundNs = boundNs;
  }

  /** Installs the softint and timeout hooks. */
  install(): void {
    this.#m.hooks.softint.add((si, cpu, pending) => this.#softint(si, cpu, pending));
    this.#m.hooks.timeoutFire.add((to, lateNs) => this.#timeout(to, lateNs));
    this.#m.hooks.lockWaited.add((th, l, waitNs) => this.#lock(th, l, waitNs));
  }

  /** End of run: handlers still pending and timeouts still unfired beyond the bound. */
  atEnd(): void {
    const now = this.#m.nowNs;
    for (const [si, since] of this.#since) {
      for (let cpu = 0; cpu < since.length; cpu++) {
        if (since[cpu] >= 0 && now - since[cpu] > this.#boundNs) this.#reportSoftint(si, cpu, now - since[cpu], true);
      }
    }
    for (const to of this.#m.timeouts) {
      if (to.pending && now - to.deadlineNs > this.#boundNs) this.#reportTimeout(to, now - to.deadlineNs, true);
    }
    for (const [th, since] of this.#lockSince) {
      if (now - since > this.#boundNs) this.#reportLock(th, this.#lockOf.get(th) as Lock, now - since, true);
    }
  }

  #lock(th: Thread, l: Lock, waitNs: number): void {
    if (waitNs === 0) {
      this.#lockSince.set(th, this.#m.nowNs);
      this.#lockOf.set(th, l);
      return;
    }
    this.#lockSince.delete(th);
    this.#lockOf.delete(th);
    if (waitNs > this.#boundNs) this.#reportLock(th, l, waitNs, false);
  }

  #reportLock(th: Thread, l: Lock, waitNs: number, still: boolean): void {
    if (this.#reported.has(th)) return;
    this.#reported.add(th);
    this.#m.violation(
      "starvation",
      `starvation: thread ${th.name} ${still ? "still waiting for" : "waited"} lock ${l.cls} ${
        still ? "after" : "for"
      } ${waitNs} ns (bound ${this.#boundNs} ns, detect.starvationNs)`,
      th.id,
      l.id,
    );
  }

  #softint(si: SoftInt, cpu: number, pending: boolean): void {
    let since = this.#since.get(si);
    if (since === undefined) this.#since.set(si, since = new Array(this.#m.cpus.length).fill(-1));
    if (pending) {
      since[cpu] = this.#m.nowNs;
      return;
    }
    const waitNs = this.#m.nowNs - since[cpu];
    since[cpu] = -1;
    if (waitNs > this.#boundNs) this.#reportSoftint(si, cpu, waitNs, false);
  }

  #timeout(to: Timeout, lateNs: number): void {
    if (lateNs > this.#boundNs) this.#reportTimeout(to, lateNs, false);
  }

  #reportSoftint(si: SoftInt, cpu: number, waitNs: number, still: boolean): void {
    if (this.#reported.has(si)) return;
    this.#reported.add(si);
    const level = SOFTINT_LEVELS[si.level];
    this.#m.violation(
      "starvation",
      `starvation: soft interrupt ${si.name} (level ${level}) on cpu${cpu} ${
        still ? "still pending after" : "ran after"
      } ` +
        `${waitNs} ns pending (bound ${this.#boundNs} ns, detect.starvationNs)`,
      si.id,
      cpu,
    );
  }

  #reportTimeout(to: Timeout, lateNs: number, still: boolean): void {
    if (this.#reported.has(to)) return;
    this.#reported.add(to);
    this.#m.violation(
      "starvation",
      `starvation: timeout ${to.name} ${still ? "still not fired" : "fired"} ${lateNs} ns after its deadline ` +
        `(bound ${this.#boundNs} ns, detect.starvationNs)`,
      to.id,
      lateNs,
    );
  }
}
