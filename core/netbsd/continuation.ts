/**
 * Kernel continuations, the infrastructure document's single framework for
 * callouts, soft interrupts and workqueues (shared/seeds/
 * netbsd-network-infrastructure-future.txt, "Kernel Continuations"): "the API
 * is primarily derived from the callout(9) API and is a superset of the
 * softint(9) API", and "workqueue items are not tied to a specific kernel
 * thread". The proposal has no code; this is one reading of it:
 *
 * - one dispatcher LWP per CPU, at the soft interrupt priority of the "net"
 *   level, runs continuation items from two per-CPU queues, the soft class
 *   (what softints and expired callouts were) before the work class (what
 *   workqueue items were);
 * - `schedule` appends an item to the current CPU's queue and wakes the
 *   dispatcher if it sleeps; an item already pending is not queued twice (the
 *   softint rule, and what makes double enqueue harmless);
 * - `scheduleAt` arms an item for a tick (callout-like): the hardclock
 *   interrupt on CPU 0 appends expired items straight onto the dispatcher's
 *   queue, with no separate softclock thread;
 * - an item that schedules the next stage of its work appends it to the
 *   queue its dispatcher is draining: the next stage runs without a thread
 *   switch.
 *
 * Items that must sleep are not modelled (they would need a thread, which is
 * where the document's "radical thoughts" on stackless LWPs come in).
 *
 * @example
 * ```ts
 * import { Kcont } from "./continuation.ts";
 * // const kc = new Kcont(m); const it = kc.item("stage2", "soft", function* () { yield m.spend(500); });
 * // kc.schedule(it);
 * ```
 * @module
 */
import { SOFTINT_LEVELS } from "../config.ts";
import type { Machine } from "../machine.ts";
import { type Chan, type KCode, KObj } from "../objects.ts";

/** Item classes, in dispatch order. */
export type KcontClass = "soft" | "work";

/** A continuation item. */
export interface KcontItem {
  /** Name (for messages). */
  readonly name: string;
  /** Its class: soft (softint, expired callout) or work (workqueue). */
  readonly cls: KcontClass;
  /** The function. */
  readonly fn: () => KCode;
  /** On a queue now. */
  pending: boolean;
}

/** The continuation framework of one machine. */
export class Kcont {
  /** Items dispatched. */
  dispatched = 0;
  /** Hardclock tick, ns (from `clock.hz`). */
  readonly tickNs: number;
  readonly #m: Machine;
  readonly #soft: KcontItem[][];
  readonly #work: KcontItem[][];
  readonly #chans: Chan[];
  readonly #irq: KObj;
  /** Armed timers: deadline (tick) -> items, fired by one hardclock interrupt per tick. */
  readonly #timers = new Map<number, { cpu: number; item: KcontItem }[]>();

  /** Creates the per-CPU dispatchers. */
  constructor(m: Machine) {
    this.#m = m;
    this.tickNs = Math.max(1, Math.round(1e9 / Number(m.config["clock.hz"])));
    const n = m.cpus.length;
    this.#soft = Array.from({ length: n }, () => []);
    this.#work = Array.from({ length: n }, () => []);
    this.#chans = Array.from({ length: n }, (_, i) => m.chan(`kcont/${i}`));
    for (const ch of this.#chans) m.markIdleWait(ch); // an idle dispatcher is not a deadlock
    this.#irq = new KObj(m.newId(), "hardclock");
    const prio = m.softintPrio[SOFTINT_LEVELS.indexOf("net")];
    for (let i = 0; i < n; i++) {
      const soft = this.#soft[i], work = this.#work[i], chan = this.#chans[i];
      // deno-lint-ignore no-this-alias -- generator bodies cannot be arrow functions
      const kc = this;
      m.spawn(`kcont/${i}`, function* (): KCode {
        for (;;) {
          const it = soft.length > 0 ? soft.shift() : work.shift();
          if (it === undefined) {
            yield m.sleep(chan);
            continue;
          }
          it.pending = false;
          yield m.spend(m.cost.contDispatch);
          yield* it.fn();
          kc.dispatched++;
        }
      }, { pin: i, prio });
    }
  }

  /** A new item of class `cls`. */
  item(name: string, cls: KcontClass, fn: () => KCode): KcontItem {
    return { name, cls, fn, pending: false };
  }

  /** kcont_schedule on `cpu` (default: the current CPU). False when already pending. */
  schedule(it: KcontItem, cpu: number = this.#m.curCpu.id): boolean {
    if (it.pending) return false;
    it.pending = true;
    (it.cls === "soft" ? this.#soft : this.#work)[cpu].push(it);
    this.#m.wakeup(this.#chans[cpu]);
    return true;
  }

  /** Callout-like: run `it` on `cpu` at the first tick at or after `deadlineNs`. */
  scheduleAt(it: KcontItem, deadlineNs: number, cpu: number): void {
    const m = this.#m;
    const tick = Math.max(m.nowNs, Math.ceil(deadlineNs / this.tickNs) * this.tickNs);
    let list = this.#timers.get(tick);
    if (list === undefined) {
      this.#timers.set(tick, list = []);
      // hardclock on CPU 0 at that tick: expired items go straight to their dispatcher.
      m.at(tick, () => m.postInterrupt(0, this.#irq, () => this.#hardclock(tick), null));
    }
    list.push({ cpu, item: it });
  }

  *#hardclock(tick: number): KCode {
    const m = this.#m;
    const list = this.#timers.get(tick) ?? [];
    this.#timers.delete(tick);
    for (const { cpu, item } of list) this.schedule(item, cpu);
    yield m.spend(50 + list.length * m.cost.calloutSchedule);
  }
}
