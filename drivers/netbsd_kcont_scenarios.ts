/**
 * Kernel continuations against today's three mechanisms
 * (docs/netbsd-infrastructure.md, row 4). The workload is a timer plus
 * deferred work, three stages per firing:
 *
 * 1. a periodic timer handler (`kc.timerNs`), which hands over to
 * 2. soft interrupt work (`kc.softNs`), which hands over to
 * 3. thread work (`kc.workNs`).
 *
 * `kc.impl=separate`: a callout at softclock (core/timeout.ts), then
 * softint_schedule of a "net" soft interrupt, then workqueue_enqueue on a
 * per-CPU workqueue (core/netbsd/workqueue.ts): three threads, two handoffs.
 * `kc.impl=kcont`: three continuation items (core/netbsd/continuation.ts); the
 * expired timer item is queued by the hardclock interrupt, and each stage
 * appends the next to the queue its dispatcher is draining.
 *
 * Measured: dispatch latency from the timer's deadline to the end of stage 3,
 * and context switches. A user process keeps every CPU busy (`kc.hogs`), so
 * every kernel thread that runs preempts it.
 * @module
 */
import { Histogram } from "../core/histogram.ts";
import { Kcont } from "../core/netbsd/continuation.ts";
import { type Work, Workqueue } from "../core/netbsd/workqueue.ts";
import { type KCode, PRIO } from "../core/objects.ts";
import { defineScenario } from "../core/scenario.ts";
import { Timeouts } from "../core/timeout.ts";

/** Continuations against callout + softint + workqueue. */
export const kcontDispatch = defineScenario({
  name: "kcont-dispatch",
  doc: "timer + softint + thread work per firing: kernel continuations vs callout, softint and workqueue",
  params: {
    "kc.impl": { default: "separate", choices: ["separate", "kcont"], doc: "separate mechanisms or continuations" },
    "kc.timers": { default: 4, min: 1, max: 1000, doc: "periodic timers" },
    "kc.periodNs": {
      default: 4_000_000,
      min: 1000,
      max: 1_000_000_000,
      doc: "timer period (deadlines fall on ticks, spread over it)",
    },
    "kc.timerNs": { default: 500, min: 0, max: 1_000_000, doc: "stage 1: timer handler work" },
    "kc.softNs": { default: 2000, min: 0, max: 1_000_000, doc: "stage 2: soft interrupt work" },
    "kc.workNs": { default: 5000, min: 0, max: 10_000_000, doc: "stage 3: thread work" },
    "kc.hogs": { default: 1, min: 0, max: 16, doc: "user threads per CPU keeping it busy" },
  },
  machine: { kernel: "netbsd", cpus: 2, "clock.hz": 1000, "sim.durationNs": 100_000_000 },
  setup(m, p) {
    const n = p["kc.timers"], periodNs = p["kc.periodNs"];
    // Deadlines on ticks, spread over the period: latency is then dispatch, not tick rounding.
    const tickNs = Math.max(1, Math.round(1e9 / Number(m.config["clock.hz"])));
    const perPeriod = Math.max(1, Math.floor(periodNs / tickNs));
    const timerNs = p["kc.timerNs"], softNs = p["kc.softNs"], workNs = p["kc.workNs"];
    const latency = new Histogram();
    let fired = 0, completed = 0, latencySumNs = 0;
    const deadline = new Float64Array(n); // the next deadline of each timer
    const firedFor = new Float64Array(n); // the deadline of the firing in progress
    const stage3 = (i: number) =>
      function* (): KCode {
        yield m.spend(workNs);
        const l = m.nowNs - firedFor[i];
        latency.record(l);
        latencySumNs += l;
        completed++;
      };
    let dispatches = () => 0;
    if (p["kc.impl"] === "separate") {
      const tos = new Timeouts(m);
      const wq = new Workqueue(m, "kcwq", PRIO.kthread);
      for (let i = 0; i < n; i++) {
        const wk: Work = { fn: stage3(i), queued: false };
        const si = m.softintEstablish("net", `stage2_${i}`, function* (): KCode {
          yield m.spend(softNs);
          if (!wk.queued) yield* wq.enqueue(m, wk); // a late firing finds its work still queued
        }, null);
        const to = tos.set(`timer${i}`, function* (): KCode {
          fired++;
          firedFor[i] = deadline[i];
          yield m.spend(timerNs);
          m.softintSchedule(si);
          deadline[i] += periodNs;
          tos.add(to, deadline[i] - m.nowNs); // callout_schedule for the next period
        });
        deadline[i] = periodNs + (i % perPeriod) * tickNs;
        tos.add(to, deadline[i]);
      }
      dispatches = () => wq.ran;
    } else {
      const kc = new Kcont(m);
      for (let i = 0; i < n; i++) {
        const s3 = kc.item(`stage3_${i}`, "work", stage3(i));
        const s2 = kc.item(`stage2_${i}`, "soft", function* (): KCode {
          yield m.spend(softNs);
          kc.schedule(s3);
        });
        const s1 = kc.item(`timer${i}`, "soft", function* (): KCode {
          fired++;
          firedFor[i] = deadline[i];
          yield m.spend(timerNs);
          kc.schedule(s2);
          deadline[i] += periodNs;
          kc.scheduleAt(s1, deadline[i], 0);
        });
        deadline[i] = periodNs + (i % perPeriod) * tickNs;
        kc.scheduleAt(s1, deadline[i], 0); // CPU 0, where the callouts of the other variant run
      }
      dispatches = () => kc.dispatched;
    }
    for (let c = 0; c < m.cpus.length; c++) {
      for (let h = 0; h < p["kc.hogs"]; h++) {
        m.spawn(`hog${c}.${h}`, function* (): KCode {
          for (;;) yield m.spend(1000); // preemptible every microsecond (the model preempts at yield points)
        }, { pin: c, prio: PRIO.user });
      }
    }
    return {
      metrics: () => ({
        fired,
        completed,
        latencyNsAvg: Math.round(latencySumNs / Math.max(1, completed)),
        latencyNsP50: latency.quantile(50),
        latencyNsP99: latency.quantile(99),
        latencyNsMax: latency.max,
        switchesPerFiring: Math.round((100 * m.cpus.reduce((a, c) => a + c.switches, 0)) / Math.max(1, fired)) / 100,
        dispatches: dispatches(),
      }),
    };
  },
});
