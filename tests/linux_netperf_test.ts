import assert from "node:assert/strict";
import { assertEquals } from "./_assert.ts";
import { ConfigError } from "../core/config.ts";
import { runScenario } from "../drivers/mod.ts";

function rr(overrides: Record<string, string>) {
  return runScenario({ scenario: "linux-netperf", seed: 1, overrides: { "rr.size": "1024", ...overrides } });
}

Deno.test("netperf runs: three connections one after the other; the figure is their mean, with min, max and each run", () => {
  const out = rr({});
  assert.deepEqual(out.result.violations, []);
  const runs = out.metrics.transPerSecRuns as Record<string, number>;
  const v = Object.values(runs);
  assert.deepEqual(Object.keys(runs), ["run1", "run2", "run3"]);
  assert.equal(out.metrics.runsCompleted, 3);
  assert.equal(out.metrics.transPerSec, Math.round((v[0] + v[1] + v[2]) / 3));
  assert.equal(out.metrics.transPerSecMin, Math.min(...v));
  assert.equal(out.metrics.transPerSecMax, Math.max(...v));
  for (const x of v) assert.ok(x > 90_000 && x < 120_000, `${x} tps`);
  // Each run has its own pair of sockets: six sockets' worth of segments, all closed by FIN.
  const ticks = out.metrics.ticks as Record<string, number>;
  assert.ok(ticks.cpu0 > 10 && ticks.cpu1 > 10, "a 1000 Hz tick on both CPUs over ~17 ms of runs");
});

Deno.test("netperf runs differ by where each starts against the tick; without the tick they are identical", () => {
  const withTick = Object.values(rr({}).metrics.transPerSecRuns as Record<string, number>);
  assert.ok(new Set(withTick).size > 1, `runs ${withTick.join(", ")} should differ`);
  const noTick = Object.values(rr({ "linux.tickHz": "0" }).metrics.transPerSecRuns as Record<string, number>);
  assert.equal(new Set(noTick).size, 1, `runs ${noTick.join(", ")} should be equal`);
  // The same seed gives the same runs (the pauses come from the seed's workload stream).
  assert.deepEqual(Object.values(rr({}).metrics.transPerSecRuns as Record<string, number>), withTick);
  const other = runScenario({ scenario: "linux-netperf", seed: 2, overrides: { "rr.size": "1024" } });
  assert.notDeepEqual(Object.values(other.metrics.transPerSecRuns as Record<string, number>), withTick);
});

Deno.test("netperf TCP_STREAM runs: Mbit/s per run, the stream closed by shutdown and drained each time", () => {
  const out = rr({ "netperf.test": "TCP_STREAM", "stream.msgSize": "1024", "netperf.runs": "2" });
  assert.deepEqual(out.result.violations, []);
  const runs = out.metrics.mbitPerSecRuns as Record<string, number>;
  assert.deepEqual(Object.keys(runs), ["run1", "run2"]);
  assert.equal(out.metrics.runsCompleted, 2);
  assert.ok(runs.run1 > 5000 && runs.run2 > 5000);
});

Deno.test("netperf runs the simulated time cuts off are counted as such, and a bad warm-up is refused", () => {
  const cut = rr({ "netperf.runs": "9" });
  // 30 ms hold five whole runs (5 ms each, a pause of up to 1 ms before); the sixth is cut, the rest never start.
  assertEquals([cut.metrics.runsStarted, cut.metrics.runsCompleted], [6, 5]);
  assertEquals(Object.keys(cut.metrics.transPerSecRuns as Record<string, number>).length, 6);
  assert.throws(() => rr({ "netperf.warmupNs": "6000000" }), ConfigError);
  const ok = rr({ "netperf.runs": "9", "sim.durationNs": "63000000" });
  assert.equal(ok.metrics.runsCompleted, 9);
});
