/**
 * The simulated SMP machine: CPUs with their own clocks, threads written as
 * generators, a scheduler, locks, sleep/wakeup, soft and hard interrupts,
 * reference counts, and the one event emit path.
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
import { type Config, costsOf, parseSoftintOrder, SOFTINT_LEVELS } from "./config.ts";
import type { Costs } from "./cost.ts";
import { digestState, type DigestView } from "./digest.ts";
import { EventRecord, type EventSink } from "./event.ts";
import {
  Chan,
  Cpu,
  type Irq,
  type KCode,
  type KObj,
  Lock,
  LOCK_TYPE,
  type LockWaiter,
  MODE,
  PRIO,
  RefObj,
  SoftInt,
  Task,
  type Taskq,
  Thread,
  THREAD_KIND,
  type Timeout,
  TS,
} from "./objects.ts";
import { Prng } from "./prng.ts";
import { ENUMS, KIND } from "./schema.ts";
import { TimerHeap, type TimerTarget } from "./_timer_heap.ts";
export type { TimerTarget } from "./_timer_heap.ts";

/** Effect codes yielded by kernel code. */
export const OP = { spend: 1, yield: 2, lock: 3, sleep: 4 } as const;

/** Switch reasons (ENUMS.switchReason). */
const R = { block: 0, preempt: 1, yield: 2, exit: 3, quantum: 4, perturb: 5, idle: 6 } as const;
/** Block reasons (ENUMS.blockWhy). */
const WHY = { lock: 0, sleep: 1, barrier: 2, spin: 3 } as const;
/** Decision points (ENUMS.decision). */
const DP = { tie: 0, perturb: 1, pct: 2, wakeCpu: 3 } as const;

/** errno returned by a timed-out sleep. */
export const EWOULDBLOCK = 35;

/**
 * Recorded decisions to follow during a re-execution: the non-default
 * outcomes, keyed by decision ordinal (the `seq` field of `decision` events:
 * how many decision points the run had passed). Every other decision point
 * takes the default, 0. (Event indexes would not do: a default decision and
 * a non-default one can fall on the same event index.)
 */
export interface DecisionFeed {
  /** Decision ordinals of the non-default decisions, ascending. */
  readonly seq: readonly number[];
  /** Their values. */
  readonly values: readonly number[];
}

/** A violation found during the run. */
export interface Violation {
  /** Violation kind (ENUMS.violation). */
  readonly kind: string;
  /** Index of its `violation` event. */
  readonly event: number;
  /** Human-readable description. */
  readonly message: string;
}

/** How a run ended. */
export interface RunResult {
  /** Why it ended (ENUMS.runEnd). */
  readonly reason: string;
  /** Number of events emitted. */
  readonly events: number;
  /** Simulated time at the end, ns. */
  readonly simNs: number;
  /** Violations found, in event order. */
  readonly violations: readonly Violation[];
}

/** Options for a machine. */
export interface MachineOptions {
  /** Fully resolved configuration (MACHINE_KEYS and COST_KEYS at least). */
  readonly config: Config;
  /** Seed of the PRNG streams. */
  readonly seed: number;
  /** Receivers of every emitted event. */
  readonly sinks?: EventSink[];
  /** Follow these decisions instead of drawing (re-execution). */
  readonly decisions?: DecisionFeed;
}

/** Counters a scenario can report. */
export interface MachineStats {
  /** Wakeups that made a thread runnable on another CPU than the waker's. */
  crossCpuWakeups: number;
  /** Threads made runnable by wakeup. */
  wakeups: number;
  /** Lock acquisitions that found the lock taken. */
  lockWaits: number;
}

/** Options for a thread. */
export interface SpawnOptions {
  /** Priority (default: kernel thread, PRIO.kthread). */
  prio?: number;
  /** Pin to this CPU; -1 lets it migrate. */
  pin?: number;
  /** Initial CPU (default: pin, else round robin). */
  cpu?: number;
  /** Thread kind, THREAD_KIND (default: kernel thread). */
  kind?: number;
}

/** A hook that lets the network stack add its sockets to digests. */
export type SocketWalker = (cb: (id: number, rcvCc: number, sndCc: number, spliceTo: number) => void) => void;

/** The simulated machine. */
export class Machine implements DigestView {
  /** The resolved configuration it was built with. */
  readonly config: Config;
  /** The run's seed. */
  readonly seed: number;
  /** Operation durations from the configuration's cost keys. */
  readonly cost: Costs;
  /** The CPUs, indexed by CPU id. */
  readonly cpus: Cpu[];
  /** Every thread spawned, indexed by thread id - 1. */
  readonly threads: Thread[] = [];
  /** Schedule decisions (ties, perturbations): followed from the feed on re-execution. */
  readonly prng: Prng;
  /**
   * Workload randomness (think times, message sizes, losses): a second stream
   * of the same seed, so re-executing with recorded decisions (which skips
   * the schedule draws) still gives the workload the same numbers.
   */
  readonly workRng: Prng;
  /** Violations recorded so far, in event order. */
  readonly violations: Violation[] = [];
  /** Counters a scenario can report. */
  readonly stats: MachineStats = { crossCpuWakeups: 0, wakeups: 0, lockWaits: 0 };
  /** Per softint level (SOFTINT_LEVELS order): thread priority. */
  readonly softintPrio: number[];
  /** The running thread during a step (kernel code reads it). */
  cur: Thread = null as unknown as Thread;
  /** The CPU of the current step. */
  curCpu: Cpu;
  /** Time of the current step or timer, ns. */
  nowNs = 0;
  /** Number of events emitted so far (= index of the next one). */
  eventIndex = 0;
  /** True once the run has ended. */
  ended = false;
  /** Why the run ended (ENUMS.runEnd), or "" while it runs. */
  endReason = "";

  /** Every lock created, in creation order. */
  readonly locks: Lock[] = [];
  /** Every task queue registered, in creation order. */
  readonly taskqs: Taskq[] = [];
  /** Every timeout registered, in creation order. */
  readonly timeouts: Timeout[] = [];
  /** Every reference-counted object allocated, freed ones included. */
  readonly refObjs: RefObj[] = [];
  /** Hook set by the network stack to add its sockets to digests, or null. */
  socketWalker: SocketWalker | null = null;

