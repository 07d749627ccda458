/**
 * The state every part of the machine shares, and the one emit path: clocks
 * and the current thread and CPU, the event record handed to every sink,
 * interned strings, violations, the PRNG streams, the detector hooks, and
 * the effects kernel code yields. The parts (sched.ts, locks.ts, sleepq.ts,
 * intr.ts, refcount.ts, timers.ts) are given this base, not the
 * {@link Machine} that composes them, so no part imports machine.ts.
 * @module
 */
import { type Config, costsOf, parseSoftintOrder } from "./config.ts";
import type { Costs } from "./cost.ts";
import { EventRecord, type EventSink } from "./event.ts";
import { MachineHooks } from "./hooks.ts";
import { Chan, Cpu, type KObj, type Lock, LOCK_TYPE, MODE, PRIO, type Thread } from "./objects.ts";
import { Prng } from "./prng.ts";
import { BLOCK_WHY, ENUMS, KIND } from "./schema.ts";

/** Effect codes yielded by kernel code. */
export const OP = { spend: 1, yield: 2, lock: 3, sleep: 4 } as const;

/** errno returned by a timed-out sleep. */
export const EWOULDBLOCK = 35;

/** The shared empty "waits for nobody in particular" list (never mutated). */
export const EMPTY_THREADS: Thread[] = [];

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

/**
 * Recorded decisions pulled one at a time during a re-execution, instead of
 * collected beforehand into a {@link DecisionFeed}: replay's comparison
 * answers from the recording it is already reading, so the trace is decoded
 * once. Declared here so core/ needs nothing from replay/ or format/.
 */
export interface DecisionSource {
  /**
   * The recorded value of decision ordinal `seq` (0: the default), asked
   * with ascending ordinals as the run reaches each decision point, after
   * every event before it has been emitted.
   */
  decision(seq: number): number;
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
  readonly decisions?: DecisionFeed | DecisionSource;
  /**
   * What the machine derives from `config` alone, made by {@link machinePlan}
   * from this very object (asserted); computed here when omitted. An
   * exploration's runs share one (core/run.ts), so thousands of runs of one
   * configuration do not each rebuild the cost table and the softint order.
   */
  readonly plan?: MachinePlan;
}

/**
 * The parts of a machine that depend on its configuration only, never on a
 * seed or a run: the cost table, the CPU count and the softint priorities.
 * Frozen, so a run that shares one cannot change the next run's: a write
 * throws (modules are strict).
 */
export interface MachinePlan {
  /** The configuration it was made from (the same object a machine using it must be given). */
  readonly config: Config;
  /** costsOf(config). */
  readonly cost: Readonly<Costs>;
  /** CPUs. */
  readonly cpus: number;
  /** Per softint level (SOFTINT_LEVELS order), its service threads' priority. */
  readonly softintPrio: readonly number[];
}

/** The {@link MachinePlan} of a resolved configuration (a fresh, frozen object each call). */
export function machinePlan(cfg: Config): MachinePlan {
  const ranks = parseSoftintOrder(String(cfg["softint.order"]));
  if (!ranks) throw new Error("bad softint.order");
  return Object.freeze({
    config: cfg,
    // Copied by spread: costsOf adds its 78 keys one by one, which leaves V8 a dictionary-mode object, and
    // kernel code reads m.cost on every step; the spread literal has fast properties.
    cost: Object.freeze({ ...costsOf(cfg) }),
    cpus: configNum(cfg, "cpus"),
    softintPrio: Object.freeze(ranks.map((r) => PRIO.softintBase + 10 * r)),
  });
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

/** The shared state, the emit path and the effects; see the module doc. */
export class MachineBase {
  /** The resolved configuration it was built with. */
  readonly config: Config;
  /** The run's seed. */
  readonly seed: number;
  /** Operation durations from the configuration's cost keys. */
  readonly cost: Readonly<Costs>;
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
  readonly softintPrio: readonly number[];
  /** Detector hooks: subscribe with `m.hooks.end.add(fn)` and so on. */
  readonly hooks: MachineHooks = new MachineHooks();
  /** The running thread during a step, or null outside any thread (timers, device events, setup). */
  curThread: Thread | null = null;
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
  /** True once run() started (an idle CPU woken by another pays the IPI). */
  running = false;

  readonly #sinks: EventSink[];
  readonly #rec = new EventRecord();
  readonly #strings = new Map<string, number>();
  /** Text for the next event (only str-def carries text). */
  #text = "";
  #nextObjId = 1;

  /** Builds the CPUs, clocks and PRNG streams from `opts`. */
  constructor(opts: MachineOptions) {
    const cfg = opts.config;
    this.config = cfg;
    this.seed = opts.seed;
    const plan = opts.plan ?? machinePlan(cfg);
    if (plan.config !== cfg) throw new Error("machine: plan made from another configuration object");
    this.cost = plan.cost;
    this.prng = new Prng(opts.seed);
    this.workRng = new Prng(opts.seed, 0x574f524b);
    this.#sinks = opts.sinks ?? [];
    this.cpus = Array.from({ length: plan.cpus }, (_, i) => new Cpu(i));
    this.curCpu = this.cpus[0];
    this.softintPrio = plan.softintPrio;
  }

  /** The running thread; only kernel code (inside a thread's step) may ask. */
  get cur(): Thread {
    const t = this.curThread;
    if (t === null) throw new Error("no current thread: kernel code called outside a thread");
    return t;
  }

  // ---------------------------------------------------------------- events

  /** Emits an event on the current CPU and thread. The one emit path. */
  emit(kind: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0): void {
    const t = this.curThread;
    this.emitOn(this.curCpu.id, t === null ? 0 : t.id, kind, a, b, c, d, e, f);
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

  /** Tells every sink the run ended (after the last event). */
  protected endSinks(): void {
    for (const s of this.#sinks) s.onEnd?.();
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

  // ---------------------------------------------------------------- effects

  /** Effect: spend `ns` of CPU time. */
  spend(ns: number): number {
    this.cur.argNs = ns * this.curCpu.costX; // costX: 1 unless a slow-CPU fault holds this CPU
    return OP.spend;
  }

  /** Effect: yield() the CPU to another runnable thread of equal or higher priority. */
  yieldCpu(): number {
    return OP.yield;
  }

  /** Effect: acquire `l` (mutex: exclusive; rwlock: `mode`). Resumes holding it. */
  lock(l: Lock, mode: number = MODE.excl): number {
    const th = this.cur;
    th.argObj = l;
    th.argMode = l.type === LOCK_TYPE.rwlock ? mode : MODE.excl;
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
    why: number = BLOCK_WHY.sleep,
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
}

/** A numeric configuration value; throws when missing (configurations are resolved before). */
export function configNum(cfg: Config, key: string): number {
  const v = cfg[key];
  if (typeof v !== "number") throw new Error(`config ${key} missing or not a number`);
  return v;
}
