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
