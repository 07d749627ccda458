/**
 * What an exploration reports, shared by a whole run, a shard and a merge of
 * shards: the findings, their selection from the verdicts, and the lock
 * order reversals across runs.
 * @module
 */
import type { ConfigValue } from "../core/config.ts";
import { LockOrderGraph } from "../core/detect/mod.ts";
import { reversalMessage } from "../core/detect/witness.ts";
import { ENUMS } from "../core/schema.ts";
import type { Found, Verdict } from "./_explore_run.ts";

/** Findings that are shrunk and recorded (the rest of an `--all` list is reported without a trace). */
export const RECORD_MAX = 50;

/** A shard of an exploration: seeds index+1, index+1+count, ... (every count-th seed). */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** One reported finding (the `found` entries of `--json`). */
export interface Finding {
  readonly seed: number;
  readonly kind: string;
  /** Event index of the violation in the exploration run. */
  readonly event: number;
  readonly message: string;
  /** Runs (of all explored) that had this kind. */
  readonly runsWithKind: number;
  /** The recorded, shrunk trace (null beyond RECORD_MAX). */
  readonly trace: string | null;
  /** `deno task run ...` reproducing the exploration run. */
  readonly reproduce: string;
  /** `deno task replay TRACE` (null without a trace). */
  readonly replay: string | null;
  readonly shrunk:
    | { readonly decisions: number; readonly from: number; readonly runs: number; readonly event: number }
    | null;
  /** Swarm: the faults the exploration run had on (`key=value`). */
  readonly faults?: readonly string[];
  /** Swarm: those still on in the shrunk trace (the ones the violation needs). */
  readonly faultsNeeded?: readonly string[];
}

/** A lock order reversal whose two orders were established in different runs. */
export interface CrossRunReversal {
  readonly seeds: [number, number];
  readonly message: string;
}

/** The exploration report. */
export interface ExploreReport {
  readonly scenario: string;
  readonly runs: number;
  readonly found: Finding[];
  readonly crossRun: CrossRunReversal[];
}

/** A finding picked from the verdicts, before shrinking. */
export interface Picked {
  readonly seed: number;
  readonly found: Found;
  /** Runs that had this kind. */
  readonly count: number;
  /** Swarm: the run's choice of keys. */
  readonly swarm?: Record<string, ConfigValue>;
}

/** `key=value` words of the fault keys of a swarm choice (what a finding lists). */
export function faultWords(choice: Record<string, ConfigValue>): string[] {
  return Object.keys(choice).filter((k) => k.startsWith("fault.")).map((k) => `${k}=${choice[k]}`);
}

/** The findings to report: the lowest seed of each kind, or every (seed, kind) with `all`. */
export function selectFindings(verdicts: Verdict[], all: boolean): Picked[] {
  const count = new Map<string, number>();
  for (const v of verdicts) for (const f of v.found) count.set(f.kind, (count.get(f.kind) ?? 0) + 1);
  const out: Picked[] = [];
  const taken = new Set<string>();
  for (const v of verdicts) {
    for (const f of v.found) {
      if (!all && taken.has(f.kind)) continue;
      taken.add(f.kind);
      const p: Picked = { seed: v.seed, found: f, count: count.get(f.kind) as number };
      out.push(v.swarm === undefined ? p : { ...p, swarm: v.swarm });
    }
  }
  const rank = (k: string) => (ENUMS.violation as readonly string[]).indexOf(k);
  return out.sort((a, b) => a.seed - b.seed || rank(a.found.kind) - rank(b.found.kind));
}

/** Merges every run's lock orders, in seed order, into one graph: reversals across runs. */
export function crossRunReversals(verdicts: Verdict[]): CrossRunReversal[] {
  const inRun = new Set<string>();
  for (const v of verdicts) for (const [a, b] of v.reversals) inRun.add(`${a}\u0000${b}`);
  const orders = verdicts.flatMap((v) => v.orders).sort((x, y) => x.seed - y.seed || x.event - y.event);
  const g = new LockOrderGraph();
  const out: CrossRunReversal[] = [];
  for (const o of orders) {
    const a = g.classOf(o.from[0], o.from[1]), b = g.classOf(o.to[0], o.to[1]);
    const seen = { event: o.event, thread: o.thread, run: `seed ${o.seed}` };
    if (!g.reaches(b, a)) {
      g.addEdge(a, b, seen);
      continue;
    }
    const key = [`${a.name} (${a.type})`, `${b.name} (${b.type})`].sort().join("\u0000");
    if (inRun.has(key) || !g.firstReport(a, b)) continue;
    const chain = g.chain(b, a) as NonNullable<ReturnType<typeof g.chain>>;
    const first = g.edge(chain[0], chain[1]);
    out.push({
      seeds: [first === undefined ? o.seed : Number(first.run.slice(5)), o.seed],
      message: reversalMessage(g, a, b, seen),
    });
  }
  return out;
}

/** The `explore --json` object (shared/PRODUCT.md), also what `explore merge --json` prints (with `missing`). */
export function reportJson(r: ExploreReport): Record<string, unknown> {
  const found = r.found.map((f) => ({
    seed: f.seed,
    kind: f.kind,
    trace: f.trace,
    reproduce: f.reproduce,
    replay: f.replay,
    event: f.event,
    message: f.message,
    ...(f.faults !== undefined ? { faults: f.faults } : {}),
    ...(f.faultsNeeded !== undefined ? { faultsNeeded: f.faultsNeeded } : {}),
  }));
  return { scenario: r.scenario, runs: r.runs, found, crossRun: r.crossRun };
}
