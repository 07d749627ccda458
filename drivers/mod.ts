/**
 * The built-in scenarios and the registry that finds them by name. Devices
 * and workloads (NICs with RSS, external hosts) live beside them. Running a
 * scenario object is core's job (core/run.ts); this module adds lookup by
 * name for the built-ins, which is what `deno task run NAME` uses.
 *
 * @example
 * ```ts
 * import { runScenario } from "./mod.ts";
 * const out = runScenario({ scenario: "taskq-demo", seed: 1 });
 * out.result.events > 0; // true
 * ```
 * @module
 */
import { ConfigError } from "../core/config.ts";
import { execute, type ExecuteOptions, type RunOutcome } from "../core/run.ts";
import type { Scenario } from "../core/scenario.ts";
import { SCENARIOS } from "./scenarios.ts";

export { SCENARIOS } from "./scenarios.ts";
export { resolveScenarioConfig, type RunOutcome } from "../core/run.ts";

/** The default scenario of `deno task run`. */
export const DEFAULT_SCENARIO = "taskq-demo";

/** Looks a built-in scenario up by name; throws ConfigError for an unknown one. */
export function findScenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new ConfigError(`unknown scenario '${name}' (see: deno task scenarios)`);
  return s;
}

/** Options for {@link runScenario}: a built-in scenario's name, or any scenario object. */
export interface RunOptions extends ExecuteOptions {
  /** A built-in scenario's name, or a scenario object (for example a user's, from defineScenario). */
  readonly scenario: string | Scenario;
}

/** Runs a scenario, built-in (by name) or given as an object, on a fresh machine with every detector on. */
export function runScenario(opts: RunOptions): RunOutcome {
  const s = typeof opts.scenario === "string" ? findScenario(opts.scenario) : opts.scenario;
  return execute(s, opts);
}
