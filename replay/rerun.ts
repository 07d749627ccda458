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
import type { DecisionFeed, DecisionSource } from "../core/machine.ts";
import { execute } from "../core/run.ts";
import type { Scenario } from "../core/scenario.ts";
import type { TraceHeader } from "../format/format.ts";
import { eventToJson, type StringLookup } from "../format/json.ts";
import { TraceError, TraceReader } from "./reader.ts";
import { BlockCursor } from "./_blocks.ts";
import { type CheckResult, TraceFold } from "./check.ts";
import { ReadAhead, type ReadAheadOptions } from "./_read_ahead.ts";
import type { DecodedBlock } from "../format/decode.ts";

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
const KIND_DECISION = KIND.decision;

class Stop extends Error {}

/**
 * Compares produced events against a reader's, stopping at the first
 * difference. The recording is compared column by column in its decoded
 * block (no record is filled or iterator stepped per event): the columns
 * hold exactly what {@link DecodedBlock.fill} would copy.
 *
 * It is also the re-execution's {@link DecisionSource}: when the machine
 * reaches decision ordinal `seq`, every event before it has been compared,
 * so a non-default recorded outcome is the recording's next event (the
 * `decision` event the live run emitted right there). And when handed a
 * {@link TraceFold}, it folds each block as it first loads it, so one
 * decode serves the fold, the decisions and the comparison.
 */
class Comparator implements EventSink, DecisionSource {
  divergence: Divergence | null = null;
  readonly #reader: TraceReader;
  readonly #cur = new BlockCursor();
  /** The block being compared: the cursor's, or the read-ahead worker's slot. */
  #d: DecodedBlock = this.#cur.decoded;
  /** Blocks decoded ahead by a worker (null: decoded here, into the cursor). */
  readonly #feed: ReadAhead | null;
  /** The block being compared (-1 before the first), and the next event's position in it. */
  #block = -1;
  #i = 0;
  /** The recording has no more events (its end, or damage in recover mode). */
  #ended = false;
  readonly #prodStrings = new Map<number, string>();
  readonly #fold: TraceFold | null;
  /** Blocks folded so far (the next block to fold). */
  #folded = 0;

  constructor(reader: TraceReader, fold: TraceFold | null, feed: ReadAhead | null) {
    this.#reader = reader;
    this.#fold = fold;
    this.#feed = feed;
  }

