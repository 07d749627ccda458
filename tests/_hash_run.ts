/**
 * Prints the event-stream hash of one run: `deno run tests/_hash_run.ts SCENARIO SEED [key=value...]`.
 * Used by the determinism test to compare runs in separate processes.
 * @module
 */
import { runScenario } from "../drivers/mod.ts";
import { Hash } from "./_util.ts";

/** The event hash of a scenario run. */
export function runHash(scenario: string, seed: number, overrides: Record<string, string> = {}): string {
  const h = new Hash();
  runScenario({ scenario, seed, overrides, sinks: [h] });
  return h.hex();
}

if (import.meta.main) {
  const [scenario, seed, ...kv] = Deno.args;
  const overrides = Object.fromEntries(kv.map((s) => s.split("=", 2) as [string, string]));
  console.log(runHash(scenario, Number(seed), overrides));
}
