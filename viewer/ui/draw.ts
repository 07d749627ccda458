/**
 * Drawing the timeline canvas: a time axis, one track per CPU with labelled
 * slices (one colour per thread), optional per-thread tracks, one lane per
 * lock with hold and wait spans, wakeup arrows, packet hops, violation marks,
 * the selection and the area selection. Returns hit boxes for the pointer.
 * @module
 */
import type { LockSpan, Slice, Timeline } from "../../replay/query.ts";
import { fmtNs, threadFill } from "./format.ts";

export const GUTTER = 120, AXIS = 20, ROW = 28, BAR = 22, TRACK = 14, LANE = 12, COUNTER = 26;
/** Wakeup arrows are all drawn up to this many; beyond, only those of the selected or highlighted threads. */
const WAKE_ARROWS_ALL_MAX = 150;

/** A time window in ns. */
export interface View {
  t0: number;
  t1: number;
}

/** What the drawing needs besides the data. */
export interface DrawOpts {
  view: View;
  width: number;
  selected: { tNs: number; cpu: number; thread: number; fields?: Record<string, number | string> } | null;
  highlight: { threads: ReadonlySet<number>; locks: ReadonlySet<number> };
  area: View | null;
  threadTracks: boolean;
  marks: number[];
}

/** Hit boxes. */
export interface Hits {
  slices: { x0: number; x1: number; y0: number; y1: number; cpu: number; s: Slice; name: string; kind: string }[];
  spans: { x0: number; x1: number; y0: number; y1: number; sp: LockSpan }[];
  marks: { x0: number; x1: number; y0: number; y1: number; v: Timeline["violations"][number] }[];
  hops: { px: number; py: number; p: Timeline["packets"][number]; ev: number }[];
  states: {
    x0: number;
    x1: number;
    y0: number;
    y1: number;
    th: number;
    st: Timeline["threadStates"][number]["spans"][number];
  }[];
  /** The selected event's network flow drawn, and its hops in the window. */
  flow?: { flow: number; hops: number };
  /** Rows of the layout: label and y range, for tests and hovering. */
  rows: { label: string; y0: number; y1: number }[];
}

function ticks(t0: number, t1: number, n: number): number[] {
  const raw = (t1 - t0) / n;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t);
  return out;
}

/** Lock ids in the spans, in id order. */
export function lockLanes(data: Timeline | null): number[] {
  return data ? [...new Set(data.spans.map((s) => s.lock))].sort((a, b) => a - b) : [];
}

/** Thread ids that ran, waited or were runnable in the window, in id order. */
export function threadIds(data: Timeline | null): number[] {
  if (!data) return [];
  const ids = new Set<number>();
  for (const c of data.cpus) for (const s of c.slices) ids.add(s.th);
  for (const ts of data.threadStates) if (ts.spans.length) ids.add(ts.thread);
  return [...ids].sort((a, b) => a - b);
}

/** Canvas height for the data. */
export function heightOf(data: Timeline | null, threadTracks: boolean): number {
  const cpus = data ? data.cpus.length : 1;
  const threads = threadTracks ? threadIds(data).length : 0;
  const counters = data ? data.counters.length : 0;
  return AXIS + cpus * ROW + (threads ? 6 + threads * TRACK : 0) + (lockLanes(data).length ? 6 : 0) +
    lockLanes(data).length * LANE + (counters ? 6 + counters * COUNTER : 0) + 6;
}

