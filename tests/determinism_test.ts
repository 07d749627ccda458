import { assert, assertEquals } from "./_assert.ts";
import { runHash } from "./_hash_run.ts";
import { Log } from "./_util.ts";
import { runScenario } from "../drivers/mod.ts";
import { Prng } from "../core/prng.ts";

const SCENARIOS = ["taskq-demo", "mutex-storm", "lock-abba", "taskq-barrier-self"];
const SHORT = { "sim.durationNs": "2000000" };

Deno.test("same scenario, config and seed give the same event stream twice in one process", () => {
  for (const s of SCENARIOS) assertEquals(runHash(s, 7, SHORT), runHash(s, 7, SHORT), s);
});

Deno.test("same scenario, config and seed give the same event stream in two separate processes", async () => {
  for (const s of ["taskq-demo", "mutex-storm"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-env",
        new URL("./_hash_run.ts", import.meta.url).pathname,
        s,
        "7",
        "sim.durationNs=2000000",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    assertEquals(new TextDecoder().decode(out.stdout).trim(), runHash(s, 7, SHORT), s);
  }
});

Deno.test("different seeds change the interleaving where the scenario allows it", () => {
  const order = (seed: number) => {
    const log = new Log();
    runScenario({ scenario: "mutex-storm", seed, overrides: { "sim.durationNs": "300000" }, sinks: [log] });
    return log.of("lock-acquire").map((e) => `${e.f[0]}:${e.f[2]}`).join(",");
  };
  const a = order(1), b = order(2);
  assert(a.length > 100, "enough lock traffic");
  assert(a !== b, "seeds 1 and 2 give different lock acquisition orders");
  assertEquals(order(1), a);
});

Deno.test("the PRNG is xoshiro128** seeded by SplitMix32: fixed sequence, unbiased below()", () => {
  const r = new Prng(42);
  const first = [r.next32(), r.next32(), r.next32()];
  assertEquals(new Prng(42).next32(), first[0]);
  assert(new Prng(43).next32() !== first[0], "nearby seeds differ");
  const counts = [0, 0, 0];
  const q = new Prng(1);
  for (let i = 0; i < 30000; i++) counts[q.below(3)]++;
  for (const c of counts) assert(c > 9500 && c < 10500, `uniform: ${counts}`);
});

Deno.test("decision events record every non-default schedule draw", () => {
  const log = new Log();
  runScenario({
    scenario: "mutex-storm",
    seed: 3,
    overrides: { "sim.durationNs": "500000", "sched.strategy": "random", "sched.perturbPpm": "50000" },
    sinks: [log],
  });
  const d = log.of("decision");
  assert(d.length > 5, `perturbations recorded: ${d.length}`);
  for (const e of d) assert(e.f[2] > 0 && e.f[2] < e.f[1], "value is a non-default choice among n");
});

Deno.test("an ABBA lock order ends with a deadlock report naming both threads and both locks", () => {
  for (const type of ["adaptive", "spin"]) {
    const out = runScenario({ scenario: "lock-abba", seed: 1, overrides: { "abba.type": type } });
    const v = out.result.violations.find((x) => x.kind === "deadlock");
    assert(v !== undefined, `${type}: deadlock reported`);
    for (const name of ["thread_ab", "thread_ba", "lock_A", "lock_B"]) {
      assert(v.message.includes(name), `${type}: ${v.message}`);
    }
  }
});

Deno.test("taskq_barrier from the queue's own worker: 1.27 hangs and is reported, 1.36 returns", () => {
  const old = runScenario({ scenario: "taskq-barrier-self", seed: 1, overrides: { "taskq.barrier": "1.27" } });
  assert(old.result.violations.some((v) => v.kind === "deadlock" && v.message.includes("drmtq")), "1.27 deadlock");
  assertEquals(old.metrics.barrierReturned, 0);
  const cur = runScenario({ scenario: "taskq-barrier-self", seed: 1, overrides: { "taskq.barrier": "1.36" } });
  assertEquals(cur.result.violations, []);
  assertEquals(cur.metrics.barrierReturned, 1);
});

Deno.test("every run ends at its simulated time or event limit", () => {
  const t = runScenario({ scenario: "mutex-storm", seed: 1, overrides: { "sim.durationNs": "100000" } });
  assertEquals(t.result.reason, "time-limit");
  assertEquals(t.result.simNs, 100000);
  const e = runScenario({ scenario: "mutex-storm", seed: 1, overrides: { "sim.eventsMax": "1000" } });
  assertEquals(e.result.reason, "event-limit");
  assert(e.result.events <= 1000 + 2, `${e.result.events}`);
});
