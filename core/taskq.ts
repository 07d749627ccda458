/**
 * OpenBSD task queues, ported from sys/kern/kern_task.c 1.36 (reference
 * section 1): `task_add` returns whether it newly queued the task, the worker
 * clears the queued mark before running it, `task_del` never waits,
 * `taskq_barrier` queues barrier tasks until every worker is parked in one and
 * counts a calling worker as parked. `taskq.barrier=1.27` selects the old
 * barrier (task_add + cond_wait), which hangs when called from the queue's
 * only worker.
 *
 * @example
 * ```ts
 * import { taskqCreate, taskAdd } from "./taskq.ts";
 * // const tq = taskqCreate(m, "softnet0", 1);
 * // const queued = yield* taskAdd(m, tq, task); // 1, then 0 while still queued
 * ```
 * @module
 */
import type { Machine } from "./machine.ts";
import { type KCode, type Lock, PRIO, type Task, Taskq } from "./objects.ts";
import { KIND } from "./schema.ts";
import { condNew, condSignal, condWait, msleep, WHY } from "./sync.ts";

/** Options for taskq_create. */
export interface TaskqOptions {
  /** Worker thread priority (default kernel thread). */
  prio?: number;
  /** Pin worker i to CPU pin[i % pin.length]. */
  pin?: number[];
  /**
   * IPL of tq_mtx (taskq_create's ipl): "high" for queues at IPL_NET, whose
   * mutex must block the network interrupt that adds to them (ifiq_input's
   * task_add), "none" for IPL_SOFTNET and below.
   */
  ipl?: "none" | "high";
}

/** taskq_create(name, nthreads, ...): the queue and its worker threads. */
export function taskqCreate(m: Machine, name: string, nthreads: number, opts: TaskqOptions = {}): Taskq {
  const mtx = m.newLock("tq_mtx", "spin", opts.ipl ?? "none");
  const pseudo = m.newLock(name, "pseudo");
  const tq = new Taskq(
    m.newId(),
    name,
    nthreads,
    mtx,
    m.chan(`${name}:bored`),
    m.chan(`${name}:tqbar`),
    m.chan(`${name}:tqbarend`),
    pseudo,
  );
  m.markIdleWait(tq.chanWork);
  m.registerTaskq(tq);
  m.emit(KIND.taskqCreate, tq.id, m.str(name), nthreads);
  for (let i = 0; i < nthreads; i++) {
    const pin = opts.pin && opts.pin.length > 0 ? opts.pin[i % opts.pin.length] : -1;
    const th = m.spawn(nthreads > 1 ? `${name}/${i}` : name, () => taskqThread(m, tq), {
      prio: opts.prio ?? PRIO.kthread,
      pin,
    });
    tq.workers.push(th); // taskq_thread: SLIST_INSERT_HEAD(&tq->tq_threads, &self)
  }
  return tq;
}

/** task_set(): a task that runs `fn(arg)`. */
export function taskSet(m: Machine, name: string, fn: (arg: unknown) => KCode, arg: unknown = null): Task {
  return m.newTask(name, fn, arg);
}

/** task_add(tq, t): 1 if it queued the task, 0 if it was already queued. */
export function* taskAdd(m: Machine, tq: Taskq, t: Task): Generator<number, number, number> {
  if (t.onqueue) {
    // Unlocked fast path of kern_task.c: ISSET(w->t_flags, TASK_ONQUEUE).
    m.emit(KIND.taskAdd, tq.id, t.id, 0);
    yield m.spend(m.cost.taskAdd);
    return 0;
  }
  yield m.lock(tq.mtx);
  const rv = t.onqueue ? 0 : 1;
  if (rv === 1) insert(tq, t);
  m.emit(KIND.taskAdd, tq.id, t.id, rv);
  m.unlock(tq.mtx);
  yield m.spend(m.cost.taskAdd);
  if (rv === 1) {
    m.wakeupOne(tq.chanWork);
    yield m.spend(m.cost.wakeup);
  }
  return rv;
}

/** task_del(tq, t): 1 only if it removed a queued task; never waits for a running one. */
export function* taskDel(m: Machine, tq: Taskq, t: Task): Generator<number, number, number> {
  if (!t.onqueue) {
    m.emit(KIND.taskDel, tq.id, t.id, 0);
    yield m.spend(m.cost.taskDel);
    return 0;
  }
  yield m.lock(tq.mtx);
  const rv = t.onqueue && t.tq === tq ? 1 : 0;
  if (rv === 1) remove(tq, t);
  m.emit(KIND.taskDel, tq.id, t.id, rv);
  m.unlock(tq.mtx);
  yield m.spend(m.cost.taskDel);
  return rv;
}

/** taskq_barrier(tq): returns once everything queued or running before it has finished. */
export function* taskqBarrier(m: Machine, tq: Taskq): Generator<number, void, number> {
  const v127 = m.config["taskq.barrier"] === "1.27";
  m.emit(KIND.barrierEnter, tq.id, v127 ? 127 : 136);
  callHooks(m.hooks.checkOrder.list, tq.pseudo); // WITNESS_CHECKORDER(&tq->tq_lock_object)
  if (v127) yield* barrier127(m, tq);
  else yield* doBarrier(m, tq);
  m.emit(KIND.barrierExit, tq.id);
}

