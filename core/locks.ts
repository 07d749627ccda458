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
 *
 * With `kernel=netbsd` adaptive mutexes and rwlocks follow NetBSD instead:
 * - a contended adaptive mutex spins (with backoff, preemptible) while its
 *   owner runs on a CPU and sleeps on the turnstile otherwise
 *   (kern_mutex.c 1.62 mutex_vector_enter, mutex_oncpu);
 * - releasing it wakes every sleeping waiter and hands the lock to nobody
 *   (mutex_vector_exit: `turnstile_wakeup(ts, TS_WRITER_Q,
 *   TS_WAITERS(ts, TS_WRITER_Q), NULL)`): the woken threads retry when they
 *   run, so the releaser, or any other thread, can take it first (barging);
 * - rwlocks spin while the holder runs, except in soft interrupt context;
 *   on release with waiters (kern_rwlock.c 1.59.2.3 rw_vector_exit): if a
 *   write lock is released and readers wait, all readers get it; otherwise
 *   the longest-waiting writer is handed the lock when readers also wait,
 *   else every writer is woken to fight it out with WRITE_WANTED set, which
 *   blocks new readers until some writer acquires.
 * A retry is carried out by the machine's step (LOCK_RETRY), so kernel code
 * still writes `yield m.lock(l)` and resumes holding the lock.
 * @module
 */
import { Deque } from "./_array.ts";
import type { DeadlockCheck } from "./deadlock.ts";
import type { MachineBase } from "./machine_base.ts";
import { type Cpu, Lock, LOCK_TYPE, type LockWaiter, MODE, PRIO, type Thread, THREAD_KIND, TS } from "./objects.ts";
import { BLOCK_WHY, KIND, SWITCH_REASON } from "./schema.ts";
import type { Scheduler } from "./sched.ts";

const WHY = BLOCK_WHY;

/**
 * `Thread.resume` of a NetBSD lock attempt that must try again when the
 * thread next runs (woken without the lock, or one spin backoff passed). The
 * machine's step re-runs the acquisition (Locks.retry) instead of resuming
 * the thread's code. Negative: never an errno.
 */
export const LOCK_RETRY = -1;

/**
 * Spin backoff between two looks at the lock word, doubling from min to max
 * (NetBSD SPINLOCK_BACKOFF_MIN 4 to SPINLOCK_BACKOFF_MAX 128 iterations of
 * a pause loop, sys/lock.h; about 10 ns each on current x86).
 */
export const SPIN_BACKOFF_MIN_NS = 40;
/** Upper bound of the spin backoff (see SPIN_BACKOFF_MIN_NS). */
export const SPIN_BACKOFF_MAX_NS = 1280;

/** The locks of one machine. */
export class Locks {
  /** Every lock created, in creation order. */
  readonly all: Lock[] = [];
  readonly #m: MachineBase;
  readonly #sched: Scheduler;
  readonly #deadlock: DeadlockCheck;
  readonly #waiterPool: Deque<LockWaiter> = new Deque();
  /** m.hooks.lockEnter's subscribers (the list is stable: subscribing edits it in place). */
  readonly #enterHooks: readonly ((th: Thread, l: Lock, mode: number) => void)[];
  readonly #waitedHooks: readonly ((th: Thread, l: Lock, waitNs: number) => void)[];
  /** `kernel=netbsd`: kmutex and NetBSD rwlock semantics (module doc). */
  readonly #netbsd: boolean;
  /** NetBSD: threads in a contended acquisition (spinning, asleep or woken to retry): since when. */
  readonly #since = new Map<Thread, number>();
  /** NetBSD: the next spin backoff of each spinning thread. */
  readonly #backoffNs = new Map<Thread, number>();
  /** NetBSD rwlocks with RW_WRITE_WANTED set after waking every writer (cleared by any acquisition). */
  readonly #writeWanted = new Set<Lock>();

