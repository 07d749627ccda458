// The event table: a page of decoded events with filters (kind, category,
// cpu, thread, lock, flow), kept in step with the selected event.
import { h } from "../vendor/preact.mjs";
import { useEffect, useState } from "../vendor/hooks.mjs";
import { api, fmtNs, runPath } from "./api.js";
import { categoryColors } from "./colors.js";

const LIMIT = 60;
const EMPTY = { kind: "", cat: "", cpu: "", thread: "", lock: "", flow: "" };

function fieldText(e) {
  const parts = [];
  for (const [k, v] of Object.entries(e.fields)) {
    const name = e.names?.[k];
    parts.push(`${k}=${v}${name ? ` (${name})` : ""}`);
  }
  if (e.text) parts.push(JSON.stringify(e.text));
  return parts.join("  ");
}

function Filters({ schema, detail, filters, setFilters }) {
  const set = (k) => (ev) => setFilters({ ...filters, [k]: ev.currentTarget.value });
  const select = (k, label, options) =>
    h(
      "label",
      null,
      label,
      h("select", { value: filters[k], onChange: set(k), name: k }, h("option", { value: "" }, "any"), options),
    );
  const opt = (value, text) => h("option", { value }, text);
  return h(
    "div",
    { class: "filters" },
    select("cat", "category", schema.categories.map((c) => opt(c, c))),
    select("kind", "kind", schema.kinds.map((k) => opt(k.name, k.name))),
    select("cpu", "cpu", Array.from({ length: detail.header.cpus }, (_, i) => opt(String(i), `cpu${i}`))),
    select("thread", "thread", detail.threads.map((t) => opt(String(t.id), `${t.name} (${t.id})`))),
    select("lock", "lock", detail.locks.map((l) => opt(String(l.id), `${l.cls} (${l.id})`))),
    h(
      "label",
      null,
      "flow",
      h("input", { value: filters.flow, onInput: set("flow"), size: 5, inputMode: "numeric", name: "flow" }),
    ),
    h("button", { onClick: () => setFilters(EMPTY) }, "clear"),
  );
}

export function EventTable({ id, schema, detail, selected, select }) {
  const [filters, setFilters] = useState(EMPTY);
  const [from, setFrom] = useState(0);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const cats = categoryColors(schema);
  useEffect(() => {
    setError(null);
    api(`${runPath(id)}/events`, { ...filters, from, limit: LIMIT }).then(setPage, (e) => setError(e.message));
  }, [id, from, filters]);
  // Follow the selection when it leaves the page shown.
  useEffect(() => {
    if (!selected || !page) return;
    const shown = page.events.some((e) => e.index === selected.index);
    if (!shown) setFrom(Math.max(0, selected.index - 5));
  }, [selected?.index]);
  const rows = page?.events ?? [];
  return h(
    "section",
    { class: "events" },
    h("h3", null, "Events"),
    h(Filters, { schema, detail, filters, setFilters: (f) => (setFilters(f), setFrom(selected ? selected.index : 0)) }),
    h(
      "div",
      { class: "pager" },
      h("button", { onClick: () => setFrom(Math.max(0, from - LIMIT)), disabled: from === 0 }, "◀ earlier"),
      h(
        "button",
        { onClick: () => page?.next !== null && setFrom(page.next), disabled: !page || page.next === null },
        "later ▶",
      ),
      h(
        "span",
        { class: "muted" },
        ` from #${from}`,
        page ? ` · ${rows.length} shown, ${page.scanned.toLocaleString()} scanned` : "",
      ),
      error ? h("span", { class: "error" }, ` ${error}`) : null,
    ),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "ev" },
        h(
          "thead",
          null,
          h("tr", null, ...["#", "time", "cpu", "thread", "kind", "fields"].map((t) => h("th", null, t))),
        ),
        h(
          "tbody",
          null,
          rows.map((e) =>
            h(
              "tr",
              {
                key: e.index,
                class: selected?.index === e.index ? "sel" : "",
                onClick: () => select(e.index),
                "data-index": e.index,
              },
              h("td", { class: "num" }, e.index),
              h("td", { class: "num" }, fmtNs(e.tNs)),
              h("td", { class: "num" }, e.cpu),
              h("td", null, e.threadName ?? (e.thread || "–")),
              h("td", null, h("span", { class: "kind", style: { borderColor: cats[e.cat] } }, e.kind)),
              h("td", { class: "fields" }, fieldText(e)),
            )
          ),
        ),
      ),
    ),
  );
}
