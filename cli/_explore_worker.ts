/**
 * Exploration worker (a module Deno Worker): receives ranges of seeds, runs
 * them and posts their verdicts. Protocol:
 * - worker -> main `{ type: "ready" }` once loaded, and after each range;
 * - main -> worker `{ type: "range", job }` or `{ type: "stop" }`;
 * - worker -> main `{ type: "results", verdicts }` or `{ type: "error", message }`.
 * @module
 */
/// <reference lib="deno.worker" />
import { exploreRange, preloadScenario, type RangeJob } from "./_explore_run.ts";

/** Lock orders this worker has already posted (each order travels once, with its lowest seed here). */
const knownOrders = new Set<string>();

self.onmessage = async (ev: MessageEvent<{ type: string; job?: RangeJob }>) => {
  const msg = ev.data;
  if (msg.type === "stop") {
    self.close();
    return;
  }
  try {
    await preloadScenario((msg.job as RangeJob).scenario); // a user's module: imported once per worker
    const verdicts = exploreRange(msg.job as RangeJob, knownOrders);
    self.postMessage({ type: "results", verdicts });
  } catch (e) {
    self.postMessage({ type: "error", message: e instanceof Error ? e.message : String(e) });
  }
};
self.postMessage({ type: "ready" });
