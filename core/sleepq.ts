/**
 * Sleep queues: tsleep/msleep and wakeup/wakeup_one on wait channels (any
 * kernel object), FIFO per channel (OpenBSD kern_synch.c: sleep queues
 * hashed by ident, wakeup_n walks them in order), with an optional
 * interlock released atomically and an optional timeout (EWOULDBLOCK).
 * Sleeping while holding a spin mutex other than the interlock is reported
 * as witness does ("sleeping on ... with the following non-sleepable locks
 * held").
 * @module
 */
import { Deque } from "./_array.ts";
import type { DeadlockCheck } from "./deadlock.ts";
import type { Locks } from "./locks.ts";
import { EWOULDBLOCK, type MachineBase } from "./machine_base.ts";
import { type Cpu, type KObj, type Lock, LOCK_TYPE, type Thread, THREAD_KIND, TS } from "./objects.ts";
import { BLOCK_WHY, KIND, SWITCH_REASON } from "./schema.ts";
import type { Scheduler } from "./sched.ts";
import type { SleepTimeoutTarget, Timers } from "./timers.ts";

/** The sleep queues of one machine. */
export class SleepQueues implements SleepTimeoutTarget {
  readonly #m: MachineBase;
  readonly #sched: Scheduler;
  readonly #locks: Locks;
  readonly #deadlock: DeadlockCheck;
  readonly #timers: Timers;
  readonly #sleepers = new Map<KObj, Deque<Thread>>();

  /** Sleep queues of machine `m`; they handle `timers`' sleep timeouts. */
  constructor(m: MachineBase, sched: Scheduler, locks: Locks, deadlock: DeadlockCheck, timers: Timers) {
    this.#m = m;
    this.#sched = sched;
    this.#locks = locks;
    this.#deadlock = deadlock;
    this.#timers = timers;
    timers.setSleepTarget(this);
  }

  /** Effect sleep: `th` on `c` sleeps with the arguments it set (MachineBase.sleep). */
  sleep(c: Cpu, th: Thread): void {
    const m = this.#m;
    const chan = th.argObj as KObj;
    const interlock = th.argObj2 as Lock | null;
    const timeoutNs = th.argNs;
    const spinOk = interlock !== null && interlock.type === LOCK_TYPE.spin ? 1 : 0;
    if (th.spinHeld > spinOk) {
      const held = th.held.toArray().filter((l) => l.type === LOCK_TYPE.spin && l !== interlock).map((l) => l.cls);
      m.violation(
        "sleep-with-spin",
        `witness: sleeping on ${chan.name} with the following non-sleepable locks held: ${held.join(", ")}`,
        chan.id,
        th.id,
      );
    }
    th.state = TS.blocked;
    th.waitObj = chan;
    th.waitWhy = th.argMode;
    th.sleepGen++;
    let q = this.#sleepers.get(chan);
    if (q === undefined) this.#sleepers.set(chan, q = new Deque());
    q.push(th);
    m.emit(KIND.block, chan.id, th.argMode, timeoutNs);
    if (interlock !== null) this.#locks.unlock(interlock);
    if (th.waitFor.length > 0) this.#deadlock.check(th);
    if (timeoutNs > 0) this.#timers.armSleep(m.nowNs + timeoutNs, th, th.sleepGen);
    if (th.kind !== THREAD_KIND.intr) {
      // An interrupt thread waiting again is the interrupt's return, which
      // intrEntry covers (the handler ran on the interrupted context).
      c.nowNs += m.cost.sleep;
      c.busyNs += m.cost.sleep;
    }
    this.#sched.switchTo(c, SWITCH_REASON.block);
  }

  /** wakeup(chan) (`one` false) or wakeup_one(chan): emits `wakeup-call`; returns how many woke. */
  wakeup(chan: KObj, one: boolean): number {
    const q = this.#sleepers.get(chan);
    const n = q === undefined ? 0 : (one ? Math.min(1, q.length) : q.length);
    this.#m.emit(KIND.wakeupCall, chan.id, n, one ? 1 : 0);
    for (let i = 0; i < n; i++) {
      const th = (q as Deque<Thread>).shift() as Thread;
      th.resume = 0;
      this.wakeThread(th, chan, this.#sched.chooseCpu(th));
    }
    return n;
  }

  /** Makes `th`, waiting on `obj`, runnable on `cpu`, taking it off `obj`'s sleep queue if there. */
  wakeThread(th: Thread, obj: KObj, cpu: number): void {
    if (th.state === TS.blocked && th.waitObj === obj && th.waitWhy !== BLOCK_WHY.lock) {
      const q = this.#sleepers.get(obj);
      const i = q === undefined ? -1 : q.indexOf(th);
      if (i >= 0) (q as Deque<Thread>).removeAt(i);
    }
    this.#sched.wake(th, obj, cpu);
  }

  /** True if some thread sleeps on `chan`. */
  hasSleepers(chan: KObj): boolean {
    const q = this.#sleepers.get(chan);
    return q !== undefined && q.length > 0;
  }

  /** SleepTimeoutTarget: the sleep timed out unless it was woken before (another `gen`). */
  onSleepTimeout(th: Thread, gen: number): void {
    // Woken before the timeout: it left the sleep (a later sleep has another
    // gen), or it now blocks on a lock, which a stale timeout must not end.
    if (th.state !== TS.blocked || th.sleepGen !== gen || th.waitWhy === BLOCK_WHY.lock) return;
    const m = this.#m;
    const chan = th.waitObj as KObj;
    const q = this.#sleepers.get(chan);
    const i = q === undefined ? -1 : q.indexOf(th);
    if (i >= 0) (q as Deque<Thread>).removeAt(i);
    th.waitObj = null;
    th.resume = EWOULDBLOCK;
    const cpu = this.#sched.chooseCpu(th);
    m.emitOn(cpu, 0, KIND.sleepTimeout, th.id, chan.id, cpu);
    m.curCpu = m.cpus[cpu];
    this.#sched.makeRunnable(th, cpu);
  }
}
