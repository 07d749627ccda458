/**
 * The simulated kernel's objects: threads, CPUs, locks, wait channels, task
 * queues, tasks, timeouts, soft interrupts and reference-counted objects.
 * Plain data; the behaviour lives in the machine's parts (sched.ts, locks.ts,
 * sleepq.ts, intr.ts, refcount.ts, timers.ts) and the kernel-code modules.
 * @module
 */
import { Deque } from "./_array.ts";
import { type EnumValues, LOCK_MODE, LOCK_TYPE, THREAD_KIND, THREAD_STATE } from "./schema.ts";

/** Kernel code: a generator that yields effect codes to the scheduler. */
export type KCode = Generator<number, void, number>;

/** Thread states (also used in digests; values are part of the format): ENUMS.threadState. */
export const TS: EnumValues<"threadState"> = THREAD_STATE;

export { THREAD_KIND };

/** Priorities: larger runs first. */
export const PRIO = { user: 50, kthread: 100, softintBase: 200, intr: 1000 } as const;

/** Anything with an object id that can be waited on or named in events. */
export class KObj {
  /** Wraps an object id and its name. */
  constructor(readonly id: number, readonly name: string) {}
}

/** A wait channel for sleep/wakeup (any KObj may also serve as a channel). */
export class Chan extends KObj {}

export { LOCK_TYPE };
/** Lock modes: ENUMS.lockMode. */
export const MODE: EnumValues<"lockMode"> = LOCK_MODE;

/** A waiter on a lock. */
export interface LockWaiter {
  /** The waiting thread. */
  thread: Thread;
  /** Mode it asked for (MODE). */
  mode: number;
  /** When it started waiting, ns. */
  sinceNs: number;
}

/** A mutex (spin or adaptive), rwlock, or a WITNESS pseudo-lock. */
export class Lock extends KObj {
  /** Exclusive owner, or null. */
  owner: Thread | null = null;
  /** Number of shared holders (rwlock). */
  readers = 0;
  /** Threads holding it shared, in acquisition order. */
  readonly readerThreads: Deque<Thread> = new Deque();
  /** FIFO of waiters. */
  readonly waiters: Deque<LockWaiter> = new Deque();
  /** Times the lock was found taken. */
  contended = 0;
  /** Total time waiters spent waiting for it, ns. */
  waitNsTotal = 0;
  /** Times it was acquired. */
  acquisitions = 0;
  /** A lock of class `cls` and LOCK_TYPE `type`; `ipl`: highest priority kept from preempting its holder (0: none). */
  constructor(id: number, readonly cls: string, readonly type: number, readonly ipl: number) {
    super(id, cls);
  }
}

/** A thread: kernel thread, user process, softint or interrupt context. */
export class Thread {
  /** Its state (TS). */
  state: number = TS.runnable;
  /** CPU it runs or last ran on (or whose run queue it is on). */
  cpu: number;
  /** Effect argument slots, filled by the kernel API before a yield. */
  argNs = 0;
  /** Object argument of the effect (a lock, or the channel of a sleep). */
  argObj: unknown = null;
  /** Second object argument (the interlock of a sleep). */
  argObj2: unknown = null;
  /** Mode argument of the effect (lock mode, or block reason of a sleep). */
  argMode = 0;
  /** Value passed back into the generator on the next resume. */
  resume = 0;
  /** What it waits on (block or spin), or null. */
  waitObj: KObj | null = null;
  /** Why it waits (block reason, WHY in sync.ts). */
  waitWhy = 0;
  /** Identifies the current sleep so a stale timeout can be ignored. */
  sleepGen = 0;
  /** Threads this sleep waits for (for deadlock cycles); empty = unknown. */
  waitFor: Thread[] = [];
  /** Locks held, in acquisition order (WITNESS held list). */
  readonly held: Deque<Lock> = new Deque();
  /** Spin mutexes held: no preemption, no sleeping. */
  spinHeld = 0;
  /** Highest priority that may not preempt this thread (IPL). */
  iplPrio = 0;
  /** When the current run slice began (for the quantum). */
  sliceStartNs = 0;
  /** CPU time it has spent, ns. */
  runNs = 0;
  /** Its kernel code, once spawned. */
  gen: KCode | null = null;
  /** A thread with its id, name, priority, pin (-1 none), THREAD_KIND and initial CPU. */
  constructor(
    readonly id: number,
    readonly name: string,
    readonly prio: number,
    readonly pin: number,
    readonly kind: number,
    cpu: number,
  ) {
    this.cpu = cpu;
  }
}

