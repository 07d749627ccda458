/**
 * Background index building: `parallel` Workers (replay/_query_worker.ts),
 * started with the queries (so the first open does not wait for one to
 * load; {@link IndexJobs.ready} says when they have) and kept for every job, build run indexes while the server keeps
 * answering. A job first builds a preview (the index of the run's first
 * events, so the page can show something at once), then the whole index. A
 * request for a run whose index is not ready gets {@link IndexPending} (the
 * viewer waits a moment for the job to move on, then answers 202 with the
 * progress and the page polls).
 *
 * @module
 */
import { Occupancy, type RunIndex } from "./_query_index.ts";

/** The run's index is being built; `done` of `of` events read so far. */
export class IndexPending extends Error {
  constructor(readonly done: number, readonly of: number) {
    super(`indexing: ${done} of ${of} events`);
    this.name = "IndexPending";
  }
}

/** Index building failed (the trace is damaged beyond recovery). */
export class IndexFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IndexFailed";
  }
}

/** One job: a file identity (path and size:mtime key) and its progress or result. */
export interface IndexJob {
  readonly path: string;
  readonly key: string;
  done: number;
  of: number;
  /** "previewed": a speculative job ({@link IndexJobs.speculate}) built the preview only. */
  state: "queued" | "running" | "previewed" | "ready" | "failed";
  /** Only the preview is wanted (until a request for the run asks for the whole index). */
  previewOnly?: boolean;
  /** The index of the run's first events, once the worker has built it (before the whole index). */
  preview?: RunIndex;
  index?: RunIndex;
  error?: string;
}

/** Most jobs remembered (finished ones are dropped first). */
const JOBS_MAX = 256;

/** What a worker says about its job (see replay/_query_worker.ts). */
type WorkerMessage =
  | { type: "progress"; done: number; of: number }
  | { type: "preview"; index: RunIndex }
  | { type: "done"; index: RunIndex }
  | { type: "previewed" }
  | { type: "ready" }
  | { type: "error"; message: string };

/**
 * Gives the grid objects a worker sent back their methods again: structured
 * cloning keeps the fields (typed arrays, numbers) but not the class, and the
 * queries only call `cellOf`, which reads public fields.
 */
function revive(ix: RunIndex): RunIndex {
  for (const g of ix.levels) Object.setPrototypeOf(g, Occupancy.prototype);
  return ix;
}

/** A kept worker and the job it runs. */
interface Slot {
  worker: Worker;
  job: IndexJob | undefined;
  /** It said "ready" (or failed) already, or is a replacement. */
  loaded: boolean;
}

/** Index jobs by path. */
export class IndexJobs {
  readonly #jobs = new Map<string, IndexJob>();
  readonly #queue: IndexJob[] = [];
  readonly #slots: Slot[] = [];
  readonly #watchers = new Set<() => void>();
  #closed = false;
  #gated = false;
  #loading = 0;
  #loaded: () => void = () => {};
  /**
   * Settles once every worker started here has loaded its modules (or failed
   * to): the viewer listens only then, so a first view does not share the
   * CPUs with a Worker's start.
   */
  readonly ready: Promise<void> = new Promise((ok) => (this.#loaded = ok));

  /**
   * Starts `parallel` workers now. `previewEvents`: events a job's preview
   * covers (0: no preview). `gate`, for tests: jobs are handed to workers
   * only once it settles.
   */
  constructor(readonly parallel = 1, readonly previewEvents = 0, gate?: Promise<unknown>) {
    this.#loading = parallel;
    for (let i = 0; i < parallel; i++) this.#slots.push(this.#spawn());
    if (parallel === 0) this.#loaded();
    if (gate) {
      this.#gated = true;
      gate.finally(() => {
        this.#gated = false;
        this.#pump();
      });
    }
  }

  /**
   * The job for `path` at identity `key`, queued when new or when the file
   * changed, ahead of speculative ones; a speculative job for it is made a
   * whole one (its preview kept).
   */
  request(path: string, key: string, events: number): IndexJob {
    const have = this.#jobs.get(path);
    if (have && have.key === key) {
      if (have.previewOnly) {
        have.previewOnly = false;
        if (have.state === "queued") this.#queue.splice(this.#queue.indexOf(have), 1);
        // Queued again unless its worker is building the preview now (it goes on to the whole index then).
        if (have.state === "queued" || have.state === "previewed") {
          have.state = "queued";
          this.#enqueue(have);
        }
        this.#pump();
      }
      return have;
    }
    if (have && have.state === "queued") this.#queue.splice(this.#queue.indexOf(have), 1);
    const job: IndexJob = { path, key, done: 0, of: events, state: "queued" };
    this.#jobs.delete(path);
    this.#jobs.set(path, job);
    this.#trim();
    this.#enqueue(job);
    this.#pump();
    return job;
  }

  /**
   * Builds the preview of run `path` when a worker is free and nothing else
   * is asked (a server starting prepares the first view of the large runs
   * not indexed yet); a {@link request} for the run goes on to the whole
   * index. Nothing when the run has a job already.
   */
  speculate(path: string, key: string, events: number): void {
    if (this.#jobs.has(path)) return;
    const job: IndexJob = { path, key, done: 0, of: events, state: "queued", previewOnly: true };
    this.#jobs.set(path, job);
    this.#trim();
    this.#queue.push(job);
    this.#pump();
  }

  /** Queues `job` after the other wanted jobs and before the speculative ones. */
  #enqueue(job: IndexJob): void {
    const at = this.#queue.findIndex((j) => j.previewOnly);
    if (at < 0) this.#queue.push(job);
    else this.#queue.splice(at, 0, job);
  }

  /** The job for `path`, if any (nothing is queued or changed). */
  peek(path: string): IndexJob | undefined {
    return this.#jobs.get(path);
  }

  /** Forgets a finished job's index (its run now holds it). */
  release(job: IndexJob): void {
    if (this.#jobs.get(job.path) === job && job.state === "ready") this.#jobs.delete(job.path);
  }

  /**
   * Resolves at the next thing any job reports (a preview, progress, its
   * end) or after `ms`, whichever comes first; so a request can wait for
   * the run it wants without polling.
   */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#watchers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#watchers.add(done);
    });
  }

