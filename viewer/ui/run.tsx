/**
 * A run page: summary (the CLI's figures), violations (each jumps to and
 * zooms on its event, highlighting the threads and locks involved), a go-to
 * box, text search, the timeline with area selection statistics, the event
 * table and the state inspector. The window, selection, filters and search
 * live in the URL (url.ts); the keyboard drives the timeline (press ?).
 * @module
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { RunDetail, SchemaJson, SearchResult, Timeline as TimelineData } from "../../replay/query.ts";
import { api, type Progress, runPath } from "./api.ts";
import type { View } from "./draw.ts";
import { EventTable } from "./events.tsx";
import { type Ev, fmtBytes, fmtCount, fmtFull, fmtNs, parseGoto } from "./format.ts";
import { StateInspector } from "./state.tsx";
import { clampView, Timeline } from "./timeline.tsx";
import { type Filters, go, parsePlace, type Place } from "./url.ts";

type RunPlace = Extract<Place, { page: "run" }>;

function Summary({ d }: { d: RunDetail }) {
  const s = d.summary;
  const item = (k: string, v: string, testid?: string) => (
    <div class="fig">
      <span class="k">{k}</span>
      <span class="v" data-testid={testid}>{v}</span>
    </div>
  );
  const contention = Object.entries(s.lockContention).map(([k, v]) => `${k}=${v}`).join(" ") || "–";
  return (
    <section class="summary">
      {item("scenario", `${d.header.scenario} (seed ${d.header.seed})`)}
      {item("events", fmtCount(d.events))}
      {item("simulated", fmtFull(d.simNs))}
      {item("on-CPU %", s.cpuBusy.map((b, i) => `cpu${i}=${Math.round(b * 1000) / 10}`).join(" "), "cpuBusy")}
      {item("contextSwitches", String(s.contextSwitches), "contextSwitches")}
      {item("wakeups", `${s.wakeups} (cross-CPU ${s.crossCpuWakeups})`, "wakeups")}
      {item("lockContention", contention, "lockContention")}
      {item("end", d.endReason ?? "–")}
      {item("size", fmtBytes(d.size))}
      {item("status", d.status)}
      {d.damage && <p class="error">{d.damage}</p>}
    </section>
  );
}

/** Statistics of an area of the timeline: per-thread CPU time and per-lock hold and wait time. */
function AreaStats({ area, data, clear }: { area: View; data: TimelineData | null; clear: () => void }) {
  const stats = useMemo(() => {
    const threads = new Map<number, number>();
    const locks = new Map<number, { hold: number; wait: number; n: number }>();
    if (!data) return { threads: [], locks: [] };
    const overlap = (a: number, b: number) => Math.max(0, Math.min(b, area.t1) - Math.max(a, area.t0));
    for (const c of data.cpus) {
      for (const s of c.slices) {
        const ns = overlap(s.t0, s.t1) * s.busy;
        if (ns > 0) threads.set(s.th, (threads.get(s.th) ?? 0) + ns);
      }
    }
    for (const sp of data.spans) {
      const ns = overlap(sp.t0, sp.t1);
      if (ns <= 0 && !(sp.t0 >= area.t0 && sp.t0 <= area.t1)) continue;
      const l = locks.get(sp.lock) ?? { hold: 0, wait: 0, n: 0 };
      l[sp.kind] += ns;
      l.n++;
      locks.set(sp.lock, l);
    }
    return {
      threads: [...threads].sort((a, b) => b[1] - a[1]).slice(0, 16),
      locks: [...locks].sort((a, b) => b[1].wait + b[1].hold - a[1].wait - a[1].hold).slice(0, 16),
    };
  }, [area.t0, area.t1, data]);
  const dur = area.t1 - area.t0;
  return (
    <section class="area" data-testid="area-stats" data-duration={dur}>
      <h3>
        Area {fmtFull(area.t0)} – {fmtFull(area.t1)}: {fmtFull(dur)}{" "}
        <button type="button" onClick={clear}>clear</button>
      </h3>
      <div class="area-cols">
        <table class="st">
          <thead>
            <tr>
              <th>thread</th>
              <th>on CPU</th>
              <th>share</th>
            </tr>
          </thead>
          <tbody>
            {stats.threads.map(([th, ns]) => (
              <tr data-thread={th}>
                <td>{data?.threads[th]?.name ?? th}</td>
                <td class="num">{fmtNs(ns)}</td>
                <td class="num">{(100 * ns / Math.max(1, dur)).toFixed(1)}%</td>
              </tr>
            ))}
          </tbody>
        </table>
        <table class="st">
          <thead>
            <tr>
              <th>lock</th>
              <th>held</th>
              <th>waited</th>
              <th>spans</th>
            </tr>
          </thead>
          <tbody>
            {stats.locks.map(([lock, l]) => (
              <tr data-lock={lock}>
                <td>{data?.locks[lock] ?? lock}</td>
                <td class="num">{fmtNs(l.hold)}</td>
                <td class="num">{fmtNs(l.wait)}</td>
                <td class="num">{l.n}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="muted">
        {data?.detail
          ? "Lock figures add the spans drawn at this zoom: spans shorter than a quarter pixel are left out; zoom in to count them."
          : "Zoom in for lock statistics (lock spans are collected in narrow windows)."}
      </p>
    </section>
  );
}

const KEYS: [string, string][] = [
  ["W / + / S / −", "zoom in / out around the pointer (the centre when the pointer is off the timeline)"],
  ["A / ← / D / →", "pan left / right by a fifth of the window"],
  ["wheel, drag", "zoom around the pointer, pan"],
  ["shift + drag", "select an area: its duration and per-thread and per-lock statistics"],
  ["click", "select the event under the pointer (the state and wait-for chain follow)"],
  ["0", "show the whole run"],
  ["/", "search event text (ids, names such as socket#60); Enter / shift+Enter: next / previous"],
  ["n / N", "next / previous search match"],
  ["g", "go to an event number (#123) or a time (12.5ms, 1500ns)"],
  ["?", "this help; Esc closes it"],
];

function Help({ close }: { close: () => void }) {
  return (
    <div class="help" data-testid="help" onClick={close}>
      <div class="help-box" onClick={(e) => e.stopPropagation()}>
        <h3>Keyboard and mouse</h3>
        <table class="st">
          <tbody>
            {KEYS.map(([k, v]) => (
              <tr>
                <td>
                  <kbd>{k}</kbd>
                </td>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="muted">
          The address bar holds the window, selection, filters and search: back, forward and reload work, and the link
          can be shared.
        </p>
        <button type="button" onClick={close}>close</button>
      </div>
    </div>
  );
}

const JUMP_WINDOW_NS = 20_000;

/** The run page. */
export function RunPage({ place, schema }: { place: RunPlace; schema: SchemaJson }) {
  const { id } = place;
  const [detail, setDetail] = useState<RunDetail | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<Ev | null>(null);
  const [highlight, setHighlight] = useState({ threads: new Set<number>(), locks: new Set<number>() });
  const [area, setArea] = useState<View | null>(null);
  const [help, setHelp] = useState(false);
  const [gotoText, setGotoText] = useState("");
  const [note, setNote] = useState<string | null>(null);
  const [query, setQuery] = useState(place.q);
  const [tlData, setTlData] = useState<TimelineData | null>(null);
  // The event table asks once the timeline has been painted (or after a second), so the first view is answered
  // and shown first.
  const [tableReady, setTableReady] = useState(false);
  useEffect(() => {
    const t = setTimeout(() => setTableReady(true), 1000);
    return () => clearTimeout(t);
  }, [id]);
  const pointer = useRef<number | null>(null);
  const searchBox = useRef<HTMLInputElement>(null), gotoBox = useRef<HTMLInputElement>(null);
  // A layout effect: the answers (usually asked for at page load, see main.tsx) are taken as the page mounts,
  // not after its first paint, which in a new tab can take a few hundred milliseconds.
  useLayoutEffect(() => {
    // A large run is indexed in the background: show a preview of its first
    // events at once, and the whole run when the index is ready.
    // `whole`: the page shows the whole run already (an indexed run's preview answer is the whole detail: the
    // same figures need not render twice on the first view's path).
    let whole = false;
    api<RunDetail>(`${runPath(id)}/preview`).then((d) => {
      performance.mark("lockstep:preview");
      if (whole) return;
      whole = d.preview === undefined;
      setDetail(d);
    }, () => {});
    api<RunDetail>(runPath(id), {}, setProgress).then((d) => {
      performance.mark("lockstep:detail");
      setProgress(null);
      if (whole) return;
      whole = true;
      setDetail(d);
    }, (e) => setError(e.message));
  }, [id]);
  const view: View | null = detail
    ? clampView(detail, place.t0 ?? detail.tFirst, place.t1 ?? Math.max(detail.simNs, detail.tFirst + 1))
    : null;
  // From the address bar, not this render's props: an async step (a search, a jump) must not undo a newer change.
  const move = (patch: Partial<RunPlace>, replace = false) => {
    const now = parsePlace(location.hash);
    go({ ...(now.page === "run" && now.id === id ? now : place), ...patch }, replace);
  };
  const setView = (v: View, replace = false) => move({ t0: v.t0, t1: v.t1 }, replace);
  // The selected event (from the URL) with its time, cpu and thread.
  useEffect(() => {
    if (place.sel === undefined) return setSelected(null);
    if (selected?.index === place.sel) return;
    api<{ events: Ev[] }>(`${runPath(id)}/events`, { from: place.sel, limit: 1 }).then(
      (p) => setSelected(p.events[0]?.index === place.sel ? p.events[0] : null),
      () => setSelected(null),
    );
  }, [id, place.sel]);
  useEffect(() => setQuery(place.q), [place.q]);
  /** Selects event `index`; `center` brings it to the middle of the window (`width` ns wide if given). */
  const select = async (index: number, center = false, width?: number) => {
    if (!detail || !view) return;
    const p = await api<{ events: Ev[] }>(`${runPath(id)}/events`, { from: index, limit: 1 }).catch(() => null);
    const e = p?.events[0];
    if (!e || e.index !== index) return setNote(`no event #${index} (the run has ${detail.events})`);
    setSelected(e);
    setNote(null);
    const w = width ?? view.t1 - view.t0;
    const inView = e.tNs >= view.t0 && e.tNs <= view.t1;
    const v = center || !inView ? clampView(detail, e.tNs - w / 2, e.tNs + w / 2) : view;
    move({ sel: index, t0: v.t0, t1: v.t1 });
  };
  const jumpToViolation = (v: RunDetail["violations"][number]) => {
    if (!detail) return;
    setHighlight({ threads: new Set([v.thread]), locks: new Set() });
    select(v.index, true, JUMP_WINDOW_NS);
    // The objects the detector names (fields a and b): locks go to the lock lanes, threads to the tracks.
    api<{ events: Ev[] }>(`${runPath(id)}/events`, { from: v.index, limit: 1 }).then((p) => {
      const f = p.events[0]?.fields ?? {};
      const ids = [Number(f.a), Number(f.b)].filter((n) => n > 0);
      const lockIds = new Set(detail.locks.map((l) => l.id)), threadIds = new Set(detail.threads.map((t) => t.id));
      setHighlight({
        threads: new Set([v.thread, ...ids.filter((n) => threadIds.has(n))]),
        locks: new Set(ids.filter((n) => lockIds.has(n))),
      });
    }, () => {});
  };
  const doGoto = (text: string) => {
    if (!detail || !view) return;
    const g = parseGoto(text);
    if (!g) return setNote(`cannot read '${text}': give #event or a time such as 12.5ms`);
    if ("event" in g) return void select(g.event, true);
    const w = view.t1 - view.t0;
    setView(clampView(detail, g.tNs - w / 2, g.tNs + w / 2));
    api<{ events: Ev[] }>(`${runPath(id)}/events`, { t: g.tNs, limit: 1 }).then((p) => {
      if (p.events[0]) void select(p.events[0].index, true);
    }, () => {});
  };
  const search = async (dir: "next" | "prev") => {
    if (!query || !detail || !view) return;
    if (query !== place.q) move({ q: query }, true);
    let from = selected?.index ?? (dir === "next" ? -1 : detail.events);
    for (let i = 0; i < 200; i++) {
      setNote(`searching '${query}' from #${from}…`);
      const r = await api<SearchResult>(`${runPath(id)}/search`, { q: query, from, dir }).catch((e) => {
        setNote(e.message);
        return null;
      });
      if (!r) return;
      if (r.index !== null) {
        setNote(null);
        return void select(r.index, true);
      }
      if (r.resume === null) return setNote(`no ${dir === "next" ? "later" : "earlier"} event matches '${query}'`);
      from = r.resume;
    }
  };
  // Keyboard: Perfetto's W/A/S/D, plus +/−, arrows, 0, /, g, n, ?.
  useEffect(() => {
    const onKey = (ev: KeyboardEvent) => {
      const target = ev.target as HTMLElement;
      if (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA") {
        if (ev.key === "Escape") target.blur();
        return;
      }
      if (!detail || !view || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const w = view.t1 - view.t0;
      const at = pointer.current ?? (view.t0 + view.t1) / 2;
      const zoom = (f: number) => setView(clampView(detail, at - (at - view.t0) * f, at + (view.t1 - at) * f), true);
      const pan = (f: number) => setView(clampView(detail, view.t0 + w * f, view.t1 + w * f), true);
      const k = ev.key;
      if (k === "w" || k === "W" || k === "+" || k === "=") zoom(0.7);
      else if (k === "s" || k === "S" || k === "-" || k === "_") zoom(1 / 0.7);
      else if (k === "a" || k === "A" || k === "ArrowLeft") pan(-0.2);
      else if (k === "d" || k === "D" || k === "ArrowRight") pan(0.2);
      else if (k === "0") setView(clampView(detail, detail.tFirst, detail.simNs));
      else if (k === "/") searchBox.current?.focus();
      else if (k === "g") gotoBox.current?.focus();
      else if (k === "n") void search("next");
      else if (k === "N") void search("prev");
      else if (k === "?") setHelp(!help);
      else if (k === "Escape") (setHelp(false), setArea(null));
      else return;
      ev.preventDefault();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  });
  if (error) return <p class="error">{error}</p>;
  if (!detail || !view) {
    const pct = progress && progress.of ? Math.floor((100 * progress.done) / progress.of) : 0;
    return (
      <div class="opening" data-testid="opening">
        <p class="muted">
          {progress
            ? `Indexing ${id}: ${fmtCount(progress.done)} of ${fmtCount(progress.of)} events (${pct}%)`
            : `Opening ${id}…`}
        </p>
        <progress max={100} value={pct} />
      </div>
    );
  }
  const setFilters = (f: Filters) => move({ filters: f });
  return (
    <div class="run" data-testid="run" data-id={id}>
      {detail.preview && (
        <p class="preview" data-testid="preview">
          Indexing the whole run:{" "}
          {Math.floor((100 * (progress?.done ?? 0)) / Math.max(1, progress?.of ?? 1))}%. Shown meanwhile: its first{" "}
          {fmtCount(detail.events)} of {fmtCount(detail.preview.eventsTotal)} events (figures below cover these only).
          {" "}
          <progress max={progress?.of ?? 1} value={progress?.done ?? 0} />
        </p>
      )}
      <Summary d={detail} />
      {detail.violations.length > 0 && (
        <section class="violations">
          <h3>Violations ({detail.violations.length})</h3>
          <ul>
            {detail.violations.slice(0, 200).map((v) => (
              <li key={v.index}>
                <button type="button" class="link" data-testid="violation" onClick={() => jumpToViolation(v)}>
                  #{v.index}
                </button>{" "}
                {fmtFull(v.tNs)} cpu{v.cpu} <b>{v.kind}</b>: {v.message}
              </li>
            ))}
          </ul>
        </section>
      )}
      <section class="tools">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            doGoto(gotoText);
          }}
        >
          <input
            ref={gotoBox}
            name="goto"
            placeholder="go to #event or time (12.5ms)"
            value={gotoText}
            onInput={(e) => setGotoText(e.currentTarget.value)}
          />
          <button type="submit">go</button>
        </form>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void search("next");
          }}
        >
          <input
            ref={searchBox}
            name="search"
            placeholder="search events (socket#60, softnet0, tcp_lock)"
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && e.shiftKey) (e.preventDefault(), void search("prev"));
            }}
          />
          <button type="button" onClick={() => void search("prev")}>◀ prev</button>
          <button type="submit">next ▶</button>
        </form>
        <button type="button" onClick={() => setView(clampView(detail, detail.tFirst, detail.simNs))}>whole run</button>
        <button type="button" onClick={() => setHelp(true)}>? keys</button>
        {note && <span class="muted" data-testid="note">{note}</span>}
        {selected && (
          <span class="muted" data-testid="selected">
            selected #{selected.index} {selected.kind} at {fmtFull(selected.tNs)} on cpu{selected.cpu}
          </span>
        )}
      </section>
      <Timeline
        id={id}
        detail={detail}
        view={view}
        whole={place.t0 === undefined && place.t1 === undefined}
        setView={setView}
        selected={selected}
        select={(i) => void select(i)}
        highlight={highlight}
        area={area}
        setArea={setArea}
        pointer={pointer}
        onData={(d) => {
          setTlData(d);
          // After the frame that paints the timeline: the table's first render and request come second.
          if (d && !tableReady) requestAnimationFrame(() => setTimeout(() => setTableReady(true), 0));
        }}
      />
      {area && <AreaStats area={area} data={tlData} clear={() => setArea(null)} />}
      <div class="lower">
        <EventTable
          id={id}
          schema={schema}
          detail={detail}
          view={view}
          selected={selected}
          select={(i) => void select(i)}
          filters={place.filters}
          setFilters={setFilters}
          ready={tableReady}
        />
        <StateInspector id={id} selected={selected} />
      </div>
      {help && <Help close={() => setHelp(false)} />}
    </div>
  );
}