  readonly #sinks: EventSink[];
  readonly #rec = new EventRecord();
  readonly #strings = new Map<string, number>();
  readonly #sleepers = new Map<KObj, Thread[]>();
  readonly #timers = new TimerHeap();
  readonly #feed: DecisionFeed | null;
  #feedPos = 0;
  #decisions = 0;
  #nextObjId = 1;
  #nextSpawnCpu = 0;
  #lastCheckpoint = 0;
  readonly #checkpointEvery: number;
  readonly #durationNs: number;
  readonly #eventsMax: number;
  readonly #strategy: number;
  readonly #perturbPpm: number;
  readonly #stallNs: number;
  readonly #quantumNs: number;
  readonly #pctPoints: number[] = [];
  #steps = 0;
  #running = false;
  readonly #waiterPool: LockWaiter[] = [];
  /** Text for the next event (only str-def carries text). */
  #text = "";
  readonly #cyclesReported = new Set<string>();
  /** WITNESS hooks set by the lock-order detector: CHECKORDER on a pseudo-lock, and its hold. */
  checkOrder: ((l: Lock) => void) | null = null;
  /** WITNESS hook: a pseudo-lock is now held (WITNESS_LOCK). */
  witnessLock: ((l: Lock) => void) | null = null;
  /** WITNESS hook: a pseudo-lock is no longer held (WITNESS_UNLOCK). */
  witnessUnlock: ((l: Lock) => void) | null = null;
  /**
   * Called at quiescence with the threads left blocked; returns how many of
   * them it explained with its own violation (a lost wakeup). When it
   * explained every one, no deadlock is reported.
   */
  onQuiescentBlocked: ((blocked: Thread[]) => number) | null = null;
  /** Detector hook: a lock acquisition is attempted (before blocking; WITNESS_CHECKORDER). */
  onLockEnter: ((th: Thread, l: Lock, mode: number) => void) | null = null;
  /** Detector hook: a soft interrupt became pending (`pending`) or was dequeued to run on `cpu`. */
  onSoftint: ((si: SoftInt, cpu: number, pending: boolean) => void) | null = null;
  /** Detector hook: a timeout fired `lateNs` after its deadline (timeout.ts). */
  onTimeoutFire: ((to: Timeout, lateNs: number) => void) | null = null;
  /** Detector hook: the run is ending (before the final checkpoint and `run-end`). */
  onEnd: (() => void) | null = null;

