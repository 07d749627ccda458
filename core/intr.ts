/**
 * Hard and soft interrupts, run as NetBSD does (kern_softint.c, and
 * interrupt threads): each CPU has one thread per softint level
 * ("softnet/N") and one interrupt thread, created on first use, pinned, at
 * priorities above every kernel thread. softint_schedule() marks a handler
 * pending on the current CPU (a no-op when already pending) and queues it
 * FIFO at its level; the level's thread preempts lower levels and threads.
 * A hard interrupt preempts everything except code holding a spin mutex at
 * ipl "high". Its handler runs on the interrupt thread only for the trace's
 * sake: entering and leaving it is no context switch (the scheduler parks
 * the interrupted thread on its CPU, charges no ctxSwitch and no sleep;
 * intrEntry covers entry and exit), as both BSDs run handlers on the
 * interrupted context (sched.ts, intrEnter/intrReturn). Reference section 4.
 *
 * Also the idle waits: a service thread (or task queue worker) asleep on its
 * work channel is not stuck, so it does not count toward a deadlock.
 * @module
 */
import { Deque } from "./_array.ts";
import { SOFTINT_LEVELS } from "./config.ts";
import type { MachineBase } from "./machine_base.ts";
import {
  type Chan,
  type Cpu,
  type Irq,
  type KCode,
  type KObj,
  PRIO,
  SoftInt,
  type Thread,
  THREAD_KIND,
  TS,
} from "./objects.ts";
import { KIND } from "./schema.ts";
import type { Scheduler } from "./sched.ts";
import type { SleepQueues } from "./sleepq.ts";

/** The interrupts of one machine. */
export class Interrupts {
  readonly #m: MachineBase;
  readonly #sched: Scheduler;
  readonly #sleepq: SleepQueues;
  /** The work channel of each service thread. */
  readonly #serviceChans = new WeakMap<Thread, Chan>();
  /** Channels whose sleepers are idle workers waiting for work (a task queue's &tq). */
  readonly #idleWaitChans = new WeakSet<KObj>();
  /** Irq entries handed back once their handler started: reused, so posting allocates nothing. */
  readonly #irqPool: Deque<Irq> = new Deque();

  /** Interrupts of machine `m`, whose threads `sched` runs and `sleepq` wakes. */
  constructor(m: MachineBase, sched: Scheduler, sleepq: SleepQueues) {
    this.#m = m;
    this.#sched = sched;
    this.#sleepq = sleepq;
  }

  /** Registers a soft interrupt handler at level `level` (clock, bio, net, serial). */
  establish(level: (typeof SOFTINT_LEVELS)[number], name: string, fn: (arg: unknown) => KCode, arg: unknown): SoftInt {
    const m = this.#m;
    const lv = SOFTINT_LEVELS.indexOf(level);
    const si = new SoftInt(m.newId(), name, lv, fn, arg, m.cpus.length);
    m.emit(KIND.softintEstablish, si.id, lv, m.str(name));
    return si;
  }

  /** softint_schedule() on the current CPU; false when it was already pending. */
  schedule(si: SoftInt): boolean {
    const m = this.#m;
    const c = m.curCpu;
    if (si.pending[c.id]) {
      m.emit(KIND.softintSchedule, si.id, c.id, 0);
      return false;
    }
    si.pending[c.id] = true;
    m.emit(KIND.softintSchedule, si.id, c.id, 1);
    const hooks = m.hooks.softint.list;
    for (let i = 0; i < hooks.length; i++) hooks[i](si, c.id, true);
    softq(c, si.level).push(si);
    this.#kickService(c, this.#softThread(c, si.level));
    return true;
  }

  /** Dequeues the next pending handler of a level (softint thread only). */
  next(c: Cpu, level: number): SoftInt | null {
    const m = this.#m;
    const si = softq(c, level).shift();
    if (si === undefined) return null;
    si.pending[c.id] = false;
    m.emit(KIND.softintRun, si.id, level);
    const hooks = m.hooks.softint.list;
    for (let i = 0; i < hooks.length; i++) hooks[i](si, c.id, false);
    return si;
  }

