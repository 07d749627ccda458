/**
 * Bad input and limits of the NetBSD infrastructure scenarios (issue 14):
 * every numeric parameter, route-table and queue sizes included, is refused
 * outside its range; limits that span two parameters are refused when the
 * scenario is set up; on the command line each is one line on stderr and
 * exit status 2.
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { ConfigError } from "../core/config.ts";
import { findScenario, resolveScenarioConfig, runScenario } from "../drivers/mod.ts";

const INFRA = [
  "pcq-ifqueue",
  "atomic-lifo",
  "route-lookup",
  "nexthop-cache",
  "kcont-dispatch",
  "rx-livelock",
  "rx-demux",
  "syn-flood",
  "branes",
];

function refused(f: () => unknown, key: string): void {
  try {
    f();
  } catch (e) {
    assert(e instanceof ConfigError, `${key}: ${e}`);
    assert(e.message.includes(key), `${key}: ${e.message}`);
    return;
  }
  throw new Error(`${key}: accepted`);
}

Deno.test("every numeric parameter of the infrastructure scenarios is refused below its minimum and above its maximum", () => {
  let checked = 0;
  for (const name of INFRA) {
    const s = findScenario(name);
    for (const [key, spec] of Object.entries(s.params)) {
      const { min, max } = spec as { min?: number; max?: number };
      if (typeof min !== "number" || typeof max !== "number") continue;
      refused(() => resolveScenarioConfig(s, { [key]: String(min - 1) }), key);
      refused(() => resolveScenarioConfig(s, { [key]: String(max + 1) }), key);
      refused(() => resolveScenarioConfig(s, { [key]: "many" }), key);
      resolveScenarioConfig(s, { [key]: String(max) }); // the bounds themselves are accepted
      checked++;
    }
  }
  assert(checked >= 49, `${checked} parameters`);
});

Deno.test("limits across two parameters are refused when the scenario is set up", () => {
  const bad: [string, Record<string, string>, string][] = [
    ["pcq-ifqueue", { "pcq.impl": "afifo", "pcq.producers": "64", "pcq.items": "100000" }, "pcq.producers"],
    ["pcq-ifqueue", { "pcq.impl": "aqueue", "pcq.producers": "64", "pcq.items": "100000" }, "pcq.producers"],
    ["nexthop-cache", { "nh.neighbours": "100", "nh.active": "97" }, "nh.active"],
  ];
  for (const [scenario, overrides, key] of bad) refused(() => runScenario({ scenario, seed: 1, overrides }), key);
});

const main = new URL("../cli/main.ts", import.meta.url).pathname;

Deno.test("route-table and queue sizes out of range: one line on stderr, exit 2", async () => {
  const cases: [string, string][] = [
    ["route-lookup", "route.routes=0"],
    ["route-lookup", "route.routes=1000001"],
    ["nexthop-cache", "nh.routes=1000001"],
    ["nexthop-cache", "nh.neighbours=60001"],
    ["nexthop-cache", "nh.active=0"],
    ["pcq-ifqueue", "pcq.size=1"],
    ["pcq-ifqueue", "pcq.size=65536"],
    ["pcq-ifqueue", "pcq.headPct=101"],
    ["atomic-lifo", "aq.items=0"],
    ["rx-demux", "dm.pcq=4097"],
    ["rx-livelock", "lv.ring=7"],
    ["syn-flood", "syn.backlog=0"],
  ];
  for (const [scenario, set] of cases) {
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", main, "run", scenario, "--set", set, "--no-trace"],
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(o.stderr).trim();
    assertEquals(o.code, 2, `${scenario} ${set}: ${err}`);
    assertEquals(err.split("\n").length, 1, err);
    assert(err.startsWith(`lockstep: ${set.split("=")[0]}`), err);
  }
});
