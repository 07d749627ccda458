/**
 * The query side of the viewer: run listing, run details, paged and filtered
 * events, rebuilt state and timeline aggregation over a folder of traces.
 * Everything goes through the reader's block index; a run's index (a small
 * occupancy grid and per-chunk snapshots, see `_query_index.ts`) is built in
 * one streaming pass on first use and cached, so memory stays bounded
 * whatever the trace size.
 *
 * @example
 * ```ts
 * import { RunQueries } from "./query.ts";
 * const q = new RunQueries("runs");
 * const [first] = q.list();
 * if (first) console.log(q.timeline(first.id, 0, Infinity, 500).cpus.length);
 * q.close();
 * ```
 * @module
 */
import { KINDS } from "../core/schema.ts";
import { type EventFilter, type EventPage, queryEvents } from "./_query_events.ts";
import { buildIndex, indexAtTime, type RunIndex } from "./_query_index.ts";
import { IndexFailed, IndexJobs, IndexPending } from "./_query_jobs.ts";
import { CompareJobs, type CompareOutcome } from "./_query_compare_jobs.ts";
import { INDEX_SUFFIX, IndexDamaged, loadIndex, saveIndex } from "./_query_store.ts";
import { type OpenRun, resolveRun, RunCache, runIds, RunNotFound } from "./_query_runs.ts";
import { type Timeline, timeline } from "./_query_timeline.ts";
import { counterTracks } from "./_query_counters.ts";
import { SEARCH_QUERY_MAX, searchEvents, type SearchResult } from "./_query_search.ts";
import { diffStates, type Divergence, eventAt, firstDifference } from "./_query_compare.ts";
import { TraceError } from "./reader.ts";
import { stateAt } from "./seek.ts";
import type { StateJson } from "./state.ts";

export { type EventFilter, type EventPage, EVENTS_LIMIT_MAX } from "./_query_events.ts";
export type { ThreadInfo, ViolationInfo } from "./_query_index.ts";
export { RunNotFound, type SkippedName } from "./_query_runs.ts";
export { IndexFailed, IndexPending } from "./_query_jobs.ts";
export { ComparePending } from "./_query_compare_jobs.ts";
export { INDEX_SUFFIX } from "./_query_store.ts";
export type {
  CounterTrack,
  LockSpan,
  PacketHops,
  Slice,
  ThreadStates,
  Timeline,
  WakeArrow,
} from "./_query_timeline.ts";
export { TraceError } from "./reader.ts";
export { SEARCH_QUERY_MAX, SEARCH_SCAN_MAX, type SearchResult } from "./_query_search.ts";
export type { Divergence } from "./_query_compare.ts";

/** Two runs side by side and where they part. */
export interface Comparison {
  a: RunDetail;
  b: RunDetail;
  /** Null when the runs are event-for-event identical. */
  divergence: Divergence | null;
}
export type { StateJson } from "./state.ts";
export type { TraceHeader } from "../format/format.ts";

/** Traces up to this size are indexed when listed, so the list shows their violations. */
export const LIST_INDEX_BYTES_MAX: number = 16 * 1024 * 1024;
/** Traces up to this size are indexed on the request even in background mode (a few ms). */
export const SYNC_INDEX_BYTES_MAX: number = 256 * 1024;
/** Events a preview index covers (a first view while a large run is indexed in the background). */
export const PREVIEW_EVENTS = 50_000;
/** A run's index if at hand; else how far its job is (`done` of `of`) and its preview if built. */
type IndexAtHand = { index?: RunIndex; done?: number; of?: number; preview?: RunIndex };

/** Runs {@link RunQueries.warm} looks at (newest first) for one whose index is at hand. */
const WARM_CANDIDATES_MAX = 8;
/** The warm-up's timeline width and event page: a first view's. */
const WARM_TIMELINE_PX = 1200;
const WARM_EVENTS = 50;