  /** Builds the CPUs, clocks and PRNG streams from `opts`; nothing runs until run(). */
  constructor(opts: MachineOptions) {
    const cfg = opts.config;
    this.config = cfg;
    this.seed = opts.seed;
    this.cost = costsOf(cfg);
    this.prng = new Prng(opts.seed);
    this.workRng = new Prng(opts.seed, 0x574f524b);
    this.#sinks = opts.sinks ?? [];
    this.#feed = opts.decisions ?? null;
    const ncpu = num(cfg, "cpus");
    this.cpus = Array.from({ length: ncpu }, (_, i) => new Cpu(i));
    this.curCpu = this.cpus[0];
    const ranks = parseSoftintOrder(String(cfg["softint.order"]));
    if (!ranks) throw new Error("bad softint.order");
    this.softintPrio = ranks.map((r) => PRIO.softintBase + 10 * r);
    this.#checkpointEvery = num(cfg, "checkpoint.every");
    this.#durationNs = num(cfg, "sim.durationNs");
    this.#eventsMax = num(cfg, "sim.eventsMax");
    this.#strategy = ["none", "random", "pct"].indexOf(String(cfg["sched.strategy"]));
    this.#perturbPpm = num(cfg, "sched.perturbPpm");
    this.#stallNs = num(cfg, "sched.stallNs");
    this.#quantumNs = num(cfg, "sched.quantumNs");
    if (this.#strategy === 2) this.#drawPctPoints(num(cfg, "sched.pctDepth"), num(cfg, "sched.pctSteps"));
  }

  // ---------------------------------------------------------------- events

  /** Emits an event on the current CPU and thread. The one emit path. */
  emit(kind: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0): void {
    this.emitOn(this.curCpu.id, this.cur === null ? 0 : this.cur.id, kind, a, b, c, d, e, f);
  }

  /** Emits an event attributed to `cpu` and `thread` at the current time. */
  emitOn(cpu: number, thread: number, kind: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0): void {
    const r = this.#rec;
    r.index = this.eventIndex++;
    r.tNs = this.nowNs;
    r.cpu = cpu;
    r.thread = thread;
    r.kind = kind;
    const fs = r.fields;
    fs[0] = a;
    fs[1] = b;
    fs[2] = c;
    fs[3] = d;
    fs[4] = e;
    fs[5] = f;
    r.text = this.#text;
    this.#text = "";
    const sinks = this.#sinks;
    for (let i = 0; i < sinks.length; i++) sinks[i].onEvent(r);
  }

  /** The id of an interned string, announcing it with a `str-def` event the first time. */
  str(s: string): number {
    let id = this.#strings.get(s);
    if (id !== undefined) return id;
    id = this.#strings.size + 1;
    this.#strings.set(s, id);
    // The str-def event carries its text: the one case where `text` is set.
    this.#text = s;
    this.emit(KIND.strDef, id);
    return id;
  }

  /** Adds a sink (before run()). */
  addSink(s: EventSink): void {
    this.#sinks.push(s);
  }

  /** Records a violation: an event, a summary entry, exit status 1. */
  violation(kind: (typeof ENUMS.violation)[number], message: string, a = 0, b = 0): void {
    const k = (ENUMS.violation as readonly string[]).indexOf(kind);
    const msgId = this.str(message);
    this.violations.push({ kind, event: this.eventIndex, message });
    this.emit(KIND.violation, k, msgId, a, b);
  }

  // --------------------------------------------------------------- objects

  /** A fresh kernel object id. */
  newId(): number {
    return this.#nextObjId++;
  }

  /** A new wait channel. */
  chan(name: string): Chan {
    const c = new Chan(this.newId(), name);
    this.emit(KIND.objName, c.id, this.str(name));
    return c;
  }

  /**
   * A new lock of WITNESS/lockdep class `cls`. `type` is "spin", "adaptive",
   * "rwlock" or "pseudo". A spin mutex at ipl "high" also blocks hard interrupts.
   */
  newLock(cls: string, type: "spin" | "adaptive" | "rwlock" | "pseudo", ipl: "none" | "high" = "none"): Lock {
    const t = LOCK_TYPE[type];
    const iplPrio = t === LOCK_TYPE.spin ? (ipl === "high" ? PRIO.intr + 1 : PRIO.intr - 1) : 0;
    const l = new Lock(this.newId(), cls, t, iplPrio);
    this.locks.push(l);
    this.emit(KIND.lockInit, l.id, this.str(cls), t);
    return l;
  }

  /** Creates a thread running `body`, runnable at once. */
  spawn(name: string, body: (self: Thread) => KCode, opts: SpawnOptions = {}): Thread {
    const pin = opts.pin ?? -1;
    const cpu = opts.cpu ?? (pin >= 0 ? pin : this.#nextSpawnCpu++ % this.cpus.length);
    const th = new Thread(
      this.threads.length + 1,
      name,
      opts.prio ?? PRIO.kthread,
      pin,
      opts.kind ?? THREAD_KIND.kthread,
      cpu,
    );
    this.threads.push(th);
    th.gen = body(th);
    this.emit(KIND.threadCreate, th.id, this.str(name), th.prio, pin, cpu, th.kind);
    this.#enqueue(this.cpus[cpu], th, false);
    this.#kick(this.cpus[cpu], th);
    return th;
  }

  /** Allocates a reference-counted object with `refs` references. */
  alloc(type: string, refs = 1): RefObj {
    const o = new RefObj(this.newId(), type, refs);
    this.refObjs.push(o);
    this.emit(KIND.objAlloc, o.id, this.str(type), refs);
    return o;
  }

  // ------------------------------------------------------------ kernel API

  /** Effect: spend `ns` of CPU time. */
  spend(ns: number): number {
    this.cur.argNs = ns;
    return OP.spend;
  }

  /** Effect: yield() the CPU to another runnable thread of equal or higher priority. */
  yieldCpu(): number {
    return OP.yield;
  }

  /** Effect: acquire `l` (mutex: exclusive; rwlock: `mode`). Resumes holding it. */
  lock(l: Lock, mode: number = MODE.excl): number {
    this.cur.argObj = l;
    this.cur.argMode = l.type === LOCK_TYPE.rwlock ? mode : MODE.excl;
    return OP.lock;
  }

  /**
   * Effect: sleep on `chan`, atomically releasing `interlock` (which the
   * caller re-takes after; see msleep in sync.ts). Resumes with 0 or
   * EWOULDBLOCK. `waitFor` names threads only they could wake it (for cycles).
   */
  sleep(
    chan: KObj,
    interlock: Lock | null = null,
    timeoutNs = 0,
    why: number = WHY.sleep,
    waitFor: Thread[] = EMPTY_THREADS,
  ): number {
    const th = this.cur;
    th.waitFor = waitFor;
    th.argObj = chan;
    th.argObj2 = interlock;
    th.argNs = timeoutNs;
    th.argMode = why;
    return OP.sleep;
  }

  /** Releases `l`, held by the current thread; hands it to the next waiter. */
  unlock(l: Lock): void {
    const th = this.cur;
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
    this.emit(KIND.lockRelease, l.id, mode);
    this.#dropHeld(th, l);
    this.#handoff(l);
  }

  /** wakeup(chan): makes every thread sleeping on `chan` runnable. Returns how many. */
  wakeup(chan: KObj): number {
    return this.#wakeupN(chan, false);
  }

  /** wakeup_one(chan). */
  wakeupOne(chan: KObj): number {
    return this.#wakeupN(chan, true);
  }

  /** True if some thread sleeps on `chan`. */
  hasSleepers(chan: KObj): boolean {
    const q = this.#sleepers.get(chan);
    return q !== undefined && q.length > 0;
  }

  /** Takes a reference. Touching a freed object is a use after free. */
  ref(o: RefObj): void {
    if (this.#checkFreed(o, "ref")) return;
    o.refs++;
    this.emit(KIND.ref, o.id, o.refs);
  }

  /** Drops a reference; frees the object at zero. Returns true when it freed it. */
  rele(o: RefObj): boolean {
    if (this.#checkFreed(o, "rele")) return false;
    if (o.refs === 0) {
      this.violation("refcount-underflow", `refcount underflow on ${o.type}#${o.id} by ${this.cur.name}`, o.id);
      return false;
    }
    o.refs--;
    this.emit(KIND.rele, o.id, o.refs);
    if (o.refs > 0) return false;
    o.freed = true;
    o.freedBy = this.cur.id;
    o.freedAtEvent = this.eventIndex;
    this.emit(KIND.objFree, o.id);
    return true;
  }

  /** Asserts that `o` is still allocated; reports a use after free otherwise. Returns true if freed. */
  touch(o: RefObj, what: string): boolean {
    return this.#checkFreed(o, what);
  }

  /** Registers a soft interrupt handler at level `level` (clock, bio, net, serial). */
  softintEstablish(
    level: (typeof SOFTINT_LEVELS)[number],
    name: string,
    fn: (arg: unknown) => KCode,
    arg: unknown,
  ): SoftInt {
    const lv = SOFTINT_LEVELS.indexOf(level);
    const si = new SoftInt(this.newId(), name, lv, fn, arg, this.cpus.length);
    this.emit(KIND.softintEstablish, si.id, lv, this.str(name));
    return si;
  }

  /**
   * softint_schedule() on the current CPU: a no-op when already pending;
   * otherwise queued FIFO at its level, whose thread preempts lower levels.
   * Reference section 4.
   */
  softintSchedule(si: SoftInt): boolean {
    const c = this.curCpu;
    if (si.pending[c.id]) {
      this.emit(KIND.softintSchedule, si.id, c.id, 0);
      return false;
    }
    si.pending[c.id] = true;
    this.emit(KIND.softintSchedule, si.id, c.id, 1);
    this.onSoftint?.(si, c.id, true);
    this.#softq(c, si.level).push(si);
    this.#kickService(c, this.#softThread(c, si.level));
    return true;
  }

  /** Dequeues the next pending handler of a level (softint thread only). */
  softintNext(c: Cpu, level: number): SoftInt | null {
    const q = this.#softq(c, level);
    const si = q.shift();
    if (si === undefined) return null;
    si.pending[c.id] = false;
    this.emit(KIND.softintRun, si.id, level);
    this.onSoftint?.(si, c.id, false);
    return si;
  }

  /**
   * Posts a hard interrupt on `cpu` (device context). Its handler runs on the
   * CPU's interrupt thread, which preempts everything except code holding a
   * spin mutex at "high".
   */
  postInterrupt(cpu: number, obj: KObj, fn: (arg: unknown) => KCode, arg: unknown): void {
    const c = this.cpus[cpu];
    c.irqq.push({ obj, fn, arg });
    this.curCpu = c;
    this.#kickService(c, this.#intrThread(c));
  }

  /** Runs `fn` at simulated time `tNs` outside any CPU (device and external-host events). */
  at(tNs: number, fn: () => void): void {
    if (tNs < this.nowNs) throw new Error(`at(${tNs}) is in the past (${this.nowNs})`);
    this.#timers.push(tNs, 2, fn, null, 0);
  }

  /**
   * Calls `target.onTimer(arg, n)` at `tNs`, outside any CPU, like {@link at}
   * but without a closure: for per-packet device and host events.
   */
  atCall(tNs: number, target: TimerTarget, arg: unknown, n = 0): void {
    if (tNs < this.nowNs) throw new Error(`atCall(${tNs}) is in the past (${this.nowNs})`);
    this.#timers.push(tNs, 3, null, null, n, target, arg);
  }

  // ---------------------------------------------------------------- running

  /** Runs until the time or event limit, quiescence or deadlock. */
  run(): RunResult {
    this.#running = true;
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
    const c = this.#pickCpu();
    const tc = c === null ? Infinity : c.nowNs;
    const tt = this.#timers.peekTime();
    const next = Math.min(tc, tt);
    if (next === Infinity) return this.#quiesce();
    if (next > this.#durationNs) return this.#end("time-limit", this.#durationNs);
    if (tt <= tc) {
      this.nowNs = tt;
      this.#fireTimer();
    } else {
      this.nowNs = tc;
      this.#step(c as Cpu);
    }
    if (this.eventIndex - this.#lastCheckpoint >= this.#checkpointEvery) this.checkpoint();
  }

  /** Emits a checkpoint event carrying the digest of the current state. */
  checkpoint(): void {
    const d = digestState(this);
    this.#lastCheckpoint = this.eventIndex;
    this.emitOn(0, 0, KIND.checkpoint, d[0], d[1], d[2], d[3], d[4], this.eventIndex);
  }

  #end(reason: (typeof ENUMS.runEnd)[number], atNs: number): void {
    if (atNs > this.nowNs) this.nowNs = atNs;
    this.onEnd?.();
    const blocked = this.threads.filter((t) => t.state === TS.blocked || t.waitObj !== null);
    this.ended = true;
    this.endReason = reason;
    this.checkpoint();
    this.emitOn(0, 0, KIND.runEnd, ENUMS.runEnd.indexOf(reason), blocked.length);
    for (const s of this.#sinks) s.onEnd?.();
  }

  /** Nothing can run and no timer is pending. */
  #quiesce(): void {
    const stuck = this.threads.filter((t) => (t.state === TS.blocked || t.waitObj !== null) && !isIdleWait(t));
    if (stuck.length === 0) {
      return this.#end(this.threads.every((t) => t.state === TS.exited) ? "all-exited" : "quiescent", this.nowNs);
    }
    const explained = this.onQuiescentBlocked?.(stuck) ?? 0;
    if (explained < stuck.length && !this.violations.some((v) => v.kind === "deadlock")) {
      this.violation("deadlock", deadlockMessage(stuck, this.cpus), stuck[0].id, stuck.length);
    }
    this.#end("deadlock", this.nowNs);
  }

  #pickCpu(): Cpu | null {
    const cpus = this.cpus;
    let best: Cpu | null = null;
    let ties = 0;
    for (let i = 0; i < cpus.length; i++) {
      const c = cpus[i];
      if (!runnable(c)) continue;
      if (best === null || c.nowNs < best.nowNs) {
        best = c;
        ties = 1;
      } else if (c.nowNs === best.nowNs) ties++;
    }
    if (ties <= 1) return best;
    const k = this.decide(DP.tie, ties);
    if (k === 0) return best;
    const t = (best as Cpu).nowNs;
    for (let i = 0, seen = 0; i < cpus.length; i++) {
      const c = cpus[i];
      if (runnable(c) && c.nowNs === t && seen++ === k) return c;
    }
    throw new Error("unreachable: tie pick");
  }

  /**
   * A schedule decision among `n` choices (0 = default). Live: drawn from the
   * PRNG (perturbation points draw according to the strategy). Re-execution:
   * taken from the feed by decision ordinal. Non-default outcomes are emitted.
   */
  decide(point: number, n: number): number {
    let v: number;
    const seq = this.#decisions++;
    if (this.#feed !== null) {
      const f = this.#feed;
      v = 0;
      // Entries behind this ordinal were not reached (a shrunk feed): skip them.
      while (this.#feedPos < f.seq.length && f.seq[this.#feedPos] < seq) this.#feedPos++;
      if (this.#feedPos < f.seq.length && f.seq[this.#feedPos] === seq) {
        v = f.values[this.#feedPos++];
        if (v >= n) v = 0;
      }
    } else if (point === DP.pct) {
      v = n - 1; // a PCT change point always demotes
    } else if (point === DP.perturb) {
      v = this.prng.chancePpm(this.#perturbPpm) ? 1 + this.prng.below(n - 1) : 0;
    } else {
      v = this.prng.below(n);
    }
    if (v !== 0) this.emit(KIND.decision, point, n, v, seq);
    return v;
  }

  #step(c: Cpu): void {
    this.curCpu = c;
    this.#steps++;
    const th = c.cur;
    if (th === null) {
      c.stealPending = false;
      return this.#switchTo(c, R.idle);
    }
    this.cur = th;
    if (c.needResched) {
      c.needResched = false;
      if (this.#preemptible(c, th)) return this.#switchTo(c, R.preempt);
    }
    if (this.#strategy !== 0 && th.spinHeld === 0 && this.#perturb(c, th)) return;
    if (c.nowNs - th.sliceStartNs >= this.#quantumNs && th.spinHeld === 0 && this.#hasPeer(c, th)) {
      return this.#switchTo(c, R.quantum);
    }
    const r = (th.gen as KCode).next(th.resume);
    th.resume = 0;
    if (r.done) return this.#exit(c, th);
    switch (r.value) {
      case OP.spend:
        c.nowNs += th.argNs;
        c.busyNs += th.argNs;
        th.runNs += th.argNs;
        return;
      case OP.yield:
        c.nowNs += this.cost.yield;
        c.busyNs += this.cost.yield;
        if (this.#hasPeer(c, th)) this.#switchTo(c, R.yield);
        return;
      case OP.lock:
        return this.#lockEnter(c, th, th.argObj as Lock, th.argMode);
      case OP.sleep:
        return this.#sleep(c, th);
      default:
        throw new Error(`thread ${th.name} yielded unknown effect ${r.value}`);
    }
  }

  /** Perturbation at a yield point; true when it consumed the step. */
  #perturb(c: Cpu, th: Thread): boolean {
    let v = 0;
    if (this.#strategy === 1) v = this.decide(DP.perturb, 8);
    else if (this.#pctPoints.length > 0 && this.#pctPoints[this.#pctPoints.length - 1] <= this.#steps) {
      this.#pctPoints.pop();
      v = this.decide(DP.pct, 17);
    }
    if (v === 0) return false;
    // A stall models an interrupt or hypervisor preemption at this point:
    // the CPU loses time, other CPUs run ahead, and a peer may take over.
    c.nowNs += v * this.#stallNs;
    if (this.#hasPeer(c, th)) this.#switchTo(c, R.perturb);
    return true;
  }

  #drawPctPoints(depth: number, steps: number): void {
    for (let i = 0; i < depth - 1; i++) this.#pctPoints.push(1 + this.prng.below(steps));
    this.#pctPoints.sort((a, b) => b - a);
  }

  #exit(c: Cpu, th: Thread): void {
    if (th.held.length > 0) {
      this.violation("lock-recursion", `${th.name} exited holding ${th.held.map((l) => l.cls).join(", ")}`, th.id);
    }
    this.emit(KIND.threadExit, th.id);
    th.state = TS.exited;
    this.#switchTo(c, R.exit);
  }

  #preemptible(c: Cpu, th: Thread): boolean {
    const best = c.rq.length > 0 ? c.rq[0] : null;
    return best !== null && best.prio > th.prio && best.prio > th.iplPrio;
  }

  #hasPeer(c: Cpu, th: Thread): boolean {
    return c.rq.length > 0 && c.rq[0].prio >= th.prio;
  }

  /**
   * Switches `c` away from its current thread (which is requeued if still
   * running) to the best runnable thread, stealing from other CPUs when its
   * own queue is empty. Emits `switch` and charges the switch cost.
   */
  #switchTo(c: Cpu, reason: number): void {
    const prev = c.cur;
    let next: Thread | null = c.rq.length > 0 ? c.rq.shift() as Thread : this.#steal(c);
    if (prev !== null && prev.state === TS.running) {
      if (next === null) return; // nothing else to run: keep going
      prev.state = TS.runnable;
      this.#enqueue(c, prev, reason === R.preempt);
      this.#offerToIdle(prev);
    }
    if (prev === null && next === null) return;
    c.cur = next;
    this.cur = prev ?? (next as Thread);
    this.emit(KIND.switch, prev === null ? 0 : prev.id, next === null ? 0 : next.id, prev === null ? R.idle : reason);
    if (next === null) return;
    next.state = TS.running;
    next.cpu = c.id;
    next.sliceStartNs = c.nowNs;
    this.cur = next;
    c.switches++;
    c.nowNs += this.cost.ctxSwitch;
    c.busyNs += this.cost.ctxSwitch;
    next = null;
  }

  /** Takes a runnable migratable thread from the busiest other CPU. */
  #steal(c: Cpu): Thread | null {
    let from: Cpu | null = null;
    for (let i = 1; i < this.cpus.length; i++) {
      const o = this.cpus[(c.id + i) % this.cpus.length];
      if (o.rq.length === 0 || (from !== null && o.rq.length <= from.rq.length)) continue;
      if (o.rq.some(stealable)) from = o;
    }
    if (from === null) return null;
    const idx = from.rq.findIndex(stealable);
    const th = from.rq.splice(idx, 1)[0];
    this.emitOn(c.id, 0, KIND.migrate, th.id, from.id, c.id);
    th.cpu = c.id;
    return th;
  }

  /** Inserts into a run queue: by priority, FIFO within one (head when preempted). */
  #enqueue(c: Cpu, th: Thread, atHead: boolean): void {
    const q = c.rq;
    const p = effPrio(th);
    let i = 0;
    while (i < q.length && (effPrio(q[i]) > p || (!atHead && effPrio(q[i]) === p))) i++;
    insertAt(q, i, th);
    th.cpu = c.id;
  }

  /** A thread became runnable on `c`: wake the CPU if idle, or ask for preemption. */
  #kick(c: Cpu, th: Thread): void {
    if (c.cur === null) return this.#wakeCpu(c);
    if (th.prio > c.cur.prio) c.needResched = true;
    else this.#offerToIdle(th);
  }

  /**
   * `th` waits in a run queue: an idle CPU comes and steals it, as OpenBSD's
   * idle loop does with sched_steal_proc() (kern_sched.c).
   */
  #offerToIdle(th: Thread): void {
    if (!stealable(th)) return;
    for (const o of this.cpus) {
      if (o.cur !== null || o.rq.length > 0 || o.stealPending) continue;
      o.stealPending = true;
      this.#wakeCpu(o);
      return;
    }
  }

  /** An idle CPU gets work: its clock jumps to now (plus the IPI when another CPU sent it). */
  #wakeCpu(c: Cpu): void {
    const t = this.nowNs + (c !== this.curCpu && this.#running ? this.cost.ipi : 0);
    if (c.nowNs < t) c.nowNs = t;
  }

  #kickService(c: Cpu, th: Thread): void {
    if (th.state === TS.blocked && th.waitObj === serviceChan(th)) this.#wakeThread(th, th.waitObj as KObj, c.id);
  }

