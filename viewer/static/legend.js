// The legend: event categories (from /api/schema) and thread kinds.
import { h } from "../vendor/preact.mjs";
import { categoryColors, THREAD_KIND_LEGEND, threadColor } from "./colors.js";

export function Legend({ schema }) {
  const cats = categoryColors(schema);
  const chip = (color, label, title) =>
    h("span", { class: "chip", title }, h("span", { class: "sw", style: { background: color } }), label);
  return h(
    "section",
    { class: "legend" },
    h("span", { class: "k" }, "threads:"),
    THREAD_KIND_LEGEND.map(([kind, label]) => chip(threadColor(3, kind), label, kind)),
    h("span", { class: "k" }, "locks:"),
    chip("hsl(0 0% 20%)", "hold"),
    chip("hsl(0 80% 55%)", "wait"),
    h("span", { class: "k" }, "events:"),
    schema.categories.map((cat) =>
      chip(cats[cat], cat, schema.kinds.filter((k) => k.cat === cat).map((k) => k.name).join(", "))
    ),
  );
}
