// The per-CPU timeline: a canvas of slices (one colour per thread, softints
// and interrupts in their own hues), lock hold/wait lanes, packet hops and
// violation marks. Wheel zooms around the pointer, drag pans, a click selects
// the slice's event. The server aggregates to about one bucket per pixel.
import { h } from "../vendor/preact.mjs";
import { useEffect, useRef, useState } from "../vendor/hooks.mjs";
import { api, fmtNs, runPath } from "./api.js";
import { threadColor } from "./colors.js";

const GUTTER = 64, AXIS = 20, ROW = 34, BAR = 20, LANE = 8;
const MIN_WINDOW_NS = 50;

function useWidth(ref) {
  const [w, setW] = useState(800);
  useEffect(() => {
    const ro = new ResizeObserver(() => ref.current && setW(ref.current.clientWidth));
    ro.observe(ref.current);
    setW(ref.current.clientWidth);
    return () => ro.disconnect();
  }, []);
  return w;
}

/** Fetches the timeline of the view, dropping answers that arrive after a newer request. */
function useTimeline(id, view, width) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const seq = useRef(0);
  useEffect(() => {
    const n = ++seq.current;
    const px = Math.max(50, Math.min(2000, Math.floor(width - GUTTER)));
    const timer = setTimeout(() => {
      api(`${runPath(id)}/timeline`, { t0: Math.floor(view.t0), t1: Math.ceil(view.t1), px }).then(
        (d) => n === seq.current && (setData(d), setError(null)),
        (e) => n === seq.current && setError(e.message),
      );
    }, 40);
    return () => clearTimeout(timer);
  }, [id, view.t0, view.t1, width]);
  return [data, error];
}

function ticks(t0, t1, n) {
  const raw = (t1 - t0) / n;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t);
  return out;
}

/** Draws everything; returns the hit boxes for clicks and hovers. */
function draw(canvas, data, view, selected, width, hover) {
  const dpr = devicePixelRatio || 1;
  const cpus = data ? data.cpus.length : 0;
  const height = AXIS + Math.max(1, cpus) * ROW + 4;
  canvas.width = Math.floor(width * dpr);
  canvas.height = Math.floor(height * dpr);
  canvas.style.height = `${height}px`;
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, width, height);
  const span = view.t1 - view.t0;
  const x = (t) => GUTTER + ((t - view.t0) / span) * (width - GUTTER);
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#666";
  for (const t of ticks(view.t0, view.t1, 8)) {
    g.fillRect(x(t), AXIS - 4, 1, 4);
    g.fillText(fmtNs(t), x(t) + 2, 11);
  }
  const hits = { slices: [], spans: [], hops: [], marks: [] };
  if (!data) return hits;
  const rowY = (cpu) => AXIS + cpu * ROW;
  for (const row of data.cpus) {
    const y = rowY(row.cpu);
    g.fillStyle = "#f3f3f3";
    g.fillRect(GUTTER, y, width - GUTTER, BAR);
    g.fillStyle = "#333";
    g.fillText(`cpu${row.cpu}`, 6, y + 14);
    for (const s of row.slices) {
      const info = data.threads[s.th] ?? { name: `thread ${s.th}`, kind: "kthread" };
      const x0 = Math.max(GUTTER, x(s.t0)), x1 = Math.max(x0 + 1, x(s.t1));
      g.fillStyle = threadColor(s.th, info.kind, 0.3 + 0.7 * s.busy);
      g.fillRect(x0, y, x1 - x0, BAR);
      hits.slices.push({ x0, x1, y0: y, y1: y + BAR, cpu: row.cpu, s, info });
    }
  }
  for (const sp of data.spans) {
    const y = rowY(sp.cpu) + BAR + 2;
    const x0 = Math.max(GUTTER, x(sp.t0)), x1 = Math.max(x0 + 1, x(sp.t1));
    g.fillStyle = sp.kind === "hold" ? "hsl(0 0% 20%)" : "hsl(0 80% 55%)";
    g.fillRect(x0, y, x1 - x0, LANE - 2);
    hits.spans.push({ x0, x1, y0: y, y1: y + LANE, sp });
  }
  for (const p of data.packets) {
    const pts = p.hops.map((hop) => ({ px: x(hop.tNs), py: rowY(hop.cpu) + BAR / 2, hop, p }));
    if (hover?.p === p) {
      g.strokeStyle = "#000";
      g.beginPath();
      pts.forEach((q, i) => (i ? g.lineTo(q.px, q.py) : g.moveTo(q.px, q.py)));
      g.stroke();
    }
    g.fillStyle = "#fff";
    g.strokeStyle = "#222";
    for (const q of pts) {
      g.beginPath();
      g.arc(q.px, q.py, 2.5, 0, 2 * Math.PI);
      g.fill();
      g.stroke();
      hits.hops.push(q);
    }
  }
  for (const v of data.violations) {
    const vx = x(v.tNs), vy = rowY(Math.min(v.cpu, cpus - 1));
    g.fillStyle = "#d00";
    g.beginPath();
    g.moveTo(vx - 5, vy);
    g.lineTo(vx + 5, vy);
    g.lineTo(vx, vy + 8);
    g.fill();
    hits.marks.push({ x0: vx - 5, x1: vx + 5, y0: vy, y1: vy + 8, v });
  }
  if (selected && selected.tNs >= view.t0 && selected.tNs <= view.t1) {
    g.fillStyle = "#06f";
    g.fillRect(x(selected.tNs), AXIS - 6, 1.5, height - AXIS + 6);
  }
  return hits;
}