  // ------------------------------------------------------------------ locks

  #lockEnter(c: Cpu, th: Thread, l: Lock, mode: number): void {
    this.onLockEnter?.(th, l, mode);
    if (l.owner === th || (mode === MODE.excl && l.readerThreads.includes(th))) {
      this.violation("lock-recursion", `locking against myself: ${l.cls} by ${th.name}`, l.id, th.id);
    }
    const free = mode === MODE.excl
      ? l.owner === null && l.readers === 0
      : l.owner === null && waiterIndex(l, MODE.excl) < 0; // OpenBSD: RWLOCK_WRWANT blocks readers
    if (free && (l.waiters.length === 0 || mode === MODE.shared)) {
      this.#grant(l, th, mode, 0);
      const cost = l.type === LOCK_TYPE.rwlock ? this.cost.rwEnter : this.cost.mtxEnter;
      c.nowNs += cost;
      c.busyNs += cost;
      return;
    }
    l.contended++;
    this.stats.lockWaits++;
    const owner = l.owner !== null ? l.owner.id : (l.readerThreads.length > 0 ? l.readerThreads[0].id : 0);
    this.emit(KIND.lockWait, l.id, mode, owner);
    const w = this.#waiterPool.pop() ?? { thread: th, mode, sinceNs: 0 };
    w.thread = th;
    w.mode = mode;
    w.sinceNs = this.nowNs;
    l.waiters.push(w); // pooled: no allocation per contended acquisition
    th.waitObj = l;
    if (l.type === LOCK_TYPE.spin) {
      th.waitWhy = WHY.spin;
      c.spinning = true; // the CPU burns cycles until the lock is handed over
      this.#checkCycle(th);
      return;
    }
    this.#checkCycle(th);
    th.waitWhy = WHY.lock;
    th.state = TS.blocked;
    this.emit(KIND.block, l.id, WHY.lock, 0);
    this.#switchTo(c, R.block);
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
    this.emitOn(th.cpu, th.id, KIND.lockAcquire, l.id, mode, th.id, waitNs);
  }

  #dropHeld(th: Thread, l: Lock): void {
    const i = th.held.lastIndexOf(l);
    if (i >= 0) removeAt(th.held, i);
    if (l.type !== LOCK_TYPE.spin) return;
    th.spinHeld--;
    let ipl = 0;
    for (const h of th.held) if (h.type === LOCK_TYPE.spin && h.ipl > ipl) ipl = h.ipl;
    th.iplPrio = ipl;
    const c = this.cpus[th.cpu];
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
    const w = l.waiters[wi];
    removeAt(l.waiters, wi);
    this.#waiterPool.push(w);
    const th = w.thread;
    const waitNs = this.nowNs - w.sinceNs;
    l.waitNsTotal += waitNs;
    th.waitObj = null;
    this.#grant(l, th, w.mode, waitNs);
    const c = this.cpus[th.cpu];
    if (th.waitWhy === WHY.spin) {
      // The spinning CPU's clock stood at the spin start; it was busy since.
      c.spinning = false;
      const t = Math.max(c.nowNs, this.nowNs) + this.cost.lockHandoff;
      c.busyNs += t - c.nowNs;
      c.nowNs = t;
      return;
    }
    this.#wakeThread(th, l, this.#chooseCpu(th));
  }

  /** Reports a wait-for cycle through `th` (lock owners, declared wakers) once per cycle. */
  #checkCycle(th: Thread): void {
    if (!this.#mayCycle(th)) return;
    const cycle = cycleFrom(th, this.cpus);
    if (cycle === null) return;
    const key = cycle.map((t) => t.id).sort((a, b) => a - b).join(",");
    if (this.#cyclesReported.has(key)) return;
    this.#cyclesReported.add(key);
    this.violation("deadlock", deadlockMessage(cycle, this.cpus), th.id, cycle.length);
  }

  /**
   * Cheap test before the search, without allocating: a lock wait can only
   * close a cycle when a holder of the lock itself waits for something.
   */
  #mayCycle(th: Thread): boolean {
    const w = th.waitObj;
    if (!(w instanceof Lock)) return true; // a sleep with declared wakers: rare, search
    if (w.owner !== null) return waitsOnSomething(w.owner, this.cpus);
    for (const r of w.readerThreads) if (waitsOnSomething(r, this.cpus)) return true;
    return false;
  }

  // ------------------------------------------------------------ sleep/wake

  #sleep(c: Cpu, th: Thread): void {
    const chan = th.argObj as KObj;
    const interlock = th.argObj2 as Lock | null;
    const timeoutNs = th.argNs;
    const spinOk = interlock !== null && interlock.type === LOCK_TYPE.spin ? 1 : 0;
    if (th.spinHeld > spinOk) {
      const held = th.held.filter((l) => l.type === LOCK_TYPE.spin && l !== interlock).map((l) => l.cls);
      this.violation(
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
    if (q === undefined) this.#sleepers.set(chan, q = []);
    q.push(th);
    this.emit(KIND.block, chan.id, th.argMode, timeoutNs);
    if (interlock !== null) this.unlock(interlock);
    if (th.waitFor.length > 0) this.#checkCycle(th);
    if (timeoutNs > 0) this.#timers.push(this.nowNs + timeoutNs, 1, null, th, th.sleepGen);
    c.nowNs += this.cost.sleep;
    c.busyNs += this.cost.sleep;
    this.#switchTo(c, R.block);
  }

  #wakeupN(chan: KObj, one: boolean): number {
    const q = this.#sleepers.get(chan);
    const n = q === undefined ? 0 : (one ? Math.min(1, q.length) : q.length);
    this.emit(KIND.wakeupCall, chan.id, n, one ? 1 : 0);
    for (let i = 0; i < n; i++) {
      const th = (q as Thread[]).shift() as Thread;
      th.resume = 0;
      this.#wakeThread(th, chan, this.#chooseCpu(th));
    }
    return n;
  }

  #wakeThread(th: Thread, obj: KObj, cpu: number): void {
    if (th.state === TS.blocked && th.waitObj === obj && th.waitWhy !== WHY.lock) {
      const q = this.#sleepers.get(obj);
      const i = q === undefined ? -1 : q.indexOf(th);
      if (i >= 0) removeAt(q as Thread[], i);
    }
    th.waitObj = null;
    th.waitFor = EMPTY_THREADS;
    this.stats.wakeups++;
    if (cpu !== this.curCpu.id) this.stats.crossCpuWakeups++;
    this.emit(KIND.wake, th.id, cpu, obj.id);
    this.#makeRunnable(th, cpu);
  }

  #makeRunnable(th: Thread, cpu: number): void {
    th.state = TS.runnable;
    const c = this.cpus[cpu];
    this.#enqueue(c, th, false);
    this.#kick(c, th);
  }

  /** Wakeup target: pinned CPU, else the last CPU if idle, else an idle CPU, else the last. */
  #chooseCpu(th: Thread): number {
    if (th.pin >= 0) return th.pin;
    const cpus = this.cpus;
    if (cpus[th.cpu].cur === null && cpus[th.cpu].rq.length === 0) return th.cpu;
    let idle = 0;
    for (const c of cpus) if (c.cur === null && c.rq.length === 0) idle++;
    if (idle === 0) return th.cpu;
    const k = idle === 1 ? 0 : this.decide(DP.wakeCpu, idle);
    for (let i = 1, seen = 0; i <= cpus.length; i++) {
      const c = cpus[(th.cpu + i) % cpus.length];
      if (c.cur === null && c.rq.length === 0 && seen++ === k) return c.id;
    }
    return th.cpu;
  }

  #fireTimer(): void {
    const t = this.#timers.pop();
    // Copy out and hand the entry back to the heap's pool before acting: the
    // callback may arm new timers.
    const type = t.type, th = t.thread as Thread, gen = t.gen, fn = t.fn, target = t.target, arg = t.arg;
    this.#timers.recycle(t);
    if (type === 1) {
      if (th.state !== TS.blocked || th.sleepGen !== gen) return; // woken before the timeout
      const chan = th.waitObj as KObj;
      const q = this.#sleepers.get(chan);
      if (q !== undefined) removeAt(q, q.indexOf(th));
      th.waitObj = null;
      th.resume = EWOULDBLOCK;
      const cpu = this.#chooseCpu(th);
      this.emitOn(cpu, 0, KIND.sleepTimeout, th.id, chan.id, cpu);
      this.curCpu = this.cpus[cpu];
      this.#makeRunnable(th, cpu);
      return;
    }
    this.cur = null as unknown as Thread;
    if (type === 3) (target as TimerTarget).onTimer(arg, gen);
    else (fn as () => void)();
  }

  // ------------------------------------------------------ service threads

  #softq(c: Cpu, level: number): SoftInt[] {
    while (c.softq.length <= level) c.softq.push([]);
    return c.softq[level];
  }

  /** The per-CPU thread of a softint level ("softnet/N" in NetBSD), created on first use. */
  #softThread(c: Cpu, level: number): Thread {
    const have = c.softThreads[level];
    if (have !== undefined) return have;
    const name = `soft${SOFTINT_LEVELS[level]}/${c.id}`;
    const chan = this.chan(name);
    // deno-lint-ignore no-this-alias -- generator bodies cannot be arrow functions
    const m = this;
    const th = this.#spawnService(name, this.softintPrio[level], c, THREAD_KIND.softint, chan, function* () {
      for (;;) {
        const si = m.softintNext(c, level);
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
    const name = `intr/${c.id}`;
    const chan = this.chan(name);
    // deno-lint-ignore no-this-alias -- generator bodies cannot be arrow functions
    const m = this;
    c.intrThread = this.#spawnService(name, PRIO.intr, c, THREAD_KIND.intr, chan, function* () {
      for (;;) {
        const irq = c.irqq.shift() as Irq | undefined;
        if (irq === undefined) {
          yield m.sleep(chan);
          continue;
        }
        m.emit(KIND.intrEnter, irq.obj.id, m.str(irq.obj.name));
        yield m.spend(m.cost.intrEntry);
        yield* irq.fn(irq.arg);
        m.emit(KIND.intrExit, irq.obj.id);
      }
    });
    return c.intrThread;
  }

  #spawnService(name: string, prio: number, c: Cpu, kind: number, chan: Chan, body: () => KCode): Thread {
    const saveCur = this.cur;
    const th = this.spawn(name, body, { prio, pin: c.id, kind });
    serviceChans.set(th, chan);
    this.cur = saveCur;
    return th;
  }

  // ------------------------------------------------------------ refcounts

  #checkFreed(o: RefObj, what: string): boolean {
    if (!o.freed) return false;
    const freer = this.threads[o.freedBy - 1];
    this.violation(
      "use-after-free",
      `use after free: ${what} of ${o.type}#${o.id} by ${this.cur?.name ?? "device"}, freed by ${
        freer?.name ?? "?"
      } at event ${o.freedAtEvent}`,
      o.id,
      o.freedAtEvent,
    );
    return true;
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
      cb(l.id, l.owner === null ? 0 : l.owner.id, l.readers, l.waiters.map((w) => w.thread.id));
    }
  }
  /** DigestView: task queues. */
  forEachTaskq(cb: (id: number, queued: readonly number[]) => void): void {
    for (const tq of this.taskqs) cb(tq.id, tq.worklist.map((t) => t.id));
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

  /** Registers a task queue for digests (taskq.ts). */
  registerTaskq(tq: Taskq): void {
    this.taskqs.push(tq);
  }
  /** Registers a timeout for digests (timeout.ts). */
  registerTimeout(to: Timeout): void {
    this.timeouts.push(to);
  }
  /** A new task object (task_set). */
  newTask(name: string, fn: (arg: unknown) => KCode, arg: unknown): Task {
    const t = new Task(this.newId(), name, fn, arg);
    this.emit(KIND.taskInit, t.id, this.str(name));
    return t;
  }
}