/** Large runs without a persisted index whose previews a starting server prepares (see {@link RunQueries.prepare}). */
export const PREPARE_RUNS_MAX = 4;
/** Longest {@link RunQueries.prepared} waits for the newest run's preview (a damaged or huge first block). */
const PREPARED_WAIT_MS_MAX = 3000;
/** Largest `px` a timeline request may ask for. */
export const TIMELINE_PX_MAX = 2000;

export {
  kindId,
  type RunDetail,
  type RunList,
  type RunListing,
  type RunStatus,
  type SchemaJson,
  schemaJson,
} from "./_query_api.ts";
import type { RunDetail, RunList, RunListing, RunStatus } from "./_query_api.ts";

/** Lock waits summed per class, keys in lock creation order (as the CLI prints them). */
function contentionOf(ix: RunIndex): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of ix.locks) {
    const n = ix.lockWaitsById.get(l.id) ?? 0;
    if (n > 0) out[l.cls] = (out[l.cls] ?? 0) + n;
  }
  return out;
}

function statusOf(ix: RunIndex): RunStatus {
  if (ix.damage !== undefined || !ix.hasFooter) return "damaged";
  return ix.violations.length > 0 ? "violations" : "clean";
}

/** Options of {@link RunQueries}. */
export interface RunQueriesOptions {
  /** Open runs kept (default 8). */
  cacheRuns?: number;
  /**
   * Build indexes in Workers (at most this many at once) instead of on the
   * caller's turn, and compare large runs in another; a query on a run not
   * indexed yet throws IndexPending (ComparePending while a comparison runs).
   * 0 (default): build synchronously. The workers start with the queries.
   */
  backgroundWorkers?: number;
  /** For tests: background index jobs start only once this settles. */
  indexGate?: Promise<unknown>;
}

/** Queries over the traces of one folder. Not safe to share across threads; all methods are synchronous. */
export class RunQueries {
  readonly #dir: string;
  readonly #cache: RunCache;
  readonly #jobs: IndexJobs | undefined;
  /** The newest run {@link prepare} has the Workers preview, if any. */
  #preparedPath: string | undefined;
  readonly #compares: CompareJobs | undefined;
  /** Runs whose persisted index was looked at and refused (not looked at again while the file is unchanged). */
  readonly #noStore = new WeakSet<OpenRun>();

  /** `dir` must exist; its real path bounds every file a query reads. */
  constructor(dir: string, opts: RunQueriesOptions = {}) {
    this.#dir = Deno.realPathSync(dir);
    this.#cache = new RunCache(opts.cacheRuns ?? 8);
    this.#jobs = opts.backgroundWorkers
      ? new IndexJobs(opts.backgroundWorkers, PREVIEW_EVENTS, opts.indexGate)
      : undefined;
    this.#compares = opts.backgroundWorkers ? new CompareJobs() : undefined;
  }

  /** The folder's real path. */
  /** Settles once the index Workers (background mode) have loaded; at once otherwise. */
  get ready(): Promise<void> {
    return this.#jobs?.ready ?? Promise.resolve();
  }

  get dir(): string {
    return this.#dir;
  }

