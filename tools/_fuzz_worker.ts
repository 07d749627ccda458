/**
 * Runs the fuzzer's cases off the main thread, so tools/fuzz.ts can notice a
 * case that never ends (a hang) and name it.
 * @module
 */
import { fuzz } from "./_fuzz.ts";

/// <reference lib="deno.worker" />
self.onmessage = (ev: MessageEvent<{ n: number; seed: number }>) => {
  const { n, seed } = ev.data;
  const report = fuzz(n, seed, (i) => self.postMessage({ case: i }));
  self.postMessage({ report });
  self.close();
};