/** taskq_del_barrier(tq, t): task_del then a barrier (1.27: no barrier if task_del removed it). */
export function* taskqDelBarrier(m: Machine, tq: Taskq, t: Task): Generator<number, void, number> {
  const removed = yield* taskDel(m, tq, t);
  if (removed === 1 && m.config["taskq.barrier"] === "1.27") return;
  yield* taskqBarrier(m, tq);
}

/** kern_task.c 1.36 taskq_do_barrier(). */
function* doBarrier(m: Machine, tq: Taskq): Generator<number, void, number> {
  const self = m.cur;
  const t = m.newTask("taskq_barrier_task", () => barrierTask(m, tq), tq);
  yield m.lock(tq.mtx);
  tq.barriers++;
  // Is the barrier being run from a task inside the taskq? Then we count as parked.
  if (tq.workers.includes(self)) {
    tq.bthreads++;
    m.wakeup(tq.chanBthreads);
  }
  while (tq.bthreads < tq.nthreads) {
    insert(tq, t); // shove the task into the queue for a worker to pick up
    m.emit(KIND.taskAdd, tq.id, t.id, 1);
    m.wakeupOne(tq.chanWork);
    yield* msleep(m, tq.chanBthreads, tq.mtx, 0, WHY.barrier, tq.workers);
    if (t.onqueue) {
      // another thread running a barrier might have done this work for us
      remove(tq, t);
      m.emit(KIND.taskDel, tq.id, t.id, 1);
    }
  }
  if (--tq.barriers === 0) {
    tq.bgen++; // we're the last one out
    m.wakeup(tq.chanBgen);
    tq.bthreads = 0;
  } else {
    const gen = tq.bgen;
    do yield* msleep(m, tq.chanBgen, tq.mtx, 0, WHY.barrier); while (gen === tq.bgen);
  }
  m.unlock(tq.mtx);
}

/** kern_task.c 1.36 taskq_barrier_task(): a worker parks until the barrier generation moves. */
function* barrierTask(m: Machine, tq: Taskq): KCode {
  yield m.lock(tq.mtx);
  tq.bthreads++;
  m.wakeup(tq.chanBthreads);
  const gen = tq.bgen;
  do yield* msleep(m, tq.chanBgen, tq.mtx, 0, WHY.barrier); while (gen === tq.bgen);
  m.unlock(tq.mtx);
}

/** kern_task.c 1.27: task_add(barrier task) + cond_wait; hangs from the queue's only worker. */
function* barrier127(m: Machine, tq: Taskq): Generator<number, void, number> {
  const c = condNew(m, `${tq.name}:tqbar`);
  const t = m.newTask("taskq_barrier_task", () => condSignal(m, c), c);
  yield* taskAdd(m, tq, t);
  yield* condWait(m, c, tq.workers);
}

/** taskq_thread() + taskq_next_work(). */
function* taskqThread(m: Machine, tq: Taskq): KCode {
  for (;;) {
    yield m.lock(tq.mtx);
    while (tq.worklist.length === 0) yield* msleep(m, tq.chanWork, tq.mtx); // "bored"
    const next = tq.worklist.shift() as Task;
    next.onqueue = false; // cleared before it runs: a re-add queues it again
    next.tq = null;
    m.emit(KIND.taskRun, tq.id, next.id);
    const fn = next.fn, arg = next.arg; // *work = *next: copy, the task may free itself
    const more = tq.worklist.length > 0;
    m.unlock(tq.mtx);
    yield m.spend(m.cost.taskRun);
    if (more && tq.nthreads > 1) {
      m.wakeupOne(tq.chanWork);
      yield m.spend(m.cost.wakeup);
    }
    callHooks(m.hooks.witnessLock.list, tq.pseudo); // WITNESS_LOCK(&tq->tq_lock_object, 0)
    yield* fn(arg);
    callHooks(m.hooks.witnessUnlock.list, tq.pseudo); // WITNESS_UNLOCK
    m.emit(KIND.taskDone, tq.id, next.id);
    // sched_pause(yield) (kern_task.c 1.36): OpenBSD kernel threads are not
    // preempted; a busy worker gives way after a task once roundrobin() set
    // SPCF_SHOULDYIELD.
    if (m.shouldYield()) yield m.yieldCpu();
  }
}

/** Calls each witness hook with the queue's pseudo-lock (an index loop: for-of in a generator allocated its iterator). */
function callHooks(hooks: readonly ((l: Lock) => void)[], l: Lock): void {
  for (let i = 0; i < hooks.length; i++) hooks[i](l);
}

function insert(tq: Taskq, t: Task): void {
  t.onqueue = true;
  t.tq = tq;
  tq.worklist.push(t);
}

function remove(tq: Taskq, t: Task): void {
  t.onqueue = false;
  t.tq = null;
  tq.worklist.removeAt(tq.worklist.indexOf(t));
}
