/**
 * Locks: spin and adaptive mutexes, rwlocks and WITNESS pseudo-locks.
 *
 * A contended spin mutex keeps its CPU spinning (the CPU makes no progress
 * until the lock is handed over; NetBSD kern_mutex.c, OpenBSD
 * kern/kern_lock.c mtx_enter); a contended adaptive mutex or rwlock blocks
 * its thread. Waiters are FIFO. On release writers go first, else every
 * waiting reader (OpenBSD kern_rwlock.c: RWLOCK_WRWANT also stops new
 * readers while a writer waits). Holding a spin mutex raises the thread's
 * IPL: no preemption below it, and no sleeping (sleepq.ts reports it).
 * @module
 */
import { removeAt } from "./_array.ts";
import type { DeadlockCheck } from "./deadlock.ts";
import type { MachineBase } from "./machine_base.ts";
import { type Cpu, Lock, LOCK_TYPE, type LockWaiter, MODE, PRIO, type Thread, TS } from "./objects.ts";
import { BLOCK_WHY, KIND, SWITCH_REASON } from "./schema.ts";
import type { Scheduler } from "./sched.ts";

const WHY = BLOCK_WHY;

/** The locks of one machine. */
export class Locks {
  /** Every lock created, in creation order. */
  readonly all: Lock[] = [];
  readonly #m: MachineBase;
  readonly #sched: Scheduler;
  readonly #deadlock: DeadlockCheck;
  readonly #waiterPool: LockWaiter[] = [];
  /** m.hooks.lockEnter's subscribers (the list is stable: subscribing edits it in place). */
  readonly #enterHooks: readonly ((th: Thread, l: Lock, mode: number) => void)[];

  /** Locks of machine `m`, scheduled by `sched`, with waits checked by `deadlock`. */
  constructor(m: MachineBase, sched: Scheduler, deadlock: DeadlockCheck) {
    this.#m = m;
    this.#sched = sched;
    this.#deadlock = deadlock;
    this.#enterHooks = m.hooks.lockEnter.list;
  }

  /**
   * A new lock of WITNESS/lockdep class `cls`. `type` is "spin", "adaptive",
   * "rwlock" or "pseudo". A spin mutex at ipl "high" also blocks hard interrupts.
   */
  create(cls: string, type: "spin" | "adaptive" | "rwlock" | "pseudo", ipl: "none" | "high" = "none"): Lock {
    const m = this.#m;
    const t = LOCK_TYPE[type];
    const iplPrio = t === LOCK_TYPE.spin ? (ipl === "high" ? PRIO.intr + 1 : PRIO.intr - 1) : 0;
    const l = new Lock(m.newId(), cls, t, iplPrio);
    this.all.push(l);
    m.emit(KIND.lockInit, l.id, m.str(cls), t);
    return l;
  }

  /** Effect lock: `th` on `c` takes `l` in `mode`, or waits (spins or blocks). */
  enter(c: Cpu, th: Thread, l: Lock, mode: number): void {
    const m = this.#m;
    const hooks = this.#enterHooks;
    for (let i = 0; i < hooks.length; i++) hooks[i](th, l, mode);
    if (l.owner === th || (mode === MODE.excl && l.readerThreads.includes(th))) {
      m.violation("lock-recursion", `locking against myself: ${l.cls} by ${th.name}`, l.id, th.id);
    }
    const free = mode === MODE.excl
      ? l.owner === null && l.readers === 0
      : l.owner === null && waiterIndex(l, MODE.excl) < 0; // OpenBSD: RWLOCK_WRWANT blocks readers
    if (free && (l.waiters.length === 0 || mode === MODE.shared)) {
      this.#grant(l, th, mode, 0);
      const cost = l.type === LOCK_TYPE.rwlock ? m.cost.rwEnter : m.cost.mtxEnter;
      c.nowNs += cost;
      c.busyNs += cost;
      return;
    }
    l.contended++;
    m.stats.lockWaits++;
    const owner = l.owner !== null ? l.owner.id : (l.readerThreads.length > 0 ? l.readerThreads[0].id : 0);
    m.emit(KIND.lockWait, l.id, mode, owner);
    const w = this.#waiterPool.pop() ?? { thread: th, mode, sinceNs: 0 };
    w.thread = th;
    w.mode = mode;
    w.sinceNs = m.nowNs;
    l.waiters.push(w); // pooled: no allocation per contended acquisition
    th.waitObj = l;
    if (l.type === LOCK_TYPE.spin) {
      th.waitWhy = WHY.spin;
      c.spinning = true; // the CPU burns cycles until the lock is handed over
      this.#deadlock.check(th);
      return;
    }
    this.#deadlock.check(th);
    th.waitWhy = WHY.lock;
    th.state = TS.blocked;
    m.emit(KIND.block, l.id, WHY.lock, 0);
    this.#sched.switchTo(c, SWITCH_REASON.block);
  }

