/**
 * Comparison worker (a module Deno Worker): walks two runs event by event to
 * their first difference and folds both states right after it, off the
 * server's event loop. Protocol:
 * - main -> worker `{ a, b, na, nb }` (real paths the main thread resolved inside its folder, and event counts);
 * - worker -> main `{ type: "progress", done, of }` every 2^18 events compared;
 * - worker -> main `{ type: "done", event, stateDiff }` (event -1: identical) or `{ type: "error", message }`.
 * @module
 */
/// <reference lib="deno.worker" />
import { diffStates, firstDifference } from "./_query_compare.ts";
import { TraceReader } from "./reader.ts";
import { stateAt } from "./seek.ts";

self.onmessage = (ev: MessageEvent<{ a: string; b: string; na: number; nb: number }>) => {
  const { a, b, na, nb } = ev.data;
  let ra: TraceReader | undefined, rb: TraceReader | undefined;
  try {
    ra = TraceReader.open(a, { recover: true });
    rb = TraceReader.open(b, { recover: true });
    const event = firstDifference(ra, na, rb, nb, (done, of) => self.postMessage({ type: "progress", done, of }));
    // Up to the divergence the runs are identical, so the states after it say what it changed.
    const stateDiff = event < 0
      ? []
      : diffStates(stateAt(a, Math.min(event + 1, na)), stateAt(b, Math.min(event + 1, nb)));
    self.postMessage({ type: "done", event, stateDiff });
  } catch (e) {
    self.postMessage({ type: "error", message: e instanceof Error ? e.message : String(e) });
  } finally {
    ra?.close();
    rb?.close();
  }
};
