/**
 * The per-CPU occupancy grid of a run's index: for each (time cell, CPU), the
 * thread that ran longest, the busy share and the first event; and coarser
 * copies of it (a pyramid), so a timeline window of any width reads few cells.
 *
 * @module
 */

/**
 * Per-CPU occupancy over a grid of equal time cells: for each (cell, cpu),
 * the thread that ran longest (0 when only idle, -1 no data), the share of the cell
 * spent non-idle (per mille) and the first noted event (a switch) on that
 * CPU in the cell.
 * Spans are added in time order per CPU; only one cell per CPU is open.
 */
export class Occupancy {
  readonly act: Int32Array;
  readonly busy: Uint16Array;
  readonly firstEv: Float64Array;
  readonly #open: Int32Array;
  readonly #acts: number[][];
  readonly #ns: number[][];

  constructor(readonly cpus: number, readonly cells: number, readonly cellNs: number, readonly t0: number) {
    this.act = new Int32Array(cells * cpus).fill(-1);
    this.busy = new Uint16Array(cells * cpus);
    this.firstEv = new Float64Array(cells * cpus).fill(-1);
    this.#open = new Int32Array(cpus).fill(-1);
    this.#acts = Array.from({ length: cpus }, () => []);
    this.#ns = Array.from({ length: cpus }, () => []);
  }

  /** The cell holding time `t` (clamped to the grid). */
  cellOf(t: number): number {
    const c = Math.floor((t - this.t0) / this.cellNs);
    return c < 0 ? 0 : c >= this.cells ? this.cells - 1 : c;
  }

  /** Notes event `index` on `cpu` at `t` (keeps the first per cell). */
  noteEvent(cpu: number, t: number, index: number): void {
    const at = this.cellOf(t) * this.cpus + cpu;
    if (this.firstEv[at] < 0) this.firstEv[at] = index;
  }

  /** Attributes [ta, tb) on `cpu` to `thread`. */
  add(cpu: number, thread: number, ta: number, tb: number): void {
    const end = Math.min(tb, this.t0 + this.cells * this.cellNs);
    let t = Math.max(ta, this.t0);
    let cell = this.cellOf(t);
    while (t < end) {
      const cellEnd = this.t0 + (cell + 1) * this.cellNs;
      const seg = Math.min(end, cellEnd) - t;
      this.#put(cpu, cell, thread, seg);
      t += seg;
      cell++;
    }
  }

  /** Closes every open cell; call once after the last `add`. */
  finish(): void {
    for (let c = 0; c < this.cpus; c++) this.#flush(c);
  }

  #put(cpu: number, cell: number, thread: number, ns: number): void {
    if (this.#open[cpu] !== cell) {
      this.#flush(cpu);
      this.#open[cpu] = cell;
    }
    const acts = this.#acts[cpu];
    const k = acts.indexOf(thread);
    if (k >= 0) this.#ns[cpu][k] += ns;
    else {
      acts.push(thread);
      this.#ns[cpu].push(ns);
    }
  }

  #flush(cpu: number): void {
    const cell = this.#open[cpu];
    if (cell < 0) return;
    const acts = this.#acts[cpu];
    const ns = this.#ns[cpu];
    let best = 0, bestNs = -1, busyNs = 0;
    // The thread that ran longest, not idle: short bursts between idle gaps
    // would otherwise vanish at every zoom but the deepest; `busy` says how
    // much of the cell it filled.
    for (let k = 0; k < acts.length; k++) {
      if (acts[k] === 0) continue;
      if (ns[k] > bestNs) [best, bestNs] = [acts[k], ns[k]];
      busyNs += ns[k];
    }
    const at = cell * this.cpus + cpu;
    this.act[at] = best;
    this.busy[at] = Math.min(1000, Math.round(busyNs / this.cellNs * 1000));
    acts.length = 0;
    ns.length = 0;
    this.#open[cpu] = -1;
  }
}

/** What a range of cells of one CPU adds up to. */
export interface CellSum {
  /** The thread with the most busy time (0 only idle, -1 no data). */
  act: number;
  /** Mean busy share, per mille. */
  busy: number;
  /** First noted event, or -1. */
  ev: number;
}

/** Sums cells [c0, c1] of `cpu`; `tally` is scratch space, cleared here. */
export function sumCells(g: Occupancy, cpu: number, c0: number, c1: number, tally: Map<number, number>): CellSum {
  tally.clear();
  let busySum = 0, n = 0, ev = -1;
  for (let c = c0; c <= c1; c++) {
    const at = c * g.cpus + cpu;
    const act = g.act[at];
    if (act < 0) continue;
    // Weighted by busy time, so idle cells (act 0, busy 0) never win.
    tally.set(act, (tally.get(act) ?? 0) + g.busy[at]);
    busySum += g.busy[at];
    n++;
    if (ev < 0) ev = g.firstEv[at];
  }
  let act = n > 0 ? 0 : -1, best = 0;
  for (const [th, w] of tally) if (th !== 0 && w > best) [act, best] = [th, w];
  return { act, busy: n > 0 ? busySum / n : 0, ev };
}

/** A grid `factor` times coarser, so wide timeline windows read few cells. */
export function coarsen(g: Occupancy, factor: number): Occupancy {
  const cells = Math.ceil(g.cells / factor);
  const out = new Occupancy(g.cpus, cells, g.cellNs * factor, g.t0);
  const tally = new Map<number, number>();
  for (let cpu = 0; cpu < g.cpus; cpu++) {
    for (let c = 0; c < cells; c++) {
      const s = sumCells(g, cpu, c * factor, Math.min(g.cells, (c + 1) * factor) - 1, tally);
      const at = c * g.cpus + cpu;
      out.act[at] = s.act;
      out.busy[at] = Math.round(s.busy);
      out.firstEv[at] = s.ev;
    }
  }
  return out;
}

/** Cells merged per level of the grid pyramid. */
const LEVEL_FACTOR = 16;

/** The grid and coarser copies of it, finest first, down to about a thousand cells. */
export function pyramid(g: Occupancy): Occupancy[] {
  const levels = [g];
  while (levels[levels.length - 1].cells > 1000 * LEVEL_FACTOR) {
    levels.push(coarsen(levels[levels.length - 1], LEVEL_FACTOR));
  }
  return levels;
}
