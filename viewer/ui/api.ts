/**
 * Fetch helpers for the viewer's JSON API. Every error body is `{ error }`;
 * 202 means the run is being indexed: the helper waits and asks again,
 * reporting the progress.
 * @module
 */

/** Progress of a run's index build. */
export interface Progress {
  done: number;
  of: number;
  /** True when the server is comparing two runs (not indexing one). */
  comparing?: boolean;
}

/** GETs an API path with query parameters (undefined and "" left out), waiting out 202 answers. */
export async function api<T>(
  path: string,
  params: Record<string, string | number | undefined> = {},
  onProgress?: (p: Progress) => void,
): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") qs.set(k, String(v));
  const url = qs.size ? `${path}?${qs}` : path;
  for (;;) {
    const res = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
    if (res.status === 202) {
      onProgress?.({ done: body.done ?? 0, of: body.of ?? 0, comparing: body.comparing === true });
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
    return body as T;
  }
}

/** The run's API base path. */
export const runPath = (id: string): string => `/api/runs/${encodeURIComponent(id)}`;
