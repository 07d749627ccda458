/**
 * The viewer UI's entry point (bundled for the browser by viewer/_bundle.ts):
 * a router over the URL hash between the run list, a run page and the
 * comparison of two runs.
 * @module
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { SchemaJson } from "../../replay/query.ts";
import { api, embeddedSchema, prefetch, runPath } from "./api.ts";
import { ComparePage } from "./compare.tsx";
import { RunPage } from "./run.tsx";
import { PAGE_SIDES, timelinePx } from "./timeline.tsx";
import { RunList } from "./runs.tsx";
import { parsePlace, type Place } from "./url.ts";

// Marks for tools/viewer_cold.ts --verbose (performance.getEntriesByType("mark")): where a first view's time goes.
performance.mark("lockstep:script");
// The schema comes with the page (viewer/_static.ts), so a run renders in the first render; asked for otherwise.
const SCHEMA = embeddedSchema<SchemaJson>();
// Ask for everything the first view needs at once, rather than each after the one before it: the run's
// whole window too, at the width the timeline will have (a guess from the viewport; a miss costs one request).
if (!SCHEMA) prefetch("/api/schema");
const first = parsePlace(location.hash);
if (first.page === "run") {
  prefetch(`${runPath(first.id)}/preview`);
  prefetch(runPath(first.id));
  if (first.t0 === undefined && first.t1 === undefined) {
    prefetch(`${runPath(first.id)}/timeline`, { px: timelinePx(document.documentElement.clientWidth - PAGE_SIDES) });
  }
}

function App() {
  const [place, setPlace] = useState<Place>(parsePlace(location.hash));
  const [schema, setSchema] = useState<SchemaJson | null>(SCHEMA ?? null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const on = () => setPlace(parsePlace(location.hash));
    addEventListener("hashchange", on);
    addEventListener("popstate", on);
    if (SCHEMA) performance.mark("lockstep:schema");
    else {
      api<SchemaJson>("/api/schema").then((s) => {
        performance.mark("lockstep:schema");
        setSchema(s);
      }, (e) => setError(e.message));
    }
    return () => (removeEventListener("hashchange", on), removeEventListener("popstate", on));
  }, []);
  if (error) return <p class="error">{error}</p>;
  if (!schema) return <p class="muted">Loading schema…</p>;
  return (
    <div class="app">
      <header class="top">
        <a href="#/">lockstep</a>
        {place.page === "run" && <span>/ {place.id}</span>}
        {place.page === "compare" && <span>/ {place.a} vs {place.b}</span>}
      </header>
      {place.page === "run" && <RunPage key={place.id} place={place} schema={schema} />}
      {place.page === "compare" && <ComparePage key={`${place.a}|${place.b}`} a={place.a} b={place.b} />}
      {place.page === "runs" && <RunList />}
    </div>
  );
}

render(<App />, document.getElementById("app")!);
