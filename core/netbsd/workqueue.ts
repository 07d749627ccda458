/**
 * NetBSD workqueue(9), per CPU (WQ_PERCPU): a worker LWP per CPU sleeps until
 * its queue is non-empty, takes the whole pending list under the queue lock
 * and runs it (sys/kern/subr_workqueue.c: workqueue_worker/workqueue_run take
 * the list with the lock held and run it unlocked; workqueue_enqueue inserts
 * at the tail and wakes the worker when the queue was empty).
 *
 * Unlike task_add, enqueueing a work item that is already queued corrupts the
 * queue (reference section 4); the model asserts instead of corrupting.
 *
 * @example
 * ```ts
 * import { Workqueue } from "./workqueue.ts";
 * // const wq = new Workqueue(m, "wq", PRIO.kthread);
 * // yield* wq.enqueue(m, { fn: function* () { yield m.spend(100); }, queued: false });
 * ```
 * @module
 */
import type { Machine } from "../machine.ts";
import type { Chan, KCode, Lock } from "../objects.ts";

/** struct work with its callback. */
export interface Work {
  /** The callback (the workqueue's wq_func applied to this item). */
  readonly fn: () => KCode;
  /** On a queue now (enqueueing it again is a bug in NetBSD). */
  queued: boolean;
}

/** A per-CPU workqueue. */
export class Workqueue {
  /** Items run. */
  ran = 0;
  readonly #queues: Work[][];
  readonly #locks: Lock[];
  readonly #chans: Chan[];

  /** workqueue_create(name, prio, WQ_PERCPU): one worker LWP per CPU at `prio`, pinned. */
  constructor(m: Machine, name: string, prio: number) {
    const n = m.cpus.length;
    this.#queues = Array.from({ length: n }, () => []);
    this.#locks = Array.from({ length: n }, (_, i) => m.newLock(`${name}/${i}`, "spin"));
    this.#chans = Array.from({ length: n }, (_, i) => m.chan(`${name}/${i}`));
    for (const ch of this.#chans) m.markIdleWait(ch); // an idle worker is not a deadlock
    for (let i = 0; i < n; i++) {
      const q = this.#queues[i], lock = this.#locks[i], chan = this.#chans[i];
      // deno-lint-ignore no-this-alias -- generator bodies cannot be arrow functions
      const wq = this;
      m.spawn(`${name}/${i}`, function* (): KCode {
        for (;;) {
          yield m.lock(lock);
          while (q.length === 0) {
            yield m.sleep(chan, lock); // releases the queue lock atomically
            yield m.lock(lock);
          }
          const list = q.splice(0); // take the pending list
          m.unlock(lock);
          yield m.spend(m.cost.mtxLeave);
          for (const wk of list) {
            wk.queued = false;
            yield m.spend(m.cost.taskRun);
            yield* wk.fn();
            wq.ran++;
          }
        }
      }, { pin: i, prio });
    }
  }

  /** workqueue_enqueue(wq, wk, NULL) on the current CPU's queue. */
  *enqueue(m: Machine, wk: Work): KCode {
    if (wk.queued) throw new Error("workqueue_enqueue: work already queued (corrupts the SIMPLEQ in NetBSD)");
    const c = m.curCpu.id;
    yield m.lock(this.#locks[c]);
    const wasEmpty = this.#queues[c].length === 0;
    this.#queues[c].push(wk);
    wk.queued = true;
    yield m.spend(m.cost.workqueueEnqueue);
    m.unlock(this.#locks[c]);
    if (wasEmpty) m.wakeup(this.#chans[c]);
  }
}
