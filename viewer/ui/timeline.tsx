/**
 * The timeline: fetches the window from the server (about one bucket per
 * pixel), draws it (draw.ts) and turns the pointer into navigation: the
 * wheel zooms around the pointer, a drag pans, a shift-drag selects an area,
 * a click selects the event under the pointer. The time under the pointer is
 * shared through `pointer`, so W/S zoom and A/D pan around it.
 * @module
 */
import type { RefObject } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { RunDetail, Timeline as TimelineData } from "../../replay/query.ts";
import { api, runPath } from "./api.ts";
import { draw, GUTTER, type Hits, hitTest, tipText, type View } from "./draw.ts";
import { type Ev, fmtNs } from "./format.ts";

/** Narrowest window, ns. */
export const MIN_WINDOW_NS = 20;

/**
 * Pixels between the viewport's width and the timeline's (style.css: the page's padding, the timeline's border
 * and padding), so the page can ask for the first window before the timeline is laid out.
 */
export const PAGE_SIDES = 2 * 16 + 2 * 1 + 2 * 4;

/** Buckets asked for a timeline `width` pixels wide. */
export function timelinePx(width: number): number {
  return Math.max(50, Math.min(2000, Math.floor(width - GUTTER)));
}

/** Clamps a window to the run, keeping its width when it can. */
export function clampView(d: RunDetail, t0: number, t1: number): View {
  const lo = d.tFirst, hi = Math.max(d.simNs, lo + MIN_WINDOW_NS);
  const w = Math.max(MIN_WINDOW_NS, Math.min(t1 - t0, hi - lo));
  t0 = Math.max(lo, Math.min(t0, hi - w));
  return { t0: Math.round(t0), t1: Math.round(t0 + w) };
}

function useWidth(ref: RefObject<HTMLDivElement>): number {
  // 0 until measured, so no window is fetched at a width the page does not have.
  const [w, setW] = useState(0);
  // Measured before the first paint, so the first window is asked for one frame sooner.
  useLayoutEffect(() => {
    const el = ref.current!;
    const ro = new ResizeObserver(() => setW(el.clientWidth));
    ro.observe(el);
    setW(el.clientWidth);
    return () => ro.disconnect();
  }, []);
  return w;
}

/** Props of {@link Timeline}. */
export interface TimelineProps {
  id: string;
  detail: RunDetail;
  view: View;
  /**
   * The view is the run's default (the whole run, nothing in the URL): the first window is then asked for
   * without a time range, as the page asked for it at load (main.tsx), so it takes that answer.
   */
  whole?: boolean;
  setView: (v: View, replace?: boolean) => void;
  selected: Ev | null;
  select: (index: number) => void;
  highlight: { threads: ReadonlySet<number>; locks: ReadonlySet<number> };
  area: View | null;
  setArea: (a: View | null) => void;
  pointer: { current: number | null };
  onData?: (d: TimelineData | null) => void;
  marks?: number[];
  testid?: string;
}

