/**
 * The workers of an exploration, started once and kept for the whole of it:
 * each imports the module graph (and a user's scenario module) once, then
 * runs ranges of seeds and shrink tests as they are handed out, one task at
 * a time, until {@link Pool.close}.
 *
 * What a free worker is given, in order of preference:
 * 1. the next test a shrink is waiting for (a test every earlier test of its
 *    round has answered "no" to), so shrinking runs alongside the seeds
 *    instead of after them;
 * 2. the next range of seeds (ascending);
 * 3. a later test of a shrink's round, speculatively (only when nothing else
 *    is left: its answer is wasted when an earlier test of the round says
 *    "yes").
 * A round's answer is the first "yes" in the round's order, so it is the
 * same as running its tests one at a time, whatever ran at once.
 *
 * With one job there are no workers: {@link inlineRunner} runs everything on
 * the calling thread, in order.
 * @module
 */
import {
  exploreRange,
  type Found,
  type RangeJob,
  type TestRequest,
  type TestResult,
  type Verdict,
} from "./_explore_run.ts";
import { INLINE, type Oracle } from "./_explore_shrink.ts";

/** Runs the work of an exploration: ranges of seeds and shrink tests. */
export interface Runner extends Oracle {
  /** Runs a range of seeds; the verdicts come in seed order. */
  range(job: RangeJob): Promise<Verdict[]>;
  /** Stops the workers (idempotent). */
  close(): void;
}

/** A runner on the calling thread: every task runs when asked, in order. */
export function inlineRunner(): Runner {
  const known = new Set<string>();
  return { ...INLINE, range: (job) => Promise.resolve(exploreRange(job, known)), close() {} };
}

/** Messages main -> worker. */
export type ToWorker =
  | { readonly type: "range"; readonly job: RangeJob }
  | { readonly type: "test"; readonly req: TestRequest };

/** Messages worker -> main. */
export type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "results"; readonly verdicts: Verdict[] }
  | { readonly type: "tested"; readonly result: TestResult }
  | { readonly type: "error"; readonly message: string };

/** A round of tests: answered by the first "yes" in order (see the module doc). */
class Round {
  /** WAIT, RUN, NO or YES per test. */
  readonly state: Uint8Array;
  /** Each finished test's result. */
  readonly results: (TestResult | null)[];
  settled = false;
  constructor(
    readonly reqs: readonly TestRequest[],
    /** Called once with the answer: the index of the first "yes", or -1 when every test said "no". */
    readonly done: (index: number) => void,
  ) {
    this.state = new Uint8Array(reqs.length);
    this.results = reqs.map(() => null);
  }
  /** The first test not started, and whether every test before it said "no". */
  next(): { index: number; primary: boolean } | null {
    let primary = true;
    for (let i = 0; i < this.state.length; i++) {
      const s = this.state[i];
      if (s === WAIT) return { index: i, primary };
      if (s !== NO) primary = false;
    }
    return null;
  }
  /** Records a finished test; settles the round once its answer is known (a YES with only NO before it, or all NO). */
  finish(index: number, r: TestResult): void {
    this.state[index] = r.found === null ? NO : YES;
    this.results[index] = r;
    if (this.settled) return; // a speculative test that finished after the answer
    for (let i = 0; i < this.state.length; i++) {
      const s = this.state[i];
      if (s === NO) continue;
      if (s !== YES) return;
      this.settled = true;
      return this.done(i);
    }
    this.settled = true;
    this.done(-1);
  }
}
const WAIT = 0, RUN = 1, NO = 2, YES = 3;

/** The task a worker is running. */
type Busy =
  | { readonly kind: "range"; readonly resolve: (v: Verdict[]) => void }
  | { readonly kind: "test"; readonly round: Round; readonly index: number };

/** A pool of `jobs` workers (see the module doc). */
export class Pool implements Runner {
  readonly #workers: Worker[] = [];
  readonly #busy: (Busy | null)[] = [];
  readonly #ready: boolean[] = [];
  readonly #ranges: { job: RangeJob; resolve: (v: Verdict[]) => void }[] = [];
  #rounds: Round[] = [];
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
    return this.#promise((resolve) => {
      this.#ranges.push({ job, resolve });
      this.#pump();
    });
  }

  one(req: TestRequest): Promise<TestResult> {
    return this.#promise((resolve) => {
      const round: Round = new Round([req], () => resolve(round.results[0] as TestResult));
      this.#rounds.push(round);
      this.#pump();
    });
  }

  first(reqs: readonly TestRequest[]): Promise<{ index: number; found: Found } | null> {
    if (reqs.length === 0) return Promise.resolve(null);
    return this.#promise((resolve) => {
      const round: Round = new Round(
        reqs,
        (i) => resolve(i < 0 ? null : { index: i, found: round.results[i]?.found as Found }),
      );
      this.#rounds.push(round);
      this.#pump();
    });
  }

  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers.length = 0;
  }

  /** A promise that also rejects when the pool fails. */
  #promise<T>(start: (resolve: (v: T) => void) => void): Promise<T> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      this.#rejects.add(reject);
      start((v) => {
        this.#rejects.delete(reject);
        resolve(v);
      });
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
    const busy = this.#busy[k];
    this.#busy[k] = null;
    this.#ready[k] = true;
    if (msg.type === "results" && busy?.kind === "range") busy.resolve(msg.verdicts);
    else if (msg.type === "tested" && busy?.kind === "test") {
      busy.round.finish(busy.index, msg.result);
    } else if (msg.type !== "ready" || busy !== null) return this.#fail(`unexpected message ${msg.type}`);
    this.#pump();
  }

  /** Gives every free worker the best task there is (see the module doc). */
  #pump(): void {
    this.#rounds = this.#rounds.filter((r) => !r.settled);
    for (let k = 0; k < this.#workers.length; k++) {
      if (!this.#ready[k] || this.#busy[k] !== null) continue;
      const pick = this.#pick();
      if (pick === null) return;
      if ("job" in pick) {
        this.#busy[k] = { kind: "range", resolve: pick.resolve };
        this.#post(k, { type: "range", job: pick.job });
      } else {
        pick.round.state[pick.index] = RUN;
        this.#busy[k] = { kind: "test", round: pick.round, index: pick.index };
        this.#post(k, { type: "test", req: pick.round.reqs[pick.index] });
      }
    }
  }

  #pick(): { job: RangeJob; resolve: (v: Verdict[]) => void } | { round: Round; index: number } | null {
    let speculative: { round: Round; index: number } | null = null;
    for (const round of this.#rounds) {
      const n = round.next();
      if (n === null) continue;
      if (n.primary) return { round, index: n.index };
      speculative ??= { round, index: n.index };
    }
    return this.#ranges.shift() ?? speculative;
  }

  #post(k: number, msg: ToWorker): void {
    this.#workers[k].postMessage(msg);
  }
}
