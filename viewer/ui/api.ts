/**
 * Fetch helpers for the viewer's JSON API. Every error body is `{ error }`;
 * 202 means the run is being indexed: the helper waits and asks again,
 * reporting the progress.
 * @module
 */

/** The id of the JSON data block in which index.html carries the schema (viewer/_static.ts puts it there). */
export const SCHEMA_ELEMENT_ID = "lockstep-schema";

/** The schema index.html carries, if it does (undefined: ask /api/schema). */
export function embeddedSchema<T>(): T | undefined {
  const text = document.getElementById(SCHEMA_ELEMENT_ID)?.textContent;
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** Progress of a run's index build. */
export interface Progress {
  done: number;
  of: number;
  /** True when the server is comparing two runs (not indexing one). */
  comparing?: boolean;
}

/**
 * Answers fetched before the page asked for them (see {@link prefetch}), by
 * URL; each is taken once, by the first {@link api} call for that URL.
 */
const early = new Map<string, { res: Promise<Response>; atMs: number }>();

/** An early answer older than this is not used (the page went elsewhere first; the run may have changed since). */
const EARLY_AGE_MS_MAX = 5000;

function urlOf(path: string, params: Record<string, string | number | undefined>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") qs.set(k, String(v));
  return qs.size ? `${path}?${qs}` : path;
}

const get = (url: string) => fetch(url, { headers: { Accept: "application/json" } });

/**
 * Starts GETting an API path now, so requests the page will make one after
 * another (the schema, then the run) travel together; the next {@link api}
 * call for the same URL uses this answer instead of asking again.
 */
export function prefetch(path: string, params: Record<string, string | number | undefined> = {}): void {
  const url = urlOf(path, params);
  if (early.has(url)) return;
  const res = get(url);
  res.catch(() => {}); // A failure is reported to the api() call that takes it.
  early.set(url, { res, atMs: performance.now() });
}

/**
 * Waits before asking again after a 202 that came back at once (a comparison
 * running): briefly at first, then at most 200 ms. A 202 that took longer
 * was held by the server until the index job moved on (viewer/app.ts
 * INDEX_WAIT_MS_MAX), so the page asks again at once.
 */
const retryMs = (attempt: number, tookMs: number) => (tookMs >= 100 ? 0 : Math.min(200, 50 << attempt));

/** GETs an API path with query parameters (undefined and "" left out), waiting out 202 answers. */
export async function api<T>(
  path: string,
  params: Record<string, string | number | undefined> = {},
  onProgress?: (p: Progress) => void,
): Promise<T> {
  const url = urlOf(path, params);
  for (let attempt = 0;; attempt++) {
    const pending = early.get(url);
    early.delete(url);
    const fresh = pending && performance.now() - pending.atMs <= EARLY_AGE_MS_MAX;
    const askedMs = fresh ? pending.atMs : performance.now();
    const res = await (fresh ? pending.res : get(url));
    const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
    if (res.status === 202) {
      onProgress?.({ done: body.done ?? 0, of: body.of ?? 0, comparing: body.comparing === true });
      const wait = retryMs(attempt, performance.now() - askedMs);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      continue;
    }
    if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
    return body as T;
  }
}

/** The run's API base path. */
export const runPath = (id: string): string => `/api/runs/${encodeURIComponent(id)}`;
