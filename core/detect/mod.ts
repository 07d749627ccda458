/**
 * The detectors, always on: installed on every machine a scenario runs on
 * (core/run.ts). Each reports through `m.violation`, so a finding is an
 * event in the trace, an entry of the run summary and exit status 1.
 *
 * - deadlock, lock recursion, sleeping with a spin mutex, use after free and
 *   refcount underflow: in the machine's parts (deadlock.ts, locks.ts,
 *   sleepq.ts, refcount.ts);
 * - lock order reversal and soft interrupt safety: witness.ts;
 * - lost wakeup: lost_wakeup.ts (kernel code registers its wait condition);
 * - starvation of soft interrupts and timeouts: starvation.ts;
 * - bytes lost, duplicated or reordered: stream.ts (the network stack calls it).
 *
 * @example
 * ```ts
 * import { installDetectors, LockOrderGraph } from "./mod.ts";
 * // const graph = new LockOrderGraph();          // share across runs if wanted
 * // installDetectors(m, { lockGraph: graph });  // before the scenario's setup
 * ```
 * @module
 */
import type { Machine } from "../machine.ts";
import { LostWakeup } from "./lost_wakeup.ts";
import { Starvation } from "./starvation.ts";
import { EXCUSE, type StreamDatagram, Streams } from "./stream.ts";

export { EXCUSE, type StreamDatagram };
import { LockOrderGraph, Witness } from "./witness.ts";

export { type LockClass, LockOrderGraph, type Seen } from "./witness.ts";

/** Options of {@link installDetectors}. */
export interface DetectorOptions {
  /** A lock order graph to use (shared across runs); a fresh one when omitted. */
  readonly lockGraph?: LockOrderGraph;
}

/** The detectors installed on one machine. */
export interface Detectors {
  readonly witness: Witness;
  readonly lostWakeup: LostWakeup;
  readonly starvation: Starvation;
  readonly streams: Streams;
}

const installed = new WeakMap<Machine, Detectors>();

/** Installs every detector on `m` (once, before the run). */
export function installDetectors(m: Machine, opts: DetectorOptions = {}): Detectors {
  if (installed.has(m)) throw new Error("detectors already installed on this machine");
  if (m.threads.length > 0) throw new Error("install detectors before the scenario's setup");
  const boundNs = Number(m.config["detect.starvationNs"] ?? 50_000_000);
  const d: Detectors = {
    witness: new Witness(m, opts.lockGraph ?? new LockOrderGraph()),
    lostWakeup: new LostWakeup(m, boundNs),
    starvation: new Starvation(m, boundNs),
    streams: new Streams(m),
  };
  d.witness.install();
  d.starvation.install();
  m.hooks.quiescentBlocked.add((stuck) => d.lostWakeup.atQuiescence(stuck));
  m.hooks.end.add(() => {
    d.lostWakeup.atEnd();
    d.starvation.atEnd();
    d.streams.atEnd();
  });
  installed.set(m, d);
  return d;
}

/** The detectors of `m`, or undefined when none were installed (a bare machine). */
export function detectorsOf(m: Machine): Detectors | undefined {
  return installed.get(m);
}

/**
 * Registers the wait condition of the current thread's next sleep: if the
 * thread is still asleep at quiescence (or at the end of the run, after
 * `detect.starvationNs`) while `cond()` holds, that is a lost wakeup.
 * No-op on a machine without detectors.
 */
export function expectWakeup(m: Machine, cond: () => boolean): void {
  installed.get(m)?.lostWakeup.expect(cond);
}

/**
 * Stream integrity: `len` bytes at stream offset `offset` were delivered in
 * order on `flow` (a connection, socket or splice id). See stream.ts.
 * No-op on a machine without detectors.
 */
export function streamCheck(m: Machine, flow: number, offset: number, len: number): void {
  installed.get(m)?.streams.check(flow, offset, len);
}

/**
 * Stream integrity of a datagram delivered on `flow`: as {@link streamCheck},
 * with a repeat or overtake excused only by the fault decisions the
 * datagram carries (stream.ts). No-op on a machine without detectors.
 */
export function streamCheckDatagram(m: Machine, flow: number, d: StreamDatagram): void {
  installed.get(m)?.streams.checkDatagram(flow, d);
}

/**
 * Registers a fault decision (EXCUSE.dup or EXCUSE.reorder) on the datagram
 * at `off` of stream `sid`; returns the tag to put on it (0 on a machine
 * without detectors, where nothing is checked).
 */
export function streamExcuse(m: Machine, kind: number, sid: number, off: number): number {
  return installed.get(m)?.streams.excuse(kind, sid, off) ?? 0;
}

/** Stream integrity: `flow` may lose bytes (UDP); its holes are not reported as lost. */
export function streamLossy(m: Machine, flow: number): void {
  installed.get(m)?.streams.lossy(flow);
}

/** Stream integrity: `flow` is closed after `total` bytes; missing bytes are lost. */
export function streamEnd(m: Machine, flow: number, total?: number): void {
  installed.get(m)?.streams.end(flow, total);
}
