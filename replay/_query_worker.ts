/**
 * Index worker (a module Deno Worker, kept for the server's life): builds
 * run indexes off the server's event loop, so the viewer keeps answering
 * while a large trace is read. Protocol, one job at a time:
 * - main -> worker `{ path, previewEvents, previewOnly, previewSize }` (a real path the main thread resolved inside its
 *   folder; `previewSize` the server's preview length, whether or not this job builds the preview);
 * - worker -> main `{ type: "preview", index }`: the index of the first `previewEvents` events, when the run
 *   has more (a first view while the whole index is built);
 * - worker -> main `{ type: "previewed" }` and nothing more when `previewOnly` (a speculative job, see
 *   `_query_jobs.ts`; main may then send the same path again for the whole index, `previewEvents` 0);
 * - worker -> main `{ type: "progress", done, of }` every few hundred thousand events;
 * - worker -> main `{ type: "done", index }` (typed arrays transferred) or `{ type: "error", message, trace }`;
 * - worker -> main `{ type: "ready" }` once, when its modules are loaded (before any job: the server listens only
 *   then, so a page's first view does not share the CPUs with a Worker's start, ~150 ms of module loading).
 * The whole index is saved beside the trace (`FILE.vix`, see `_query_store.ts`) when the folder is writable.
 * The main thread reads a persisted index itself (it reads only what a query touches); this worker only builds.
 * @module
 */
/// <reference lib="deno.worker" />
import { buildIndex, indexArrays, type RunIndex } from "./_query_index.ts";
import { TraceError, TraceReader } from "./reader.ts";
import { saveIndex } from "./_query_store.ts";

/** The typed arrays of `index`, each buffer once (transferred, not copied). */
function buffers(index: RunIndex): ArrayBuffer[] {
  return [...new Set(indexArrays(index).map((a) => a.buffer as ArrayBuffer))];
}

/**
 * How long the whole index waits after a run's preview exists: the page
 * draws its first view from the preview meanwhile, and on a 2-CPU machine
 * an index build at full speed takes the CPU the server's thread and the
 * browser need for that (docs/viewer-first-open.md). Wall-clock use is fine
 * here: this is the viewer's server, not simulation code.
 */
const WHOLE_INDEX_DELAY_MS = 400;

self.onmessage = async (
  ev: MessageEvent<{ path: string; previewEvents: number; previewOnly: boolean; previewSize: number }>,
) => {
  const { path, previewEvents, previewOnly, previewSize } = ev.data;
  let reader: TraceReader | undefined;
  try {
    reader = TraceReader.open(path, { recover: true });
    const bytes = Deno.statSync(path).size;
    if (previewEvents > 0 && (reader.eventCount ?? Infinity) > previewEvents) {
      const preview = buildIndex(reader, bytes, undefined, previewEvents);
      self.postMessage({ type: "preview", index: preview }, buffers(preview));
    }
    if (previewOnly) {
      self.postMessage({ type: "previewed" });
      return;
    }
    if (previewSize > 0 && (reader.eventCount ?? Infinity) > previewSize) {
      await new Promise((resolve) => setTimeout(resolve, WHOLE_INDEX_DELAY_MS));
    }
    const index = buildIndex(reader, bytes, (done, of) => self.postMessage({ type: "progress", done, of }));
    // Persisted beside the trace (when the folder is writable), so the next server opens the run at once.
    saveIndex(path, reader, index);
    self.postMessage({ type: "done", index }, buffers(index));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    self.postMessage({ type: "error", message, trace: e instanceof TraceError });
  } finally {
    reader?.close();
  }
};

self.postMessage({ type: "ready" });
