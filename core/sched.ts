/**
 * The scheduler: per-CPU run queues ordered by priority (FIFO within one),
 * thread creation, picking the CPU with the smallest clock, preemption,
 * yield and quantum expiry, work stealing by idle CPUs (OpenBSD's
 * sched_steal_proc(), kern_sched.c), wakeup placement, and every seeded
 * schedule decision (ties, random perturbation, PCT change points), which a
 * {@link DecisionFeed} can replay instead of drawing.
 * @module
 */
import { configNum, type DecisionFeed, type DecisionSource, EMPTY_THREADS, type MachineBase } from "./machine_base.ts";
import { type Cpu, type KCode, type KObj, PRIO, Thread, THREAD_KIND, TS } from "./objects.ts";
import { DECISION, KIND, SWITCH_REASON } from "./schema.ts";

const R = SWITCH_REASON;
const DP = DECISION;
/** sched.strategy values, in MACHINE_KEYS order. */
const STRATEGIES = ["none", "random", "pct"];
const STRATEGY_RANDOM = 1, STRATEGY_PCT = 2;

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

/** The scheduler of one machine. */
export class Scheduler {
  readonly #m: MachineBase;
  readonly #feed: DecisionSource | null;
  #decisions = 0;
  #nextSpawnCpu = 0;
  #steps = 0;
  readonly #strategy: number;
  readonly #perturbPpm: number;
  readonly #stallNs: number;
  readonly #quantumNs: number;
  /** sched.kpreempt=off: kernel threads are not preempted (OpenBSD). */
  readonly #noKpreempt: boolean;
  readonly #pctPoints: number[] = [];

