/**
 * Formatting and small shared types of the viewer UI.
 * @module
 */

/** A decoded event as `/api/runs/:id/events` returns it (format/json.ts eventToJson plus names). */
export interface Ev {
  index: number;
  tNs: number;
  cpu: number;
  thread: number;
  kind: string;
  cat: string;
  fields: Record<string, number | string>;
  text?: string;
  threadName?: string;
  names?: Record<string, string>;
}

/** Short time for axes and spans: three decimals in the largest fitting unit. */
export function fmtNs(ns: number | null | undefined): string {
  if (ns === null || ns === undefined) return "–";
  const a = Math.abs(ns);
  if (a >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (a >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  if (a >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${Math.round(ns)} ns`;
}

/** Full-precision time: every nanosecond, grouped by thousands ("213 456 789 ns"). */
export function fmtFull(ns: number): string {
  const s = String(Math.round(ns));
  return `${s.replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009")} ns`;
}

/**
 * A count grouped by thousands with commas ("10,116,544", as en-US toLocaleString writes it). Not
 * toLocaleString itself: its first call loads the locale data, ~100 ms on a cold page, on the first view's path.
 */
export function fmtCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A byte size. */
export function fmtBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * Parses a go-to entry: "#123" or "123" is an event; a number with a unit
 * ("12.5ms", "300 us", "1500ns", "2s") or "t=..." is a time in ns.
 */
export function parseGoto(text: string): { event: number } | { tNs: number } | undefined {
  const s = text.trim().toLowerCase().replace(/^t\s*=\s*/, "");
  let m = s.match(/^#?(\d{1,12})$/);
  if (m && !text.trim().toLowerCase().startsWith("t")) return { event: Number(m[1]) };
  m = s.match(/^(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)?$/);
  if (!m) return undefined;
  const mul: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9 };
  return { tNs: Math.round(Number(m[1]) * mul[m[2] ?? "ns"]) };
}

/** Distinct colour per thread: golden-angle hues, so neighbouring ids (softnet0..3) differ clearly. */
export function threadColor(id: number, kind: string, alpha = 1): string {
  const hue = Math.round((id * 137.508) % 360);
  const sat = kind === "intr" ? 85 : kind === "softint" ? 75 : 60;
  const light = kind === "user" ? 58 : kind === "softint" ? 48 : 42 + (id % 3) * 6;
  return `hsl(${hue} ${sat}% ${light}% / ${alpha})`;
}

const opaque = new Map<string, string>();

/**
 * {@link threadColor} without alpha, built once per thread and kept: a
 * timeline draws thousands of slices, and building and parsing an hsl()
 * string for each cost more than the drawing (set the alpha with the
 * context's globalAlpha, which composites the same).
 */
export function threadFill(id: number, kind: string): string {
  const key = `${id}:${kind}`;
  let c = opaque.get(key);
  if (c === undefined) opaque.set(key, c = threadColor(id, kind));
  return c;
}

/** Colour of each schema category, in the schema's order. */
export function categoryColors(categories: readonly string[]): Record<string, string> {
  const hues = [210, 140, 0, 30, 270, 50, 180, 320, 90, 240, 15];
  const out: Record<string, string> = {};
  categories.forEach((c, i) => (out[c] = `hsl(${hues[i % hues.length]} 60% 45%)`));
  return out;
}
