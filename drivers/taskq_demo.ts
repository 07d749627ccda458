/**
 * `taskq-demo`: producers on several CPUs add tasks to a task queue whose
 * workers run them under a shared mutex; a periodic timeout adds a task too.
 * It exercises scheduling, task_add's queued mark, locks, timeouts and the
 * clock soft interrupt before any network stack is involved.
 * @module
 */
import type { Config } from "../core/config.ts";
import type { Machine } from "../core/machine.ts";
import { type KCode, PRIO, type Task } from "../core/objects.ts";
import { taskAdd, taskqCreate, taskSet } from "../core/taskq.ts";
import { Timeouts } from "../core/timeout.ts";
import type { Scenario } from "../core/scenario.ts";

/** The scenario. */
export const taskqDemo: Scenario = {
  name: "taskq-demo",
  doc: "producers on every CPU add tasks to one task queue; a periodic timeout adds one too",
  params: {
    "demo.producers": { default: 4, doc: "producer threads (spread over the CPUs)", min: 1, max: 256 },
    "demo.workers": { default: 1, doc: "task queue worker threads", min: 1, max: 64 },
    "demo.tasks": { default: 3, doc: "distinct tasks per producer", min: 1, max: 64 },
    "demo.workNs": { default: 2000, doc: "work a task does under the shared mutex", min: 0, max: 1e9 },
    "demo.gapNs": { default: 20000, doc: "producer think time between task_add calls", min: 1, max: 1e9 },
    "demo.periodNs": { default: 5_000_000, doc: "period of the timeout that adds a task", min: 1000, max: 1e12 },
  },
  // sched.kpreempt stays on: the producers spend their think time busy, as
  // stand-ins for processes preempted at userret(); kernel threads that never
  // sleep would, without preemption, keep the worker off every CPU.
  machineDefaults: { "sim.durationNs": 30_000_000 },
  setup(m: Machine, cfg: Config) {
    const n = Number(cfg["demo.producers"]);
    const ntask = Number(cfg["demo.tasks"]);
    const workNs = Number(cfg["demo.workNs"]);
    const gapNs = Number(cfg["demo.gapNs"]);
    const periodNs = Number(cfg["demo.periodNs"]);
    const tq = taskqCreate(m, "demotq", Number(cfg["demo.workers"]));
    const shared = m.newLock("demo_mtx", "adaptive");
    let ran = 0, added = 0, already = 0;
    const work = function* (): KCode {
      yield m.lock(shared);
      yield m.spend(workNs);
      ran++;
      m.unlock(shared);
    };
    const tasks: Task[][] = [];
    for (let p = 0; p < n; p++) {
      tasks.push(Array.from({ length: ntask }, (_, i) => taskSet(m, `demo_task${p}.${i}`, work)));
    }
    for (let p = 0; p < n; p++) {
      const mine = tasks[p];
      m.spawn(`producer${p}`, function* (): KCode {
        for (let i = 0;; i++) {
          const r = yield* taskAdd(m, tq, mine[i % mine.length]);
          if (r === 1) added++;
          else already++;
          yield m.spend(m.workRng.between(gapNs >> 1, gapNs + (gapNs >> 1)));
        }
      }, { pin: p % m.cpus.length, prio: PRIO.user });
    }
    const tos = new Timeouts(m);
    const tick = taskSet(m, "demo_tick", work);
    const to = tos.set("demo_timer", function* (): KCode {
      yield* taskAdd(m, tq, tick);
      tos.add(to, periodNs);
    });
    tos.add(to, periodNs);
    return {
      metrics: () => ({
        tasksRun: ran,
        tasksQueued: added,
        taskAddNoop: already,
        timeoutsFired: tos.fired,
        timeoutLateNsMax: tos.lateNsMax,
      }),
    };
  },
};
