// The run list: every trace in the viewer's folder.
import { h } from "../vendor/preact.mjs";
import { useEffect, useState } from "../vendor/hooks.mjs";
import { api, fmtBytes, fmtNs } from "./api.js";

/** Status badge of a run. */
export function Status({ status }) {
  return h("span", { class: `badge ${status}` }, status);
}

export function RunList() {
  const [runs, setRuns] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => void api("/api/runs").then((r) => setRuns(r.runs), (e) => setError(e.message)), []);
  if (error) return h("p", { class: "error" }, error);
  if (!runs) return h("p", { class: "muted" }, "Loading runs…");
  if (runs.length === 0) {
    return h("p", { class: "muted" }, "No .lstrace files in this folder. Record one with: deno task run");
  }
  return h(
    "table",
    { class: "runs" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ...["run", "scenario", "seed", "cpus", "events", "simulated", "size", "status", "violations"].map((t) =>
          h("th", null, t)
        ),
      ),
    ),
    h(
      "tbody",
      null,
      runs.map((r) =>
        h(
          "tr",
          { key: r.id },
          h("td", null, h("a", { href: `#/run/${encodeURIComponent(r.id)}`, class: "run-link" }, r.id)),
          h("td", null, r.scenario ?? "–"),
          h("td", null, r.seed ?? "–"),
          h("td", null, r.cpus ?? "–"),
          h("td", { class: "num" }, r.events?.toLocaleString() ?? "–"),
          h("td", { class: "num" }, fmtNs(r.simNs)),
          h("td", { class: "num" }, fmtBytes(r.size)),
          h("td", { title: r.error ?? "" }, h(Status, { status: r.status })),
          h("td", { class: "num" }, r.violations ?? "?"),
        )
      ),
    ),
  );
}
