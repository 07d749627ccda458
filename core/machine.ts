/**
 * The simulated SMP machine: CPUs with their own clocks, threads written as
 * generators, and the parts it composes, each in its own file:
 *
 * - machine_base.ts: shared state, the one event emit path, the effects;
 * - sched.ts: run queues, picking, preemption, quantum, stealing, decisions;
 * - locks.ts: spin and adaptive mutexes, rwlocks, pseudo-locks;
 * - sleepq.ts: sleep/wakeup with interlock and timeout;
 * - intr.ts: hard interrupts and soft interrupts on per-CPU service threads;
 * - refcount.ts: reference counts, use after free;
 * - timers.ts: device and host callbacks, sleep timeouts;
 * - deadlock.ts: wait-for cycles;
 * - hooks.ts: detector subscriptions (`m.hooks`).
 *
 * Time: each CPU has a clock in integer nanoseconds. The machine always
 * advances the CPU (or timer) with the smallest time, so events come out in
 * nondecreasing time order. A step resumes one thread until it yields one
 * effect: spend time, take a lock, sleep, yield. All events of a step carry
 * the time at which the step began; spending advances the CPU's clock after.
 * Non-blocking kernel operations (wakeup, task queue list changes, reference
 * counts, softint_schedule) are synchronous calls that emit at once.
 *
 * Nondeterminism: only the seeded PRNG (prng.ts). Every draw that changes the
 * schedule is emitted as a `decision` event (only non-default outcomes), and a
 * {@link DecisionFeed} can replay those outcomes instead of drawing.
 *
 * @example
 * ```ts
 * import { Machine } from "./machine.ts";
 * import { MACHINE_KEYS, COST_KEYS, resolveConfig } from "./config.ts";
 * const m = new Machine({ config: resolveConfig([MACHINE_KEYS, COST_KEYS], {}), seed: 1 });
 * m.spawn("hello", function* () { yield m.spend(1000); });
 * m.run();
 * ```
 * @module
 */
import type { SOFTINT_LEVELS } from "./config.ts";
import { DeadlockCheck, deadlockMessage } from "./deadlock.ts";
import { digestState, type DigestView } from "./digest.ts";
import { Interrupts } from "./intr.ts";
import { LOCK_RETRY, Locks } from "./locks.ts";
import { configNum, MachineBase, type MachineOptions, OP, type RunResult } from "./machine_base.ts";
import {
  type Cpu,
  type KCode,
  type KObj,
  type Lock,
  type RefObj,
  type SoftInt,
  Task,
  type Taskq,
  type Thread,
  type Timeout,
  TS,
} from "./objects.ts";
import { RefCounts } from "./refcount.ts";
import { ENUMS, KIND } from "./schema.ts";
import { Scheduler, type SpawnOptions } from "./sched.ts";
import { SleepQueues } from "./sleepq.ts";
import { Timers, type TimerTarget } from "./timers.ts";

export {
  type DecisionFeed,
  type DecisionSource,
  EWOULDBLOCK,
  type MachineOptions,
  type MachinePlan,
  machinePlan,
  type MachineStats,
  OP,
  type RunResult,
  type Violation,
} from "./machine_base.ts";
export type { SpawnOptions } from "./sched.ts";
export type { TimerTarget } from "./timers.ts";
export { cycleFrom } from "./deadlock.ts";

/** A hook that lets the network stack add its sockets to digests. */
export type SocketWalker = (cb: (id: number, rcvCc: number, sndCc: number, spliceTo: number) => void) => void;

/** The simulated machine: the parts composed, and the kernel API scenarios and kernel models call. */
export class Machine extends MachineBase implements DigestView {
  /** Every lock created, in creation order. */
  readonly locks: Lock[];
  /** Every task queue registered, in creation order. */
  readonly taskqs: Taskq[] = [];
  /** Every timeout registered, in creation order. */
  readonly timeouts: Timeout[] = [];
  /** Every reference-counted object allocated, freed ones included. */
  readonly refObjs: RefObj[];
  /** Hook set by the network stack to add its sockets to digests, or null. */
  socketWalker: SocketWalker | null = null;