/** Draws everything and returns the hit boxes. */
export function draw(canvas: HTMLCanvasElement, data: Timeline | null, o: DrawOpts): Hits {
  const { view, width } = o;
  const dpr = devicePixelRatio || 1;
  const height = heightOf(data, o.threadTracks);
  canvas.width = Math.floor(width * dpr);
  canvas.height = Math.floor(height * dpr);
  canvas.style.height = `${height}px`;
  const g = canvas.getContext("2d")!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, width, height);
  const span = Math.max(1, view.t1 - view.t0);
  const x = (t: number) => GUTTER + ((t - view.t0) / span) * (width - GUTTER);
  const clampX = (t: number) => Math.max(GUTTER, Math.min(width, x(t)));
  g.font = "11px system-ui, sans-serif";
  g.textBaseline = "middle";
  g.fillStyle = "#666";
  for (const t of ticks(view.t0, view.t1, 8)) {
    g.fillRect(x(t), AXIS - 4, 1, 4);
    g.fillText(fmtNs(t), x(t) + 2, 8);
  }
  const hits: Hits = { slices: [], spans: [], marks: [], hops: [], rows: [], states: [] };
  if (!data) return hits;
  const name = (th: number) => data.threads[th]?.name ?? `thread ${th}`;
  const kind = (th: number) => data.threads[th]?.kind ?? "kthread";
  const label = (text: string, y: number, h: number) => {
    g.fillStyle = "#333";
    g.fillText(text.length > 18 ? `${text.slice(0, 17)}…` : text, 4, y + h / 2);
    hits.rows.push({ label: text, y0: y, y1: y + h });
  };
  const sliceBox = (s: Slice, y: number, h: number, cpu: number, withText: boolean) => {
    const x0 = clampX(s.t0), x1 = Math.max(x0 + 1, clampX(s.t1));
    g.fillStyle = threadFill(s.th, kind(s.th));
    g.globalAlpha = 0.35 + 0.65 * s.busy;
    g.fillRect(x0, y, x1 - x0, h);
    g.globalAlpha = 1;
    if (o.highlight.threads.has(s.th)) {
      g.strokeStyle = "#000";
      g.lineWidth = 2;
      g.strokeRect(x0 + 1, y + 1, x1 - x0 - 2, h - 2);
      g.lineWidth = 1;
    }
    const text = name(s.th);
    if (withText && x1 - x0 > 30) {
      g.save();
      g.beginPath();
      g.rect(x0, y, x1 - x0, h);
      g.clip();
      g.fillStyle = "#fff";
      g.fillText(text, x0 + 3, y + h / 2);
      g.restore();
    }
    hits.slices.push({ x0, x1, y0: y, y1: y + h, cpu, s, name: text, kind: kind(s.th) });
  };
  let y = AXIS;
  const cpuY: number[] = [];
  for (const row of data.cpus) {
    cpuY[row.cpu] = y;
    g.fillStyle = "#f3f3f3";
    g.fillRect(GUTTER, y, width - GUTTER, BAR);
    label(`cpu${row.cpu}`, y, BAR);
    for (const s of row.slices) sliceBox(s, y, BAR, row.cpu, true);
    y += ROW;
  }
  if (o.threadTracks) {
    y += 6;
    for (const th of threadIds(data)) {
      g.fillStyle = "#fafafa";
      g.fillRect(GUTTER, y, width - GUTTER, TRACK - 2);
      label(name(th), y, TRACK - 2);
      for (const row of data.cpus) {
        for (const s of row.slices) if (s.th === th) sliceBox(s, y, TRACK - 2, row.cpu, false);
      }
      // Runnable: a grey band; blocked: a dark red line with what it waits on.
      for (const st of data.threadStates.find((ts) => ts.thread === th)?.spans ?? []) {
        const x0 = clampX(st.t0), x1 = Math.max(x0 + 1, clampX(st.t1));
        if (st.state === "runnable") {
          g.fillStyle = "hsl(0 0% 70%)";
          g.fillRect(x0, y + 3, x1 - x0, TRACK - 8);
        } else {
          g.fillStyle = "hsl(0 60% 35%)";
          g.fillRect(x0, y + TRACK / 2 - 2, x1 - x0, 2);
          if (st.on && x1 - x0 > 60) {
            g.save();
            g.beginPath();
            g.rect(x0, y, x1 - x0, TRACK - 2);
            g.clip();
            g.fillStyle = "hsl(0 60% 30%)";
            g.font = "9px system-ui, sans-serif";
            g.fillText(st.on, x0 + 2, y + 3);
            g.restore();
          }
        }
        hits.states.push({ x0, x1, y0: y, y1: y + TRACK - 2, th, st });
      }
      y += TRACK;
    }
  }
  const lanes = lockLanes(data);
  if (lanes.length) y += 6;
  const laneY = new Map<number, number>();
  for (const lock of lanes) {
    laneY.set(lock, y);
    if (o.highlight.locks.has(lock)) {
      g.fillStyle = "#fff3b0";
      g.fillRect(0, y, width, LANE);
    }
    label(`${data.locks[lock] ?? "lock"} #${lock}`, y, LANE - 2);
    y += LANE;
  }
  for (const sp of data.spans) {
    const ly = laneY.get(sp.lock)!;
    const x0 = clampX(sp.t0), x1 = Math.max(x0 + 2, clampX(sp.t1));
    g.fillStyle = sp.kind === "hold" ? threadFill(sp.thread, kind(sp.thread)) : "hsl(0 85% 50%)";
    g.globalAlpha = sp.kind === "hold" ? 0.9 : 1;
    if (sp.kind === "hold") g.fillRect(x0, ly + 1, x1 - x0, LANE - 4);
    else g.fillRect(x0, ly + LANE / 2 - 3, x1 - x0, 4);
    g.globalAlpha = 1;
    hits.spans.push({ x0, x1, y0: ly, y1: ly + LANE - 2, sp });
  }
  if (data.counters.length) y += 6;
  for (const c of data.counters) {
    g.fillStyle = "#fafafa";
    g.fillRect(GUTTER, y, width - GUTTER, COUNTER - 4);
    let max = 0;
    for (let i = 1; i < c.points.length; i += 2) max = Math.max(max, c.points[i]);
    label(c.name, y, COUNTER - 4);
    g.fillStyle = "#555";
    g.textAlign = "right";
    g.fillText(`max ${Math.round(max * 1000) / 1000} ${c.unit}`, width - 4, y + 6);
    g.textAlign = "left";
    g.strokeStyle = "hsl(265 60% 45%)";
    g.fillStyle = "hsl(265 60% 45% / 0.25)";
    g.beginPath();
    const base = y + COUNTER - 4, scale = max > 0 ? (COUNTER - 8) / max : 0;
    g.moveTo(clampX(c.points[0] ?? view.t0), base);
    for (let i = 0; i < c.points.length; i += 2) {
      const px = clampX(c.points[i]), next = i + 2 < c.points.length ? clampX(c.points[i + 2]) : clampX(view.t1);
      const py = base - c.points[i + 1] * scale;
      g.lineTo(px, py);
      g.lineTo(next, py);
    }
    g.lineTo(clampX(view.t1), base);
    g.closePath();
    g.fill();
    g.stroke();
    y += COUNTER;
  }
  const followed = new Set<number>(o.highlight.threads);
  if (o.selected) followed.add(o.selected.thread);
  const all = data.wakeups.length <= WAKE_ARROWS_ALL_MAX;
  g.strokeStyle = "hsl(140 70% 28% / 0.8)";
  g.fillStyle = "hsl(140 70% 28%)";
  for (const w of data.wakeups) {
    if (!all && !followed.has(w.thread)) continue;
    const ax = x(w.t0), ay = (cpuY[w.cpu0] ?? AXIS) + 3;
    const bx = w.t1 >= 0 ? x(w.t1) : Math.min(width, ax + 40), by = (cpuY[w.cpu1] ?? AXIS) + BAR - 3;
    g.beginPath();
    g.moveTo(ax, ay);
    g.lineTo(bx, by);
    g.stroke();
    const ang = Math.atan2(by - ay, bx - ax);
    g.beginPath();
    g.moveTo(bx, by);
    g.lineTo(bx - 6 * Math.cos(ang - 0.4), by - 6 * Math.sin(ang - 0.4));
    g.lineTo(bx - 6 * Math.cos(ang + 0.4), by - 6 * Math.sin(ang + 0.4));
    g.fill();
  }
  for (const p of data.packets) {
    let prev: { px: number; py: number } | null = null;
    for (const hop of p.hops) {
      const q = { px: x(hop.tNs), py: (cpuY[hop.cpu] ?? AXIS) + BAR / 2 };
      if (prev && prev.py !== q.py) {
        g.strokeStyle = "hsl(200 80% 35% / 0.7)";
        g.beginPath();
        g.moveTo(prev.px, prev.py);
        g.lineTo(q.px, q.py);
        g.stroke();
      }
      g.fillStyle = "#fff";
      g.strokeStyle = "#124";
      g.beginPath();
      g.arc(q.px, q.py, 2.5, 0, 2 * Math.PI);
      g.fill();
      g.stroke();
      hits.hops.push({ ...q, p, ev: hop.ev });
      prev = q;
    }
  }
  // The selected event's network flow (its `flow` field, or its packet's): every hop of it joined, arrows where it
  // changes CPU.
  const sf = o.selected?.fields;
  const flow = typeof sf?.flow === "number" ? sf.flow : data.packets.find((p) => p.pkt === sf?.pkt)?.flow;
  if (flow !== undefined) {
    const hops = data.packets.filter((p) => p.flow === flow).flatMap((p) => p.hops).sort((a, b) => a.tNs - b.tNs);
    g.strokeStyle = "hsl(210 90% 40%)";
    g.fillStyle = "hsl(210 90% 40%)";
    g.lineWidth = 2;
    for (let i = 1; i < hops.length; i++) {
      const a = hops[i - 1], b = hops[i];
      const ax = x(a.tNs), ay = (cpuY[a.cpu] ?? AXIS) + BAR / 2, bx = x(b.tNs), by = (cpuY[b.cpu] ?? AXIS) + BAR / 2;
      g.beginPath();
      g.moveTo(ax, ay);
      g.lineTo(bx, by);
      g.stroke();
      if (a.cpu !== b.cpu) {
        const ang = Math.atan2(by - ay, bx - ax);
        g.beginPath();
        g.moveTo(bx, by);
        g.lineTo(bx - 7 * Math.cos(ang - 0.4), by - 7 * Math.sin(ang - 0.4));
        g.lineTo(bx - 7 * Math.cos(ang + 0.4), by - 7 * Math.sin(ang + 0.4));
        g.fill();
      }
    }
    g.lineWidth = 1;
    hits.flow = { flow, hops: hops.length };
  }
  for (const v of data.violations) {
    const vx = x(v.tNs), vy = cpuY[v.cpu] ?? AXIS;
    g.fillStyle = "#d00";
    g.beginPath();
    g.moveTo(vx - 6, vy);
    g.lineTo(vx + 6, vy);
    g.lineTo(vx, vy + 10);
    g.fill();
    hits.marks.push({ x0: vx - 6, x1: vx + 6, y0: vy, y1: vy + 10, v });
  }
  for (const t of o.marks) {
    if (t < view.t0 || t > view.t1) continue;
    g.fillStyle = "#e08000";
    g.fillRect(x(t) - 1, AXIS - 6, 3, height - AXIS + 6);
  }
  if (o.area) {
    const a0 = clampX(o.area.t0), a1 = clampX(o.area.t1);
    g.fillStyle = "hsl(220 90% 50% / 0.12)";
    g.fillRect(a0, AXIS, a1 - a0, height - AXIS);
    g.strokeStyle = "hsl(220 90% 40%)";
    g.strokeRect(a0, AXIS, a1 - a0, height - AXIS);
  }
  if (o.selected && o.selected.tNs >= view.t0 && o.selected.tNs <= view.t1) {
    g.fillStyle = "#06f";
    g.fillRect(x(o.selected.tNs), AXIS - 6, 1.5, height - AXIS + 6);
  }
  return hits;
}

