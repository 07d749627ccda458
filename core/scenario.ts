/**
 * Scenarios: named workloads with parameters and defaults. A scenario's
 * parameters are configuration keys like the machine's, so `--set` and
 * `--compare` treat them alike, and the trace header records them resolved.
 *
 * @example
 * ```ts
 * import type { Scenario } from "./scenario.ts";
 * const s: Scenario = {
 *   name: "idle", doc: "nothing runs", params: {},
 *   setup: () => ({}),
 * };
 * ```
 * @module
 */
import type { Config, ConfigValue, KeySet } from "./config.ts";
import type { Machine } from "./machine.ts";

/** Figures a scenario reports at the end of a run. */
export type Metrics = Record<string, number | string | Record<string, number>>;

/** What setup returns: hooks called when the run has ended. */
export interface ScenarioHooks {
  /** Figures for the summary. */
  metrics?(): Metrics;
  /** End-of-run checks (for example byte conservation); report through m.violation. */
  finish?(): void;
}

/** A named workload. */
export interface Scenario {
  /** Name given to `--scenario`. */
  readonly name: string;
  /** One-line description (shown by `deno task scenarios`). */
  readonly doc: string;
  /** Scenario parameters (keys namespaced by the scenario, e.g. `demo.producers`). */
  readonly params: KeySet;
  /** Machine key defaults this scenario changes (e.g. a short duration). */
  readonly machineDefaults?: Readonly<Record<string, ConfigValue>>;
  /** Builds the workload on a fresh machine before it runs. */
  setup(m: Machine, cfg: Config): ScenarioHooks;
}
