import { assert, assertEquals } from "./_assert.ts";
import { Log, machine } from "./_util.ts";
import { COST_KEYS, MACHINE_KEYS, resolveConfig } from "../core/config.ts";
import { Machine } from "../core/machine.ts";
import { type KCode, PRIO } from "../core/objects.ts";
import { ENUMS } from "../core/schema.ts";
import { taskAdd, taskqCreate } from "../core/taskq.ts";

const reason = (f: number[]) => ENUMS.switchReason[f[2]];

Deno.test("sched: the run queue takes the highest priority first, FIFO within a priority", () => {
  const m = machine({ cpus: "1" });
  const order: string[] = [];
  for (const [name, prio] of [["a", PRIO.kthread], ["b", PRIO.kthread], ["c", PRIO.kthread + 50]] as const) {
    m.spawn(name, function* (): KCode {
      order.push(name);
      yield m.spend(1_000);
    }, { prio });
  }
  m.run();
  assertEquals(order, ["c", "a", "b"]);
});

Deno.test("sched: equal-priority CPU hogs share one CPU by quantum; a lower priority waits", () => {
  const log = new Log();
  const m = machine({ cpus: "1", "sched.quantumNs": "10000" }, 1, [log]);
  const done: string[] = [];
  for (const [name, prio] of [["x", PRIO.kthread], ["y", PRIO.kthread], ["low", PRIO.user]] as const) {
    m.spawn(name, function* (): KCode {
      for (let i = 0; i < 10; i++) yield m.spend(3_000);
      done.push(name);
    }, { prio });
  }
  m.run();
  const quanta = log.of("switch").filter((e) => reason(e.f) === "quantum");
  assert(quanta.length >= 2, `x and y alternate by quantum (${quanta.length} quantum switches)`);
  for (const e of quanta) assert(e.f[1] !== 3, "the lower priority thread never gets a quantum while peers run");
  assertEquals(done[2], "low");
});

Deno.test("sched: yield switches only to a peer of equal or higher priority", () => {
  const log = new Log();
  const m = machine({ cpus: "1" }, 1, [log]);
  m.spawn("a", function* (): KCode {
    yield m.yieldCpu(); // only the lower "low" waits: keeps the CPU
    yield m.spend(100);
  });
  m.spawn("low", function* (): KCode {
    yield m.spend(100);
  }, { prio: PRIO.user });
  m.spawn("b", function* (): KCode {
    yield m.spend(100);
  });
  m.run();
  const yields = log.of("switch").filter((e) => reason(e.f) === "yield");
  assertEquals(yields.length, 1, "a yields once to b (equal priority)");
  assertEquals([yields[0].f[0], yields[0].f[1]], [1, 3]);
});

Deno.test("sched: an idle CPU steals a migratable thread but never a pinned one", () => {
  const log = new Log();
  const m = machine({ cpus: "2" }, 1, [log]);
  m.spawn("parent", function* (): KCode {
    // Runnable behind a running thread: cpu1, idle, is offered the work (sched_steal_proc).
    m.spawn("pinned", function* (): KCode {
      yield m.spend(1_000);
    }, { pin: 0 });
    yield m.spend(10_000);
    m.spawn("free", function* (): KCode {
      yield m.spend(1_000);
    }, { cpu: 0 });
    yield m.spend(50_000);
  }, { pin: 0 });
  m.run();
  const migrations = log.of("migrate");
  assertEquals(migrations.length, 1, "cpu1 steals one thread");
  assertEquals(migrations[0].f.slice(0, 3), [3, 0, 1], "free moves from cpu0 to cpu1");
  assert(migrations[0].t < 20_000, "at once, not when parent finishes");
  assertEquals(m.threads[1].cpu, 0, "the pinned thread stays");
});

