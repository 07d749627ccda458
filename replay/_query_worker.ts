/**
 * Index worker (a module Deno Worker): builds one run's index off the
 * server's event loop, so the viewer keeps answering while a large trace is
 * read. Protocol:
 * - main -> worker `{ path }` (a real path the main thread resolved inside its folder);
 * - the worker reads the index persisted beside the trace (`FILE.vix`, see `_query_store.ts`) when it is
 *   good; else it says `{ type: "building" }`, builds the index and saves it there when it can;
 * - worker -> main `{ type: "progress", done, of }` every few hundred thousand events;
 * - worker -> main `{ type: "done", index }` (typed arrays transferred) or `{ type: "error", message, trace }`.
 * @module
 */
/// <reference lib="deno.worker" />
import { buildIndex } from "./_query_index.ts";
import { TraceError, TraceReader } from "./reader.ts";
import { loadIndex, saveIndex } from "./_query_store.ts";

self.onmessage = (ev: MessageEvent<{ path: string }>) => {
  const { path } = ev.data;
  let reader: TraceReader | undefined;
  try {
    reader = TraceReader.open(path, { recover: true });
    const bytes = Deno.statSync(path).size;
    let index = loadIndex(path, reader, bytes);
    if (!index) {
      self.postMessage({ type: "building" });
      index = buildIndex(reader, bytes, (done, of) => self.postMessage({ type: "progress", done, of }));
      // Persisted beside the trace (when the folder is writable), so the next server opens the run at once.
      saveIndex(path, reader, index);
    }
    const arrays: ArrayBufferView[] = [
      index.chunkT,
      index.chunkCur,
      index.chunkLockAt,
      index.chunkLocks,
      index.kindCounts,
      index.busyNs,
    ];
    for (const g of index.levels) arrays.push(g.act, g.busy, g.firstEv);
    // A persisted index's arrays are views on one buffer: each buffer is transferred once.
    const transfer = [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
    self.postMessage({ type: "done", index }, transfer);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    self.postMessage({ type: "error", message, trace: e instanceof TraceError });
  } finally {
    reader?.close();
  }
};