  /** The scheduler of `m`, following `feed` when given (re-execution). */
  constructor(m: MachineBase, feed: DecisionFeed | DecisionSource | null) {
    this.#m = m;
    this.#feed = feed === null || "decision" in feed ? feed : new FeedSource(feed);
    const cfg = m.config;
    this.#strategy = STRATEGIES.indexOf(String(cfg["sched.strategy"]));
    if (this.#strategy < 0) throw new Error(`bad sched.strategy ${cfg["sched.strategy"]}`);
    this.#perturbPpm = configNum(cfg, "sched.perturbPpm");
    this.#stallNs = configNum(cfg, "sched.stallNs");
    this.#quantumNs = configNum(cfg, "sched.quantumNs");
    this.#noKpreempt = String(cfg["sched.kpreempt"] ?? "on") === "off";
    if (this.#strategy === STRATEGY_PCT) {
      this.#drawPctPoints(configNum(cfg, "sched.pctDepth"), configNum(cfg, "sched.pctSteps"));
    }
  }

  /** Creates a thread running `body`, runnable at once. */
  spawn(name: string, body: (self: Thread) => KCode, opts: SpawnOptions = {}): Thread {
    const m = this.#m;
    const pin = opts.pin ?? -1;
    const cpu = opts.cpu ?? (pin >= 0 ? pin : this.#nextSpawnCpu++ % m.cpus.length);
    const th = new Thread(
      m.threads.length + 1,
      name,
      opts.prio ?? PRIO.kthread,
      pin,
      opts.kind ?? THREAD_KIND.kthread,
      cpu,
    );
    m.threads.push(th);
    th.gen = body(th);
    m.emit(KIND.threadCreate, th.id, m.str(name), th.prio, pin, cpu, th.kind);
    this.enqueue(m.cpus[cpu], th, false);
    this.kick(m.cpus[cpu], th);
    return th;
  }

  /** The runnable CPU with the smallest clock (a tie is a decision), or null. */
  pickCpu(): Cpu | null {
    const cpus = this.#m.cpus;
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
    const m = this.#m;
    if (this.#feed !== null) {
      v = this.#feed.decision(seq);
      if (!(v >= 0 && v < n)) v = 0; // a recorded value out of range for this point: the default
    } else if (point === DP.pct) {
      v = n - 1; // a PCT change point always demotes
    } else if (point === DP.perturb) {
      v = m.prng.chancePpm(this.#perturbPpm) ? 1 + m.prng.below(n - 1) : 0;
    } else {
      v = m.prng.below(n);
    }
    if (v !== 0) m.emit(KIND.decision, point, n, v, seq);
    return v;
  }

  /**
   * The start of a step on `c`: an idle CPU switches to work; a running
   * thread may be preempted, perturbed or reach the end of its quantum.
   * Returns the thread to resume, or null when the step was spent here.
   */
  beginStep(c: Cpu): Thread | null {
    const m = this.#m;
    m.curCpu = c;
    this.#steps++;
    const th = c.cur;
    if (th === null) {
      c.stealPending = false;
      this.switchTo(c, R.idle);
      return null;
    }
    m.curThread = th;
    if (c.needResched) {
      c.needResched = false;
      if (this.#preemptible(c, th)) {
        this.switchTo(c, R.preempt);
        return null;
      }
    }
    if (this.#strategy !== 0 && th.spinHeld === 0 && this.#perturb(c, th)) return null;
    if (
      c.nowNs - th.sliceStartNs >= this.#quantumNs && th.spinHeld === 0 && !this.#kernelOnly(th) &&
      this.hasPeer(c, th)
    ) {
      this.switchTo(c, R.quantum);
      return null;
    }
    return th;
  }

  /**
   * OpenBSD's SPCF_SHOULDYIELD on `th`'s CPU (sched.kpreempt=off).
   * roundrobin() (sys/kern/sched_bsd.c 1.70) runs every quantum on each CPU:
   * the first tick after a switch sets SPCF_SEENRR, a second one without a
   * switch in between sets SPCF_SHOULDYIELD; mi_switch() clears both. The
   * ticks fall on multiples of sched.quantumNs, so the flag is up once two
   * tick boundaries passed since the thread was switched in (or yielded).
   * Always false under sched.kpreempt=on (the quantum preempts instead).
   */
  shouldYield(th: Thread): boolean {
    if (!this.#noKpreempt) return false;
    const c = this.#m.cpus[th.cpu];
    const q = this.#quantumNs;
    return Math.floor(c.nowNs / q) - Math.floor(th.sliceStartNs / q) >= 2;
  }

  /** A kernel thread under sched.kpreempt=off: switches only at sleep, yield or sched_pause. */
  #kernelOnly(th: Thread): boolean {
    return this.#noKpreempt && th.kind === THREAD_KIND.kthread;
  }

  /**
   * Effect yield: charges the yield and switches when a peer of equal or
   * higher priority waits. Under sched.kpreempt=off it is OpenBSD's
   * yield(): mi_switch() even when the thread picks itself again, so its
   * slice (and SPCF_SHOULDYIELD) starts over.
   */
  yield(c: Cpu, th: Thread): void {
    const cost = this.#m.cost.yield;
    c.nowNs += cost;
    c.busyNs += cost;
    if (this.hasPeer(c, th)) this.switchTo(c, R.yield);
    else if (this.#noKpreempt) th.sliceStartNs = c.nowNs;
  }

  /** The running thread's code returned. A thread that exits holding locks is a bug. */
  exit(c: Cpu, th: Thread): void {
    const m = this.#m;
    if (th.held.length > 0) {
      m.violation(
        "lock-recursion",
        `${th.name} exited holding ${th.held.toArray().map((l) => l.cls).join(", ")}`,
        th.id,
      );
    }
    m.emit(KIND.threadExit, th.id);
    th.state = TS.exited;
    this.switchTo(c, R.exit);
  }

  /** Perturbation at a yield point; true when it consumed the step. */
  #perturb(c: Cpu, th: Thread): boolean {
    let v = 0;
    if (this.#strategy === STRATEGY_RANDOM) v = this.decide(DP.perturb, 8);
    else if (this.#pctPoints.length > 0 && this.#pctPoints[this.#pctPoints.length - 1] <= this.#steps) {
      this.#pctPoints.pop();
      v = this.decide(DP.pct, 17);
    }
    if (v === 0) return false;
    // A stall models an interrupt or hypervisor preemption at this point:
    // the CPU loses time, other CPUs run ahead, and a peer may take over.
    c.nowNs += v * this.#stallNs;
    if (this.hasPeer(c, th)) this.switchTo(c, R.perturb);
    return true;
  }

  #drawPctPoints(depth: number, steps: number): void {
    const prng = this.#m.prng;
    for (let i = 0; i < depth - 1; i++) this.#pctPoints.push(1 + prng.below(steps));
    this.#pctPoints.sort((a, b) => b - a);
  }

  #preemptible(c: Cpu, th: Thread): boolean {
    const best = c.rq.length > 0 ? c.rq.at(0) : null;
    return best !== null && this.#mayPreempt(th, best);
  }

  /**
   * `by` may preempt the running `th`: a higher priority above th's IPL, and
   * under sched.kpreempt=off a kernel thread gives way only to
   * interrupt-level work (softint and interrupt threads): OpenBSD has no
   * kernel preemption, need_resched() takes effect at userret(), which a
   * kernel thread never reaches.
   */
  #mayPreempt(th: Thread, by: Thread): boolean {
    if (by.prio <= th.prio || by.prio <= th.iplPrio) return false;
    return !this.#kernelOnly(th) || by.kind === THREAD_KIND.softint || by.kind === THREAD_KIND.intr;
  }

  /** A thread of equal or higher priority waits on `c`'s run queue. */
  hasPeer(c: Cpu, th: Thread): boolean {
    return c.rq.length > 0 && c.rq.at(0).prio >= th.prio;
  }

  /**
   * Switches `c` away from its current thread (which is requeued if still
   * running) to the best runnable thread, stealing from other CPUs when its
   * own queue is empty. Emits `switch` and charges the switch cost.
   */
  switchTo(c: Cpu, reason: number): void {
    const m = this.#m;
    const prev = c.cur;
    if (prev !== null && prev.kind === THREAD_KIND.intr && prev.state !== TS.running && c.interrupted !== null) {
      if (this.#intrReturn(c, prev, reason)) return;
    }
    const next: Thread | null = c.rq.length > 0 ? c.rq.shift() as Thread : this.#steal(c);
    if (next !== null && next.kind === THREAD_KIND.intr) return this.#intrEnter(c, prev, next, reason);
    if (prev !== null && prev.state === TS.running) {
      if (next === null) return; // nothing else to run: keep going
      prev.state = TS.runnable;
      this.enqueue(c, prev, reason === R.preempt);
      this.#offerToIdle(prev);
    }
    if (prev === null && next === null) return;
    c.cur = next;
    m.curThread = prev ?? next;
    m.emit(KIND.switch, prev === null ? 0 : prev.id, next === null ? 0 : next.id, prev === null ? R.idle : reason);
    if (next === null) return;
    next.state = TS.running;
    next.cpu = c.id;
    next.sliceStartNs = c.nowNs;
    m.curThread = next;
    c.switches++;
    c.nowNs += m.cost.ctxSwitch;
    c.busyNs += m.cost.ctxSwitch;
  }

  /**
   * Hard interrupt entry, as in both BSDs: the handler runs on the
   * interrupted context (OpenBSD amd64 vector.S Xintr_*, NetBSD's
   * interrupt stubs). The interrupted thread is not requeued, so no other
   * CPU can steal it, and no context switch is charged: `intrEntry`, spent
   * by the interrupt thread, covers entry and exit. The `switch` event stays
   * so the trace shows what occupies the CPU.
   */
  #intrEnter(c: Cpu, prev: Thread | null, next: Thread, reason: number): void {
    const m = this.#m;
    if (prev !== null && prev.state === TS.running) {
      if (c.interrupted !== null) throw new Error(`nested interrupt entry on cpu ${c.id}`);
      prev.state = TS.runnable;
      c.interrupted = prev;
    }
    c.cur = next;
    m.curThread = prev ?? next;
    m.emit(KIND.switch, prev === null ? 0 : prev.id, next.id, prev === null ? R.idle : reason);
    next.state = TS.running;
    next.cpu = c.id;
    next.sliceStartNs = c.nowNs;
    m.curThread = next;
  }

  /**
   * Hard interrupt return (the interrupt thread waits again): the interrupted
   * thread resumes without a switch, its slice going on, unless work the
   * handler made runnable may preempt it (a softint, as NetBSD's
   * softint_schedule() dispatches on interrupt return and OpenBSD's splx()
   * runs soft interrupts): then it is requeued at the head as a preempted
   * thread and the normal switch follows. True when it resumed.
   */
  #intrReturn(c: Cpu, intr: Thread, reason: number): boolean {
    const m = this.#m;
    const th = c.interrupted as Thread;
    c.interrupted = null;
    if (c.rq.length > 0 && this.#mayPreempt(th, c.rq.at(0))) {
      this.enqueue(c, th, true);
      return false;
    }
    c.cur = th;
    m.curThread = intr;
    m.emit(KIND.switch, intr.id, th.id, reason);
    th.state = TS.running;
    m.curThread = th;
    return true;
  }

  /** Takes a runnable migratable thread from the busiest other CPU. */
  #steal(c: Cpu): Thread | null {
    const cpus = this.#m.cpus;
    let from: Cpu | null = null;
    for (let i = 1; i < cpus.length; i++) {
      const o = cpus[(c.id + i) % cpus.length];
      if (o.rq.length === 0 || (from !== null && o.rq.length <= from.rq.length)) continue;
      if (stealableIndex(o) >= 0) from = o;
    }
    if (from === null) return null;
    const idx = stealableIndex(from);
    const th = from.rq.at(idx);
    from.rq.removeAt(idx);
    this.#m.emitOn(c.id, 0, KIND.migrate, th.id, from.id, c.id);
    th.cpu = c.id;
    return th;
  }