  /** Releases `l`, held by the current thread; hands it to the next waiter. */
  unlock(l: Lock): void {
    const m = this.#m;
    const th = m.cur;
    let mode: number = MODE.excl;
    if (l.owner === th) {
      l.owner = null;
    } else {
      const i = l.readerThreads.lastIndexOf(th);
      if (i < 0) throw new Error(`lock (${l.cls}) not locked by ${th.name}`);
      removeAt(l.readerThreads, i);
      l.readers--;
      mode = MODE.shared;
    }
    m.emit(KIND.lockRelease, l.id, mode);
    // mtx_leave()/rw_exit(): charged to the releasing CPU (the caller's).
    const cost = l.type === LOCK_TYPE.rwlock ? m.cost.rwExit : m.cost.mtxLeave;
    const c = m.cpus[th.cpu];
    c.nowNs += cost;
    c.busyNs += cost;
    this.#dropHeld(th, l);
    this.#handoff(l);
  }

  #grant(l: Lock, th: Thread, mode: number, waitNs: number): void {
    if (mode === MODE.excl) l.owner = th;
    else {
      l.readers++;
      l.readerThreads.push(th);
    }
    l.acquisitions++;
    th.held.push(l);
    if (l.type === LOCK_TYPE.spin) {
      th.spinHeld++;
      if (l.ipl > th.iplPrio) th.iplPrio = l.ipl;
    }
    this.#m.emitOn(th.cpu, th.id, KIND.lockAcquire, l.id, mode, th.id, waitNs);
  }

  #dropHeld(th: Thread, l: Lock): void {
    const i = th.held.lastIndexOf(l);
    if (i >= 0) removeAt(th.held, i);
    if (l.type !== LOCK_TYPE.spin) return;
    th.spinHeld--;
    let ipl = 0;
    for (const h of th.held) if (h.type === LOCK_TYPE.spin && h.ipl > ipl) ipl = h.ipl;
    th.iplPrio = ipl;
    const c = this.#m.cpus[th.cpu];
    if (c.cur === th && c.rq.length > 0 && c.rq[0].prio > th.prio) c.needResched = true;
  }

  /** After a release: writers first (OpenBSD rwlock), else every waiting reader. */
  #handoff(l: Lock): void {
    if (l.owner !== null || l.waiters.length === 0) return;
    const wi = waiterIndex(l, MODE.excl);
    if (wi >= 0) {
      if (l.readers > 0) return;
      this.#handTo(l, wi);
      return;
    }
    for (let ri = waiterIndex(l, MODE.shared); ri >= 0; ri = waiterIndex(l, MODE.shared)) this.#handTo(l, ri);
  }

  #handTo(l: Lock, wi: number): void {
    const m = this.#m;
    const w = l.waiters[wi];
    removeAt(l.waiters, wi);
    this.#waiterPool.push(w);
    const th = w.thread;
    const waitNs = m.nowNs - w.sinceNs;
    l.waitNsTotal += waitNs;
    th.waitObj = null;
    this.#grant(l, th, w.mode, waitNs);
    const c = m.cpus[th.cpu];
    if (th.waitWhy === WHY.spin) {
      // The spinning CPU's clock stood at the spin start; it was busy since.
      c.spinning = false;
      const t = Math.max(c.nowNs, m.nowNs) + m.cost.lockHandoff;
      c.busyNs += t - c.nowNs;
      c.nowNs = t;
      return;
    }
    this.#sched.wake(th, l, this.#sched.chooseCpu(th));
  }
}

/** Index of the first waiter of `mode`, or -1. */
function waiterIndex(l: Lock, mode: number): number {
  const ws = l.waiters;
  for (let i = 0; i < ws.length; i++) if (ws[i].mode === mode) return i;
  return -1;
}
