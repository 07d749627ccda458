/**
 * Byte stream integrity: bytes lost, duplicated or reordered on a TCP
 * connection or a splice. The network stack calls {@link streamCheck} where
 * bytes are delivered in order (to a receive buffer's reader, or out of a
 * splice into the drain), with the stream offset of the first byte; the
 * detector keeps the next expected offset per flow:
 *
 * - a segment below the expected offset that overlaps bytes already
 *   delivered: bytes duplicated;
 * - a segment above it opens a hole; a later segment inside a hole: bytes
 *   reordered;
 * - a hole still open at the end of the run, or below the total given to
 *   {@link streamEnd}: bytes lost.
 *
 * A flow marked lossy ({@link Streams.lossy}, UDP: datagrams may be dropped
 * and counted as dropped) keeps its holes without reporting them as lost;
 * a byte arriving inside a hole is still reordered, a repeat still
 * duplicated. Loss of a lossy flow is the conservation check's business.
 *
 * Each flow reports at most one violation of each sort. Flows are any
 * non-negative integers (a connection id, a socket id, a splice id).
 *
 * @example
 * ```ts
 * import { streamCheck, streamEnd } from "./mod.ts";
 * // streamCheck(m, so.id, so.rcvOffset, n);  // in soreceive / somove
 * // streamEnd(m, so.id, bytesSent);          // at close: nothing may be missing
 * ```
 * @module
 */
import type { Machine } from "../machine.ts";

/** Flows tracked per machine. */
export const FLOWS_MAX = 65536;
/** Open holes kept per flow (beyond it, the oldest is reported lost at once). */
export const HOLES_MAX = 64;

interface Flow {
  next: number;
  /** Missing ranges [start, end), ascending. */
  holes: [number, number][];
  /** Sorts already reported: 1 lost, 2 duplicated, 4 reordered. */
  reported: number;
}

const LOST = 1, DUP = 2, REORDER = 4;

/** The stream detector of one machine. */
export class Streams {
  readonly #m: Machine;
  readonly #flows = new Map<number, Flow>();
  readonly #lossy = new Set<number>();

  constructor(m: Machine) {
    this.#m = m;
  }

  /** Marks `flow` lossy: holes are not lost bytes (see the module doc). */
  lossy(flow: number): void {
    assertInt("flow", flow);
    this.#lossy.add(flow);
  }

  /** `len` bytes at stream `offset` were delivered on `flow`. */
  check(flow: number, offset: number, len: number): void {
    assertInt("flow", flow);
    assertInt("offset", offset);
    assertInt("len", len);
    if (len === 0) return;
    const f = this.#flow(flow);
    const end = offset + len;
    if (offset === f.next) {
      f.next = end;
      return;
    }
    if (offset > f.next) {
      f.holes.push([f.next, offset]);
      f.next = end;
      if (f.holes.length > HOLES_MAX) this.#lost(flow, f, f.holes.shift() as [number, number]);
      return;
    }
    // Below the expected offset: fills a hole (reordered) or repeats delivered bytes (duplicated).
    let filled = 0;
    for (const h of f.holes) filled += Math.max(0, Math.min(end, h[1]) - Math.max(offset, h[0]));
    const seen = Math.min(end, f.next) - offset - filled;
    if (filled > 0) {
      this.#fill(f, offset, Math.min(end, f.next));
      this.#report(flow, f, REORDER, `${filled} bytes at offset ${offset} delivered after bytes up to ${f.next}`);
    }
    if (seen > 0) this.#report(flow, f, DUP, `${seen} bytes at offset ${offset} delivered twice`);
    if (end > f.next) f.next = end;
  }

  /** The flow is closed after `total` bytes (or at its current end when omitted): holes are lost bytes. */
  end(flow: number, total?: number): void {
    const f = this.#flows.get(flow);
    const next = f?.next ?? 0;
    if (total !== undefined && total > next) {
      const g = f ?? this.#flow(flow);
      g.holes.push([next, total]);
      g.next = total;
    }
    const g = this.#flows.get(flow);
    if (g === undefined) return;
    for (const h of g.holes.splice(0)) this.#lost(flow, g, h);
  }

  /** End of run: every open hole is lost. */
  atEnd(): void {
    for (const [flow, f] of this.#flows) for (const h of f.holes.splice(0)) this.#lost(flow, f, h);
  }

  #flow(flow: number): Flow {
    let f = this.#flows.get(flow);
    if (f !== undefined) return f;
    if (this.#flows.size >= FLOWS_MAX) throw new Error(`stream: more than ${FLOWS_MAX} flows`);
    this.#flows.set(flow, f = { next: 0, holes: [], reported: 0 });
    return f;
  }

  #fill(f: Flow, a: number, b: number): void {
    const out: [number, number][] = [];
    for (const [s, e] of f.holes) {
      if (e <= a || s >= b) out.push([s, e]);
      else {
        if (s < a) out.push([s, a]);
        if (e > b) out.push([b, e]);
      }
    }
    f.holes = out;
  }

  #lost(flow: number, f: Flow, h: [number, number]): void {
    if (this.#lossy.has(flow)) return;
    this.#report(flow, f, LOST, `${h[1] - h[0]} bytes lost at offset ${h[0]}`);
  }

  #report(flow: number, f: Flow, sort: number, text: string): void {
    if ((f.reported & sort) !== 0) return;
    f.reported |= sort;
    this.#m.violation("stream", `stream flow ${flow}: ${text}`, flow, sort);
  }
}

function assertInt(what: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`stream: ${what} must be a non-negative integer, got ${v}`);
}
