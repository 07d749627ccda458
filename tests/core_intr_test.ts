import { assert, assertEquals } from "./_assert.ts";
import { Log, machine } from "./_util.ts";
import type { KCode } from "../core/objects.ts";
import { taskqCreate } from "../core/taskq.ts";

Deno.test("intr: a softint runs on its level's per-CPU thread, created on first use; the hook sees both edges", () => {
  const log = new Log();
  const m = machine({ cpus: "2" }, 1, [log]);
  const edges: string[] = [];
  m.hooks.softint.add((si, cpu, pending) => edges.push(`${si.name}@${cpu}:${pending ? "pending" : "run"}`));
  let ranOn = "";
  const si = m.softintEstablish("net", "netintr", function* (): KCode {
    ranOn = m.cur.name;
    yield m.spend(100);
  }, null);
  m.spawn("k", function* (): KCode {
    yield m.spend(10);
    assert(m.softintSchedule(si), "scheduled");
    assert(!m.softintSchedule(si), "already pending: a no-op");
    yield m.spend(10);
  }, { pin: 1 });
  m.run();
  assertEquals(ranOn, "softnet/1");
  assertEquals(edges, ["netintr@1:pending", "netintr@1:run"]);
  assertEquals(log.of("softint-schedule").map((e) => e.f[2]), [1, 0]);
});

Deno.test("intr: a hard interrupt runs its handler on the CPU's interrupt thread between intr-enter and intr-exit", () => {
  const log = new Log();
  const m = machine({ cpus: "2" }, 1, [log]);
  const dev = m.chan("em0");
  let ranOn = "";
  m.at(5_000, () => {
    m.postInterrupt(1, dev, function* (): KCode {
      ranOn = m.cur.name;
      yield m.spend(200);
    }, null);
  });
  const r = m.run();
  assertEquals(ranOn, "intr/1");
  assertEquals(log.of("intr-enter").length, 1);
  assertEquals(log.of("intr-exit").length, 1);
  assert(log.of("intr-enter")[0].t >= 5_000);
  assertEquals(r.reason, "quiescent", "the idle interrupt thread is not a stuck thread");
});

Deno.test("intr: idle task queue workers are idle waits, not a deadlock", () => {
  const m = machine();
  taskqCreate(m, "tq", 2);
  const r = m.run();
  assertEquals(r.reason, "quiescent");
  assertEquals(m.violations, []);
});

Deno.test("intr: a hard interrupt runs on the interrupted thread's context: it stays on its CPU, no switch charged", () => {
  const log = new Log();
  const m = machine({ cpus: "2" }, 1, [log]);
  const dev = m.chan("em0");
  const k = m.spawn("k", function* (): KCode {
    for (let i = 0; i < 10; i++) yield m.spend(3_000);
  }, { cpu: 1 }); // migratable: CPU 0 is idle and would steal it from a run queue
  m.at(5_000, () =>
    m.postInterrupt(1, dev, function* (): KCode {
      yield m.spend(10_000);
    }, null));
  m.run();
  assertEquals(log.of("migrate").length, 0, "the interrupted thread was not stolen by the idle CPU");
  assert(log.events.filter((e) => e.th === k.id).every((e) => e.cpu === 1), "k ran on CPU 1 only");
  const exit = log.of("thread-exit").find((e) => e.f[0] === k.id);
  assert(exit !== undefined);
  // One switch onto k; the interrupt adds only intrEntry and the handler's own work.
  const c = m.config;
  assertEquals(exit.t, Number(c["cost.ctxSwitch"]) + 30_000 + Number(c["cost.intrEntry"]) + 10_000);
  assertEquals(m.cpus[1].switches, 1, "interrupt entry and exit are not context switches");
  assertEquals(log.of("intr-exit").length, 1);
});