  /**
   * Background mode: has the index workers build, while nothing else is
   * asked, the previews of the newest large runs (up to PREPARE_RUNS_MAX)
   * that have no persisted index, so a first open of one of them finds its
   * first view ready. A request for any run goes before these.
   */
  prepare(): void {
    if (!this.#jobs) return;
    const candidates: { path: string; mtime: number }[] = [];
    for (const id of runIds(this.#dir).ids) {
      try {
        const path = resolveRun(this.#dir, id);
        const st = Deno.statSync(path);
        if (st.size > SYNC_INDEX_BYTES_MAX) candidates.push({ path, mtime: st.mtime?.getTime() ?? 0 });
      } catch {
        // gone or unreadable: the listing reports it
      }
    }
    candidates.sort((a, b) => b.mtime - a.mtime);
    for (const { path } of candidates.slice(0, PREPARE_RUNS_MAX)) {
      try {
        const run = this.#cache.open(path);
        if (run.index || this.#index(run, false).index) continue;
        this.#jobs.speculate(run.path, run.key, run.reader.eventCount ?? 0);
        this.#preparedPath ??= run.path;
      } catch {
        // a damaged trace: opened (and reported) when asked for
      }
    }
  }

  /**
   * Runs a first view's queries (the detail, the whole-run timeline, the
   * first page of events, each turned into JSON) once on the newest run
   * whose index is at hand (persisted, or small), dropping the answers: the
   * code a first view runs on the server's thread is then compiled and the
   * run's index arrays read before a page asks. Cold, the whole-run timeline
   * of the 10 M-event run took ~50 ms in a quiet process and 100-500 ms while
   * Chromium loaded the page on the same two CPUs; warm, 3-13 ms
   * (docs/viewer-first-open.md). A never-indexed large run counts when its
   * preview exists ({@link prepared}); its whole index is not asked for.
   * Returns the run's id, or undefined when no run has an index or preview
   * at hand.
   */
  warm(): string | undefined {
    const runs: { id: string; mtime: number }[] = [];
    for (const id of runIds(this.#dir).ids) {
      try {
        runs.push({ id, mtime: Deno.statSync(resolveRun(this.#dir, id)).mtime?.getTime() ?? 0 });
      } catch {
        // gone or unreadable: the listing reports it
      }
    }
    runs.sort((a, b) => b.mtime - a.mtime);
    for (const { id } of runs.slice(0, WARM_CANDIDATES_MAX)) {
      try {
        const run = this.#cache.open(resolveRun(this.#dir, id));
        const ix = this.#index(run, false).index;
        if (ix) {
          JSON.stringify(this.detail(id));
          JSON.stringify(this.timeline(id, ix.tFirst, Infinity, WARM_TIMELINE_PX));
          JSON.stringify(this.events(id, 0, WARM_EVENTS, {}));
          return id;
        }
        // A prepared preview: the same queries on it, without asking for the whole index (that stays speculative).
        const pv = this.#jobs?.peek(run.path)?.preview;
        if (!pv) continue;
        JSON.stringify(this.#detailOf(id, pv));
        JSON.stringify(timeline(run.reader, pv, pv.tFirst, pv.tLast, WARM_TIMELINE_PX, true));
        JSON.stringify(queryEvents(run.reader, pv, 0, WARM_EVENTS, {}, run.cursor));
        return id;
      } catch {
        // a damaged run: reported when asked for
      }
    }
    return undefined;
  }

  /**
   * Settles once the preview of the newest run {@link prepare} queued exists
   * (or its job ended, or after PREPARED_WAIT_MS_MAX); at once when nothing
   * was prepared. The viewer listens after it, so the first open of that
   * run finds its first view built (the other prepared runs follow behind).
   */
  async prepared(): Promise<void> {
    const path = this.#preparedPath, jobs = this.#jobs;
    if (path === undefined || jobs === undefined) return;
    const until = performance.now() + PREPARED_WAIT_MS_MAX;
    for (;;) {
      const job = jobs.peek(path);
      if (!job || job.preview || job.state === "previewed" || job.state === "ready" || job.state === "failed") return;
      const left = until - performance.now();
      if (left <= 0) return;
      await jobs.changed(left);
    }
  }

  /** Every trace in the folder and its subfolders; small ones are indexed so their status is exact. */
  list(): RunList {
    const { ids, skipped } = runIds(this.#dir);
    return { runs: ids.map((id) => this.#listing(id)).filter((r): r is RunListing => r !== undefined), skipped };
  }

  /**
   * The index of an open run: its persisted index (only the head and meta are
   * read now; see `_query_store.ts`), or built now (synchronous mode), or
   * taken from a finished background job; undefined while one runs (`done`
   * of `of` then say how far, and `preview` is the index of the run's first
   * events once the job has built it).
   */
  #index(run: OpenRun, build = true): IndexAtHand {
    if (run.index) return { index: run.index };
    // Small traces index in milliseconds: a Worker's start-up would cost more than it saves.
    if (run.bytes <= SYNC_INDEX_BYTES_MAX) return { index: run.index = buildIndex(run.reader, run.bytes) };
    // A large run indexed before (by any process): its persisted index, bound to the trace's content.
    if (!this.#noStore.has(run)) {
      run.index = loadIndex(run.path, run.reader, run.bytes);
      if (run.index) return { index: run.index };
      this.#noStore.add(run);
    }
    if (!build) return {};
    if (!this.#jobs) {
      run.index = buildIndex(run.reader, run.bytes);
      saveIndex(run.path, run.reader, run.index);
      return { index: run.index };
    }
    const job = this.#jobs.request(run.path, run.key, run.reader.eventCount ?? 0);
    if (job.state === "failed") throw new IndexFailed(job.error ?? "indexing failed");
    if (job.state !== "ready") return { done: job.done, of: job.of, preview: job.preview };
    run.index = job.index;
    this.#jobs.release(job);
    return { index: run.index };
  }

  /**
   * Runs `fn` (a query over runs' indexes); when a persisted index turns
   * out damaged as it is read (IndexDamaged, thrown before any of the bad
   * data is used), drops it, deletes the file and runs `fn` again, which then
   * builds the index (synchronously, or in the background: IndexPending).
   */
  #guard<T>(fn: () => T): T {
    for (let tries = 0;; tries++) {
      try {
        return fn();
      } catch (err) {
        if (!(err instanceof IndexDamaged) || tries > 2) throw err;
        const run = this.#cache.peek(err.trace);
        if (run) {
          run.index = undefined;
          this.#noStore.add(run);
        }
        try {
          Deno.removeSync(err.trace + INDEX_SUFFIX);
        } catch {
          // a read-only folder: #noStore keeps it from being read again
        }
      }
    }
  }

  /**
   * Resolves when a background index job reports something (a preview, its
   * progress, its end) or after `ms`: a request that met IndexPending can
   * wait here and ask again instead of answering 202 at once.
   */
  changed(ms: number): Promise<void> {
    return this.#jobs ? this.#jobs.changed(ms) : Promise.resolve();
  }

  /**
   * What the run list knows of a run's index. Synchronous mode indexes runs
   * up to LIST_INDEX_BYTES_MAX here. In background mode listing starts no
   * job: a page listing the runs (or a client polling the list) would
   * otherwise start whole-index builds of every large run, which on two CPUs
   * compete with the first view of the run being opened; a large run is
   * indexed when opened (or previewed by {@link prepare}), and listed with
   * its job's progress meanwhile.
   */
  #listed(run: OpenRun, size: number): IndexAtHand {
    if (!this.#jobs) return size <= LIST_INDEX_BYTES_MAX || run.index ? this.#index(run) : {};
    const got = this.#index(run, false);
    if (got.index) return got;
    const job = this.#jobs.peek(run.path);
    if (job && job.key === run.key && (job.state === "queued" || job.state === "running") && !job.previewOnly) {
      return { done: job.done, of: job.of };
    }
    return {};
  }

  /** One run's entry; undefined for a name that does not resolve inside the folder (a symlink out). */
  #listing(id: string): RunListing | undefined {
    let size = 0;
    try {
      const path = resolveRun(this.#dir, id);
      size = Deno.statSync(path).size;
      const run = this.#cache.open(path);
      const built = this.#listed(run, size);
      const h = run.reader.header;
      const ix = built.index;
      const base = { id, scenario: h.scenario, seed: h.seed, cpus: h.cpus, size };
      if (ix) {
        const status = statusOf(ix);
        return { ...base, events: ix.events, simNs: ix.tLast, status, violations: ix.violations.length, indexed: true };
      }
      if (built.of !== undefined) {
        const progress = { done: built.done ?? 0, of: built.of };
        const events = run.reader.eventCount ?? null;
        return { ...base, events, simNs: null, status: "indexing", violations: null, indexed: false, progress };
      }
      const status = run.reader.hasFooter ? "unknown" : "damaged";
      return { ...base, events: run.reader.eventCount ?? null, simNs: null, status, violations: null, indexed: false };
    } catch (err) {
      if (err instanceof RunNotFound) return undefined;
      if (!(err instanceof TraceError) && !(err instanceof IndexFailed) && !(err instanceof Deno.errors.NotFound)) {
        throw err;
      }
      const empty = { scenario: null, seed: null, cpus: null, events: null, simNs: null, violations: null };
      return { id, size, ...empty, status: "damaged", indexed: false, error: err.message };
    }
  }

  /** Run `id` with its index; throws IndexPending while a background index is built. */
  #run(id: string): OpenRun & { index: RunIndex } {
    const run = this.#cache.open(resolveRun(this.#dir, id));
    const got = this.#index(run);
    if (!got.index) throw new IndexPending(got.done ?? 0, got.of ?? 0);
    return run as OpenRun & { index: RunIndex };
  }

  /** Header, figures and violations of run `id`. Throws RunNotFound, TraceError. */
  detail(id: string): RunDetail {
    return this.#guard(() => this.#detailOf(id, this.#run(id).index));
  }

  /**
   * While run `id` is indexed in the background: the detail of its first
   * PREVIEW_EVENTS events (marked `preview`), so the page can show a first
   * view at once; the whole detail once the index is ready.
   */
  preview(id: string): RunDetail {
    return this.#guard(() => {
      const got = this.#usable(id, () => true);
      if (!got.pending) return this.#detailOf(id, got.index);
      return { ...this.#detailOf(id, got.index), preview: { eventsTotal: got.total, ...got.pending } };
    });
  }

  /**
   * Run `id` with an index a query can use: the whole index, or while that is
   * built, the preview index when there is one and `fits` it (else IndexPending).
   */
  #usable(id: string, fits: (ix: RunIndex) => boolean) {
    const run = this.#cache.open(resolveRun(this.#dir, id));
    const got = this.#index(run);
    if (got.index) return { run, index: got.index, pending: undefined, total: got.index.events };
    const pending = { done: got.done ?? 0, of: got.of ?? 0 };
    if (!got.preview || !fits(got.preview)) throw new IndexPending(pending.done, pending.of);
    return { run, index: got.preview, pending, total: run.reader.eventCount ?? got.preview.events };
  }

  #detailOf(id: string, ix: RunIndex): RunDetail {
    const kinds: Record<string, number> = {};
    for (const k of KINDS) if (ix.kindCounts[k.id] > 0) kinds[k.name] = ix.kindCounts[k.id];
    const span = Math.max(1, ix.tLast - ix.tFirst);
    return {
      id,
      header: ix.header,
      size: ix.bytes,
      events: ix.events,
      tFirst: ix.tFirst,
      simNs: ix.tLast,
      hasFooter: ix.hasFooter,
      status: statusOf(ix),
      damage: ix.damage ?? (ix.hasFooter ? null : "no index footer (the writer did not close the file)"),
      endReason: ix.endReason ?? null,
      violations: ix.violations,
      summary: {
        kinds,
        cpuBusy: [...ix.busyNs].map((ns) => Math.round(ns / span * 1000) / 1000),
        contextSwitches: ix.switches,
        wakeups: ix.wakeups,
        crossCpuWakeups: ix.crossCpuWakeups,
        lockContention: contentionOf(ix),
        lockWaits: kinds["lock-wait"] ?? 0,
        lockAcquires: kinds["lock-acquire"] ?? 0,
        threads: ix.threads.size,
        locks: ix.locks.length,
      },
      threads: [...ix.threads.values()],
      locks: ix.locks,
    };
  }

  /** A page of run `id`'s events from index `from` passing `filter`. */
  events(id: string, from: number, limit: number, filter: EventFilter): EventPage {
    return this.#guard(() => {
      const { run, index, pending } = this.#usable(id, (ix) => from < ix.events);
      const page = queryEvents(run.reader, index, from, limit, filter, run.cursor);
      // A preview ends where its index does; the rest is answered once the whole index is built.
      if (pending && page.next === null) page.next = index.events;
      return page;
    });
  }

  /** The next (or previous) event of run `id` after (before) `from` whose text contains `q`. */
  search(id: string, q: string, from: number, dir: "next" | "prev"): SearchResult {
    if (q.length === 0 || q.length > SEARCH_QUERY_MAX) {
      throw new RangeError(`q must be 1..${SEARCH_QUERY_MAX} characters`);
    }
    return this.#guard(() => {
      const run = this.#run(id);
      return searchEvents(run.reader, run.index, q, from, dir);
    });
  }

  /**
   * Runs `a` and `b` side by side, with their first divergent event and the
   * state difference after it. In background mode the walk to the
   * divergence runs in a Worker unless both runs are small: meanwhile this
   * throws ComparePending (an IndexPending) with the events compared so far.
   */
  compare(a: string, b: string): Comparison {
    return this.#guard(() => this.#compare(a, b));
  }

  #compare(a: string, b: string): Comparison {
    const ra = this.#run(a), rb = this.#run(b);
    const da = this.detail(a), db = this.detail(b);
    const na = ra.index.events, nb = rb.index.events;
    let found: CompareOutcome;
    if (this.#compares && Math.max(ra.bytes, rb.bytes) > SYNC_INDEX_BYTES_MAX) {
      found = this.#compares.outcome(ra.path, ra.key, na, rb.path, rb.key, nb);
    } else {
      const event = firstDifference(ra.reader, na, rb.reader, nb);
      const after = (run: typeof ra) => stateAt(run.path, Math.min(event + 1, run.index.events));
      found = { event, stateDiff: event < 0 ? [] : diffStates(after(ra), after(rb)) };
    }
    const i = found.event;
    if (i < 0) return { a: da, b: db, divergence: null };
    return {
      a: da,
      b: db,
      divergence: {
        event: i,
        a: eventAt(ra.reader, ra.index, i),
        b: eventAt(rb.reader, rb.index, i),
        stateDiff: found.stateDiff,
      },
    };
  }

  /** Index of the first event at or after time `t` (the event count when none). */
  indexAtTime(id: string, t: number): number {
    return this.#guard(() => {
      const { run, index } = this.#usable(id, (ix) => t <= ix.tLast);
      return indexAtTime(run.reader, index, t, run.cursor);
    });
  }

