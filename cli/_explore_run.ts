/**
 * One exploration run and its verdict, shared by the workers and the main
 * thread: run a seed, keep the first violation of each kind and the lock
 * orders the run established (for the exploration-wide WITNESS graph).
 * @module
 */
import type { Config, ConfigValue } from "../core/config.ts";
import { LockOrderGraph } from "../core/detect/mod.ts";
import type { EventRecord, EventSink } from "../core/event.ts";
import type { DecisionFeed, Machine, Violation } from "../core/machine.ts";
import { ENUMS, KIND } from "../core/schema.ts";
import { execute } from "../core/run.ts";
import type { Scenario } from "../core/scenario.ts";
import { findScenario } from "../drivers/mod.ts";
import { isModuleArg } from "./_scenario_arg.ts";
import { swarmChoice } from "./_explore_swarm.ts";

/** Scenario modules this thread (main or worker) has imported, by the path given on the command line. */
const modules = new Map<string, Scenario>();

/**
 * Makes a scenario reference usable by {@link scenarioFor}: a built-in name
 * needs nothing; a module path is imported once per thread (each exploration
 * worker imports the user's module itself).
 */
export async function preloadScenario(ref: string): Promise<Scenario> {
  if (!isModuleArg(ref)) return findScenario(ref);
  let s = modules.get(ref);
  if (s === undefined) {
    // Imported only here: a worker exploring a built-in never loads its node: modules (cli/_scenario_arg.ts).
    const { loadModule } = await import("./_scenario.ts");
    s = (await loadModule(ref)).scenario;
    modules.set(ref, s);
  }
  return s;
}

/** The scenario of a reference: a preloaded module's, or a built-in's by name. */
export function scenarioFor(ref: string): Scenario {
  return modules.get(ref) ?? findScenario(ref);
}

/** The first violation of one kind in a run. */
export interface Found {
  readonly kind: string;
  readonly event: number;
  readonly message: string;
}

/** A lock order a run established, and where. */
export interface OrderSeen {
  readonly from: readonly [name: string, type: string];
  readonly to: readonly [name: string, type: string];
  readonly seed: number;
  readonly event: number;
  readonly thread: string;
}

/** What one run of an exploration found. */
export interface Verdict {
  readonly seed: number;
  readonly events: number;
  /** First violation of each kind, in order of appearance. */
  readonly found: Found[];
  /** Lock orders this runner had not seen in an earlier run (see exploreOne). */
  readonly orders: OrderSeen[];
  /** Class pairs the run itself reported as reversed ("name (type)", sorted). */
  readonly reversals: [string, string][];
  /** Swarm exploration: the keys this seed's run changed in the base configuration (see _explore_swarm.ts). */
  readonly swarm?: Record<string, ConfigValue>;
}

/** A unit of work: run seeds lo, lo + step, ... below hi of a scenario with a resolved configuration. */
export interface RangeJob {
  /** A built-in scenario's name or a module path (see preloadScenario). */
  readonly scenario: string;
  readonly config: Config;
  readonly lo: number;
  readonly hi: number;
  /** Seed stride: 1, or a shard count (a shard explores every n-th seed). */
  readonly step: number;
  /** Swarm: each seed runs its own choice of faults and perturbation parameters. */
  readonly swarm?: boolean;
  /** Every run checks its configuration and derives its machine plan anew (no warm start: see {@link frozen}). */
  readonly cold?: boolean;
}

/** Runs one seed and returns its verdict. `knownOrders` filters orders already reported by this runner. */
export function exploreOne(
  scenario: string,
  config: Config,
  seed: number,
  knownOrders: Set<string>,
  swarm = false,
): Verdict {
  const graph = new LockOrderGraph();
  const choice = swarm ? swarmChoice(config, seed) : undefined;
  const out = execute(scenarioFor(scenario), {
    seed,
    config: choice === undefined ? config : { ...config, ...choice },
    lockGraph: graph,
  });
  const found: Found[] = [];
  for (const v of out.result.violations) {
    if (found.some((f) => f.kind === v.kind)) continue;
    found.push({ kind: v.kind, event: v.event, message: v.message });
  }
  const orders: OrderSeen[] = [];
  for (const [a, at, b, bt, seen] of graph.edges()) {
    const key = `${a}\u0000${at}\u0000${b}\u0000${bt}`;
    if (knownOrders.has(key)) continue;
    knownOrders.add(key);
    orders.push({ from: [a, at], to: [b, bt], seed, event: seen.event, thread: seen.thread });
  }
  const v: Verdict = { seed, events: out.result.events, found, orders, reversals: graph.reportedPairs() };
  return choice === undefined ? v : { ...v, swarm: choice };
}