const EMPTY_THREADS: Thread[] = [];
const serviceChans = new WeakMap<Thread, Chan>();

function serviceChan(th: Thread): KObj | undefined {
  return serviceChans.get(th);
}

/** A service thread (softint, interrupt, idle task queue worker) waiting for work is not stuck. */
function isIdleWait(th: Thread): boolean {
  return th.state === TS.blocked && th.waitObj !== null &&
    (serviceChans.get(th) === th.waitObj || idleWaitChans.has(th.waitObj));
}

/** Channels whose sleepers are idle workers waiting for work (a task queue's &tq). */
export const idleWaitChans: WeakSet<KObj> = new WeakSet<KObj>();

/**
 * Run queue priority: a thread preempted (by a hard interrupt) while holding a
 * spin mutex runs at the mutex's IPL, so when the interrupt returns it resumes
 * before any soft interrupt or thread that IPL blocks.
 */
function effPrio(th: Thread): number {
  return th.spinHeld > 0 && th.iplPrio > th.prio ? th.iplPrio : th.prio;
}

/**
 * A runnable thread another CPU may take: not pinned, and not one that an
 * interrupt preempted inside a spin mutex (its critical section stays on its
 * CPU; the interrupt runs on top of it).
 */
function stealable(t: Thread): boolean {
  return t.pin < 0 && t.spinHeld === 0;
}