  /** The machine state after event `at` (events [0, at] folded). Throws RangeError past the last event. */
  state(id: string, at: number): StateJson & { at: number } {
    const { run, total } = this.#guard(() => this.#usable(id, (ix) => at < ix.events));
    if (at >= total) throw new RangeError(`event ${at} is past the last event (${total - 1})`);
    return { at, ...stateAt(run.path, at + 1) };
  }

  /**
   * The timeline of [t0, t1] with at most `px` buckets per CPU (see `_query_timeline.ts`); `t1` Infinity: to
   * the end of the index the run has now (a preview's, while the whole index is built).
   */
  timeline(id: string, t0: number, t1: number, px: number): Timeline {
    return this.#guard(() => this.#timeline(id, t0, t1, px));
  }

  #timeline(id: string, t0: number, t1: number, px: number): Timeline {
    const { run, index, pending } = this.#usable(id, (ix) => t1 === Infinity || t1 <= ix.tLast);
    // A preview's whole window comes from its grid: the page's first view of a run being indexed, answered
    // without decoding (this thread's first decode of a run costs tens of milliseconds more, cold).
    const gridOnly = pending !== undefined && t0 <= index.tFirst && t1 >= index.tLast;
    const tl = timeline(run.reader, index, t0, t1, Math.max(1, Math.min(px, TIMELINE_PX_MAX)), gridOnly);
    if (tl.detail && index.events > 0) {
      const folded = counterTracks(run.path, run.reader, index, indexAtTime(run.reader, index, tl.t0), tl.t0, tl.t1);
      tl.counters = folded.counters;
      tl.threadStates = folded.threadStates;
      for (const ts of folded.threadStates) {
        const th = index.threads.get(ts.thread);
        if (th) tl.threads[ts.thread] ??= { name: th.name, kind: th.kind };
      }
    }
    return tl;
  }

  /** Closes the cached readers and stops index workers. */
  close(): void {
    this.#jobs?.close();
    this.#compares?.close();
    this.#cache.close();
  }
}
