/**
 * Fault injection for the scenarios outside the OpenBSD relay (the NetBSD
 * TCP path and the NetBSD infrastructure rows): the same `fault.*` keys and
 * `fault` events as drivers/faults.ts, drawn from the same per-fault PRNG
 * streams, for paths that have no OpenBSD NetStack. A scenario declares only
 * the keys whose error path exists on it ({@link faultKeys}), so `deno task
 * scenarios` lists them and `explore --swarm` picks only those.
 * @module
 */
import type { Config, KeySet } from "../core/config.ts";
import type { Machine } from "../core/machine.ts";
import { FAULT } from "../core/schema.ts";
import { FAULT_KEYS, FaultRecorder } from "./faults.ts";

/** The declarations of `keys` from FAULT_KEYS (a scenario's subset). */
export function faultKeys(...keys: string[]): KeySet {
  const out: KeySet = {};
  for (const k of keys) {
    if (!(k in FAULT_KEYS)) throw new Error(`faultKeys: ${k} is not a fault key`);
    out[k] = FAULT_KEYS[k];
  }
  return out;
}

/** The keys of the slow-CPU window. */
export const CPU_SLOW_KEYS = ["fault.cpuSlowAtNs", "fault.cpuSlowNs", "fault.cpuSlowX", "fault.cpuSlowCpu"] as const;

/** Rates and schedules of one run, with their draws and `fault` events. */
export class FaultDraws extends FaultRecorder {
  /** `fault.mbufFailPpm`, `fault.rxRingPpm`, `fault.intrDelayPpm` (0 when not declared or off). */
  readonly mbufPpm: number;
  readonly rxRingPpm: number;
  readonly intrPpm: number;
  readonly intrNs: number;

  constructor(m: Machine, cfg: Config) {
    super(m);
    const n = (k: string) => Number(cfg[k] ?? FAULT_KEYS[k].default);
    this.mbufPpm = n("fault.mbufFailPpm");
    this.rxRingPpm = n("fault.rxRingPpm");
    this.intrPpm = n("fault.intrDelayPpm");
    this.intrNs = n("fault.intrDelayNs");
    this.armCpuSlow(n);
  }

  /** The driver's rx refill (MGETHDR/MCLGET with M_DONTWAIT) fails for the frame `a` of queue `b`. */
  mbufFail(a: number, b: number): boolean {
    return this.draw(FAULT.mbufFail, this.mbufPpm, a, b);
  }

  /** The frame `a` finds the rx ring of queue `b` full. */
  rxRingFull(a: number, b: number): boolean {
    return this.draw(FAULT.rxRing, this.rxRingPpm, a, b);
  }

  /** Extra delay of the NIC interrupt of queue `q`, ns (0: on time). */
  intrDelayNs(q: number): number {
    return this.draw(FAULT.intrDelay, this.intrPpm, q, this.intrNs) ? this.intrNs : 0;
  }
}
