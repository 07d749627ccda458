/**
 * The viewer's Hono application: a read-only JSON API over the traces of one
 * folder (shared/PRODUCT.md "Viewer API") and the Preact UI's static files.
 * Traces are read only through replay/query.ts.
 *
 * @example
 * ```ts
 * import { createApp } from "./app.ts";
 * const app = createApp({ dir: "runs" });
 * const res = await app.request("/api/runs");
 * console.log(res.status, await res.json());
 * app.close();
 * ```
 * @module
 */
import { type Context, Hono } from "hono";
import {
  ComparePending,
  type EventFilter,
  EVENTS_LIMIT_MAX,
  IndexFailed,
  IndexPending,
  kindId,
  RunNotFound,
  RunQueries,
  schemaJson,
  TIMELINE_PX_MAX,
  TraceError,
} from "../replay/query.ts";
import { hostCheck, HttpError, intParam, jsonError, listParam, nsParam, readOnly, securityHeaders } from "./_http.ts";
import { loadAssets, setUi } from "./_static.ts";

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Folder of `.lstrace` files (subfolders included); nothing outside it is ever read. */
  readonly dir: string;
  /**
   * Host header values accepted (`host:port`, lower case); others get 421, so
   * a DNS-rebinding page cannot read runs through a browser. Undefined: no
   * check (in-process use such as `app.request()`).
   */
  readonly hosts?: readonly string[];
  /** Build run indexes in this many Workers (0: synchronously, on the request). */
  readonly indexWorkers?: number;
  /**
   * The bundled UI script (viewer/_bundle.ts), or its promise (the bundler runs while the index Workers load);
   * without it only the API and static files are served.
   */
  readonly ui?: string | Promise<string>;
  /** For tests: background index jobs start only once this settles. */
  readonly indexGate?: Promise<unknown>;
}

/**
 * How long a request for a run whose index is being built waits for the
 * index job to move on (its preview, its end) before answering 202 with the
 * progress: the page gets the preview as soon as it exists instead of at its
 * next poll, and the server stays free meanwhile (the wait is a promise).
 */
export const INDEX_WAIT_MS_MAX = 300;

/**
 * The Hono app, plus `close()` to release the cached trace readers and
 * Workers, and `ready`: settles once the UI is bundled, the index Workers
 * are loaded and the newest prepared run's preview is built (rejects if
 * bundling failed); serve only then. `warm()` runs a
 * first view's queries once (see RunQueries.warm), before listening.
 */
export type ViewerApp = Hono & { close(): void; ready: Promise<void>; warm(): string | undefined };

/** Builds the viewer app over the traces in `opts.dir` (which must exist). */
export function createApp(opts: AppOptions): ViewerApp {
  const q = new RunQueries(opts.dir, { backgroundWorkers: opts.indexWorkers ?? 0, indexGate: opts.indexGate });
  // The first views of the newest large runs not indexed yet, built while nobody asks for anything.
  q.prepare();
  /** `fn`'s answer as JSON, waiting (up to INDEX_WAIT_MS_MAX) while it meets an index being built. */
  const settled = async <T>(c: Context, fn: () => T): Promise<Response> => {
    const until = performance.now() + INDEX_WAIT_MS_MAX;
    for (;;) {
      try {
        return c.json(fn());
      } catch (err) {
        const left = until - performance.now();
        // A comparison reports its progress elsewhere: answered 202 at once, the page polls.
        if (!(err instanceof IndexPending) || err instanceof ComparePending || left <= 0) throw err;
        await q.changed(left);
      }
    }
  };
  const schema = schemaJson();
  const assets = loadAssets(schema);
  // A bundle given as a string is served at once; a promised one when it settles (`ready` waits for it).
  const uiLoaded = typeof opts.ui === "string" ? setUi(assets, opts.ui) : opts.ui?.then((ui) => setUi(assets, ui));
  const app = new Hono();
  app.use("*", securityHeaders);
  app.use("*", readOnly);
  if (opts.hosts) app.use("*", hostCheck(opts.hosts));
  app.get("/api/schema", (c) => c.json(schema));
  app.get("/api/runs", (c) => c.json(q.list()));
  app.get("/api/runs/:id", (c) => settled(c, () => q.detail(c.req.param("id"))));
  app.get("/api/runs/:id/preview", (c) => settled(c, () => q.preview(c.req.param("id"))));
  app.get("/api/runs/:id/events", (c) => settled(c, () => eventsRoute(c, q)));
  app.get("/api/runs/:id/state", (c) => {
    const at = intParam(c, "at", -1);
    if (at < 0) throw new HttpError(400, "at (an event index) is required");
    return settled(c, () => q.state(c.req.param("id"), at));
  });
  app.get("/api/compare", (c) => {
    const a = c.req.query("a"), b = c.req.query("b");
    if (!a || !b) throw new HttpError(400, "give two runs: a and b");
    return c.json(q.compare(a, b));
  });
  app.get("/api/runs/:id/search", (c) => {
    const dir = c.req.query("dir") ?? "next";
    if (dir !== "next" && dir !== "prev") throw new HttpError(400, "dir must be next or prev");
    return settled(c, () => q.search(c.req.param("id"), c.req.query("q") ?? "", intParam(c, "from", -1, -1), dir));
  });
  app.get("/api/runs/:id/timeline", (c) => {
    const t0 = nsParam(c, "t0", 0);
    // Without t1: to the end of what the run has now (a preview's end while the whole run is indexed).
    const t1 = c.req.query("t1") === undefined ? Infinity : nsParam(c, "t1", 0);
    if (t1 < t0) throw new HttpError(400, "t1 must not be below t0");
    const px = intParam(c, "px", 1000, 1, TIMELINE_PX_MAX);
    return settled(c, () => q.timeline(c.req.param("id"), t0, t1, px));
  });
  app.all("/api/*", (c) => jsonError(c, 404, "no such API route"));
  app.get("*", (c) => {
    const a = assets.get(c.req.path);
    if (!a) return jsonError(c, 404, "not found");
    return c.body(a.body, 200, { "Content-Type": a.type, "Cache-Control": "no-cache" });
  });
  app.notFound((c) => jsonError(c, 404, "not found"));
  app.onError((err, c) => errorResponse(c, err));
  // The newest prepared run's preview too: a page opened as soon as the server listens finds its first view built.
  const ready = Promise.all([uiLoaded, q.ready.then(() => q.prepared())]).then(() => {});
  ready.catch(() => {}); // reported to whoever awaits it
  return Object.assign(app, { close: () => q.close(), ready, warm: () => q.warm() });
}

