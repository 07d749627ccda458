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
import { EventRecord, type EventSink } from "../core/event.ts";
import { FIELDS_MAX, KIND } from "../core/schema.ts";
import type { DecisionFeed } from "../core/machine.ts";
import { execute } from "../core/run.ts";
import type { Scenario } from "../core/scenario.ts";
import type { TraceHeader } from "../format/format.ts";
import { eventToJson, type StringLookup } from "../format/json.ts";
import { TraceReader } from "./reader.ts";
import { BlockCursor } from "./_blocks.ts";
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
const KIND_STR_DEF = KIND.strDef;

class Stop extends Error {}

/**
 * Compares produced events against a reader's, stopping at the first
 * difference. The recording is compared column by column in its decoded
 * block (no record is filled or iterator stepped per event): the columns
 * hold exactly what {@link DecodedBlock.fill} would copy.
 */
class Comparator implements EventSink {
  divergence: Divergence | null = null;
  readonly #reader: TraceReader;
  readonly #cur = new BlockCursor();
  /** The block being compared (-1 before the first), and the next event's position in it. */
  #block = -1;
  #i = 0;
  /** The recording has no more events (its end, or damage in recover mode). */
  #ended = false;
  readonly #prodStrings = new Map<number, string>();

  constructor(reader: TraceReader) {
    this.#reader = reader;
  }

  onEvent(p: EventRecord): void {
    if (p.kind === KIND_STR_DEF) this.#prodStrings.set(p.fields[0], p.text);
    let d = this.#cur.decoded;
    let i = this.#i;
    if (i >= d.count) {
      if (!this.#next()) return this.#diverge(p, null, p);
      d = this.#cur.decoded;
      i = this.#i;
    }
    this.#i = i + 1;
    const kind = d.kind[i];
    const f = d.fields, at = i * FIELDS_MAX, pf = p.fields;
    if (
      p.index !== d.firstIndex + i || p.tNs !== d.tNs[i] || p.cpu !== d.cpu[i] || p.thread !== d.thread[i] ||
      p.kind !== kind || pf[0] !== f[at] || pf[1] !== f[at + 1] || pf[2] !== f[at + 2] || pf[3] !== f[at + 3] ||
      pf[4] !== f[at + 4] || pf[5] !== f[at + 5] || p.text !== (kind === KIND_STR_DEF ? d.texts.get(i)! : "")
    ) {
      const r = new EventRecord();
      d.fill(i, r);
      return this.#diverge(p, r, r);
    }
  }

  /** After the run: the recording must not have more events. */
  finish(): void {
    if (this.divergence !== null) return;
    if (this.#i < this.#cur.decoded.count || this.#next()) {
      const r = new EventRecord();
      this.#cur.decoded.fill(this.#i, r);
      this.#diverge(null, r, r);
    }
  }

  /** Moves to the next block holding events; false when the recording has no more. */
  #next(): boolean {
    if (this.#ended) return false;
    // Damage ends the recording for good, as the reader's iterator does.
    this.#ended = true;
    const reader = this.#reader, cur = this.#cur;
    if (this.#block < 0) {
      this.#block = reader.locate(0, cur);
      if (this.#block < 0 || !reader.loadBlock(this.#block, cur)) return false;
      this.#i = -cur.decoded.firstIndex;
    } else {
      this.#block++;
      this.#i = 0;
      if (!reader.loadBlock(this.#block, cur)) return false;
    }
    this.#ended = false;
    // An empty block (none is written, but a reader must not trust that) moves on.
    return this.#i < cur.decoded.count ? true : this.#next();
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
