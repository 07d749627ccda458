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
 * Datagrams the wire duplicated or held back (fault injection) are excused
 * only by the recorded fault decision that explains them, never by a
 * blanket tolerance: the injector registers each decision
 * ({@link Streams.excuse}: kind, stream id, offset) and tags the datagram
 * it made or delayed with the decision's number; {@link Streams.checkDatagram}
 * then accepts, per flow,
 *
 * - a repeat of a datagram only against a distinct, valid dup decision for
 *   it seen on that flow (one decision, one extra copy: a model bug that
 *   copies a datagram, tag and all, is still a duplicate);
 * - a datagram filling a hole (overtaken) only when it carries a valid
 *   reorder decision for itself.
 *
 * An untagged repeat or overtake, or a tag naming another datagram, is
 * reported as before.
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

/** What {@link Streams.checkDatagram} reads of a datagram (the model's Packet has these fields). */
export interface StreamDatagram {
  /** Stream id of the datagram (the source's flow; -1: none). */
  readonly sid: number;
  /** Stream offset of its first byte. */
  readonly off: number;
  readonly len: number;
  /** The dup decision that made this copy (0: none). */
  readonly dupFault: number;
  /** The reorder decision that held this datagram back (0: none). */
  readonly reorderFault: number;
}

/** Kinds of excusing fault decision ({@link Streams.excuse}). */
export const EXCUSE = { dup: 1, reorder: 2 } as const;

/** Fault decisions registered per machine (beyond it, new decisions excuse nothing). */
export const EXCUSES_MAX = 1 << 20;

interface Flow {
  next: number;
  /** Missing ranges [start, end), ascending. */
  holes: [number, number][];
  /** Sorts already reported: 1 lost, 2 duplicated, 4 reordered. */
  reported: number;
  /**
   * Datagrams with dup decisions seen on this flow, by offset: the
   * decisions seen (each counts once) and the extra copies they still excuse.
   * Created only when a tagged datagram arrives (a fault, not every packet).
   */
  dups: Map<number, { tags: number[]; credit: number }> | null;
}

const LOST = 1, DUP = 2, REORDER = 4;

/** The stream detector of one machine. */
export class Streams {
  readonly #m: Machine;
  readonly #flows = new Map<number, Flow>();
  readonly #lossy = new Set<number>();
  /** Registered fault decisions, by number - 1: kind, stream id, offset. */
  readonly #excKind: number[] = [];
  readonly #excSid: number[] = [];
  readonly #excOff: number[] = [];

  constructor(m: Machine) {
    this.#m = m;
  }

  /** Marks `flow` lossy: holes are not lost bytes (see the module doc). */
  lossy(flow: number): void {
    assertInt("flow", flow);
    this.#lossy.add(flow);
  }

  /**
   * Registers a fault decision of `kind` (EXCUSE) on the datagram at `off`
   * of stream `sid`; returns its number (> 0), the tag the injector puts on
   * the datagram, or 0 past {@link EXCUSES_MAX} (excusing nothing).
   */
  excuse(kind: number, sid: number, off: number): number {
    if (kind !== EXCUSE.dup && kind !== EXCUSE.reorder) throw new Error(`stream: excuse kind ${kind}`);
    assertInt("sid", sid);
    assertInt("off", off);
    if (this.#excKind.length >= EXCUSES_MAX) return 0;
    this.#excKind.push(kind);
    this.#excSid.push(sid);
    this.#excOff.push(off);
    return this.#excKind.length;
  }

  /** Does decision `tag` of `kind` name datagram `d`? */
  #valid(kind: number, tag: number, d: StreamDatagram): boolean {
    const i = tag - 1;
    return tag > 0 && i < this.#excKind.length && this.#excKind[i] === kind && this.#excSid[i] === d.sid &&
      this.#excOff[i] === d.off;
  }

  /**
   * Datagram `d` was delivered on `flow`: {@link check} of its bytes, with
   * a repeat or an overtake excused only by its own recorded fault
   * decisions (module doc).
   */
  checkDatagram(flow: number, d: StreamDatagram): void {
    if (d.dupFault === 0 && d.reorderFault === 0) return this.check(flow, d.off, d.len);
    assertInt("flow", flow);
    if (this.#valid(EXCUSE.dup, d.dupFault, d)) {
      const f = this.#flow(flow);
      const dups = f.dups ?? (f.dups = new Map());
      let e = dups.get(d.off);
      if (e === undefined) dups.set(d.off, e = { tags: [], credit: 0 });
      if (!e.tags.includes(d.dupFault)) {
        e.tags.push(d.dupFault);
        e.credit++; // a repeat of this datagram on this flow, before or after this copy, takes it
      }
    }
    this.#check(flow, d.off, d.len, this.#valid(EXCUSE.reorder, d.reorderFault, d));
  }

  /** `len` bytes at stream `offset` were delivered on `flow`. */
  check(flow: number, offset: number, len: number): void {
    this.#check(flow, offset, len, false);
  }

  #check(flow: number, offset: number, len: number, reorderOk: boolean): void {
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
      if (!reorderOk) {
        this.#report(flow, f, REORDER, `${filled} bytes at offset ${offset} delivered after bytes up to ${f.next}`);
      }
    }
    if (seen > 0 && !this.#dupExcused(f, offset)) {
      this.#report(flow, f, DUP, `${seen} bytes at offset ${offset} delivered twice`);
    }
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

  /** A repeat of the datagram at `offset`: takes one credit of a dup decision seen on the flow. */
  #dupExcused(f: Flow, offset: number): boolean {
    const e = f.dups?.get(offset);
    if (e === undefined || e.credit === 0) return false;
    e.credit--;
    return true;
  }

  #flow(flow: number): Flow {
    let f = this.#flows.get(flow);
    if (f !== undefined) return f;
    if (this.#flows.size >= FLOWS_MAX) throw new Error(`stream: more than ${FLOWS_MAX} flows`);
    this.#flows.set(flow, f = { next: 0, holes: [], reported: 0, dups: null });
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
