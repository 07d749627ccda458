/**
 * Kernel continuations and the per-CPU workqueue (core/netbsd/continuation.ts,
 * workqueue.ts), and the kcont-dispatch scenario comparing them.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { COST_KEYS, MACHINE_KEYS, resolveConfig } from "../core/config.ts";
import { Machine } from "../core/machine.ts";
import { Kcont } from "../core/netbsd/continuation.ts";
import { type Work, Workqueue } from "../core/netbsd/workqueue.ts";
import { type KCode, PRIO } from "../core/objects.ts";
import { runScenario } from "../drivers/mod.ts";

function machine(): Machine {
  return new Machine({ config: resolveConfig([MACHINE_KEYS, COST_KEYS], { cpus: "2", "clock.hz": "1000" }), seed: 1 });
}

Deno.test("workqueue: items run in order on the enqueuing CPU's worker; a queued item cannot be enqueued again", () => {
  const m = machine();
  const wq = new Workqueue(m, "wq", PRIO.kthread);
  const ran: string[] = [];
  const mk = (name: string): Work => ({
    queued: false,
    fn: function* (): KCode {
      ran.push(`${name}@cpu${m.curCpu.id}`);
      yield m.spend(100);
    },
  });
  const a = mk("a"), b = mk("b");
  let refused = "";
  m.spawn("producer", function* (): KCode {
    yield* wq.enqueue(m, a);
    yield* wq.enqueue(m, b);
    try {
      yield* wq.enqueue(m, a);
    } catch (e) {
      refused = (e as Error).message;
    }
  }, { pin: 1 });
  m.run();
  assertEquals(ran, ["a@cpu1", "b@cpu1"]);
  assertEquals(wq.ran, 2);
  assert(/already queued/.test(refused), refused);
});

Deno.test("continuations: soft items before work items, a pending item is not queued twice, timers fire on ticks", () => {
  const m = machine();
  const kc = new Kcont(m);
  const order: string[] = [];
  const item = (name: string, cls: "soft" | "work") =>
    kc.item(name, cls, function* (): KCode {
      order.push(`${name}@${m.nowNs >= 1_000_000 ? "tick1" : "t0"}`);
      yield m.spend(100);
    });
  const w = item("w", "work"), s = item("s", "soft"), t = item("t", "soft");
  const again: boolean[] = [];
  m.spawn("starter", function* (): KCode {
    again.push(kc.schedule(w, 0), kc.schedule(w, 0), kc.schedule(s, 0));
    kc.scheduleAt(t, 700_000, 0); // due at 0.7 ms: fires on the 1 ms tick
    yield m.spend(10);
  }, { pin: 0, prio: PRIO.softintBase + 100 });
  m.run();
  assertEquals(again, [true, false, true]);
  assertEquals(order, ["s@t0", "w@t0", "t@tick1"]);
  assertEquals(kc.dispatched, 3);
});

Deno.test("kcont-dispatch: every firing completes; continuations need fewer switches and less latency", () => {
  const run = (impl: string) => runScenario({ scenario: "kcont-dispatch", seed: 1, overrides: { "kc.impl": impl } });
  const sep = run("separate"), kc = run("kcont");
  for (const o of [sep, kc]) {
    assertEquals(o.result.violations, []);
    assert((o.metrics.fired as number) > 50);
    assertEquals(o.metrics.completed, o.metrics.fired);
  }
  assertEquals(sep.metrics.fired, kc.metrics.fired);
  // separate: hog -> hardclock -> softclk -> softnet -> workqueue -> hog; kcont: hog -> hardclock -> kcont -> hog.
  assertEquals(Math.round(sep.metrics.switchesPerFiring as number), 5);
  assertEquals(Math.round(kc.metrics.switchesPerFiring as number), 3);
  assert((kc.metrics.latencyNsP50 as number) < (sep.metrics.latencyNsP50 as number));
});
