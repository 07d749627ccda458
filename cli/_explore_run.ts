/**
 * One exploration run and its verdict, shared by the workers and the main
 * thread: run a seed, keep the first violation of each kind and the lock
 * orders the run established (for the exploration-wide WITNESS graph).
 * @module
 */
import type { Config, ConfigValue } from "../core/config.ts";
import { LockOrderGraph } from "../core/detect/mod.ts";
import type { EventRecord, EventSink } from "../core/event.ts";
import type { DecisionFeed } from "../core/machine.ts";
import { KIND } from "../core/schema.ts";
import { execute } from "../core/run.ts";
import type { Scenario } from "../core/scenario.ts";
import { findScenario } from "../drivers/mod.ts";
import { isModuleArg, loadModule } from "./_scenario.ts";
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
  const out = execute(scenarioFor(scenario), { seed, config: { ...config, ...choice }, lockGraph: graph });
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
  for (let s = job.lo; s < job.hi; s += job.step) {
    out.push(exploreOne(job.scenario, job.config, s, knownOrders, job.swarm === true));
  }
  return out;
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

/** Runs a seed (optionally following `decisions`) and returns its first violation of `kind`, or null. */
export function violationOf(
  scenario: string,
  config: Config,
  seed: number,
  kind: string,
  decisions?: DecisionFeed,
  sinks?: EventSink[],
): Found | null {
  const out = execute(scenarioFor(scenario), { seed, config: { ...config }, decisions, sinks });
  const v = out.result.violations.find((x) => x.kind === kind);
  return v === undefined ? null : { kind: v.kind, event: v.event, message: v.message };
}
