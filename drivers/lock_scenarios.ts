/**
 * Small scenarios that exercise one mechanism each: an ABBA lock deadlock, a
 * task queue barrier called from the queue's own worker, and a
 * contention-heavy mutex storm used by the bench.
 * @module
 */
import type { Config } from "../core/config.ts";
import type { Machine } from "../core/machine.ts";
import { type KCode, PRIO } from "../core/objects.ts";
import { taskAdd, taskqBarrier, taskqCreate, taskSet } from "../core/taskq.ts";
import type { Scenario } from "../core/scenario.ts";

/** Two threads take two mutexes in opposite orders. */
export const lockAbba: Scenario = {
  name: "lock-abba",
  doc: "two threads take mutexes A and B in opposite orders: a deadlock",
  params: {
    "abba.holdNs": {
      default: 5000,
      doc: "time spent holding the first lock before taking the second",
      min: 0,
      max: 1e9,
    },
    "abba.type": { default: "adaptive", doc: "mutex type", choices: ["adaptive", "spin"] },
  },
  machineDefaults: { cpus: 2, "sim.durationNs": 1_000_000 },
  setup(m: Machine, cfg: Config) {
    const type = cfg["abba.type"] === "spin" ? "spin" : "adaptive";
    const a = m.newLock("lock_A", type);
    const b = m.newLock("lock_B", type);
    const holdNs = Number(cfg["abba.holdNs"]);
    const body = (first: typeof a, second: typeof a) =>
      function* (): KCode {
        yield m.lock(first);
        yield m.spend(holdNs);
        yield m.lock(second);
        m.unlock(second);
        m.unlock(first);
      };
    m.spawn("thread_ab", body(a, b), { pin: 0 });
    m.spawn("thread_ba", body(b, a), { pin: 1 % m.cpus.length });
    return {};
  },
};

/** A task calls taskq_barrier() on the queue it runs on. */
export const taskqBarrierSelf: Scenario = {
  name: "taskq-barrier-self",
  doc: "a task calls taskq_barrier() on its own single-thread queue (hangs with taskq.barrier=1.27)",
  params: {
    "tqself.nthreads": { default: 1, doc: "worker threads of the queue", min: 1, max: 16 },
  },
  machineDefaults: { cpus: 2, "sim.durationNs": 1_000_000, "sched.kpreempt": "off" }, // OpenBSD
  setup(m: Machine, cfg: Config) {
    const tq = taskqCreate(m, "drmtq", Number(cfg["tqself.nthreads"]));
    let returned = 0;
    const t = taskSet(m, "self_barrier_task", function* (): KCode {
      yield m.spend(1000);
      yield* taskqBarrier(m, tq);
      returned++;
    });
    m.spawn("caller", function* (): KCode {
      yield* taskAdd(m, tq, t);
    }, { prio: PRIO.user });
    return { metrics: () => ({ barrierReturned: returned }) };
  },
};

/** Many threads on every CPU hammer a few spin and adaptive mutexes. */
export const mutexStorm: Scenario = {
  name: "mutex-storm",
  doc: "threads on every CPU hammer shared spin and adaptive mutexes (the scheduler bench)",
  params: {
    "storm.threads": { default: 16, doc: "threads", min: 1, max: 1024 },
    "storm.locks": { default: 3, doc: "locks of each type", min: 1, max: 64 },
    "storm.holdNs": { default: 200, doc: "time spent holding a lock", min: 0, max: 1e9 },
    "storm.gapNs": { default: 300, doc: "time between lock operations", min: 1, max: 1e9 },
  },
  machineDefaults: { "sim.durationNs": 20_000_000 },
  setup(m: Machine, cfg: Config) {
    const nl = Number(cfg["storm.locks"]);
    const spins = Array.from({ length: nl }, (_, i) => m.newLock(`storm_spin${i}`, "spin"));
    const sleeps = Array.from({ length: nl }, (_, i) => m.newLock(`storm_mtx${i}`, "adaptive"));
    const holdNs = Number(cfg["storm.holdNs"]);
    const gapNs = Number(cfg["storm.gapNs"]);
    let ops = 0;
    for (let t = 0; t < Number(cfg["storm.threads"]); t++) {
      m.spawn(`storm${t}`, function* (): KCode {
        for (let i = t;; i++) {
          const l = (i & 1) === 0 ? spins[i % nl] : sleeps[i % nl];
          yield m.lock(l);
          yield m.spend(holdNs);
          m.unlock(l);
          ops++;
          yield m.spend(m.workRng.between(gapNs >> 1, gapNs + (gapNs >> 1)));
        }
      });
    }
    return { metrics: () => ({ lockOps: ops }) };
  },
};