/** Maps an error to its JSON response; anything unexpected is a 500 without details. */
function errorResponse(c: Context, err: Error): Response {
  if (err instanceof HttpError) return jsonError(c, err.status, err.message);
  if (err instanceof IndexPending) {
    // 202: accepted, not ready; the page polls and shows how far the index (or the comparison) is.
    const what = err instanceof ComparePending ? { comparing: true } : { indexing: true };
    return c.json({ ...what, done: err.done, of: err.of, error: err.message }, 202, { "Retry-After": "1" });
  }
  if (err instanceof IndexFailed) return jsonError(c, 422, err.message);
  if (err instanceof RunNotFound) return jsonError(c, err.malformed ? 400 : 404, err.message);
  if (err instanceof TraceError) return jsonError(c, 422, err.message);
  if (err instanceof RangeError) return jsonError(c, 400, err.message);
  console.error(`viewer: ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
  return jsonError(c, 500, "internal error");
}

/** Parses the events query's paging and filters. */
function eventsRoute(c: Context, q: RunQueries) {
  const id = c.req.param("id");
  const filter: EventFilter = {};
  const kinds = new Set<number>();
  for (const name of listParam(c, "kind") ?? []) {
    const k = /^\d+$/.test(name) ? Number(name) : kindId(name);
    if (k === undefined || !schemaJson().kinds.some((d) => d.id === k)) {
      throw new HttpError(400, `unknown kind '${name.slice(0, 40)}'`);
    }
    kinds.add(k);
  }
  const cats = listParam(c, "cat");
  for (const cat of cats ?? []) {
    const of = schemaJson().kinds.filter((k) => k.cat === cat);
    if (of.length === 0) throw new HttpError(400, `unknown category '${cat.slice(0, 40)}'`);
    of.forEach((k) => kinds.add(k.id));
  }
  if (kinds.size > 0) filter.kinds = kinds;
  const cpus = listParam(c, "cpu");
  if (cpus) {
    if (!cpus.every((s) => /^\d{1,4}$/.test(s))) throw new HttpError(400, "cpu must be a list of cpu numbers");
    filter.cpus = new Set(cpus.map(Number));
  }
  for (const key of ["thread", "lock", "flow"] as const) {
    const v = intParam(c, key, -1);
    if (v >= 0) filter[key] = v;
  }
  // Larger pages are capped rather than refused, so a client can always ask for "as many as allowed".
  const limit = Math.min(intParam(c, "limit", 100, 1), EVENTS_LIMIT_MAX);
  const t = c.req.query("t");
  if (t !== undefined && c.req.query("from") !== undefined) throw new HttpError(400, "give from or t, not both");
  const from = t !== undefined ? q.indexAtTime(id!, nsParam(c, "t", 0)) : intParam(c, "from", 0);
  return q.events(id!, from, limit, filter);
}