  readonly #sched: Scheduler;
  readonly #timers: Timers;
  readonly #locks: Locks;
  readonly #sleepq: SleepQueues;
  readonly #intr: Interrupts;
  readonly #refs: RefCounts;
  #lastCheckpoint = 0;
  readonly #checkpointEvery: number;
  readonly #durationNs: number;
  readonly #eventsMax: number;

  /** Builds the CPUs, clocks, PRNG streams and parts from `opts`; nothing runs until run(). */
  constructor(opts: MachineOptions) {
    super(opts);
    const cfg = opts.config;
    this.#checkpointEvery = configNum(cfg, "checkpoint.every");
    this.#durationNs = configNum(cfg, "sim.durationNs");
    this.#eventsMax = configNum(cfg, "sim.eventsMax");
    this.#sched = new Scheduler(this, opts.decisions ?? null);
    this.#timers = new Timers(this);
    const deadlock = new DeadlockCheck(this);
    this.#locks = new Locks(this, this.#sched, deadlock);
    this.#sleepq = new SleepQueues(this, this.#sched, this.#locks, deadlock, this.#timers);
    this.#intr = new Interrupts(this, this.#sched, this.#sleepq);
    this.#refs = new RefCounts(this);
    this.locks = this.#locks.all;
    this.refObjs = this.#refs.all;
  }

  // --------------------------------------------------------------- objects

  /**
   * A new lock of WITNESS/lockdep class `cls`. `type` is "spin", "adaptive",
   * "rwlock" or "pseudo". A spin mutex at ipl "high" also blocks hard interrupts.
   */
  newLock(cls: string, type: "spin" | "adaptive" | "rwlock" | "pseudo", ipl: "none" | "high" = "none"): Lock {
    return this.#locks.create(cls, type, ipl);
  }

  /** Creates a thread running `body`, runnable at once. */
  spawn(name: string, body: (self: Thread) => KCode, opts: SpawnOptions = {}): Thread {
    return this.#sched.spawn(name, body, opts);
  }

  /** Allocates a reference-counted object with `refs` references. */
  alloc(type: string, refs = 1): RefObj {
    return this.#refs.alloc(type, refs);
  }

  /** A new task object (task_set). */
  newTask(name: string, fn: (arg: unknown) => KCode, arg: unknown): Task {
    const t = new Task(this.newId(), name, fn, arg);
    this.emit(KIND.taskInit, t.id, this.str(name));
    return t;
  }

  /** Registers a task queue for digests (taskq.ts). */
  registerTaskq(tq: Taskq): void {
    this.taskqs.push(tq);
  }

  /** Registers a timeout for digests (timeout.ts). */
  registerTimeout(to: Timeout): void {
    this.timeouts.push(to);
  }

  // ------------------------------------------------------------ kernel API

  /** Releases `l`, held by the current thread; hands it to the next waiter. */
  unlock(l: Lock): void {
    this.#locks.unlock(l);
  }

  /**
   * OpenBSD's `curcpu()->ci_schedstate.spc_schedflags & SPCF_SHOULDYIELD`
   * for the current thread: the test of sched_pause(). Always false under
   * sched.kpreempt=on.
   */
  shouldYield(): boolean {
    return this.#sched.shouldYield(this.cur);
  }

  /** wakeup(chan): makes every thread sleeping on `chan` runnable. Returns how many. */
  wakeup(chan: KObj): number {
    return this.#sleepq.wakeup(chan, false);
  }

  /** wakeup_one(chan). */
  wakeupOne(chan: KObj): number {
    return this.#sleepq.wakeup(chan, true);
  }

  /** True if some thread sleeps on `chan`. */
  hasSleepers(chan: KObj): boolean {
    return this.#sleepq.hasSleepers(chan);
  }

  /** Sleepers on `chan` are idle workers waiting for work (a task queue's &tq), not stuck threads. */
  markIdleWait(chan: KObj): void {
    this.#intr.markIdleWait(chan);
  }

