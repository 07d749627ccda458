/**
 * rx-demux (drivers/netbsd_demux_scenarios.ts): fast demux to socket PCQs and
 * lazy receive processing against the full input path in the soft interrupt.
 * @module
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";

const run = (mode: string, rate: number) =>
  runScenario({ scenario: "rx-demux", seed: 1, overrides: { "dm.mode": mode, "dm.ratePps": String(rate) } });

Deno.test("rx-demux: below saturation every mode delivers every datagram once; demux shortens the soft interrupt", () => {
  const r = Object.fromEntries(["full", "demux-wq", "demux-lazy"].map((m) => [m, run(m, 400_000)]));
  for (const [mode, o] of Object.entries(r)) {
    assertEquals(o.result.violations, [], mode);
    assertEquals(o.metrics.deliveredPps, o.metrics.offeredPps, mode);
    assertEquals(o.metrics.queuedAtEnd, 0, mode);
  }
  const si = (m: string) => r[m].metrics.softintNsPerPkt as number;
  assert(si("demux-lazy") < si("demux-wq") && si("demux-wq") < si("full"), `${si("full")} ${si("demux-wq")}`);
  // Workqueue LWPs add a switch per burst; the lazy reader does its own work on the wakeup it needed anyway.
  assert((r["demux-wq"].metrics.switchesPerPkt as number) > (r["demux-lazy"].metrics.switchesPerPkt as number));
});

Deno.test("rx-demux: near saturation the workqueue LWPs' switches cost the throughput; the lazy reader keeps it", () => {
  const full = run("full", 1_200_000), wq = run("demux-wq", 1_200_000), lazy = run("demux-lazy", 1_200_000);
  for (const o of [full, wq, lazy]) assertEquals(o.result.violations, []);
  const d = (o: typeof full) => o.metrics.deliveredPps as number;
  assert(d(lazy) > 0.95 * d(full), `${d(lazy)} vs ${d(full)}`);
  assert(d(wq) < 0.5 * d(full), `${d(wq)} vs ${d(full)}`);
});

Deno.test("rx-demux: bad parameters are refused", () => {
  const s = findScenario("rx-demux");
  assertThrows(() => resolveScenarioConfig(s, { "dm.sockets": "0" }), /dm.sockets/);
  assertThrows(() => resolveScenarioConfig(s, { "dm.pcq": "1" }), /dm.pcq/);
});
