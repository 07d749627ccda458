/**
 * Virtual network stacks (core/netbsd/brane.ts) and the branes scenario:
 * isolation of two tenants with the same address and port.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { COST_KEYS, MACHINE_KEYS, resolveConfig } from "../core/config.ts";
import { Machine } from "../core/machine.ts";
import { Branes } from "../core/netbsd/brane.ts";
import { runScenario } from "../drivers/mod.ts";

const machine = () => new Machine({ config: resolveConfig([MACHINE_KEYS, COST_KEYS], {}), seed: 1 });

Deno.test("branes: each brane has its own PCB table; one shared stack refuses the second bind", () => {
  const sep = new Branes(machine(), 2, false);
  sep.chbrane(7, 1);
  assert(sep.bind(3, 1, 53, 100)); // process 3 in brane 0
  assert(sep.bind(7, 1, 53, 200)); // process 7 in brane 1: same address and port, its own table
  assertEquals([sep.lookup(0, 1, 53), sep.lookup(1, 1, 53)], [100, 200]);
  assert(sep.of(0).lock !== sep.of(1).lock);
  const one = new Branes(machine(), 2, true);
  one.chbrane(7, 1);
  assert(one.bind(3, 1, 53, 100));
  assertEquals(one.bind(7, 1, 53, 200), false); // EADDRINUSE
  assertEquals(one.lookup(1, 1, 53), 100); // brane 1's packets find brane 0's socket
});

Deno.test("branes scenario: isolated tenants see only their own datagrams; one global stack mixes them", () => {
  const b = runScenario({ scenario: "branes", seed: 1, overrides: { "br.mode": "branes" } });
  assertEquals(b.result.violations, []);
  assertEquals(b.metrics.received, b.metrics.sent);
  assertEquals(b.metrics.foreignReceived, { tenant0: 0, tenant1: 0 });
  const g = runScenario({ scenario: "branes", seed: 1, overrides: { "br.mode": "global" } });
  assertEquals(g.metrics.bindFailures, 1);
  assert((g.metrics.foreignReceived as Record<string, number>).tenant0 > 0);
  assertEquals(g.result.violations.map((v) => v.kind), ["stream", "stream"]);
  assert(/delivered twice/.test(g.result.violations[0].message));
  assert(/lost/.test(g.result.violations[1].message));
  assert(((g.metrics.lockContention as Record<string, number>).stack_lock ?? 0) > 0);
  assertEquals(b.metrics.lockContention, {});
});
