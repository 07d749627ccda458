/**
 * syn-flood (drivers/netbsd_syn_scenarios.ts): the syncache against a socket
 * per SYN under a SYN flood.
 * @module
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";

const run = (mode: string, flood: number) =>
  runScenario({
    scenario: "syn-flood",
    seed: 1,
    overrides: { "syn.mode": mode, "syn.floodPps": String(flood), "sim.durationNs": "50000000" },
  });

Deno.test("syn-flood: without a flood both accept every connection but the last round trip's", () => {
  for (const mode of ["syncache", "nocache"]) {
    const o = run(mode, 0);
    assertEquals(o.result.violations, []);
    assert((o.metrics.acceptPct as number) >= 95, `${mode}: ${o.metrics.acceptPct}`);
  }
});

Deno.test("syn-flood: the flood fills so_q0 without the syncache; the syncache keeps accepting and bounds its size", () => {
  const cache = run("syncache", 100_000), none = run("nocache", 100_000);
  assert((cache.metrics.acceptPct as number) >= 95, `syncache ${cache.metrics.acceptPct}`);
  assert((none.metrics.acceptPct as number) < 10, `nocache ${none.metrics.acceptPct}`);
  assertEquals(none.metrics.halfOpenPeak, 193); // so_q0 stops at 3 * 128 / 2 + 1
  assert((none.metrics.synsRefused as number) > 4000);
  assertEquals(cache.metrics.bytesPerHalfOpen, 256);
  // Past tcp_syn_cache_limit (293 * 35) the oldest entries are dropped, never more live ones.
  const big = runScenario({
    scenario: "syn-flood",
    seed: 1,
    overrides: { "syn.floodPps": "300000", "sim.durationNs": "50000000" },
  });
  assertEquals(big.metrics.halfOpenPeak, 10255);
  assert((big.metrics.evicted as number) > 0);
});

Deno.test("syn-flood: bad parameters are refused", () => {
  const s = findScenario("syn-flood");
  assertThrows(() => resolveScenarioConfig(s, { "syn.backlog": "0" }), /syn.backlog/);
  assertThrows(() => resolveScenarioConfig(s, { "syn.mode": "cookies" }), /syn.mode/);
});