  #notify(): void {
    for (const w of [...this.#watchers]) w();
  }

  #trim(): void {
    for (const [p, j] of this.#jobs) {
      if (this.#jobs.size <= JOBS_MAX) return;
      if (j.state === "ready" || j.state === "failed" || j.state === "previewed") this.#jobs.delete(p);
    }
  }

  #spawn(): Slot {
    const slot: Slot = {
      worker: new Worker(new URL("./_query_worker.ts", import.meta.url).href, { type: "module" }),
      job: undefined,
      // A replacement worker (after a failure) does not count towards `ready`.
      loaded: this.#slots.length >= this.parallel,
    };
    slot.worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
      const m = ev.data;
      if (m.type === "ready") return this.#slotLoaded(slot);
      const job = slot.job;
      if (!job) return;
      if (m.type === "progress") [job.done, job.of] = [m.done, m.of];
      else if (m.type === "preview") job.preview = revive(m.index);
      else if (m.type === "previewed") {
        if (job.previewOnly) {
          job.state = "previewed";
          this.#finish(slot);
        } else {
          // Asked for while its preview was built: on to the whole index, on the same worker.
          slot.worker.postMessage({
            path: job.path,
            previewEvents: 0,
            previewOnly: false,
            previewSize: this.previewEvents,
          });
        }
      } else if (m.type === "done") {
        job.index = revive(m.index);
        job.preview = undefined;
        job.done = job.of = job.index.events;
        job.state = "ready";
        this.#finish(slot);
      } else {
        job.state = "failed";
        job.error = m.message ?? "index worker failed";
        this.#finish(slot);
      }
      this.#notify();
    };
    slot.worker.onerror = (ev) => {
      ev.preventDefault();
      this.#slotLoaded(slot);
      const job = slot.job;
      if (job) {
        job.state = "failed";
        job.error = `index worker: ${ev.message}`;
      }
      // The worker may be unusable: a new one takes its place.
      slot.worker.terminate();
      const i = this.#slots.indexOf(slot);
      if (i >= 0 && !this.#closed) this.#slots[i] = this.#spawn();
      this.#notify();
      this.#pump();
    };
    return slot;
  }

  /** One of the first workers loaded (or failed to load: a start is not held up by it). */
  #slotLoaded(slot: Slot): void {
    if (slot.loaded) return;
    slot.loaded = true;
    if (--this.#loading <= 0) this.#loaded();
  }

  #finish(slot: Slot): void {
    slot.job = undefined;
    this.#pump();
  }

  #pump(): void {
    if (this.#gated || this.#closed) return;
    for (const slot of this.#slots) {
      if (slot.job || this.#queue.length === 0) continue;
      const job = this.#queue.shift()!;
      job.state = "running";
      slot.job = job;
      const previewEvents = job.preview ? 0 : this.previewEvents;
      slot.worker.postMessage({
        path: job.path,
        previewEvents,
        previewOnly: job.previewOnly === true,
        previewSize: this.previewEvents,
      });
    }
  }

  /** Stops every worker. */
  close(): void {
    this.#closed = true;
    this.#loaded();
    for (const s of this.#slots) s.worker.terminate();
    this.#slots.length = 0;
    this.#queue.length = 0;
    this.#notify();
  }
}
