/**
 * Background index building: at most `parallel` Workers (replay/_query_worker.ts)
 * build run indexes while the server keeps answering. A request for a run
 * whose index is not ready gets {@link IndexPending} (the viewer answers 202
 * with the progress) and the page polls.
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
  state: "queued" | "running" | "ready" | "failed";
  /** The worker found no good persisted index and is building one (a preview is then worth its cost). */
  building?: boolean;
  index?: RunIndex;
  error?: string;
}

/** Most jobs remembered (finished ones are dropped first). */
const JOBS_MAX = 256;

/**
 * Gives the grid objects a worker sent back their methods again: structured
 * cloning keeps the fields (typed arrays, numbers) but not the class, and the
 * queries only call `cellOf`, which reads public fields.
 */
function revive(ix: RunIndex): RunIndex {
  for (const g of ix.levels) Object.setPrototypeOf(g, Occupancy.prototype);
  return ix;
}

/** Index jobs by path. */
export class IndexJobs {
  readonly #jobs = new Map<string, IndexJob>();
  readonly #queue: IndexJob[] = [];
  readonly #workers = new Set<Worker>();
  #running = 0;

  constructor(readonly parallel = 1) {}

  /** The job for `path` at identity `key`, queued when new or when the file changed. */
  request(path: string, key: string, events: number): IndexJob {
    const have = this.#jobs.get(path);
    if (have && have.key === key) return have;
    if (have && have.state === "queued") this.#queue.splice(this.#queue.indexOf(have), 1);
    const job: IndexJob = { path, key, done: 0, of: events, state: "queued" };
    this.#jobs.delete(path);
    this.#jobs.set(path, job);
    this.#trim();
    this.#queue.push(job);
    this.#pump();
    return job;
  }

  /** Forgets a finished job's index (its run now holds it). */
  release(job: IndexJob): void {
    if (this.#jobs.get(job.path) === job && job.state === "ready") this.#jobs.delete(job.path);
  }

  #trim(): void {
    for (const [p, j] of this.#jobs) {
      if (this.#jobs.size <= JOBS_MAX) return;
      if (j.state === "ready" || j.state === "failed") this.#jobs.delete(p);
    }
  }

  #pump(): void {
    while (this.#running < this.parallel && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      this.#running++;
      job.state = "running";
      const w = new Worker(new URL("./_query_worker.ts", import.meta.url).href, { type: "module" });
      this.#workers.add(w);
      const finish = () => {
        w.terminate();
        this.#workers.delete(w);
        this.#running--;
        this.#pump();
      };
      w.onmessage = (
        ev: MessageEvent<{ type: string; done?: number; of?: number; index?: RunIndex; message?: string }>,
      ) => {
        const m = ev.data;
        if (m.type === "progress") [job.done, job.of] = [m.done!, m.of!];
        else if (m.type === "building") job.building = true;
        else if (m.type === "done") {
          job.index = revive(m.index!);
          job.done = job.of = job.index.events;
          job.state = "ready";
          finish();
        } else {
          job.state = "failed";
          job.error = m.message ?? "index worker failed";
          finish();
        }
      };
      w.onerror = (ev) => {
        ev.preventDefault();
        job.state = "failed";
        job.error = `index worker: ${ev.message}`;
        finish();
      };
      w.postMessage({ path: job.path });
    }
  }

  /** Stops every worker. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers.clear();
    this.#queue.length = 0;
  }
}
