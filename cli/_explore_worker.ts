/**
 * Exploration worker (a module Deno Worker), started once per job for a
 * whole exploration (cli/_explore_pool.ts): runs ranges of seeds and shrinks
 * of findings, one at a time, and posts their results. Protocol (ToWorker
 * and FromWorker in _explore_pool.ts):
 * - worker -> main `{ type: "ready" }` once loaded;
 * - main -> worker `{ type: "range", job }` or `{ type: "shrink", req }` (the pool terminates it when done);
 * - worker -> main `{ type: "results", verdicts }`, `{ type: "shrunk", shrunk }` or `{ type: "error", message }`.
 * @module
 */
/// <reference lib="deno.worker" />
import { exploreRange, preloadScenario } from "./_explore_run.ts";
import { shrinkFinding } from "./_explore_shrink.ts";
import type { FromWorker, ToWorker } from "./_explore_pool.ts";

/** Lock orders this worker has already posted (each order travels once, with its lowest seed here). */
const knownOrders = new Set<string>();

function post(msg: FromWorker): void {
  self.postMessage(msg);
}

self.onmessage = async (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  try {
    if (msg.type === "range") {
      await preloadScenario(msg.job.scenario); // a user's module: imported once per worker
      post({ type: "results", verdicts: exploreRange(msg.job, knownOrders) });
    } else {
      await preloadScenario(msg.req.scenario);
      post({ type: "shrunk", shrunk: await shrinkFinding(msg.req) });
    }
  } catch (e) {
    post({ type: "error", message: e instanceof Error ? e.message : String(e) });
  }
};
post({ type: "ready" });
