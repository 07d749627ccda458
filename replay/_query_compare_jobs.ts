/**
 * Background comparisons: one Worker at a time (replay/_query_compare_worker.ts)
 * walks two runs to their first difference while the server keeps
 * answering; a request meanwhile gets {@link ComparePending} (the viewer
 * answers 202 with the progress) and the page polls. Results are kept per
 * pair of file identities.
 *
 * @module
 */
import { IndexPending } from "./_query_jobs.ts";

/** The comparison is running; `done` of `of` events compared so far. */
export class ComparePending extends IndexPending {
  constructor(done: number, of: number) {
    super(done, of);
    this.name = "ComparePending";
    this.message = `comparing: ${done} of ${of} events`;
  }
}

/** What a finished comparison found: the first differing event (-1: identical) and the state difference after it. */
export interface CompareOutcome {
  event: number;
  stateDiff: string[];
}

/** One comparison job. */
interface CompareJob {
  readonly key: string;
  readonly a: string;
  readonly b: string;
  readonly na: number;
  readonly nb: number;
  done: number;
  of: number;
  state: "queued" | "running" | "ready" | "failed";
  outcome?: CompareOutcome;
  error?: string;
}

/** Most comparisons remembered (the oldest finished ones go first). */
const JOBS_MAX = 64;

/** Comparison jobs by the identities of their two files. */
export class CompareJobs {
  readonly #jobs = new Map<string, CompareJob>();
  readonly #queue: CompareJob[] = [];
  #worker: Worker | undefined;

  /**
   * The comparison of `a` (identity `keyA`, `na` events) with `b`: its
   * outcome when finished; throws ComparePending while queued or running,
   * Error when it failed.
   */
  outcome(a: string, keyA: string, na: number, b: string, keyB: string, nb: number): CompareOutcome {
    const key = `${a}\n${keyA}\n${b}\n${keyB}`;
    let job = this.#jobs.get(key);
    if (!job) {
      job = { key, a, b, na, nb, done: 0, of: Math.min(na, nb), state: "queued" };
      this.#jobs.set(key, job);
      this.#trim();
      this.#queue.push(job);
      this.#pump();
    }
    if (job.state === "ready") return job.outcome!;
    if (job.state === "failed") {
      this.#jobs.delete(key); // asked again, it is tried again
      throw new Error(job.error ?? "comparison failed");
    }
    throw new ComparePending(job.done, job.of);
  }

  #trim(): void {
    for (const [k, j] of this.#jobs) {
      if (this.#jobs.size <= JOBS_MAX) return;
      if (j.state === "ready" || j.state === "failed") this.#jobs.delete(k);
    }
  }

  #pump(): void {
    if (this.#worker || this.#queue.length === 0) return;
    const job = this.#queue.shift()!;
    job.state = "running";
    const w = new Worker(new URL("./_query_compare_worker.ts", import.meta.url).href, { type: "module" });
    this.#worker = w;
    const finish = () => {
      w.terminate();
      this.#worker = undefined;
      this.#pump();
    };
    w.onmessage = (
      ev: MessageEvent<{ type: string; done?: number; of?: number; message?: string } & CompareOutcome>,
    ) => {
      const m = ev.data;
      if (m.type === "progress") [job.done, job.of] = [m.done!, m.of!];
      else if (m.type === "done") {
        job.outcome = { event: m.event, stateDiff: m.stateDiff };
        job.done = job.of;
        job.state = "ready";
        finish();
      } else {
        job.state = "failed";
        job.error = m.message ?? "comparison worker failed";
        finish();
      }
    };
    w.onerror = (ev) => {
      ev.preventDefault();
      job.state = "failed";
      job.error = `comparison worker: ${ev.message}`;
      finish();
    };
    w.postMessage({ a: job.a, b: job.b, na: job.na, nb: job.nb });
  }

  /** Stops the worker. */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#queue.length = 0;
  }
}
