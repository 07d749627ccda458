/**
 * The event table: follows the timeline window (its first row is the first
 * event at the window's start) or the selection, pages by filtered result
 * (the server skips what the filter excludes), full-nanosecond times, and
 * fields that expand on click.
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import type { EventPage, RunDetail, SchemaJson } from "../../replay/query.ts";
import { api, runPath } from "./api.ts";
import type { View } from "./draw.ts";
import { categoryColors, type Ev, fmtCount, fmtFull } from "./format.ts";
import { type Filters, NO_FILTERS } from "./url.ts";

const LIMIT = 50;

function fieldText(e: Ev): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(e.fields)) {
    const name = e.names?.[k];
    parts.push(`${k}=${v}${name ? ` (${name})` : ""}`);
  }
  if (e.text) parts.push(JSON.stringify(e.text));
  return parts.join("  ");
}

/** Props of {@link EventTable}. */
export interface EventTableProps {
  id: string;
  schema: SchemaJson;
  detail: RunDetail;
  view: View;
  selected: Ev | null;
  select: (index: number) => void;
  filters: Filters;
  setFilters: (f: Filters) => void;
  /** False until the timeline has its first data: the first view comes first (the server answers in turn). */
  ready?: boolean;
}

type Anchor = { t: number } | { from: number };
/** A page as the UI reads it: the server's page with events typed. */
type Page = Omit<EventPage, "events"> & { events: Ev[] };

/** The event table. */
export function EventTable(p: EventTableProps) {
  const { id, schema, detail, filters, selected } = p;
  const [anchor, setAnchor] = useState<Anchor>({ t: p.view.t0 });
  const [back, setBack] = useState<Anchor[]>([]);
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const cats = categoryColors(schema.categories);
  // Follow the window, or the selection when it is in the window but not on the page.
  useEffect(() => {
    const sel = selected && selected.tNs >= p.view.t0 && selected.tNs <= p.view.t1 ? selected : null;
    if (sel && page?.events.some((e) => e.index === sel.index)) return;
    setBack([]);
    setAnchor(sel ? { from: Math.max(0, sel.index - 3) } : { t: p.view.t0 });
  }, [p.view.t0, selected?.index]);
  const ready = p.ready !== false;
  useEffect(() => {
    if (!ready) return;
    const t = setTimeout(() => {
      api<Page>(`${runPath(id)}/events`, { ...filters, ...anchor, limit: LIMIT }).then(
        (pg) => (setPage(pg), setError(null)),
        (e) => setError(e.message),
      );
    }, 60);
    return () => clearTimeout(t);
  }, [id, ready, JSON.stringify(anchor), JSON.stringify(filters)]);
  const set = (k: keyof Filters) => (ev: Event) =>
    p.setFilters({ ...filters, [k]: (ev.currentTarget as HTMLInputElement).value });
  const sel = (k: keyof Filters, label: string, options: [string, string][]) => (
    <label>
      {label}{" "}
      <select name={k} value={filters[k]} onChange={set(k)}>
        <option value="">any</option>
        {options.map(([v, t]) => <option key={v} value={v}>{t}</option>)}
      </select>
    </label>
  );
  const rows = page?.events ?? [];
  return (
    <section class="events">
      <h3>Events</h3>
      <div class="filters">
        {sel("cat", "category", schema.categories.map((c) => [c, c]))}
        {sel("kind", "kind", schema.kinds.map((k) => [k.name, k.name]))}
        {sel("cpu", "cpu", Array.from({ length: detail.header.cpus }, (_, i) => [String(i), `cpu${i}`]))}
        {sel("thread", "thread", detail.threads.map((t) => [String(t.id), `${t.name} (${t.id})`]))}
        {sel("lock", "lock", detail.locks.map((l) => [String(l.id), `${l.cls} (${l.id})`]))}
        <label>
          flow <input name="flow" value={filters.flow} onInput={set("flow")} size={5} inputMode="numeric" />
        </label>
        <button type="button" onClick={() => p.setFilters(NO_FILTERS)}>clear</button>
      </div>
      <div class="pager">
        <button
          type="button"
          disabled={back.length === 0}
          onClick={() => {
            setAnchor(back[back.length - 1]);
            setBack(back.slice(0, -1));
          }}
        >
          ◀ earlier
        </button>
        <button
          type="button"
          data-testid="later"
          disabled={!page || page.next === null}
          onClick={() => {
            if (!page || page.next === null) return;
            setBack([...back, anchor]);
            setAnchor({ from: page.next });
          }}
        >
          later ▶
        </button>
        <span class="muted">
          {page
            ? ` ${rows.length} shown from #${rows[0]?.index ?? page.from}, ${fmtCount(page.scanned)} scanned${
              page.next === null ? " · end of trace" : ""
            }`
            : " loading…"}
        </span>
        {error && <span class="error">{error}</span>}
      </div>
      <div class="scroll">
        <table class="ev">
          <thead>
            <tr>
              <th>#</th>
              <th>time</th>
              <th>cpu</th>
              <th>thread</th>
              <th>kind</th>
              <th>fields</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr
                key={e.index}
                class={selected?.index === e.index ? "sel" : ""}
                data-index={e.index}
                onClick={() => p.select(e.index)}
              >
                <td class="num">{e.index}</td>
                <td class="num">{fmtFull(e.tNs)}</td>
                <td class="num">{e.cpu}</td>
                <td>{e.threadName ?? (e.thread || "–")}</td>
                <td>
                  <span class="kind" style={{ borderColor: cats[e.cat] }}>{e.kind}</span>
                </td>
                <td
                  class={open === e.index ? "fields open" : "fields"}
                  title="click to expand"
                  onClick={(ev) => {
                    ev.stopPropagation();
                    setOpen(open === e.index ? null : e.index);
                    p.select(e.index);
                  }}
                >
                  {fieldText(e)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
