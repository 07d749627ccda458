/**
 * Every entry of core/cost.ts is charged somewhere (issue 10 item 8): each
 * scenario runs with a machine whose cost table records which entries the
 * simulation reads when it charges time.
 */
import assert from "node:assert/strict";
import { type CostName, COSTS } from "../core/cost.ts";
import type { Machine } from "../core/machine.ts";
import type { Config } from "../core/config.ts";
import type { Scenario } from "../core/scenario.ts";
import { runScenario, SCENARIOS } from "../drivers/mod.ts";

/** Runs `s` with a cost table that records the entries read; returns them. */
function charged(s: Scenario, overrides: Record<string, string>, seen: Set<string>): void {
  const wrapped: Scenario = {
    ...s,
    setup(m: Machine, cfg: Config) {
      const real = m.cost;
      const spy = new Proxy(real, {
        get(t, k: string) {
          seen.add(k);
          return t[k as CostName];
        },
      });
      Object.defineProperty(m, "cost", { value: spy });
      return s.setup(m, cfg);
    },
  };
  runScenario({ scenario: wrapped, seed: 1, overrides });
}

function allCharged(): Set<string> {
  const seen = new Set<string>();
  const short = { "sim.durationNs": "400000" };
  for (const s of SCENARIOS) charged(s, s.name.startsWith("splice") ? short : {}, seen);
  const udp = SCENARIOS.find((s) => s.name === "splice-udp")!;
  const tcp = SCENARIOS.find((s) => s.name === "splice-tcp")!;
  // The userland-copy relay (copyin/copyout) and an idle timeout that fires.
  charged(tcp, { "sim.durationNs": "2000000", "relay.userCopy": "true" }, seen);
  charged(tcp, { ...short, "splice.mode": "thread" }, seen); // sotask's yield()
  // The sosplice thread moving datagrams that softnets on other CPUs appended.
  charged(udp, { "sim.durationNs": "1000000", "splice.mode": "thread" }, seen);
  charged(udp, { ...short, "relay.respRateMbps": "100", "relay.respBytes": "7000", "splice.idleNs": "100000" }, seen);
  // Linux: the container path (veth + bridge) and the splice ring's busy poll.
  const lx = SCENARIOS.find((s) => s.name === "linux-netperf")!;
  charged(lx, { "linux.transport": "container" }, seen);
  charged(lx, { "linux.splice": "on", "linux.busyPollUs": "50" }, seen);
  // NetBSD proposals: kernel continuations, and the if_poll continuation with interrupt masking.
  charged(SCENARIOS.find((s) => s.name === "kcont-dispatch")!, { "kc.impl": "kcont" }, seen);
  charged(SCENARIOS.find((s) => s.name === "rx-livelock")!, { "lv.mode": "poll" }, seen);
  return seen;
}

Deno.test("cost: every entry of the cost table is charged in some scenario", () => {
  const seen = allCharged();
  const missing = (Object.keys(COSTS) as CostName[]).filter((k) => !seen.has(k));
  assert.deepEqual(missing, []);
});