  /** Inserts into a run queue: by priority, FIFO within one (head when preempted). */
  enqueue(c: Cpu, th: Thread, atHead: boolean): void {
    const q = c.rq;
    const p = effPrio(th);
    let i = 0;
    while (i < q.length && (effPrio(q.at(i)) > p || (!atHead && effPrio(q.at(i)) === p))) i++;
    q.insertAt(i, th);
    th.cpu = c.id;
  }

  /** A thread became runnable on `c`: wake the CPU if idle, or ask for preemption. */
  kick(c: Cpu, th: Thread): void {
    if (c.cur === null) return this.#wakeCpu(c);
    if (this.#noKpreempt ? this.#mayPreempt(c.cur, th) : th.prio > c.cur.prio) c.needResched = true;
    else this.#offerToIdle(th);
  }

  /**
   * `th` waits in a run queue: an idle CPU comes and steals it, as OpenBSD's
   * idle loop does with sched_steal_proc() (kern_sched.c).
   */
  #offerToIdle(th: Thread): void {
    if (!stealable(th)) return;
    const cpus = this.#m.cpus;
    for (let i = 0; i < cpus.length; i++) {
      const o = cpus[i];
      if (o.cur !== null || o.rq.length > 0 || o.stealPending) continue;
      o.stealPending = true;
      this.#wakeCpu(o);
      return;
    }
  }

