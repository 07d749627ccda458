/**
 * nexthop-cache (drivers/netbsd_nexthop_scenarios.ts): cloned ARP routes in
 * the routing table against a per-interface nexthop cache.
 * @module
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";

Deno.test("nexthop-cache: both designs pick the same next hop for every packet, with either tree", () => {
  for (const tree of ["radix", "ptree"]) {
    const run = (mode: string) =>
      runScenario({
        scenario: "nexthop-cache",
        seed: 2,
        overrides: {
          "nh.mode": mode,
          "nh.tree": tree,
          "nh.routes": "3000",
          "nh.neighbours": "800",
          "nh.packets": "5000",
        },
      });
    const cl = run("cloned"), nh = run("nhcache");
    for (const o of [cl, nh]) {
      assertEquals(o.result.violations, [], tree);
      assertEquals(o.metrics.wrongNexthop, 0);
      assertEquals(o.metrics.packets, 5000);
    }
    // The clones leave the table for the cache: same entries in all, the table smaller by the neighbours.
    assertEquals((cl.metrics.tableEntries as number) - (nh.metrics.tableEntries as number), 800);
    assertEquals(nh.metrics.cacheEntries, 800);
    // ... and a packet now takes two lookups instead of one.
    assert((nh.metrics.nodesPerPacket as number) > (cl.metrics.nodesPerPacket as number), tree);
  }
});

Deno.test("nexthop-cache: bad parameters are refused", () => {
  const s = findScenario("nexthop-cache");
  assertThrows(() => resolveScenarioConfig(s, { "nh.neighbours": "2" }), /nh.neighbours/);
  assertThrows(() => resolveScenarioConfig(s, { "nh.routes": "0" }), /nh.routes/);
});
