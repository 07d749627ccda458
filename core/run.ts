/**
 * Running a scenario on a fresh machine: the one place where a scenario, a
 * seed and `--set` overrides become a configuration, a machine with every
 * detector installed, and a result. Recording and re-execution both come
 * through here, so a trace header (scenario, config, seed) is enough to run
 * the same thing again. Finding a scenario by name is not done here: the
 * built-in registry is drivers/, a user's module is loaded by the CLI, and
 * replay is handed a resolver.
 *
 * @example
 * ```ts
 * import { execute } from "./run.ts";
 * import type { Scenario } from "./scenario.ts";
 * const idle: Scenario = { name: "idle", doc: "one thread spends 1 us", params: {}, setup: (m) => {
 *   m.spawn("t", function* () { yield m.spend(1000); });
 *   return {};
 * } };
 * const out = execute(idle, { seed: 1 });
 * out.result.events > 0; // true
 * ```
 * @module
 */
import {
  checkConfig,
  type CheckedConfig,
  type Config,
  ConfigError,
  COST_KEYS,
  MACHINE_KEYS,
  resolveConfig,
} from "./config.ts";
import type { EventSink } from "./event.ts";
import {
  type DecisionFeed,
  type DecisionSource,
  Machine,
  type MachinePlan,
  machinePlan,
  type RunResult,
} from "./machine.ts";
import { type DetectorOptions, installDetectors as installAll, type LockOrderGraph } from "./detect/mod.ts";
import type { Metrics, Scenario } from "./scenario.ts";

/** The fully resolved configuration of a scenario with overrides. */
export function resolveScenarioConfig(s: Scenario, overrides: Record<string, string> = {}): Config {
  const base: Config = {};
  for (const [k, v] of Object.entries(s.machineDefaults ?? {})) base[k] = v;
  return resolveConfig([MACHINE_KEYS, s.params, COST_KEYS], overrides, base);
}

/**
 * Checks a configuration object given whole (an API caller's, a trace
 * header's) against the scenario's keys: unknown keys and bad values throw
 * ConfigError naming the key; missing keys take the scenario's defaults and
 * are listed in `defaulted`.
 */
export function checkScenarioConfig(s: Scenario, cfg: Readonly<Record<string, unknown>>): CheckedConfig {
  const base: Config = {};
  for (const [k, v] of Object.entries(s.machineDefaults ?? {})) base[k] = v;
  return checkConfig([MACHINE_KEYS, s.params, COST_KEYS], cfg, base);
}

/**
 * Installs every detector (deadlock, lock order, softint safety, use after
 * free, lost wakeup, starvation, stream, conservation hooks) on a machine
 * built by hand, before any thread is spawned. {@link execute} does this
 * for every scenario run.
 *
 * @example
 * ```ts
 * import { installDetectors } from "./run.ts";
 * import { Machine } from "./machine.ts";
 * import { COST_KEYS, MACHINE_KEYS, resolveConfig } from "./config.ts";
 * const m = new Machine({ config: resolveConfig([MACHINE_KEYS, COST_KEYS], {}), seed: 1 });
 * installDetectors(m);
 * ```
 */
export function installDetectors(m: Machine, opts: DetectorOptions = {}): void {
  installAll(m, opts);
}

/** Options for a run of a given scenario. */
export interface ExecuteOptions {
  /** PRNG seed. */
  readonly seed: number;
  /** `--set` overrides as text. Ignored when `config` is given. */
  readonly overrides?: Record<string, string>;
  /**
   * A whole configuration (from a trace header, or built by the caller);
   * checked against the scenario's keys (ConfigError on an unknown key or a
   * bad value; missing keys take their defaults).
   */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Receivers of the run's events (a trace writer, for instance). */
  readonly sinks?: EventSink[];
  /** Recorded decisions to follow (re-execution). */
  readonly decisions?: DecisionFeed | DecisionSource;
  /** A lock order graph shared with other runs (WITNESS across an exploration); fresh when omitted. */
  readonly lockGraph?: LockOrderGraph;
  /** Called after the scenario's setup, before the run: lets tests and tools reach the machine's objects. */
  readonly onSetup?: (m: Machine) => void;
}