  /** Takes a reference. Touching a freed object is a use after free. */
  ref(o: RefObj): void {
    this.#refs.ref(o);
  }

  /** Drops a reference; frees the object at zero. Returns true when it freed it. */
  rele(o: RefObj): boolean {
    return this.#refs.rele(o);
  }

  /** Asserts that `o` is still allocated; reports a use after free otherwise. Returns true if freed. */
  touch(o: RefObj, what: string): boolean {
    return this.#refs.touch(o, what);
  }

  /** Registers a soft interrupt handler at level `level` (clock, bio, net, serial). */
  softintEstablish(
    level: (typeof SOFTINT_LEVELS)[number],
    name: string,
    fn: (arg: unknown) => KCode,
    arg: unknown,
  ): SoftInt {
    return this.#intr.establish(level, name, fn, arg);
  }

  /**
   * softint_schedule() on the current CPU: a no-op when already pending;
   * otherwise queued FIFO at its level, whose thread preempts lower levels.
   * Reference section 4.
   */
  softintSchedule(si: SoftInt): boolean {
    return this.#intr.schedule(si);
  }

  /** Dequeues the next pending handler of a level (softint thread only). */
  softintNext(c: Cpu, level: number): SoftInt | null {
    return this.#intr.next(c, level);
  }

  /**
   * Posts a hard interrupt on `cpu` (device context). Its handler runs on the
   * CPU's interrupt thread, which preempts everything except code holding a
   * spin mutex at "high".
   */
  postInterrupt(cpu: number, obj: KObj, fn: (arg: unknown) => KCode, arg: unknown): void {
    this.#intr.post(cpu, obj, fn, arg);
  }

  /** Runs `fn` at simulated time `tNs` outside any CPU (device and external-host events). */
  at(tNs: number, fn: () => void): void {
    this.#timers.at(tNs, fn);
  }

  /**
   * Calls `target.onTimer(arg, n)` at `tNs`, outside any CPU, like {@link at}
   * but without a closure: for per-packet device and host events.
   */
  atCall(tNs: number, target: TimerTarget, arg: unknown, n = 0): void {
    this.#timers.atCall(tNs, target, arg, n);
  }

  /**
   * A schedule decision among `n` choices (0 = default): drawn live, or taken
   * from the decision feed on re-execution; non-default outcomes are emitted.
   */
  decide(point: number, n: number): number {
    return this.#sched.decide(point, n);
  }

  // ---------------------------------------------------------------- running

  /** Runs until the time or event limit, quiescence or deadlock. */
  run(): RunResult {
    this.running = true;
    while (!this.ended) this.#tick();
    return {
      reason: this.endReason,
      events: this.eventIndex,
      simNs: this.nowNs,
      violations: this.violations,
    };
  }

