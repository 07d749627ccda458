/**
 * The workers of an exploration, started once and kept for the whole of it:
 * each imports the module graph (and a user's scenario module) once, then
 * runs ranges of seeds and shrinks as they are handed out, one task at a
 * time, until {@link Pool.close}. A free worker takes a waiting shrink
 * before the next range of seeds, so a finding is shrunk on one worker
 * while the others go on with the seeds. A whole shrink is one task (its
 * re-runs depend on each other's answers): one message each way, however
 * many re-runs, so a loaded machine's scheduling delays are paid once per
 * task, not once per re-run.
 *
 * With one job there are no workers: {@link inlineRunner} runs everything on
 * the calling thread, in order.
 * @module
 */
import { exploreRange, type RangeJob, type Verdict } from "./_explore_run.ts";
import { shrinkFinding, type Shrinking, type ShrinkRequest } from "./_explore_shrink.ts";

/** Runs the work of an exploration: ranges of seeds and shrinks of findings. */
export interface Runner {
  /** Runs a range of seeds; the verdicts come in seed order. */
  range(job: RangeJob): Promise<Verdict[]>;
  /** Shrinks one finding (the same answer wherever it runs). */
  shrink(req: ShrinkRequest): Promise<Shrinking>;
  /** Stops the workers (idempotent). */
  close(): void;
}

/** A runner on the calling thread: every task runs when asked, in order. */
export function inlineRunner(): Runner {
  const known = new Set<string>();
  return {
    range: (job) => Promise.resolve(exploreRange(job, known)),
    shrink: (req) => shrinkFinding(req),
    close() {},
  };
}

/** Messages main -> worker. */
export type ToWorker =
  | { readonly type: "range"; readonly job: RangeJob }
  | { readonly type: "shrink"; readonly req: ShrinkRequest };

/** Messages worker -> main. */
export type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "results"; readonly verdicts: Verdict[] }
  | { readonly type: "shrunk"; readonly shrunk: Shrinking }
  | { readonly type: "error"; readonly message: string };

/** A task waiting for a worker or running on one. */
type Task =
  | { readonly msg: ToWorker & { type: "range" }; readonly resolve: (v: Verdict[]) => void }
  | { readonly msg: ToWorker & { type: "shrink" }; readonly resolve: (v: Shrinking) => void };

/** A pool of `jobs` workers (see the module doc). */
export class Pool implements Runner {
  readonly #workers: Worker[] = [];
  readonly #busy: (Task | null)[] = [];
  readonly #ready: boolean[] = [];
  readonly #ranges: Task[] = [];
  readonly #shrinks: Task[] = [];
  #failure: Error | null = null;
  readonly #rejects = new Set<(e: Error) => void>();

  constructor(jobs: number) {
    if (!(jobs >= 1 && jobs <= 64)) throw new Error(`explore: jobs ${jobs} out of range`);
    for (let k = 0; k < jobs; k++) {
      const w = new Worker(new URL("./_explore_worker.ts", import.meta.url).href, { type: "module" });
      this.#workers.push(w);
      this.#busy.push(null);
      this.#ready.push(false);
      w.onmessage = (ev: MessageEvent<FromWorker>) => this.#onMessage(k, ev.data);
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        this.#fail(e.message);
      };
    }
  }

  range(job: RangeJob): Promise<Verdict[]> {
    return this.#promise<Verdict[]>((resolve) => this.#ranges.push({ msg: { type: "range", job }, resolve }));
  }

  shrink(req: ShrinkRequest): Promise<Shrinking> {
    return this.#promise<Shrinking>((resolve) => this.#shrinks.push({ msg: { type: "shrink", req }, resolve }));
  }

  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers.length = 0;
  }

  /** Queues a task (by `enqueue`) with a promise that also rejects when the pool fails. */
  #promise<T>(enqueue: (resolve: (v: T) => void) => void): Promise<T> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      this.#rejects.add(reject);
      enqueue((v) => {
        this.#rejects.delete(reject);
        resolve(v);
      });
      this.#pump();
    });
  }

  #fail(message: string): void {
    if (this.#failure !== null) return;
    this.#failure = new Error(`explore worker: ${message}`);
    this.close();
    for (const r of this.#rejects) r(this.#failure);
    this.#rejects.clear();
  }

  #onMessage(k: number, msg: FromWorker): void {
    if (this.#failure !== null) return;
    if (msg.type === "error") return this.#fail(msg.message);
    const task = this.#busy[k];
    this.#busy[k] = null;
    this.#ready[k] = true;
    if (msg.type === "results" && task?.msg.type === "range") {
      (task.resolve as (v: Verdict[]) => void)(msg.verdicts);
    } else if (msg.type === "shrunk" && task?.msg.type === "shrink") {
      (task.resolve as (v: Shrinking) => void)(msg.shrunk);
    } else if (msg.type !== "ready" || task !== null) return this.#fail(`unexpected message ${msg.type}`);
    // After the result's own callbacks (microtasks queued by resolve): a shrink they queue goes first.
    queueMicrotask(() => this.#pump());
  }

  /** Gives every free worker the next task: a waiting shrink first, else the next range. */
  #pump(): void {
    for (let k = 0; k < this.#workers.length; k++) {
      if (!this.#ready[k] || this.#busy[k] !== null) continue;
      const task = this.#shrinks.shift() ?? this.#ranges.shift();
      if (task === undefined) return;
      this.#busy[k] = task;
      this.#workers[k].postMessage(task.msg);
    }
  }
}
