/**
 * The simulated kernel's objects: threads, CPUs, locks, wait channels, task
 * queues, tasks, timeouts, soft interrupts and reference-counted objects.
 * Plain data; the behaviour lives in machine.ts and the kernel-code modules.
 * @module
 */

/** Kernel code: a generator that yields effect codes to the scheduler. */
export type KCode = Generator<number, void, number>;

/** Thread states (also used in digests; values are part of the format). */
export const TS = { none: 0, runnable: 1, running: 2, blocked: 3, exited: 4 } as const;

/** Thread kinds. */
export const THREAD_KIND = { kthread: 0, user: 1, softint: 2, intr: 3 } as const;

/** Priorities: larger runs first. */
export const PRIO = { user: 50, kthread: 100, softintBase: 200, intr: 1000 } as const;

/** Anything with an object id that can be waited on or named in events. */
export class KObj {
  constructor(readonly id: number, readonly name: string) {}
}

/** A wait channel for sleep/wakeup (any KObj may also serve as a channel). */
export class Chan extends KObj {}

/** Lock types, matching ENUMS.lockType. */
export const LOCK_TYPE = { spin: 0, adaptive: 1, rwlock: 2, pseudo: 3 } as const;
/** Lock modes, matching ENUMS.lockMode. */
export const MODE = { excl: 0, shared: 1 } as const;

/** A waiter on a lock. */
export interface LockWaiter {
  thread: Thread;
  mode: number;
  sinceNs: number;
}

/** A mutex (spin or adaptive), rwlock, or a WITNESS pseudo-lock. */
export class Lock extends KObj {
  /** Exclusive owner, or null. */
  owner: Thread | null = null;
  /** Number of shared holders (rwlock). */
  readers = 0;
  /** Threads holding it shared, in acquisition order. */
  readonly readerThreads: Thread[] = [];
  /** FIFO of waiters. */
  readonly waiters: LockWaiter[] = [];
  /** Times the lock was found taken, and the total wait. */
  contended = 0;
  waitNsTotal = 0;
  acquisitions = 0;
  constructor(id: number, readonly cls: string, readonly type: number, readonly ipl: number) {
    super(id, cls);
  }
}

/** A thread: kernel thread, user process, softint or interrupt context. */
export class Thread {
  state: number = TS.runnable;
  /** CPU it runs or last ran on (or whose run queue it is on). */
  cpu: number;
  /** Effect argument slots, filled by the kernel API before a yield. */
  argNs = 0;
  argObj: unknown = null;
  argObj2: unknown = null;
  argMode = 0;
  /** Value passed back into the generator on the next resume. */
  resume = 0;
  /** What it waits on (block or spin), or null. */
  waitObj: KObj | null = null;
  waitWhy = 0;
  /** Identifies the current sleep so a stale timeout can be ignored. */
  sleepGen = 0;
  /** Threads this sleep waits for (for deadlock cycles); empty = unknown. */
  waitFor: Thread[] = [];
  /** Locks held, in acquisition order (WITNESS held list). */
  readonly held: Lock[] = [];
  /** Spin mutexes held: no preemption, no sleeping. */
  spinHeld = 0;
  /** Highest priority that may not preempt this thread (IPL). */
  iplPrio = 0;
  /** When the current run slice began (for the quantum). */
  sliceStartNs = 0;
  runNs = 0;
  gen: KCode | null = null;
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
  cur: Thread | null = null;
  /** Runnable threads, highest priority first, FIFO within a priority. */
  readonly rq: Thread[] = [];
  /** A higher-priority thread became runnable here: switch at the next yield point. */
  needResched = false;
  /** Idle, and asked to look for work on other CPUs' run queues. */
  stealPending = false;
  /** The current thread spins on a lock: this CPU makes no progress. */
  spinning = false;
  busyNs = 0;
  switches = 0;
  /** Per soft interrupt level: FIFO of pending handlers. */
  softq: SoftInt[][] = [];
  /** Per level: the softint thread. */
  softThreads: Thread[] = [];
  /** Hard interrupt handlers waiting to run, FIFO. */
  readonly irqq: Irq[] = [];
  intrThread: Thread | null = null;
  constructor(readonly id: number) {}
}

/** A posted hard interrupt. */
export interface Irq {
  readonly obj: KObj;
  readonly fn: (arg: unknown) => KCode;
  readonly arg: unknown;
}

/** A soft interrupt handle (softint_establish). */
export class SoftInt extends KObj {
  /** Pending mark per CPU. */
  readonly pending: boolean[];
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
  onqueue = false;
  /** The queue it is on (for digests). */
  tq: Taskq | null = null;
  constructor(id: number, name: string, public fn: (arg: unknown) => KCode, public arg: unknown) {
    super(id, name);
  }
}

/** An OpenBSD task queue (struct taskq, kern_task.c 1.36). */
export class Taskq extends KObj {
  readonly worklist: Task[] = [];
  readonly workers: Thread[] = [];
  barriers = 0;
  bthreads = 0;
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
  pending = false;
  running = false;
  deadlineNs = 0;
  /** Insertion order among equal deadlines. */
  seq = 0;
  constructor(id: number, name: string, public fn: (arg: unknown) => KCode, public arg: unknown) {
    super(id, name);
  }
}

/** A reference-counted object. */
export class RefObj extends KObj {
  refs: number;
  freed = false;
  /** Who freed it (thread id) and at which event. */
  freedBy = 0;
  freedAtEvent = -1;
  constructor(id: number, readonly type: string, refs: number) {
    super(id, type);
    this.refs = refs;
  }
}