Deno.test("sched: a tie between CPUs is a decision that a feed replays, emitted only when not the default", () => {
  const config = resolveConfig([MACHINE_KEYS, COST_KEYS], { cpus: "2" });
  const run = (feed?: { seq: number[]; values: number[] }) => {
    const log = new Log();
    const m = new Machine({ config, seed: 1, sinks: [log], decisions: feed });
    const first: number[] = [];
    for (const cpu of [0, 1]) {
      m.spawn(`t${cpu}`, function* (): KCode {
        first.push(cpu);
        yield m.spend(1_000);
      }, { pin: cpu });
    }
    m.run();
    return { log, first };
  };
  const dflt = run({ seq: [], values: [] });
  assertEquals(dflt.first, [0, 1], "default: the lowest CPU goes first");
  assertEquals(dflt.log.of("decision").length, 0);
  // Decision 0: which idle CPU switches in first; 1: which runs its thread first.
  const forced = run({ seq: [0, 1], values: [1, 1] });
  assertEquals(forced.first, [1, 0], "the feed's value picks the other CPU");
  const d = forced.log.of("decision");
  assertEquals(d.map((e) => e.f.slice(0, 4)), [[ENUMS.decision.indexOf("tie"), 2, 1, 0], [0, 2, 1, 1]]);
  const again = run({ seq: [0, 1], values: [1, 1] });
  assertEquals(again.log.events, forced.log.events, "following the same feed gives the same events");
});

Deno.test("sched: a higher-priority wakeup preempts at the next yield point", () => {
  const log = new Log();
  const m = machine({ cpus: "1" }, 1, [log]);
  const chan = m.chan("go");
  m.spawn("hi", function* (): KCode {
    yield m.sleep(chan);
    yield m.spend(100);
  }, { prio: PRIO.kthread + 10 });
  m.spawn("lo", function* (): KCode {
    yield m.spend(1_000);
    m.wakeup(chan);
    yield m.spend(1_000);
    yield m.spend(1_000);
  });
  m.run();
  const pre = log.of("switch").filter((e) => reason(e.f) === "preempt");
  assertEquals(pre.length, 1);
  assertEquals([pre[0].f[0], pre[0].f[1]], [2, 1], "lo is preempted by hi");
});

Deno.test("sched: kernel code may read the current thread; outside any thread it is an error, not a crash", () => {
  const m = machine();
  assertEquals(m.curThread, null);
  let threw = "";
  try {
    m.cur;
  } catch (e) {
    threw = (e as Error).message;
  }
  assert(threw.includes("outside a thread"), threw);
  let seen = "";
  m.spawn("k", function* (): KCode {
    seen = m.cur.name;
    yield m.spend(1);
  });
  m.run();
  assertEquals(seen, "k");
});

Deno.test("sched: with sched.kpreempt=off (OpenBSD) a long-running kernel thread is not preempted by the quantum", () => {
  const log = new Log();
  const m = machine({ cpus: "1", "sched.quantumNs": "10000", "sched.kpreempt": "off" }, 1, [log]);
  const done: string[] = [];
  for (const name of ["x", "y"]) {
    m.spawn(name, function* (): KCode {
      for (let i = 0; i < 10; i++) yield m.spend(3_000);
      done.push(name);
    });
  }
  // A higher-priority kernel thread woken meanwhile waits too (need_resched acts at userret only).
  m.spawn("hi", function* (): KCode {
    done.push("hi");
    yield m.spend(100);
  }, { prio: PRIO.kthread + 10, cpu: 0 });
  m.run();
  assertEquals(log.of("switch").filter((e) => reason(e.f) === "quantum" || reason(e.f) === "preempt").length, 0);
  assertEquals(done, ["hi", "x", "y"], "x runs its 30 us to the end although the quantum is 10 us");
});

Deno.test("sched: with sched.kpreempt=off a busy task queue worker yields after a task once SPCF_SHOULDYIELD is set", () => {
  const log = new Log();
  const m = machine({ cpus: "1", "sched.quantumNs": "10000", "sched.kpreempt": "off" }, 1, [log]);
  const tq = taskqCreate(m, "tq", 1);
  const order: string[] = [];
  const tasks = [0, 1, 2].map((i) =>
    m.newTask(`t${i}`, function* (): KCode {
      order.push(`t${i}`);
      yield m.spend(25_000); // spans two roundrobin() ticks
    }, null)
  );
  m.spawn("adder", function* (): KCode {
    for (const t of tasks) yield* taskAdd(m, tq, t);
    // A peer of the worker's priority, queued behind the woken worker.
    m.spawn("peer", function* (): KCode {
      order.push("peer");
      yield m.spend(1_000);
    });
  });
  m.run();
  assert(order.indexOf("peer") > 0 && order.indexOf("peer") < 3, `peer runs between tasks: ${order}`);
  assert(log.of("switch").some((e) => reason(e.f) === "yield"), "the worker gave way by sched_pause(yield)");
  assertEquals(log.of("switch").filter((e) => reason(e.f) === "quantum").length, 0, "never by the quantum");
});
