/**
 * `deno task scenarios`: every scenario with its parameters and defaults.
 * @module
 */
import { SCENARIOS } from "../drivers/mod.ts";
import { DEFAULT_SCENARIO } from "../drivers/mod.ts";
import { parse } from "./_args.ts";

/** The `scenarios` command. */
export function cmdScenarios(args: string[]): number {
  const { values } = parse(args, { json: { type: "boolean" } });
  if (values.json) {
    console.log(JSON.stringify({
      default: DEFAULT_SCENARIO,
      scenarios: SCENARIOS.map((s) => ({
        name: s.name,
        doc: s.doc,
        params: Object.fromEntries(Object.entries(s.params).map(([k, d]) => [k, { default: d.default, doc: d.doc }])),
        machineDefaults: s.machineDefaults ?? {},
      })),
    }));
    return 0;
  }
  for (const s of SCENARIOS) {
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
