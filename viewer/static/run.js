// A run page: summary, violations, timeline, event table and state inspector,
// all sharing one selected event and one time window.
import { h } from "../vendor/preact.mjs";
import { useCallback, useEffect, useState } from "../vendor/hooks.mjs";
import { api, fmtBytes, fmtNs, runPath } from "./api.js";
import { Status } from "./runs.js";
import { Timeline } from "./timeline.js";
import { EventTable } from "./events.js";
import { StateInspector } from "./state.js";
import { Legend } from "./legend.js";

function Summary({ d }) {
  const item = (k, v) => h("div", { class: "fig" }, h("span", { class: "k" }, k), h("span", { class: "v" }, v));
  return h(
    "section",
    { class: "summary" },
    item("scenario", `${d.header.scenario} (seed ${d.header.seed})`),
    item("events", d.events.toLocaleString()),
    item("simulated", fmtNs(d.simNs)),
    item("cpus", `${d.header.cpus} (busy ${d.summary.cpuBusy.map((b) => `${Math.round(b * 100)}%`).join(" ")})`),
    item("context switches", d.summary.contextSwitches.toLocaleString()),
    item("wakeups", `${d.summary.wakeups.toLocaleString()} (${d.summary.crossCpuWakeups.toLocaleString()} cross-CPU)`),
    item("lock waits", d.summary.lockWaits.toLocaleString()),
    item("end", d.endReason ?? "–"),
    item("size", fmtBytes(d.size)),
    item("status", h(Status, { status: d.status })),
    d.damage ? h("p", { class: "error" }, d.damage) : null,
  );
}

function Violations({ list, onPick }) {
  if (list.length === 0) return null;
  return h(
    "section",
    { class: "violations" },
    h("h3", null, `Violations (${list.length})`),
    h(
      "ul",
      null,
      list.slice(0, 200).map((v) =>
        h(
          "li",
          { key: v.index },
          h("button", { class: "link", onClick: () => onPick(v) }, `#${v.index}`),
          ` ${fmtNs(v.tNs)} cpu${v.cpu} `,
          h("b", null, v.kind),
          `: ${v.message}`,
        )
      ),
    ),
  );
}

export function RunPage({ id, schema }) {
  const [detail, setDetail] = useState(null);
  const [error, setError] = useState(null);
  const [view, setView] = useState(null);
  const [selected, setSelected] = useState(null); // { index, tNs, cpu }
  useEffect(() => {
    api(runPath(id)).then((d) => {
      setDetail(d);
      setView({ t0: d.tFirst, t1: Math.max(d.simNs, d.tFirst + 1) });
    }, (e) => setError(e.message));
  }, [id]);
  // Selecting by index: learn the event's time and cpu, and bring it into view.
  const select = useCallback(async (index) => {
    const page = await api(`${runPath(id)}/events`, { from: index, limit: 1 }).catch(() => null);
    const e = page?.events[0];
    if (!e) return;
    setSelected({ index: e.index, tNs: e.tNs, cpu: e.cpu });
    setView((v) => {
      if (!v || (e.tNs >= v.t0 && e.tNs <= v.t1)) return v;
      const w = v.t1 - v.t0;
      return { t0: Math.max(detail?.tFirst ?? 0, e.tNs - w / 2), t1: e.tNs + w / 2 };
    });
  }, [id, detail]);
  if (error) return h("p", { class: "error" }, error);
  if (!detail || !view) return h("p", { class: "muted" }, "Opening run…");
  return h(
    "div",
    { class: "run" },
    h(Summary, { d: detail }),
    h(Violations, { list: detail.violations, onPick: (v) => select(v.index) }),
    h(Legend, { schema }),
    h(Timeline, { id, detail, view, setView, selected, select }),
    h(
      "div",
      { class: "lower" },
      h(EventTable, { id, schema, detail, selected, select }),
      h(StateInspector, { id, selected }),
    ),
  );
}