/** Index of the first waiter of `mode`, or -1. */
function waiterIndex(l: Lock, mode: number): number {
  const ws = l.waiters;
  for (let i = 0; i < ws.length; i++) if (ws[i].mode === mode) return i;
  return -1;
}

/** Inserts `x` at a[i] keeping order, without allocating. */
function insertAt<T>(a: T[], i: number, x: T): void {
  a.push(x);
  for (let j = a.length - 1; j > i; j--) a[j] = a[j - 1];
  a[i] = x;
}

/** Removes a[i] keeping order, without allocating (Array.prototype.splice returns a new array). */
function removeAt<T>(a: T[], i: number): void {
  for (let j = i + 1; j < a.length; j++) a[j - 1] = a[j];
  a.length--;
}

function runnable(c: Cpu): boolean {
  return (c.cur !== null && !c.spinning) || (c.cur === null && (c.rq.length > 0 || c.stealPending));
}

function num(cfg: Config, key: string): number {
  const v = cfg[key];
  if (typeof v !== "number") throw new Error(`config ${key} missing or not a number`);
  return v;
}

/** Text naming every stuck thread, what it holds and what it waits for, and the cycle if any. */
function deadlockMessage(stuck: Thread[], cpus: readonly Cpu[]): string {
  const parts = stuck.map((t) => `${t.name}${heldText(t)} ${waitText(t, cpus)}`);
  for (const t of stuck) {
    const cyc = cycleFrom(t, cpus);
    if (cyc !== null) return `${parts.join("; ")}; cycle: ${cyc.map((x) => x.name).join(" -> ")} -> ${cyc[0].name}`;
  }
  return parts.join("; ");
}