  /** Locks of machine `m`, scheduled by `sched`, with waits checked by `deadlock`. */
  constructor(m: MachineBase, sched: Scheduler, deadlock: DeadlockCheck) {
    this.#m = m;
    this.#sched = sched;
    this.#deadlock = deadlock;
    this.#enterHooks = m.hooks.lockEnter.list;
    this.#waitedHooks = m.hooks.lockWaited.list;
    this.#netbsd = m.config["kernel"] === "netbsd";
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
    if (this.#netbsd && l.type !== LOCK_TYPE.spin && l.type !== LOCK_TYPE.pseudo) {
      return this.#enterNetbsd(c, th, l, mode);
    }
    const free = mode === MODE.excl
      ? l.owner === null && l.readers === 0
      : l.owner === null && waiterIndex(l, MODE.excl) < 0; // OpenBSD: RWLOCK_WRWANT blocks readers
    if (free && (l.waiters.length === 0 || mode === MODE.shared)) {
      this.#grant(l, th, mode, 0);
      this.#chargeEnter(c, l);
      return;
    }
    this.#startWait(l, th, mode);
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
      if (!l.readerThreads.removeLast(th)) throw new Error(`lock (${l.cls}) not locked by ${th.name}`);
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
    if (this.#netbsd && l.type === LOCK_TYPE.adaptive) this.#wakeAll(l, MODE.excl);
    else if (this.#netbsd && l.type === LOCK_TYPE.rwlock) this.#rwExitNetbsd(l, mode);
    else this.#handoff(l);
  }

  /**
   * The step of a thread whose resume is LOCK_RETRY: it looks at the lock
   * again (its effect arguments still name the lock and mode). No
   * WITNESS check: the attempt was checked when it began.
   */
  retry(c: Cpu, th: Thread): void {
    th.resume = 0;
    this.#enterNetbsd(c, th, th.argObj as Lock, th.argMode);
  }

  /**
   * NetBSD mutex_vector_enter / rw_vector_enter (module doc). A contending
   * thread stays in `l.waiters` from its first look (its `lock-wait`) until
   * it gets the lock (its `lock-acquire`), whether it spins, sleeps or was
   * woken to retry, so the trace's fold of waiters matches; only sleeping
   * ones (blocked on `l`) are woken or handed the lock on release.
   */
  #enterNetbsd(c: Cpu, th: Thread, l: Lock, mode: number): void {
    const m = this.#m;
    const since = this.#since.get(th);
    const free = mode === MODE.excl
      ? l.owner === null && l.readers === 0
      : l.owner === null && sleepingIndex(l, MODE.excl) < 0 && !this.#writeWanted.has(l);
    if (free) {
      let waitNs = 0;
      if (since !== undefined) {
        waitNs = m.nowNs - since;
        this.#since.delete(th);
        this.#backoffNs.delete(th);
        const i = threadIndex(l, th);
        this.#waiterPool.push(l.waiters.at(i));
        l.waiters.removeAt(i);
        th.waitObj = null;
        l.waitNsTotal += waitNs;
      }
      this.#grant(l, th, mode, waitNs);
      this.#chargeEnter(c, l);
      if (since !== undefined) callWaited(this.#waitedHooks, th, l, waitNs);
      return;
    }
    if (since === undefined) {
      // The attempt starts waiting: counted once however many times it retries.
      this.#since.set(th, m.nowNs);
      this.#startWait(l, th, mode);
      callWaited(this.#waitedHooks, th, l, 0);
    }
    // Spin while every holder runs on a CPU; rwlocks never spin in soft
    // interrupt context (kern_rwlock.c: the holder may be pinned under us).
    // A retry after a wakeup spins without naming the lock as its wait
    // object (the trace's wake cleared it); the deadlock check sees it again
    // once it sleeps.
    if (this.#holdersOnCpu(l) && !(l.type === LOCK_TYPE.rwlock && th.kind === THREAD_KIND.softint)) {
      const b = this.#backoffNs.get(th) ?? SPIN_BACKOFF_MIN_NS;
      this.#backoffNs.set(th, Math.min(2 * b, SPIN_BACKOFF_MAX_NS));
      th.waitWhy = WHY.spin;
      if (th.waitObj === l) this.#deadlock.check(th);
      c.nowNs += b;
      c.busyNs += b;
      th.resume = LOCK_RETRY;
      return;
    }
    this.#backoffNs.delete(th);
    th.waitObj = l;
    th.waitWhy = WHY.lock;
    this.#deadlock.check(th);
    th.state = TS.blocked;
    m.emit(KIND.block, l.id, WHY.lock, 0);
    this.#sched.switchTo(c, SWITCH_REASON.block);
  }

  /** mutex_oncpu(): every holder of `l` is the current thread of its CPU. */
  #holdersOnCpu(l: Lock): boolean {
    const cpus = this.#m.cpus;
    if (l.owner !== null) return cpus[l.owner.cpu].cur === l.owner && l.owner.state === TS.running;
    const rs = l.readerThreads;
    for (let i = 0; i < rs.length; i++) {
      const r = rs.at(i);
      if (cpus[r.cpu].cur !== r || r.state !== TS.running) return false;
    }
    return rs.length > 0;
  }

  /** Wakes every sleeping waiter of `mode` without handing over the lock: each retries when it runs. */
  #wakeAll(l: Lock, mode: number): void {
    const ws = l.waiters;
    for (let i = 0; i < ws.length; i++) {
      const w = ws.at(i);
      const th = w.thread;
      if (w.mode !== mode || th.state !== TS.blocked || th.waitObj !== l) continue;
      th.resume = LOCK_RETRY;
      this.#sched.wake(th, l, this.#sched.chooseCpu(th));
    }
  }

  /** kern_rwlock.c 1.59.2.3 rw_vector_exit, once the last hold is gone; counts the turnstile's sleepers. */
  #rwExitNetbsd(l: Lock, mode: number): void {
    if (l.owner !== null || l.readers > 0 || l.waiters.length === 0) return;
    const rcnt = countSleeping(l, MODE.shared), wcnt = countSleeping(l, MODE.excl);
    if (wcnt > 0 && (rcnt === 0 || mode === MODE.shared)) {
      if (rcnt !== 0) {
        this.#handTo(l, sleepingIndex(l, MODE.excl)); // "Give the lock to the longest waiting writer."
      } else {
        this.#writeWanted.add(l); // "Wake all writers and let them fight it out."
        this.#wakeAll(l, MODE.excl);
      }
      return;
    }
    // "Give the lock to all blocked readers."
    for (let ri = sleepingIndex(l, MODE.shared); ri >= 0; ri = sleepingIndex(l, MODE.shared)) this.#handTo(l, ri);
  }