  #tick(): void {
    if (this.eventIndex >= this.#eventsMax) return this.#end("event-limit", this.nowNs);
    const c = this.#sched.pickCpu();
    const tc = c === null ? Infinity : c.nowNs;
    const tt = this.#timers.peekTime();
    const next = Math.min(tc, tt);
    if (next === Infinity) return this.#quiesce();
    if (next > this.#durationNs) return this.#end("time-limit", this.#durationNs);
    if (tt <= tc) {
      this.nowNs = tt;
      this.#timers.fire();
    } else {
      this.nowNs = tc;
      this.#step(c as Cpu);
    }
    if (this.eventIndex - this.#lastCheckpoint >= this.#checkpointEvery) this.checkpoint();
  }

  /** One step on `c`: resume its thread until it yields an effect, and carry the effect out. */
  #step(c: Cpu): void {
    const th = this.#sched.beginStep(c);
    if (th === null) return;
    if (th.resume === LOCK_RETRY) return this.#locks.retry(c, th); // NetBSD: woken without the lock, or spinning
    const r = (th.gen as KCode).next(th.resume);
    th.resume = 0;
    if (r.done) return this.#sched.exit(c, th);
    switch (r.value) {
      case OP.spend:
        c.nowNs += th.argNs;
        c.busyNs += th.argNs;
        th.runNs += th.argNs;
        return;
      case OP.yield:
        return this.#sched.yield(c, th);
      case OP.lock:
        return this.#locks.enter(c, th, th.argObj as Lock, th.argMode);
      case OP.sleep:
        return this.#sleepq.sleep(c, th);
      default:
        throw new Error(`thread ${th.name} yielded unknown effect ${r.value}`);
    }
  }

  /** Emits a checkpoint event carrying the digest of the current state. */
  checkpoint(): void {
    const d = digestState(this);
    this.#lastCheckpoint = this.eventIndex;
    this.emitOn(0, 0, KIND.checkpoint, d[0], d[1], d[2], d[3], d[4], this.eventIndex);
  }

  #end(reason: (typeof ENUMS.runEnd)[number], atNs: number): void {
    if (atNs > this.nowNs) this.nowNs = atNs;
    for (const f of this.hooks.end.list) f();
    const blocked = this.threads.filter((t) => t.state === TS.blocked || t.waitObj !== null);
    this.ended = true;
    this.endReason = reason;
    this.checkpoint();
    this.emitOn(0, 0, KIND.runEnd, ENUMS.runEnd.indexOf(reason), blocked.length);
    this.endSinks();
  }

  /** Nothing can run and no timer is pending. */
  #quiesce(): void {
    const stuck = this.threads.filter((t) =>
      (t.state === TS.blocked || t.waitObj !== null) && !this.#intr.isIdleWait(t)
    );
    if (stuck.length === 0) {
      return this.#end(this.threads.every((t) => t.state === TS.exited) ? "all-exited" : "quiescent", this.nowNs);
    }
    let explained = 0;
    for (const f of this.hooks.quiescentBlocked.list) explained += f(stuck);
    if (explained < stuck.length && !this.violations.some((v) => v.kind === "deadlock")) {
      this.violation("deadlock", deadlockMessage(stuck, this.cpus), stuck[0].id, stuck.length);
    }
    this.#end("deadlock", this.nowNs);
  }

  // ------------------------------------------------------------ digest view

  /** DigestView: number of CPUs. */
  cpuCount(): number {
    return this.cpus.length;
  }
  /** DigestView: running thread on a CPU. */
  cpuCurrent(cpu: number): number {
    const t = this.cpus[cpu].cur;
    return t === null ? 0 : t.id;
  }
  /** DigestView: threads. */
  forEachThread(cb: (id: number, state: number, cpu: number, waitObj: number) => void): void {
    for (const t of this.threads) {
      const onCpu = t.state === TS.runnable || t.state === TS.running;
      cb(t.id, t.state, onCpu ? t.cpu : 0, t.waitObj === null ? 0 : t.waitObj.id);
    }
  }
  /** DigestView: locks. */
  forEachLock(cb: (id: number, owner: number, readers: number, waiters: readonly number[]) => void): void {
    for (const l of this.locks) {
      cb(l.id, l.owner === null ? 0 : l.owner.id, l.readers, l.waiters.toArray().map((w) => w.thread.id));
    }
  }
  /** DigestView: task queues. */
  forEachTaskq(cb: (id: number, queued: readonly number[]) => void): void {
    for (const tq of this.taskqs) cb(tq.id, tq.worklist.toArray().map((t) => t.id));
  }
  /** DigestView: pending timeouts. */
  forEachTimeout(cb: (id: number, deadlineNs: number) => void): void {
    for (const to of this.timeouts) if (to.pending) cb(to.id, to.deadlineNs);
  }
  /** DigestView: reference-counted objects. */
  forEachRef(cb: (id: number, refs: number, freed: boolean) => void): void {
    for (const o of this.refObjs) cb(o.id, o.refs, o.freed);
  }
  /** DigestView: sockets (from the network stack, if any). */
  forEachSocket(cb: (id: number, rcvCc: number, sndCc: number, spliceTo: number) => void): void {
    this.socketWalker?.(cb);
  }
}
