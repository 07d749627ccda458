// Colours. Categories come from /api/schema (core/schema.ts), threads are
// coloured by kind (softint, interrupt, kernel thread, user) with a per-id shade.

const CAT_HUES = [210, 140, 0, 30, 270, 50, 180, 320, 90, 240, 15];

/** Colour of each schema category, in the schema's order. */
export function categoryColors(schema) {
  const out = {};
  schema.categories.forEach((cat, i) => (out[cat] = `hsl(${CAT_HUES[i % CAT_HUES.length]} 60% 45%)`));
  return out;
}

const KIND_HUE = { kthread: [190, 250], user: [95, 160], softint: [28, 48], intr: [350, 10] };

/** Colour of thread `id` of `kind` at opacity `alpha`. */
export function threadColor(id, kind, alpha = 1) {
  const [lo, hi] = KIND_HUE[kind] ?? KIND_HUE.kthread;
  const span = ((hi - lo + 360) % 360) || 1;
  const hue = (lo + ((id * 47) % span)) % 360;
  const light = kind === "intr" ? 45 : 40 + ((id * 13) % 25);
  return `hsl(${hue} 65% ${light}% / ${alpha})`;
}

/** The thread kinds with a sample colour each, for the legend. */
export const THREAD_KIND_LEGEND = [
  ["kthread", "kernel thread"],
  ["user", "user thread"],
  ["softint", "soft interrupt"],
  ["intr", "hard interrupt"],
];