  /** The acquisition's own cost (mtx_enter / rw_enter), on the acquiring CPU. */
  #chargeEnter(c: Cpu, l: Lock): void {
    const cost = l.type === LOCK_TYPE.rwlock ? this.#m.cost.rwEnter : this.#m.cost.mtxEnter;
    c.nowNs += cost;
    c.busyNs += cost;
  }

  /** `th` starts waiting for `l`: counted, a lock-wait event, a pooled waiter entry (no allocation). */
  #startWait(l: Lock, th: Thread, mode: number): void {
    const m = this.#m;
    l.contended++;
    m.stats.lockWaits++;
    const owner = l.owner !== null ? l.owner.id : (l.readerThreads.length > 0 ? l.readerThreads.at(0).id : 0);
    m.emit(KIND.lockWait, l.id, mode, owner);
    const w = this.#waiterPool.pop() ?? { thread: th, mode, sinceNs: 0 };
    w.thread = th;
    w.mode = mode;
    w.sinceNs = m.nowNs;
    l.waiters.push(w);
    th.waitObj = l;
  }

  #grant(l: Lock, th: Thread, mode: number, waitNs: number): void {
    if (mode === MODE.excl) l.owner = th;
    else {
      l.readers++;
      l.readerThreads.push(th);
    }
    l.acquisitions++;
    th.held.push(l);
    if (this.#netbsd) this.#writeWanted.delete(l); // rw_hold_remember: cleared on every acquire
    if (l.type === LOCK_TYPE.spin) {
      th.spinHeld++;
      if (l.ipl > th.iplPrio) th.iplPrio = l.ipl;
    }
    this.#m.emitOn(th.cpu, th.id, KIND.lockAcquire, l.id, mode, th.id, waitNs);
  }

  #dropHeld(th: Thread, l: Lock): void {
    const held = th.held;
    held.removeLast(l);
    if (l.type !== LOCK_TYPE.spin) return;
    th.spinHeld--;
    let ipl = 0;
    for (let i = 0; i < held.length; i++) {
      const h = held.at(i);
      if (h.type === LOCK_TYPE.spin && h.ipl > ipl) ipl = h.ipl;
    }
    th.iplPrio = ipl;
    const c = this.#m.cpus[th.cpu];
    if (c.cur === th && c.rq.length > 0 && c.rq.at(0).prio > th.prio) c.needResched = true;
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
    const w = l.waiters.at(wi);
    l.waiters.removeAt(wi);
    this.#waiterPool.push(w);
    const th = w.thread;
    const waitNs = m.nowNs - w.sinceNs;
    l.waitNsTotal += waitNs;
    th.waitObj = null;
    this.#grant(l, th, w.mode, waitNs);
    const since = this.#netbsd ? this.#since.get(th) : undefined;
    if (since !== undefined) {
      this.#since.delete(th);
      this.#backoffNs.delete(th);
      callWaited(this.#waitedHooks, th, l, m.nowNs - since);
    }
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

/** Calls every lockWaited subscriber (an index loop: a for-of here allocated its iterator). */
function callWaited(
  hooks: readonly ((th: Thread, l: Lock, waitNs: number) => void)[],
  th: Thread,
  l: Lock,
  waitNs: number,
) {
  for (let i = 0; i < hooks.length; i++) hooks[i](th, l, waitNs);
}

/** True when waiter `w` of `l` sleeps on the turnstile (not spinning, not woken to retry). */
function sleeping(l: Lock, w: LockWaiter): boolean {
  return w.thread.state === TS.blocked && w.thread.waitObj === l;
}

/** Number of sleeping waiters of `mode`. */
function countSleeping(l: Lock, mode: number): number {
  let n = 0;
  const ws = l.waiters;
  for (let i = 0; i < ws.length; i++) if (ws.at(i).mode === mode && sleeping(l, ws.at(i))) n++;
  return n;
}

/** Index of the first sleeping waiter of `mode`, or -1. */
function sleepingIndex(l: Lock, mode: number): number {
  const ws = l.waiters;
  for (let i = 0; i < ws.length; i++) if (ws.at(i).mode === mode && sleeping(l, ws.at(i))) return i;
  return -1;
}

/** Index of `th`'s waiter entry (it must have one). */
function threadIndex(l: Lock, th: Thread): number {
  const ws = l.waiters;
  for (let i = 0; i < ws.length; i++) if (ws.at(i).thread === th) return i;
  throw new Error(`lock ${l.cls}: ${th.name} is not waiting`);
}

/** Index of the first waiter of `mode`, or -1. */
function waiterIndex(l: Lock, mode: number): number {
  const ws = l.waiters;
  for (let i = 0; i < ws.length; i++) if (ws.at(i).mode === mode) return i;
  return -1;
}