/** " holding a (rwlock excl), b (taskq)" or "". Task queue pseudo-locks appear while a task runs. */
function heldText(t: Thread): string {
  if (t.held.length === 0) return "";
  const one = (l: Lock) => {
    const type = l.type === LOCK_TYPE.pseudo ? "taskq" : ENUMS.lockType[l.type];
    const mode = l.type !== LOCK_TYPE.rwlock ? "" : l.owner === t ? " excl" : " shared";
    return `${l.cls} (${type}${mode})`;
  };
  return ` holding ${t.held.map(one).join(", ")}`;
}

/** What a blocked thread waits for: a lock and its holders, a barrier and the workers it needs, a channel. */
function waitText(t: Thread, cpus: readonly Cpu[]): string {
  const w = t.waitObj;
  if (w === null) {
    const on = waitsFor(t, cpus);
    return on.length > 0 ? `was preempted on cpu${t.cpu} by ${on[0].name}, which spins there` : "is not waiting";
  }
  if (w instanceof Lock) {
    const by = w.owner !== null
      ? ` (owned by ${w.owner.name})`
      : w.readerThreads.length > 0
      ? ` (held shared by ${w.readerThreads.map((x) => x.name).join(", ")})`
      : "";
    return `waits for lock ${w.cls}${by}`;
  }
  const wakers = t.waitFor.length > 0 ? t.waitFor.map((x) => x.name).join(", ") : "";
  if (t.waitWhy === WHY.barrier) {
    return `waits in a barrier on ${w.name}` + (wakers !== "" ? ` for the queue's workers: ${wakers}` : "");
  }
  return `sleeps on ${w.name}` + (wakers !== "" ? ` (only ${wakers} can wake it)` : "");
}