/** One CPU. */
export class Cpu {
  /** This CPU's clock; the machine advances the CPU with the smallest. */
  nowNs = 0;
  /** The thread running on it, or null when idle. */
  cur: Thread | null = null;
  /** Runnable threads, highest priority first, FIFO within a priority. */
  readonly rq: Deque<Thread> = new Deque();
  /** A higher-priority thread became runnable here: switch at the next yield point. */
  needResched = false;
  /** Idle, and asked to look for work on other CPUs' run queues. */
  stealPending = false;
  /** The current thread spins on a lock: this CPU makes no progress. */
  spinning = false;
  /** Time it spent not idle (work, switches, spinning), ns. */
  busyNs = 0;
  /**
   * Cost multiplier of CPU time spent here (1; more while a slow-CPU fault,
   * `fault.cpuSlow*`, holds it: thermal throttling, a noisy SMT sibling).
   */
  costX = 1;
  /** Context switches on it. */
  switches = 0;
  /** Per soft interrupt level: FIFO of pending handlers. */
  softq: Deque<SoftInt>[] = [];
  /** Per level: the softint thread. */
  softThreads: Thread[] = [];
  /** Hard interrupt handlers waiting to run, FIFO. */
  readonly irqq: Deque<Irq> = new Deque();
  /** Its hard interrupt thread, created on first use. */
  intrThread: Thread | null = null;
  /**
   * The thread a hard interrupt interrupted: the handler runs on its context
   * (no switch, not on a run queue, so no other CPU can steal it); it resumes
   * when the interrupt thread goes back to wait. Null when none.
   */
  interrupted: Thread | null = null;
  /** CPU number `id`. */
  constructor(readonly id: number) {}
}

/** A posted hard interrupt. */
export interface Irq {
  /** The interrupt source (device object). */
  obj: KObj;
  /** The handler. */
  fn: (arg: unknown) => KCode;
  /** The handler's argument. */
  arg: unknown;
}

/** A soft interrupt handle (softint_establish). */
export class SoftInt extends KObj {
  /** Pending mark per CPU. */
  readonly pending: boolean[];
  /** A handler `fn(arg)` at level index `level` on a machine of `ncpu` CPUs. */
  constructor(
    id: number,
    name: string,
    readonly level: number,
    readonly fn: (arg: unknown) => KCode,
    readonly arg: unknown,
    ncpu: number,
  ) {
    super(id, name);
    this.pending = new Array(ncpu).fill(false);
  }
}

/** An OpenBSD task (struct task). */
export class Task extends KObj {
  /** True while it is on a queue's worklist (TASK_ONQUEUE). */
  onqueue = false;
  /** The queue it is on (for digests). */
  tq: Taskq | null = null;
  /** A task that runs `fn(arg)`. */
  constructor(id: number, name: string, public fn: (arg: unknown) => KCode, public arg: unknown) {
    super(id, name);
  }
}

/** An OpenBSD task queue (struct taskq, kern_task.c 1.36). */
export class Taskq extends KObj {
  /** Queued tasks, in run order (tq_worklist). */
  readonly worklist: Deque<Task> = new Deque();
  /** Its worker threads (tq_threads). */
  readonly workers: Thread[] = [];
  /** Threads inside taskq_barrier (tq_barriers). */
  barriers = 0;
  /** Workers parked by the current barrier (tq_bthreads). */
  bthreads = 0;
  /** Barrier generation, bumped when the last barrier leaves (tq_bgen). */
  bgen = 0;
  /** Channels the kernel code sleeps on (&tq, &tq->tq_bthreads, &tq->tq_bgen). */
  constructor(
    id: number,
    name: string,
    readonly nthreads: number,
    readonly mtx: Lock,
    readonly chanWork: Chan,
    readonly chanBthreads: Chan,
    readonly chanBgen: Chan,
    readonly pseudo: Lock,
  ) {
    super(id, name);
  }
}

/** An OpenBSD timeout (struct timeout). */
export class Timeout extends KObj {
  /** Scheduled and not yet fired (timeout_pending). */
  pending = false;
  /** Its handler is running (timeout_del_barrier waits for it). */
  running = false;
  /** When it is due, ns. */
  deadlineNs = 0;
  /** Insertion order among equal deadlines. */
  seq = 0;
  /** A timeout that runs `fn(arg)`. */
  constructor(id: number, name: string, public fn: (arg: unknown) => KCode, public arg: unknown) {
    super(id, name);
  }
}

/** A reference-counted object. */
export class RefObj extends KObj {
  /** Current reference count. */
  refs: number;
  /** True once the last reference was dropped. */
  freed = false;
  /** Who freed it (thread id). */
  freedBy = 0;
  /** Index of the event that freed it (-1 while allocated). */
  freedAtEvent: number = -1;
  /** An object of `type` with `refs` references. */
  constructor(id: number, readonly type: string, refs: number) {
    super(id, type);
    this.refs = refs;
  }
}
