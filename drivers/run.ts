/**
 * Resolving and running a scenario on a fresh machine: the one place where a
 * scenario name, seed and `--set` overrides become a configuration, a machine
 * and a result. Recording and re-execution both come through here, so a
 * trace header (scenario, config, seed) is enough to run the same thing again.
 *
 * @example
 * ```ts
 * import { runScenario } from "./run.ts";
 * const out = runScenario({ scenario: "taskq-demo", seed: 1 });
 * out.result.events > 0; // true
 * ```
 * @module
 */
import { type Config, ConfigError, COST_KEYS, MACHINE_KEYS, resolveConfig } from "../core/config.ts";
import type { EventSink } from "../core/event.ts";
import { type DecisionFeed, Machine, type RunResult } from "../core/machine.ts";
import { installDetectors, type LockOrderGraph } from "../core/detect/mod.ts";
import { SCENARIOS } from "./scenarios.ts";
import type { Metrics, Scenario } from "./scenario.ts";

/** The default scenario of `deno task run`. */
export const DEFAULT_SCENARIO = "taskq-demo";

/** Looks a scenario up by name; throws ConfigError for an unknown one. */
export function findScenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new ConfigError(`unknown scenario '${name}' (see: deno task scenarios)`);
  return s;
}

/** The fully resolved configuration of a scenario with overrides. */
export function resolveScenarioConfig(s: Scenario, overrides: Record<string, string> = {}): Config {
  const base: Config = {};
  for (const [k, v] of Object.entries(s.machineDefaults ?? {})) base[k] = v;
  return resolveConfig([MACHINE_KEYS, s.params, COST_KEYS], overrides, base);
}

/** Options for a run. */
export interface RunOptions {
  /** Scenario name. */
  readonly scenario: string;
  /** PRNG seed. */
  readonly seed: number;
  /** `--set` overrides as text. Ignored when `config` is given. */
  readonly overrides?: Record<string, string>;
  /** A resolved configuration (from a trace header). */
  readonly config?: Config;
  /** Receivers of the run's events (a trace writer, for instance). */
  readonly sinks?: EventSink[];
  /** Recorded decisions to follow (re-execution). */
  readonly decisions?: DecisionFeed;
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

/** Builds the machine, sets the scenario up and runs it to the end. */
export function runScenario(opts: RunOptions): RunOutcome {
  const scenario = findScenario(opts.scenario);
  const config = opts.config ?? resolveScenarioConfig(scenario, opts.overrides);
  const m = new Machine({ config, seed: opts.seed, sinks: opts.sinks, decisions: opts.decisions });
  installDetectors(m, { lockGraph: opts.lockGraph }); // always on (core/detect/mod.ts)
  const hooks = scenario.setup(m, config);
  // End-of-run checks (conservation) run inside the machine's end, before
  // run-end, so their violations are events of the trace.
  m.hooks.end.add(() => hooks.finish?.());
  opts.onSetup?.(m);
  const ended = m.run();
  const metrics: Metrics = { ...machineMetrics(m), ...(hooks.metrics?.() ?? {}) };
  return { scenario, config, result: { ...ended, violations: m.violations }, metrics, machine: m };
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
