/**
 * `deno task scenarios [./file.ts...] [--json]`: every built-in scenario (and
 * those of the given modules) with its parameters and defaults.
 * @module
 */
import { parseOptions } from "./_help.ts";
import type { Scenario } from "../core/scenario.ts";
import { DEFAULT_SCENARIO, SCENARIOS } from "../drivers/mod.ts";
import { parse } from "./_args.ts";
import { loadModule } from "./_scenario.ts";

/** The `scenarios` command. */
export async function cmdScenarios(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, parseOptions("scenarios"));
  const list: Scenario[] = [...SCENARIOS];
  for (const p of positionals) list.push((await loadModule(p)).scenario);
  if (values.json) {
    console.log(JSON.stringify({
      default: DEFAULT_SCENARIO,
      scenarios: list.map((s) => ({
        name: s.name,
        doc: s.doc,
        params: Object.fromEntries(Object.entries(s.params).map(([k, d]) => [k, { default: d.default, doc: d.doc }])),
        machineDefaults: s.machineDefaults ?? {},
      })),
    }));
    return 0;
  }
  for (const s of list) {
    console.log(`${s.name}${s.name === DEFAULT_SCENARIO ? " (default)" : ""}: ${s.doc}`);
    for (const [k, d] of Object.entries(s.params)) console.log(`    ${k} = ${d.default}    ${d.doc}`);
    for (const [k, v] of Object.entries(s.machineDefaults ?? {})) {
      console.log(`    ${k} = ${v}    (machine default for this scenario)`);
    }
  }
  console.log(
    "machine keys: deno task run --set key=value (cpus, softint.order, taskq.barrier, sched.*, cost.*; see README)",
  );
  return 0;
}
