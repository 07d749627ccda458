/**
 * Stage three of replay: re-execute a recorded run with the current code
 * (same scenario, configuration and seed from the header, following the
 * recorded schedule decisions) and compare event by event. The first
 * difference is reported with the events just before it.
 *
 * @example
 * ```ts
 * import { rerunTrace } from "./rerun.ts";
 * import { findScenario } from "../drivers/mod.ts";
 * const d = rerunTrace("runs/taskq-demo-1.lstrace", { resolve: (h) => findScenario(h.scenario) });
 * d === null; // identical
 * ```
 * @module
 */
import type { EventRecord, EventSink } from "../core/event.ts";
import type { DecisionFeed } from "../core/machine.ts";
import { execute } from "../core/run.ts";
import type { Scenario } from "../core/scenario.ts";
import type { TraceHeader } from "../format/format.ts";
import { eventToJson, type StringLookup } from "../format/json.ts";
import { TraceReader } from "./reader.ts";
import { checkTrace } from "./check.ts";

/** Where a re-execution first differs from the recording. */
export interface Divergence {
  /** Index of the first differing event. */
  readonly event: number;
  /** Its time, ns. */
  readonly tNs: number;
  /** Its CPU. */
  readonly cpu: number;
  /** Its thread. */
  readonly thread: number;
  /** The recorded event (null when the recording ended first). */
  readonly recorded: Record<string, unknown> | null;
  /** The produced event (null when the re-execution ended first). */
  readonly produced: Record<string, unknown> | null;
  /** Up to five recorded events before it. */
  readonly before: Record<string, unknown>[];
}

const BEFORE_MAX = 5;

class Stop extends Error {}

/** Compares produced events against a reader's, stopping at the first difference. */
class Comparator implements EventSink {
  divergence: Divergence | null = null;
  readonly #it: Iterator<EventRecord>;
  readonly #reader: TraceReader;
  readonly #prodStrings = new Map<number, string>();

  constructor(reader: TraceReader) {
    this.#it = reader.events(0);
    this.#reader = reader;
  }

  onEvent(p: EventRecord): void {
    if (p.kind === 0) this.#prodStrings.set(p.fields[0], p.text);
    const n = this.#it.next();
    if (n.done) return this.#diverge(p, null, p);
    const r = n.value;
    if (!same(r, p)) return this.#diverge(p, r, r);
  }

  /** After the run: the recording must not have more events. */
  finish(): void {
    if (this.divergence !== null) return;
    const n = this.#it.next();
    if (!n.done) this.#diverge(null, n.value, n.value);
  }

  #diverge(p: EventRecord | null, r: EventRecord | null, at: EventRecord): never | void {
    const prodLookup: StringLookup = { string: (id) => this.#prodStrings.get(id) };
    const recorded = r === null ? null : eventToJson(r, this.#reader);
    const produced = p === null ? null : eventToJson(p, prodLookup);
    const event = at.index, tNs = at.tNs, cpu = at.cpu, thread = at.thread;
    // The context is read back from the trace only now: nothing is kept per event while they agree.
    const before: Record<string, unknown>[] = [];
    for (let i = Math.max(0, event - BEFORE_MAX); i < event; i++) {
      const e = this.#reader.readEvent(i);
      if (e !== undefined) before.push(eventToJson(e, this.#reader));
    }
    this.divergence = { event, tNs, cpu, thread, recorded, produced, before };
    if (p !== null) throw new Stop();
  }
}

function same(a: EventRecord, b: EventRecord): boolean {
  if (a.index !== b.index || a.tNs !== b.tNs || a.cpu !== b.cpu || a.thread !== b.thread || a.kind !== b.kind) {
    return false;
  }
  for (let i = 0; i < a.fields.length; i++) if (a.fields[i] !== b.fields[i]) return false;
  return a.text === b.text;
}

/**
 * Finds the scenario a trace header names. Replay is handed one instead of
 * importing scenarios: the CLI's resolves built-in names and loads a user's
 * module from the path the header records. Throws for a scenario it cannot
 * provide (the CLI's throws its ConfigError, exit 2).
 */
export type ScenarioResolver = (header: TraceHeader) => Scenario;

/** Options of {@link rerunTrace}. */
export interface RerunOptions {
  /** Provides the scenario the header names. */
  readonly resolve: ScenarioResolver;
  /** Decisions to follow; the recording's own when omitted. */
  readonly decisions?: DecisionFeed;
}

/**
 * Re-executes the run recorded in `path` and returns the first divergence,
 * or null when every event is identical.
 */
export function rerunTrace(path: string, opts: RerunOptions): Divergence | null {
  const feed = opts.decisions ?? checkTrace(path).decisions;
  const reader = TraceReader.open(path);
  try {
    const h = reader.header;
    const cmp = new Comparator(reader);
    try {
      const scenario = opts.resolve(h);
      execute(scenario, { seed: h.seed, config: { ...h.config }, sinks: [cmp], decisions: feed });
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
    }
    cmp.finish();
    return cmp.divergence;
  } finally {
    reader.close();
  }
}
