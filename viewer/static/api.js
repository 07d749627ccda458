// Fetch helpers for the viewer's JSON API. Every error body is { error }.

/** GETs an API path with query parameters (undefined/"" values are left out). */
export async function api(path, params = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "" && v !== null) qs.set(k, String(v));
  const url = qs.size ? `${path}?${qs}` : path;
  let res, body;
  for (;;) {
    res = await fetch(url, { headers: { Accept: "application/json" } });
    body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
    if (res.status !== 202) break;
    await new Promise((r) => setTimeout(r, 250)); // the run is being indexed
  }
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

/** The run's API base path. */
export const runPath = (id) => `/api/runs/${encodeURIComponent(id)}`;

/** Formats simulated nanoseconds for people. */
export function fmtNs(ns) {
  if (ns === null || ns === undefined) return "–";
  const a = Math.abs(ns);
  if (a >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (a >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  if (a >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${Math.round(ns)} ns`;
}

/** Formats a byte size. */
export function fmtBytes(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
