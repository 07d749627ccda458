/**
 * rx-livelock (drivers/netbsd_poll_scenarios.ts): the receive livelock of an
 * interrupt per packet, and the if_poll continuation that avoids it.
 * @module
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";

const run = (mode: string, rate: number) =>
  runScenario({
    scenario: "rx-livelock",
    seed: 1,
    overrides: { "lv.mode": mode, "lv.ratePps": String(rate), "sim.durationNs": "20000000" },
  });

Deno.test("rx-livelock: at low load every mode delivers what is offered, without violations", () => {
  for (const mode of ["intr", "moderation", "poll"]) {
    const o = run(mode, 50_000);
    assertEquals(o.result.violations, [], mode);
    const offered = o.metrics.offeredPps as number, delivered = o.metrics.deliveredPps as number;
    // Polling at tick granularity leaves up to a tick of packets in flight at the end of the 20 ms.
    assert(delivered >= 0.9 * offered, `${mode}: ${delivered} of ${offered}`);
    assertEquals((o.metrics.drops as Record<string, number>).ring, 0, mode);
  }
  // An interrupt per packet at low load; moderation and polling far fewer.
  assert((run("intr", 50_000).metrics.intrPerPkt as number) > 0.9);
  assert((run("moderation", 50_000).metrics.intrPerPkt as number) < 0.5);
});

Deno.test("rx-livelock: overload starves the reader with interrupts; the polled continuation keeps delivering", () => {
  const intr = run("intr", 1_600_000), poll = run("poll", 1_600_000);
  assert((intr.metrics.deliveredPps as number) < 0.01 * (intr.metrics.offeredPps as number), "intr livelocks");
  assert((poll.metrics.deliveredPps as number) > 0.25 * (poll.metrics.offeredPps as number), "poll delivers");
  assert((poll.metrics.intrPerPkt as number) < 0.01, "poll stays masked under overload");
  const drops = poll.metrics.drops as Record<string, number>;
  assert(drops.ring > 0, "poll drops at the NIC, before spending CPU on the frame");
  assertEquals((intr.metrics.drops as Record<string, number>).ring, 0);
});

Deno.test("rx-livelock: rates out of range are refused", () => {
  const s = findScenario("rx-livelock");
  assertThrows(() => resolveScenarioConfig(s, { "lv.ratePps": "0" }), /lv.ratePps/);
  assertThrows(() => resolveScenarioConfig(s, { "lv.ratePps": "20000000" }), /lv.ratePps/);
  assertThrows(() => resolveScenarioConfig(s, { "lv.mode": "napi" }), /lv.mode/);
});