/** The timeline section. */
export function Timeline(p: TimelineProps) {
  const { id, detail, view } = p;
  const wrap = useRef<HTMLDivElement>(null), canvas = useRef<HTMLCanvasElement>(null);
  const hits = useRef<Hits | null>(null);
  const drag = useRef<{ x: number; view: View; moved: boolean; area: boolean; t: number } | null>(null);
  const width = useWidth(wrap);
  const [data, setData] = useState<TimelineData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [threadTracks, setThreadTracks] = useState(false);
  const [hover, setHover] = useState<{ text: string; mx: number; my: number } | null>(null);
  const seq = useRef(0);
  // A layout effect: the request leaves as this render commits, not after the next paint.
  useLayoutEffect(() => {
    if (width === 0) return;
    const n = ++seq.current;
    const px = timelinePx(width);
    const fetchWindow = (whole: boolean) => {
      if (n === 1) performance.mark("lockstep:timeline-asked");
      api<TimelineData>(`${runPath(id)}/timeline`, whole ? { px } : { t0: view.t0, t1: view.t1, px }).then(
        (d) => {
          if (n !== seq.current) return;
          // The whole run as the server had it then: the preview's, or the whole index's; asked again if not ours.
          if (whole && (d.t0 !== view.t0 || d.t1 !== view.t1)) return fetchWindow(false);
          if (n === 1) performance.mark("lockstep:timeline-data");
          setData(d);
          setError(null);
          p.onData?.(d);
        },
        (e) => n === seq.current && setError(e.message),
      );
    };
    // The first window at once; later ones (zooming, panning) after a pause, so a gesture asks once.
    if (n === 1) return void fetchWindow(p.whole === true);
    const timer = setTimeout(() => fetchWindow(false), 30);
    return () => clearTimeout(timer);
  }, [id, view.t0, view.t1, width]);
  // A layout effect: the canvas is drawn before the frame that shows it is painted, not one frame later (the
  // first view's last step; a frame is 16 ms to 60 ms while Chromium is still loading the page).
  useLayoutEffect(() => {
    const c = canvas.current!;
    const drawn = performance.now();
    hits.current = draw(c, data, {
      view,
      width,
      selected: p.selected,
      highlight: p.highlight,
      area: p.area,
      threadTracks,
      marks: p.marks ?? [],
    });
    if (data && !performance.getEntriesByName("lockstep:draw").length) {
      performance.measure("lockstep:draw", { start: drawn, end: performance.now() });
    }
    c.dataset.slices = String(hits.current.slices.length);
    c.dataset.spans = String(hits.current.spans.length);
    c.dataset.t0 = String(view.t0);
    c.dataset.t1 = String(view.t1);
    // The marked times inside the window (the comparison's divergent event), for tests and tools.
    c.dataset.marks = (p.marks ?? []).filter((t) => t >= view.t0 && t <= view.t1).join(",");
    c.dataset.rows = hits.current.rows.map((r) => r.label).join("|");
    c.dataset.flow = hits.current.flow ? `${hits.current.flow.flow}:${hits.current.flow.hops}` : "";
    const widest = hits.current.slices.reduce<Hits["slices"][number] | null>(
      (b, s) => (!b || s.x1 - s.x0 > b.x1 - b.x0 ? s : b),
      null,
    );
    c.dataset.hit = widest
      ? `${Math.round((widest.x0 + widest.x1) / 2)},${Math.round((widest.y0 + widest.y1) / 2)}`
      : "";
  }, [data, view, p.selected, width, p.highlight, p.area, threadTracks, p.marks]);

  const tAt = (mx: number) => view.t0 + ((mx - GUTTER) / (width - GUTTER)) * (view.t1 - view.t0);
  const pos = (ev: MouseEvent): [number, number] => {
    const r = canvas.current!.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  useEffect(() => {
    // A non-passive wheel listener, so the page does not scroll while zooming.
    const c = canvas.current!;
    const onWheel = (ev: WheelEvent) => {
      ev.preventDefault();
      const [mx] = pos(ev);
      const t = tAt(Math.max(GUTTER, mx));
      if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
        const dt = ((ev.deltaX || ev.deltaY) / (width - GUTTER)) * (view.t1 - view.t0);
        p.setView(clampView(detail, view.t0 + dt, view.t1 + dt), true);
        return;
      }
      const f = Math.pow(1.25, Math.sign(ev.deltaY));
      p.setView(clampView(detail, t - (t - view.t0) * f, t + (view.t1 - t) * f), true);
    };
    c.addEventListener("wheel", onWheel, { passive: false });
    return () => c.removeEventListener("wheel", onWheel);
  });
  const onDown = (ev: MouseEvent) => {
    const [mx] = pos(ev);
    drag.current = { x: ev.clientX, view, moved: false, area: ev.shiftKey, t: tAt(Math.max(GUTTER, mx)) };
  };
  const onMove = (ev: MouseEvent) => {
    const [mx, my] = pos(ev);
    p.pointer.current = mx >= GUTTER ? tAt(mx) : null;
    const d = drag.current;
    if (d && ev.buttons & 1) {
      const dx = ev.clientX - d.x;
      if (Math.abs(dx) > 3) d.moved = true;
      if (!d.moved) return;
      if (d.area) {
        const t = tAt(Math.max(GUTTER, mx));
        p.setArea({ t0: Math.round(Math.min(d.t, t)), t1: Math.round(Math.max(d.t, t)) });
      } else {
        const dt = (dx / (width - GUTTER)) * (d.view.t1 - d.view.t0);
        p.setView(clampView(detail, d.view.t0 - dt, d.view.t1 - dt), true);
      }
      return;
    }
    const hit = hits.current && data ? hitTest(hits.current, mx, my) : null;
    const text = hit && data ? tipText(hit, data) : null;
    setHover(text ? { text, mx, my } : null);
  };
  const onUp = async (ev: MouseEvent) => {
    const d = drag.current;
    drag.current = null;
    if (d?.moved) return;
    const [mx, my] = pos(ev);
    const hit = hits.current ? hitTest(hits.current, mx, my) : null;
    if (!hit) return;
    if (hit.type === "mark") return p.select(hit.mark.v.index);
    if (hit.type === "hop") return p.select(hit.hop.ev);
    if (hit.type === "span") return p.select(hit.span.sp.ev);
    if (hit.type === "state") {
      const page = await api<{ events: Ev[] }>(`${runPath(id)}/events`, { t: hit.state.st.t0, limit: 1 }).catch(() =>
        null
      );
      if (page?.events[0]) p.select(page.events[0].index);
      return;
    }
    const s = hit.slice.s;
    // The first event on that CPU at or after the time clicked.
    const t = Math.max(s.t0, Math.floor(tAt(mx)));
    const page = await api<{ events: Ev[] }>(`${runPath(id)}/events`, { t, cpu: hit.slice.cpu, limit: 1 })
      .catch(() => null);
    if (page?.events[0]) p.select(page.events[0].index);
    else if (s.ev >= 0) p.select(s.ev);
  };
  return (
    <section class="timeline">
      <div class="tl-bar">
        <span class="muted" data-testid="window">
          {fmtNs(view.t0)} – {fmtNs(view.t1)} (width {fmtNs(view.t1 - view.t0)})
        </span>
        {data && (
          <span class="muted">
            {` · ${data.mode}`}
            {data.detail ? "" : " (zoom in for lock lanes and packets)"}
          </span>
        )}
        <label class="muted">
          <input
            type="checkbox"
            checked={threadTracks}
            onChange={(e) => setThreadTracks(e.currentTarget.checked)}
          />{" "}
          per-thread tracks
        </label>
        {error && <span class="error">{error}</span>}
      </div>
      <div class="tl-wrap" ref={wrap}>
        <canvas
          ref={canvas}
          class="tl-canvas"
          data-testid={p.testid ?? "timeline"}
          onMouseDown={onDown}
          onMouseMove={onMove}
          onMouseUp={onUp}
          onMouseLeave={() => {
            setHover(null);
            p.pointer.current = null;
          }}
        />
        {hover && (
          <pre class="tip" style={{ left: `${Math.min(hover.mx + 12, width - 280)}px`, top: `${hover.my + 12}px` }}>
            {hover.text}
          </pre>
        )}
      </div>
    </section>
  );
}