function hitTest(hits, mx, my) {
  const inBox = (b) => mx >= b.x0 && mx <= b.x1 && my >= b.y0 && my <= b.y1;
  const hop = hits.hops.find((q) => Math.abs(q.px - mx) <= 4 && Math.abs(q.py - my) <= 4);
  if (hop) return { type: "hop", ...hop };
  const mark = hits.marks.find(inBox);
  if (mark) return { type: "mark", ...mark };
  const span = hits.spans.find(inBox);
  if (span) return { type: "span", ...span };
  const slice = hits.slices.find(inBox);
  return slice ? { type: "slice", ...slice } : null;
}

function tip(hit, data) {
  if (!hit) return null;
  if (hit.type === "slice") {
    const s = hit.s;
    return `${hit.info.name} (${hit.info.kind}, thread ${s.th}) on cpu${hit.cpu}\n${fmtNs(s.t0)} – ${
      fmtNs(s.t1)
    }, busy ${Math.round(s.busy * 100)}%`;
  }
  if (hit.type === "span") {
    const sp = hit.sp;
    const who = data.threads[sp.thread]?.name ?? `thread ${sp.thread}`;
    return `${who} ${sp.kind === "hold" ? "holds" : "waits for"} ${data.locks[sp.lock] ?? sp.lock}\n${fmtNs(sp.t0)} – ${
      fmtNs(sp.t1)
    } (${fmtNs(sp.t1 - sp.t0)})`;
  }
  if (hit.type === "hop") {
    return `packet ${hit.p.pkt} (flow ${hit.p.flow})\n` +
      hit.p.hops.map((q) => `${fmtNs(q.tNs)} cpu${q.cpu} ${q.kind}`).join("\n");
  }
  return `violation ${hit.v.kind} at #${hit.v.index}\n${hit.v.message}`;
}