/** True when {@link waitsFor} of `t` is not empty (without building it). */
function waitsOnSomething(t: Thread, cpus: readonly Cpu[]): boolean {
  if (t.waitObj !== null) return true;
  const c = cpus[t.cpu];
  return t.state === TS.runnable && t.spinHeld > 0 && c.cur !== null && c.spinning;
}

/** Threads `t` waits for: a lock's holders, or the wakers a sleep declared. */
function waitsFor(t: Thread, cpus: readonly Cpu[]): Thread[] {
  const w = t.waitObj;
  if (w === null) {
    // Preempted inside a spin mutex by a thread that now spins on this CPU:
    // it cannot run (nor move) until that thread stops spinning.
    const c = cpus[t.cpu];
    if (t.state === TS.runnable && t.spinHeld > 0 && c.cur !== null && c.spinning) return [c.cur];
    return EMPTY_THREADS;
  }
  if (w instanceof Lock) return w.owner !== null ? [w.owner] : w.readerThreads;
  return t.waitFor;
}

/** The wait-for cycle starting and ending at `start`, or null (depth-first, bounded by the thread count). */
export function cycleFrom(start: Thread, cpus: readonly Cpu[]): Thread[] | null {
  const path: Thread[] = [start];
  const seen = new Set<Thread>([start]);
  const dfs = (t: Thread): boolean => {
    for (const n of waitsFor(t, cpus)) {
      if (n === start) return true;
      if (seen.has(n)) continue;
      seen.add(n);
      path.push(n);
      if (dfs(n)) return true;
      path.pop();
    }
    return false;
  };
  return dfs(start) ? path : null;
}