/** What is under the pointer, most specific first. */
export function hitTest(h: Hits, mx: number, my: number) {
  const inBox = (b: { x0: number; x1: number; y0: number; y1: number }) =>
    mx >= b.x0 - 1 && mx <= b.x1 + 1 && my >= b.y0 && my <= b.y1;
  const hop = h.hops.find((q) => Math.abs(q.px - mx) <= 4 && Math.abs(q.py - my) <= 4);
  if (hop) return { type: "hop" as const, hop };
  const mark = h.marks.find(inBox);
  if (mark) return { type: "mark" as const, mark };
  const span = h.spans.find(inBox);
  if (span) return { type: "span" as const, span };
  const slice = h.slices.find(inBox);
  if (slice) return { type: "slice" as const, slice };
  const state = h.states.find(inBox);
  return state ? { type: "state" as const, state } : null;
}

/** Tooltip text for a hit. */
export function tipText(hit: ReturnType<typeof hitTest>, data: Timeline): string | null {
  if (!hit) return null;
  if (hit.type === "slice") {
    const { s, name, kind, cpu } = hit.slice;
    return `${name} (${kind}, thread ${s.th}) on cpu${cpu}\n${fmtNs(s.t0)} – ${fmtNs(s.t1)}, busy ${
      Math.round(s.busy * 100)
    }%`;
  }
  if (hit.type === "span") {
    const sp = hit.span.sp;
    const who = data.threads[sp.thread]?.name ?? `thread ${sp.thread}`;
    return `${who} ${sp.kind === "hold" ? "holds" : "waits for"} ${data.locks[sp.lock] ?? sp.lock}\nfrom #${sp.ev} at ${
      fmtNs(sp.t0)
    }, ${sp.open ? "still open at" : "until"} ${fmtNs(sp.t1)} (${fmtNs(sp.t1 - sp.t0)})`;
  }
  if (hit.type === "state") {
    const { th, st } = hit.state;
    const who = data.threads[th]?.name ?? `thread ${th}`;
    return `${who} ${st.state}${st.on ? ` on ${st.on}` : ""}\n${fmtNs(st.t0)} – ${fmtNs(st.t1)} (${
      fmtNs(st.t1 - st.t0)
    })`;
  }
  if (hit.type === "hop") {
    const p = hit.hop.p;
    return `packet ${p.pkt} (flow ${p.flow})\n` + p.hops.map((q) => `${fmtNs(q.tNs)} cpu${q.cpu} ${q.kind}`).join("\n");
  }
  return `violation ${hit.mark.v.kind} at #${hit.mark.v.index}\n${hit.mark.v.message}`;
}