  decision(seq: number): number {
    let d = this.#d;
    let i = this.#i;
    if (i >= d.count) {
      if (!this.#next()) return 0; // the recording ended: the comparison reports the event that follows
      d = this.#d;
      i = this.#i;
    }
    const at = i * FIELDS_MAX;
    return d.kind[i] === KIND_DECISION && d.fields[at + 3] === seq ? d.fields[at + 2] : 0;
  }

  onEvent(p: EventRecord): void {
    if (p.kind === KIND_STR_DEF) this.#prodStrings.set(p.fields[0], p.text);
    let d = this.#d;
    let i = this.#i;
    if (i >= d.count) {
      if (!this.#next()) return this.#diverge(p, null, p);
      d = this.#d;
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
    if (this.#i < this.#d.count || this.#next()) {
      const r = new EventRecord();
      this.#d.fill(this.#i, r);
      this.#diverge(null, r, r);
    }
  }

  /** Moves to the next block holding events; false when the recording has no more. */
  #next(): boolean {
    if (this.#ended) return false;
    // Damage ends the recording for good, as the reader's iterator does.
    this.#ended = true;
    const feed = this.#feed;
    if (feed !== null) {
      const d = feed.next();
      if (d === null) return false;
      this.#i = this.#block < 0 ? -d.firstIndex : 0;
      this.#block = d.block;
      this.#d = d;
    } else if (this.#block < 0) {
      const reader = this.#reader, cur = this.#cur;
      this.#block = reader.locate(0, cur);
      if (this.#block < 0 || !reader.loadBlock(this.#block, cur)) return false;
      this.#i = -cur.decoded.firstIndex;
    } else {
      this.#block++;
      this.#i = 0;
      if (!this.#reader.loadBlock(this.#block, this.#cur)) return false;
    }
    this.#ended = false;
    this.#foldLoaded();
    // An empty block (none is written, but a reader must not trust that) moves on.
    return this.#i < this.#d.count ? true : this.#next();
  }

  /** Folds the cursor's block when it is the next one the fold needs. */
  #foldLoaded(): void {
    const fold = this.#fold;
    if (fold === null || this.#d.block !== this.#folded) return;
    fold.block(this.#d);
    this.#folded++;
  }

  /** After the run (or its failure): folds the blocks the comparison did not reach. */
  foldRest(): void {
    const fold = this.#fold, feed = this.#feed;
    if (feed !== null && (fold !== null || feed.folds)) {
      // The worker hands out blocks in order, from the one after the last compared
      // (and, when it folds them, has its result and any damage at the end).
      for (let d = feed.next(); d !== null; d = feed.next()) {
        fold?.block(d);
        this.#folded++;
      }
      return;
    }
    if (fold === null) return;
    const reader = this.#reader, cur = this.#cur;
    // Blocks in order from the first unfolded; a strict reader throws at damage.
    if (this.#folded === 0 && reader.locate(0, cur) < 0) return;
    for (; reader.loadBlock(this.#folded, cur); this.#folded++) fold.block(cur.decoded);
  }

  #diverge(p: EventRecord | null, r: EventRecord | null, at: EventRecord): never | void {
    const prodLookup: StringLookup = { string: (id) => this.#prodStrings.get(id) };
    if (this.#feed !== null) {
      // The worker decoded the blocks: this reader learns the strings defined up to here
      // (a trace without a footer has them only in its blocks) as the one-thread pass did.
      try {
        this.#reader.locate(at.index, new BlockCursor());
      } catch {
        // damage further on is the worker's to report, where the one-thread pass met it
      }
    }
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
  /**
   * Whether a worker decodes blocks ahead of the comparison (results are the
   * same either way): by default for traces of 1 MB and more, unless
   * LOCKSTEP_REPLAY_THREADS=0.
   */
  readonly readAhead?: ReadAheadOptions;
}

/**
 * Re-executes the run recorded in `path` and returns the first divergence,
 * or null when every event is identical. Without `decisions`, the
 * recording's own are read as the comparison reaches them (one decode).
 */
export function rerunTrace(path: string, opts: RerunOptions): Divergence | null {
  const reader = TraceReader.open(path);
  try {
    return rerunReader(reader, path, opts.resolve, opts.decisions ?? null, opts.readAhead ?? {});
  } finally {
    reader.close();
  }
}

/** What {@link foldAndRerun} found. */
export interface FoldAndRerun {
  /** The fold and digest check of the whole trace, as {@link checkTrace} returns it. */
  readonly check: CheckResult;
  /** Where the re-execution first differed, or null. */
  readonly divergence: Divergence | null;
}

/**
 * {@link checkTrace} and {@link rerunTrace} with the recording's own
 * decisions in one pass: each block is decoded once, folded, then compared
 * with the re-execution's events; the blocks past a divergence are folded
 * after it. Damage throws the TraceError the fold alone would, and before
 * any error of the scenario or its resolver (as when the fold ran first).
 */
export function foldAndRerun(
  path: string,
  resolve: ScenarioResolver,
  readAhead: ReadAheadOptions = {},
): FoldAndRerun {
  const reader = TraceReader.open(path);
  // Started after this thread read the header, so header damage is reported as before.
  let ahead: ReadAhead | null = null;
  try {
    // A worker reading ahead folds too: this thread re-executes and compares.
    ahead = ReadAhead.start(path, { ...readAhead, fold: true });
    const fold = ahead === null ? new TraceFold(reader) : null;
    const divergence = compare(reader, resolve, null, fold, ahead);
    return { check: fold !== null ? fold.result() : ahead!.foldResult(reader.header), divergence };
  } finally {
    ahead?.close();
    reader.close();
  }
}

/** Re-executes against `reader` (decoding ahead on a worker when `readAhead` allows), following `feed` or (null) the recording's decisions. */
function rerunReader(
  reader: TraceReader,
  path: string,
  resolve: ScenarioResolver,
  feed: DecisionFeed | null,
  readAhead: ReadAheadOptions,
): Divergence | null {
  // Started after this thread read the header, so header damage is reported as before.
  const ahead = ReadAhead.start(path, readAhead);
  try {
    return compare(reader, resolve, feed, null, ahead);
  } finally {
    ahead?.close();
  }
}

/**
 * Re-executes against `reader` (blocks from `ahead` when given), following
 * `feed` or (null) the recording's decisions; folds into `fold` if given, or
 * lets `ahead`'s worker fold.
 */
function compare(
  reader: TraceReader,
  resolve: ScenarioResolver,
  feed: DecisionFeed | null,
  fold: TraceFold | null,
  ahead: ReadAhead | null,
): Divergence | null {
  const h = reader.header;
  const cmp = new Comparator(reader, fold, ahead);
  try {
    const scenario = resolve(h);
    execute(scenario, { seed: h.seed, config: { ...h.config }, sinks: [cmp], decisions: feed ?? cmp });
  } catch (e) {
    if (e instanceof Stop) {
      // The divergence is placed; the fold goes on below.
    } else {
      // Damage and fold failures are the trace's fault and come first; otherwise the
      // fold still reports damage further on before the scenario's own error.
      if (!(e instanceof TraceError)) cmp.foldRest();
      throw e;
    }
  }
  cmp.finish();
  cmp.foldRest();
  return cmp.divergence;
}