export function Timeline({ id, detail, view, setView, selected, select }) {
  const wrap = useRef(null), canvas = useRef(null), hits = useRef(null), drag = useRef(null);
  const width = useWidth(wrap);
  const [data, error] = useTimeline(id, view, width);
  const [hover, setHover] = useState(null);
  useEffect(() => {
    hits.current = draw(canvas.current, data, view, selected, width, hover);
    const n = data ? data.cpus.reduce((a, c) => a + c.slices.length, 0) : 0;
    canvas.current.dataset.slices = String(n);
    const widest = hits.current.slices.reduce((b, s) => (!b || s.x1 - s.x0 > b.x1 - b.x0 ? s : b), null);
    canvas.current.dataset.hit = widest ? `${Math.round((widest.x0 + widest.x1) / 2)},${widest.y0 + BAR / 2}` : "";
  }, [data, view, selected, width, hover]);
  const clampView = (t0, t1) => {
    const lo = detail.tFirst, hi = Math.max(detail.simNs, lo + 1);
    const w = Math.max(MIN_WINDOW_NS, Math.min(t1 - t0, hi - lo));
    t0 = Math.max(lo, Math.min(t0, hi - w));
    return { t0, t1: t0 + w };
  };
  const tAt = (mx) => view.t0 + ((mx - GUTTER) / (width - GUTTER)) * (view.t1 - view.t0);
  const pos = (ev) => {
    const r = canvas.current.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  const onWheel = (ev) => {
    ev.preventDefault();
    const [mx] = pos(ev);
    const t = tAt(Math.max(GUTTER, mx));
    const f = Math.pow(1.2, Math.sign(ev.deltaY));
    setView(clampView(t - (t - view.t0) * f, t + (view.t1 - t) * f));
  };
  const onDown = (ev) => {
    drag.current = { x: ev.clientX, view, moved: false };
  };
  const onMove = (ev) => {
    const d = drag.current;
    if (d && ev.buttons & 1) {
      const dx = ev.clientX - d.x;
      if (Math.abs(dx) > 3) d.moved = true;
      const dt = (dx / (width - GUTTER)) * (d.view.t1 - d.view.t0);
      if (d.moved) setView(clampView(d.view.t0 - dt, d.view.t1 - dt));
      return;
    }
    const [mx, my] = pos(ev);
    const hit = hits.current && hitTest(hits.current, mx, my);
    setHover(hit ? { ...hit, mx, my } : null);
  };
  const onUp = async (ev) => {
    const d = drag.current;
    drag.current = null;
    if (d?.moved) return;
    const [mx, my] = pos(ev);
    const hit = hits.current && hitTest(hits.current, mx, my);
    if (!hit) return;
    if (hit.type === "mark") return select(hit.v.index);
    if (hit.type === "hop") return select(hit.hop.ev);
    if (hit.type === "span") return select(hit.sp.ev);
    if (hit.s.ev >= 0) return select(hit.s.ev);
    const page = await api(`${runPath(id)}/events`, { t: Math.floor(hit.s.t0), cpu: hit.cpu, limit: 1 }).catch(() =>
      null
    );
    if (page?.events[0]) select(page.events[0].index);
  };
  useEffect(() => {
    // A non-passive wheel listener, so the page does not scroll while zooming.
    const c = canvas.current;
    c.addEventListener("wheel", onWheel, { passive: false });
    return () => c.removeEventListener("wheel", onWheel);
  });
  const zoom = (f) => {
    const mid = (view.t0 + view.t1) / 2, w = (view.t1 - view.t0) * f;
    setView(clampView(mid - w / 2, mid + w / 2));
  };
  const text = hover ? tip(hover, data) : null;
  return h(
    "section",
    { class: "timeline" },
    h(
      "div",
      { class: "tl-bar" },
      h("button", { onClick: () => zoom(0.5) }, "zoom in"),
      h("button", { onClick: () => zoom(2) }, "zoom out"),
      h("button", { onClick: () => setView(clampView(detail.tFirst, detail.simNs)) }, "whole run"),
      h("span", { class: "muted" }, ` ${fmtNs(view.t0)} – ${fmtNs(view.t1)}`),
      data
        ? h("span", { class: "muted" }, ` · ${data.mode}${data.detail ? "" : " (zoom in for lock spans and packets)"}`)
        : null,
      error ? h("span", { class: "error" }, ` ${error}`) : null,
    ),
    h(
      "div",
      { class: "tl-wrap", ref: wrap },
      h("canvas", {
        ref: canvas,
        class: "tl-canvas",
        "data-testid": "timeline",
        onMouseDown: onDown,
        onMouseMove: onMove,
        onMouseUp: onUp,
        onMouseLeave: () => setHover(null),
      }),
      text
        ? h("pre", {
          class: "tip",
          style: { left: `${Math.min(hover.mx + 12, width - 260)}px`, top: `${hover.my + 12}px` },
        }, text)
        : null,
    ),
  );
}
