/**
 * The viewer's place in the URL hash, so reload, back/forward and shared
 * links restore it: `#/run/<id>?t0=&t1=&sel=&kind=&cpu=&thread=&lock=&flow=&q=`
 * (times in ns), `#/compare?a=<id>&b=<id>`, or `#/` for the run list.
 * @module
 */

/** Event table filters (as the events API takes them). */
export interface Filters {
  kind: string;
  cat: string;
  cpu: string;
  thread: string;
  lock: string;
  flow: string;
}

/** An empty filter set. */
export const NO_FILTERS: Filters = { kind: "", cat: "", cpu: "", thread: "", lock: "", flow: "" };

/** Where the viewer is. */
export type Place =
  | { page: "runs" }
  | { page: "compare"; a: string; b: string }
  | {
    page: "run";
    id: string;
    t0?: number;
    t1?: number;
    sel?: number;
    q: string;
    filters: Filters;
  };

const num = (v: string | null): number | undefined => (v !== null && /^\d{1,16}$/.test(v) ? Number(v) : undefined);

/** Reads a place from a location hash. */
export function parsePlace(hash: string): Place {
  const [path, query = ""] = hash.replace(/^#/, "").split("?", 2);
  const p = new URLSearchParams(query);
  const run = path.match(/^\/run\/(.+)$/);
  if (run) {
    const filters = { ...NO_FILTERS };
    for (const k of Object.keys(NO_FILTERS) as (keyof Filters)[]) filters[k] = p.get(k) ?? "";
    return {
      page: "run",
      id: decodeURIComponent(run[1]),
      t0: num(p.get("t0")),
      t1: num(p.get("t1")),
      sel: num(p.get("sel")),
      q: p.get("q") ?? "",
      filters,
    };
  }
  if (path === "/compare" && p.get("a") && p.get("b")) return { page: "compare", a: p.get("a")!, b: p.get("b")! };
  return { page: "runs" };
}

/** Writes a place as a location hash. */
export function placeHash(pl: Place): string {
  if (pl.page === "runs") return "#/";
  const p = new URLSearchParams();
  if (pl.page === "compare") {
    p.set("a", pl.a);
    p.set("b", pl.b);
    return `#/compare?${p}`;
  }
  if (pl.t0 !== undefined && pl.t1 !== undefined) {
    p.set("t0", String(Math.floor(pl.t0)));
    p.set("t1", String(Math.ceil(pl.t1)));
  }
  if (pl.sel !== undefined) p.set("sel", String(pl.sel));
  for (const [k, v] of Object.entries(pl.filters)) if (v) p.set(k, v);
  if (pl.q) p.set("q", pl.q);
  const qs = p.toString();
  return `#/run/${encodeURIComponent(pl.id)}${qs ? `?${qs}` : ""}`;
}

/** Moves to `pl`: a new history entry, or (`replace`) in place, e.g. while zooming with the wheel. */
export function go(pl: Place, replace = false): void {
  const hash = placeHash(pl);
  if (hash === location.hash) return;
  if (replace) {
    history.replaceState(null, "", hash);
    dispatchEvent(new HashChangeEvent("hashchange"));
  } else location.hash = hash;
}