  /** Posts a hard interrupt on `cpu` (device context); its handler runs on the CPU's interrupt thread. */
  post(cpu: number, obj: KObj, fn: (arg: unknown) => KCode, arg: unknown): void {
    const m = this.#m;
    const c = m.cpus[cpu];
    const irq = this.#irqPool.pop() ?? { obj, fn, arg };
    irq.obj = obj;
    irq.fn = fn;
    irq.arg = arg;
    c.irqq.push(irq);
    m.curCpu = c;
    this.#kickService(c, this.#intrThread(c));
  }

  /** Sleepers on `chan` are idle workers waiting for work, not stuck threads. */
  markIdleWait(chan: KObj): void {
    this.#idleWaitChans.add(chan);
  }

  /** A service thread (softint, interrupt, idle task queue worker) waiting for work is not stuck. */
  isIdleWait(th: Thread): boolean {
    return th.state === TS.blocked && th.waitObj !== null &&
      (this.#serviceChans.get(th) === th.waitObj || this.#idleWaitChans.has(th.waitObj));
  }

  /** The per-CPU thread of a softint level ("softnet/N" in NetBSD), created on first use. */
  #softThread(c: Cpu, level: number): Thread {
    const have = c.softThreads[level];
    if (have !== undefined) return have;
    const m = this.#m;
    const name = `soft${SOFTINT_LEVELS[level]}/${c.id}`;
    const chan = m.chan(name);
    // deno-lint-ignore no-this-alias -- generator bodies cannot be arrow functions
    const self = this;
    const th = this.#spawnService(name, m.softintPrio[level], c, THREAD_KIND.softint, chan, function* () {
      for (;;) {
        const si = self.next(c, level);
        if (si === null) {
          yield m.sleep(chan);
          continue;
        }
        yield m.spend(m.cost.softintDispatch);
        yield* si.fn(si.arg);
        m.emit(KIND.softintDone, si.id);
      }
    });
    c.softThreads[level] = th;
    return th;
  }

  #intrThread(c: Cpu): Thread {
    if (c.intrThread !== null) return c.intrThread;
    const m = this.#m;
    const name = `intr/${c.id}`;
    const chan = m.chan(name);
    const pool = this.#irqPool;
    c.intrThread = this.#spawnService(name, PRIO.intr, c, THREAD_KIND.intr, chan, function* () {
      for (;;) {
        const irq = c.irqq.shift();
        if (irq === undefined) {
          yield m.sleep(chan);
          continue;
        }
        // Copied out and the entry handed back: the handler may post again.
        const obj = irq.obj, fn = irq.fn, arg = irq.arg;
        irq.arg = null;
        pool.push(irq);
        m.emit(KIND.intrEnter, obj.id, m.str(obj.name));
        yield m.spend(m.cost.intrEntry);
        yield* fn(arg);
        m.emit(KIND.intrExit, obj.id);
      }
    });
    return c.intrThread;
  }

  #spawnService(name: string, prio: number, c: Cpu, kind: number, chan: Chan, body: () => KCode): Thread {
    const th = this.#sched.spawn(name, body, { prio, pin: c.id, kind });
    this.#serviceChans.set(th, chan);
    return th;
  }

  /** Wakes a service thread idle on its work channel. */
  #kickService(c: Cpu, th: Thread): void {
    if (th.state === TS.blocked && th.waitObj === this.#serviceChans.get(th)) {
      this.#sleepq.wakeThread(th, th.waitObj as KObj, c.id);
    }
  }
}

function softq(c: Cpu, level: number): Deque<SoftInt> {
  while (c.softq.length <= level) c.softq.push(new Deque());
  return c.softq[level];
}