/** Runs every seed of a job, in ascending order. */
export function exploreRange(job: RangeJob, knownOrders: Set<string>): Verdict[] {
  const out: Verdict[] = [];
  if (!(job.step >= 1)) throw new Error(`explore: bad seed step ${job.step}`);
  const config = frozen(job.config);
  for (let s = job.lo; s < job.hi; s += job.step) {
    out.push(exploreOne(job.scenario, job.cold === true ? { ...config } : config, s, knownOrders, job.swarm === true));
  }
  return out;
}

/**
 * `config` frozen (itself when it is, else a frozen copy): the warm start of
 * core/run.ts. The runs of one frozen configuration object share its check
 * and the machine plan derived from it (the cost table, CPUs, softint
 * priorities), made once; an unfrozen object is checked and planned again
 * for every run (a cold start; `cold` jobs do that, for the test that both
 * give identical results).
 */
export function frozen(config: Config): Config {
  return Object.isFrozen(config) ? config : Object.freeze({ ...config });
}

/** A sink collecting the non-default decisions of a run as a feed (keyed by decision ordinal). */
export class DecisionRecorder implements EventSink {
  readonly seq: number[] = [];
  readonly values: number[] = [];
  onEvent(e: EventRecord): void {
    if (e.kind !== KIND.decision) return;
    this.values.push(e.fields[2]);
    this.seq.push(e.fields[3]);
  }
  /** The recorded feed. */
  feed(): DecisionFeed {
    return { seq: this.seq.slice(), values: this.values.slice() };
  }
}

/**
 * One re-run of a shrink (a "test"): the run (scenario, config, seed)
 * following `decisions`, asked whether it gives a violation of `kind`.
 * Plain data, so a worker can run it (cli/_explore_pool.ts).
 */
export interface TestRequest {
  readonly scenario: string;
  readonly config: Config;
  readonly seed: number;
  readonly kind: string;
  /** Decisions to follow (absent: drawn from the seed's PRNG). */
  readonly decisions?: DecisionFeed;
  /** Run to the end and return the run's non-default decisions as a feed (the shrink's first run). */
  readonly record?: boolean;
}

/** What a test found. */
export interface TestResult {
  /** The first violation of the asked kind, or null. */
  readonly found: Found | null;
  /** The run's decisions (when `record` was asked). */
  readonly feed?: DecisionFeed;
}

/** Thrown by {@link StopAtViolation} to end a run early; caught by {@link runTest} only. */
export const STOP = new Error("explore: run stopped at its violation");

/**
 * A sink ending the run at its first violation of one kind: a shrink only
 * asks whether that kind happens and where, and nothing after the first one
 * can change it (the run up to an event depends only on what came before).
 */
export class StopAtViolation implements EventSink {
  constructor(readonly kindIndex: number) {}
  onEvent(e: EventRecord): void {
    if (e.kind === KIND.violation && e.fields[0] === this.kindIndex) throw STOP;
  }
}

/**
 * Runs a test: the first violation of `req.kind`, stopping the run there
 * (or the whole run and its decisions with `req.record`).
 */
export function runTest(req: TestRequest): TestResult {
  const scenario = scenarioFor(req.scenario);
  const config = req.config;
  if (req.record === true) {
    const rec = new DecisionRecorder();
    const out = execute(scenario, { seed: req.seed, config, decisions: req.decisions, sinks: [rec] });
    return { found: firstOf(out.result.violations, req.kind), feed: rec.feed() };
  }
  const k = (ENUMS.violation as readonly string[]).indexOf(req.kind);
  if (k < 0) throw new Error(`explore: unknown violation kind ${req.kind}`);
  let m: Machine | null = null;
  try {
    const out = execute(scenario, {
      seed: req.seed,
      config,
      decisions: req.decisions,
      sinks: [new StopAtViolation(k)],
      onSetup: (x) => void (m = x),
    });
    return { found: firstOf(out.result.violations, req.kind) };
  } catch (e) {
    if (e !== STOP || m === null) throw e;
    const found = firstOf((m as Machine).violations, req.kind);
    if (found === null) throw new Error(`explore: run stopped at a ${req.kind} it did not record`);
    return { found };
  }
}

function firstOf(violations: readonly Violation[], kind: string): Found | null {
  const v = violations.find((x) => x.kind === kind);
  return v === undefined ? null : { kind: v.kind, event: v.event, message: v.message };
}