  /** An idle CPU gets work: its clock jumps to now (plus the IPI when another CPU sent it). */
  #wakeCpu(c: Cpu): void {
    const m = this.#m;
    const t = m.nowNs + (c !== m.curCpu && m.running ? m.cost.ipi : 0);
    if (c.nowNs < t) c.nowNs = t;
  }

  /** Puts `th` on `cpu`'s run queue. */
  makeRunnable(th: Thread, cpu: number): void {
    th.state = TS.runnable;
    const c = this.#m.cpus[cpu];
    this.enqueue(c, th, false);
    this.kick(c, th);
  }

  /**
   * A thread that waited on `obj` (a lock handed over, or a sleep queue it
   * was already taken off) becomes runnable on `cpu`: emits `wake`.
   */
  wake(th: Thread, obj: KObj, cpu: number): void {
    const m = this.#m;
    th.waitObj = null;
    th.waitFor = EMPTY_THREADS;
    m.stats.wakeups++;
    if (cpu !== m.curCpu.id) m.stats.crossCpuWakeups++;
    m.emit(KIND.wake, th.id, cpu, obj.id);
    this.makeRunnable(th, cpu);
  }

  /** Wakeup target: pinned CPU, else the last CPU if idle, else an idle CPU, else the last. */
  chooseCpu(th: Thread): number {
    if (th.pin >= 0) return th.pin;
    const cpus = this.#m.cpus;
    if (cpus[th.cpu].cur === null && cpus[th.cpu].rq.length === 0) return th.cpu;
    let idle = 0;
    for (let i = 0; i < cpus.length; i++) if (cpus[i].cur === null && cpus[i].rq.length === 0) idle++;
    if (idle === 0) return th.cpu;
    const k = idle === 1 ? 0 : this.decide(DP.wakeCpu, idle);
    for (let i = 1, seen = 0; i <= cpus.length; i++) {
      const c = cpus[(th.cpu + i) % cpus.length];
      if (c.cur === null && c.rq.length === 0 && seen++ === k) return c.id;
    }
    return th.cpu;
  }
}

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

/** Index of the first stealable thread on `c`'s run queue, or -1. */
function stealableIndex(c: Cpu): number {
  const q = c.rq;
  for (let i = 0; i < q.length; i++) if (stealable(q.at(i))) return i;
  return -1;
}

/** `c` has something to do: a thread that is not spinning, or (idle) a queue or a steal to try. */
function runnable(c: Cpu): boolean {
  return (c.cur !== null && !c.spinning) || (c.cur === null && (c.rq.length > 0 || c.stealPending));
}

/** A {@link DecisionFeed} read in ordinal order. */
class FeedSource implements DecisionSource {
  readonly #f: DecisionFeed;
  #pos = 0;

  constructor(f: DecisionFeed) {
    this.#f = f;
  }

  decision(seq: number): number {
    const f = this.#f;
    // Entries behind this ordinal were not reached (a shrunk feed): skip them.
    while (this.#pos < f.seq.length && f.seq[this.#pos] < seq) this.#pos++;
    return this.#pos < f.seq.length && f.seq[this.#pos] === seq ? f.values[this.#pos++] : 0;
  }
}