/** What a run produced. */
export interface RunOutcome {
  /** The scenario that ran. */
  readonly scenario: Scenario;
  /** The fully resolved configuration it ran with. */
  readonly config: Config;
  /** How the run ended. */
  readonly result: RunResult;
  /** Machine and scenario figures for the summary. */
  readonly metrics: Metrics;
  /** The machine, in its final state. */
  readonly machine: Machine;
}

/** Builds the machine, installs every detector, sets the scenario up and runs it to the end. */
export function execute(scenario: Scenario, opts: ExecuteOptions): RunOutcome {
  if (!Number.isSafeInteger(opts.seed) || opts.seed < 0) {
    throw new ConfigError(`seed: ${opts.seed} is not a non-negative integer`);
  }
  const warm = opts.config !== undefined ? warmConfig(scenario, opts.config) : null;
  const config = warm !== null
    ? warm.config
    : opts.config !== undefined
    ? checkScenarioConfig(scenario, opts.config).config
    : resolveScenarioConfig(scenario, opts.overrides);
  const m = new Machine({ config, seed: opts.seed, sinks: opts.sinks, decisions: opts.decisions, plan: warm?.plan });
  installAll(m, { lockGraph: opts.lockGraph }); // always on (core/detect/mod.ts)
  const hooks = scenario.setup(m, config);
  // End-of-run checks (conservation) run inside the machine's end, before
  // run-end, so their violations are events of the trace.
  m.hooks.end.add(() => hooks.finish?.());
  opts.onSetup?.(m);
  const ended = m.run();
  const metrics: Metrics = { ...machineMetrics(m), ...(hooks.metrics?.() ?? {}) };
  return { scenario, config, result: { ...ended, violations: m.violations }, metrics, machine: m };
}

/**
 * What runs of one frozen configuration object share (a warm start): its
 * check against the scenario's keys, and the machine's plan (the cost table,
 * CPU count and softint priorities: core/machine_base.ts). An exploration
 * runs thousands of seeds, and a shrink hundreds of re-runs, with one
 * configuration object; checking it and deriving the plan again for each was
 * a tenth of a short run's setup. Only a frozen object is remembered (it
 * cannot change after its check), only for the scenario it was checked
 * against, and what is kept is frozen too, so no run can change the next
 * one's. Everything with state (the machine, its parts, the scenario's
 * objects, the detectors) is built fresh for every run: a machine's identity
 * keys scenario state (drivers/splice_scenarios.ts, core/detect/mod.ts), so
 * reusing one would hand a run the previous run's world.
 */
interface Warm {
  readonly scenario: Scenario;
  readonly config: Config;
  readonly plan: MachinePlan;
}

const WARM = new WeakMap<object, Warm>();

/** The shared parts of runs of `cfg` (see {@link Warm}), or null for an unfrozen object (checked every run). */
function warmConfig(scenario: Scenario, cfg: Readonly<Record<string, unknown>>): Warm | null {
  if (!Object.isFrozen(cfg)) return null;
  const hit = WARM.get(cfg);
  if (hit !== undefined && hit.scenario === scenario) return hit;
  const config = Object.freeze(checkScenarioConfig(scenario, cfg).config);
  const warm: Warm = Object.freeze({ scenario, config, plan: machinePlan(config) });
  WARM.set(cfg, warm);
  return warm;
}

/** Figures every run reports: CPU busy share, switches, wakeups, lock contention by class. */
function machineMetrics(m: Machine): Metrics {
  const simNs = Math.max(1, m.nowNs);
  const busy: Record<string, number> = {};
  for (const c of m.cpus) busy[`cpu${c.id}`] = round1((100 * Math.min(c.busyNs, simNs)) / simNs);
  const contention: Record<string, number> = {};
  for (const l of m.locks) if (l.contended > 0) contention[l.cls] = (contention[l.cls] ?? 0) + l.contended;
  return {
    cpuBusyPct: busy,
    contextSwitches: m.cpus.reduce((a, c) => a + c.switches, 0),
    wakeups: m.stats.wakeups,
    crossCpuWakeups: m.stats.crossCpuWakeups,
    lockContention: contention,
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
