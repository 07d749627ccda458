/**
 * Fault injection ("buggify"): configuration keys `fault.*` and the
 * injector a scenario's devices consult. Every fault is either a rate per
 * million of some occurrence (a packet on a link, an allocation, an
 * interrupt) or a schedule (a time and a length); each injection emits a
 * `fault` event. Rates are drawn from one PRNG stream per fault, derived
 * from the run's seed and apart from the schedule and workload streams, so a
 * re-execution (same header, same seed) injects the same faults at the same
 * events, and switching one fault off does not move the draws of another
 * (what swarm shrinking relies on).
 *
 * Faults and the error path each one exercises:
 * - `fault.mbufFailPpm`: m_gethdr/MCLGETL with M_DONTWAIT fails: the driver
 *   cannot refill the rx slot and the frame is dropped (`mbuf-fail`);
 *   tcp_output returns ENOBUFS without sending (snd_nxt unchanged; OpenBSD
 *   tcp_output.c 1.157); tcp_respond sends no RST.
 * - `fault.rxRingPpm`: the frame finds the rx descriptor ring full (`rx-ring`).
 * - `fault.linkLossPpm`, `fault.linkDupPpm`, `fault.linkReorderPpm`: the wire
 *   loses, duplicates or delays (by `fault.reorderNs`, so later frames
 *   overtake) a frame, TCP segment or UDP datagram alike. A UDP socket
 *   delivers the copies and the late datagram as the link produced them and
 *   the splice forwards what it receives; the stream detector excuses a
 *   repeat or overtake of a datagram only by the recorded decision that
 *   explains it (each decision is registered with `streamExcuse` and its
 *   number travels on the datagram: core/detect/stream.ts), and
 *   conservation counts the duplicated bytes (`acct.dupBySid`).
 * - `fault.linkFlapAtNs` / `fault.linkFlapNs`: every link is down for a
 *   while; frames sent meanwhile are lost (`link-down`).
 * - `fault.intrDelayPpm` / `fault.intrDelayNs`: a NIC interrupt is posted late.
 * - `fault.cpuSlowAtNs` / `fault.cpuSlowNs` / `fault.cpuSlowX` /
 *   `fault.cpuSlowCpu`: one CPU's costs are multiplied for a window.
 * - `fault.sbLimitAtNs` / `fault.sbLimitBytes`: every socket's so_rcv and
 *   so_snd high water marks are lowered (setsockopt SO_RCVBUF/SO_SNDBUF).
 *
 * @module
 */
import type { Config, KeySet } from "../core/config.ts";
import type { Machine, TimerTarget } from "../core/machine.ts";
import { type Packet, PROTO } from "../core/net/packet.ts";
import { MGET_SITE, type NetStack } from "../core/net/stack.ts";
import { Prng } from "../core/prng.ts";
import { FAULT, KIND } from "../core/schema.ts";
import { EXCUSE, streamExcuse } from "../core/detect/mod.ts";

/** The fault keys (every relay scenario declares them; 0 switches a fault off). */
export const FAULT_KEYS: KeySet = {
  "fault.mbufFailPpm": {
    default: 0,
    doc: "fault: packet allocations (driver rx refill, tcp_output, tcp_respond) failing, per million",
    min: 0,
    max: 1e6,
  },
  "fault.rxRingPpm": {
    default: 0,
    doc: "fault: received frames finding the NIC rx ring full (overflow), per million",
    min: 0,
    max: 1e6,
  },
  "fault.linkLossPpm": {
    default: 0,
    doc: "fault: frames (data and pure ACKs, both directions, every link) lost on the wire, per million",
    min: 0,
    max: 1e6,
  },
  "fault.linkDupPpm": {
    default: 0,
    doc: "fault: frames (TCP segments, UDP datagrams) duplicated on the wire, per million",
    min: 0,
    max: 1e6,
  },
  "fault.linkReorderPpm": {
    default: 0,
    doc: "fault: frames held back fault.reorderNs on the wire (later frames overtake), per million",
    min: 0,
    max: 1e6,
  },
  "fault.reorderNs": { default: 20_000, doc: "fault: extra wire delay of a reordered frame, ns", min: 1, max: 1e12 },
  "fault.linkFlapAtNs": {
    default: 0,
    doc: "fault: every link goes down at this time (0: never) for fault.linkFlapNs",
    min: 0,
    max: 1e15,
  },
  "fault.linkFlapNs": { default: 100_000, doc: "fault: how long a link flap keeps links down, ns", min: 1, max: 1e15 },
  "fault.intrDelayPpm": {
    default: 0,
    doc: "fault: NIC interrupts posted fault.intrDelayNs late, per million",
    min: 0,
    max: 1e6,
  },
  "fault.intrDelayNs": { default: 50_000, doc: "fault: lateness of a delayed interrupt, ns", min: 1, max: 1e12 },
  "fault.cpuSlowAtNs": {
    default: 0,
    doc: "fault: CPU fault.cpuSlowCpu runs fault.cpuSlowX times slower from this time (0: never)",
    min: 0,
    max: 1e15,
  },
  "fault.cpuSlowNs": { default: 500_000, doc: "fault: length of the slow-CPU window, ns", min: 1, max: 1e15 },
  "fault.cpuSlowX": { default: 4, doc: "fault: cost multiplier of the slow CPU", min: 1, max: 1000 },
  "fault.cpuSlowCpu": { default: 0, doc: "fault: which CPU is slow (taken modulo the CPU count)", min: 0, max: 63 },
  "fault.sbLimitAtNs": {
    default: 0,
    doc: "fault: every socket's buffer limits drop to fault.sbLimitBytes at this time (0: never)",
    min: 0,
    max: 1e15,
  },
  "fault.sbLimitBytes": { default: 16384, doc: "fault: lowered socket buffer limit, bytes", min: 1, max: 1e9 },
};

/**
 * The switches of the faults: the key whose 0 turns each fault off, with
 * the values a swarm run picks from (for `...AtNs`, a fraction of the run
 * length per mille, turned into a time by {@link swarmValue}).
 */
export const FAULT_SWITCHES: readonly { readonly key: string; readonly values: readonly number[] }[] = [
  { key: "fault.mbufFailPpm", values: [200, 2000, 20000] },
  { key: "fault.rxRingPpm", values: [200, 2000, 20000] },
  { key: "fault.linkLossPpm", values: [500, 5000, 50000] },
  { key: "fault.linkDupPpm", values: [1000, 10000, 100000] },
  { key: "fault.linkReorderPpm", values: [1000, 10000, 100000] },
  { key: "fault.linkFlapAtNs", values: [100, 300, 600] },
  { key: "fault.intrDelayPpm", values: [5000, 50000, 300000] },
  { key: "fault.cpuSlowAtNs", values: [100, 300, 600] },
  { key: "fault.sbLimitAtNs", values: [100, 300, 600] },
  { key: "fault.softirqDeferPpm", values: [2000, 20000, 200000] }, // Linux scenarios (drivers/linux_faults.ts)
];

/** The value a swarm run gives switch `key` from menu entry `v` in a run of `durationNs`. */
export function swarmValue(key: string, v: number, durationNs: number): number {
  return key.endsWith("AtNs") ? Math.max(1, Math.floor((durationNs * v) / 1000)) : v;
}

/** What {@link Faults.wire} decided for a frame (the `n` of its arrival timer). */
export const FATE = { deliver: 0, lost: 1, down: 2 } as const;

/** PRNG stream salt of fault f (apart from the schedule's 0 and the workload's "WORK"); fault_draws.ts shares it. */
export const FAULT_STREAM = 0x4641_0000;

/**
 * What every injector shares (the OpenBSD relay's {@link Faults}, fault_draws.ts's FaultDraws, linux_faults.ts's
 * LinuxFaults): one PRNG stream per fault salted from the seed, the count per fault, the `fault` event, and the
 * slow-CPU window of `fault.cpuSlow*`.
 */
export class FaultRecorder {
  readonly #m: Machine;
  readonly #rng: Prng[] = [];
  /** Injections so far, per fault (ENUMS.fault order). */
  readonly count: number[];

  constructor(m: Machine) {
    this.#m = m;
    this.count = new Array(Object.keys(FAULT).length).fill(0);
    for (let f = 0; f < this.count.length; f++) this.#rng.push(new Prng(m.seed, FAULT_STREAM + f));
  }

  /** The PRNG stream of fault `f`. */
  rng(f: number): Prng {
    return this.#rng[f];
  }

  /** Emits a fault event (thread or device context) and counts it. */
  record(f: number, a: number, b: number): void {
    const m = this.#m;
    this.count[f]++;
    if (m.curThread !== null) m.emit(KIND.fault, f, a, b);
    else m.emitOn(0, 0, KIND.fault, f, a, b);
  }

  /** Draws fault `f` at `ppm`; on a hit records it with (a, b). */
  draw(f: number, ppm: number, a: number, b: number): boolean {
    if (ppm <= 0 || !this.#rng[f].chancePpm(ppm)) return false;
    this.record(f, a, b);
    return true;
  }

  /** Arms the slow-CPU window (`fault.cpuSlowAtNs` 0: none), reading the keys through `n`. */
  armCpuSlow(n: (k: string) => number): void {
    const m = this.#m, slowAt = n("fault.cpuSlowAtNs");
    if (slowAt <= 0) return;
    const cpu = m.cpus[n("fault.cpuSlowCpu") % m.cpus.length], x = n("fault.cpuSlowX");
    m.at(slowAt, () => {
      cpu.costX = x;
      this.record(FAULT.cpuSlow, cpu.id, x);
    });
    m.at(slowAt + n("fault.cpuSlowNs"), () => {
      cpu.costX = 1;
      this.record(FAULT.cpuNormal, cpu.id, x);
    });
  }
}

/** The fault injector of one machine (null parts: that fault is off). */
export class Faults extends FaultRecorder {
  readonly #m: Machine;
  readonly #st: NetStack;
  readonly #mbufPpm: number;
  readonly #rxRingPpm: number;
  readonly #lossPpm: number;
  readonly #dupPpm: number;
  readonly #reorderPpm: number;
  readonly #reorderNs: number;
  readonly #intrPpm: number;
  readonly #intrNs: number;
  /** Links are down (a flap). */
  linkDown = false;

  constructor(m: Machine, st: NetStack, cfg: Config) {
    super(m);
    this.#m = m;
    this.#st = st;
    const n = (k: string) => Number(cfg[k] ?? FAULT_KEYS[k].default);
    this.#mbufPpm = n("fault.mbufFailPpm");
    this.#rxRingPpm = n("fault.rxRingPpm");
    this.#lossPpm = n("fault.linkLossPpm");
    this.#dupPpm = n("fault.linkDupPpm");
    this.#reorderPpm = n("fault.linkReorderPpm");
    this.#reorderNs = n("fault.reorderNs");
    this.#intrPpm = n("fault.intrDelayPpm");
    this.#intrNs = n("fault.intrDelayNs");
    if (this.#mbufPpm > 0) {
      st.mgetFail = (site, flow) => this.draw(FAULT.mbufFail, this.#mbufPpm, site, flow);
    }
    this.#schedules(n);
  }

  /** The NIC's receive: does the driver fail to refill this frame's slot (mbuf-fail)? */
  rxMbufFail(p: Packet): boolean {
    const fail = this.#st.mgetFail;
    return fail !== null && fail(MGET_SITE.nicRx, p.flow);
  }

  /** The NIC's receive: does the frame find the ring full? */
  rxRingFull(p: Packet, q: number): boolean {
    return this.draw(FAULT.rxRing, this.#rxRingPpm, p.id, q);
  }

  /** Extra delay of a NIC interrupt about to be posted for queue `q`, ns (0: on time). */
  intrDelayNs(q: number): number {
    return this.draw(FAULT.intrDelay, this.#intrPpm, q, this.#intrNs) ? this.#intrNs : 0;
  }

  /**
   * Puts frame `p` on the wire toward `target` (which gets
   * `onTimer(p, FATE.x)` at `arriveNs`), applying loss, link-down,
   * duplication and reordering. `lost`: the scenario's own lossy link
   * already lost it.
   */
  wire(p: Packet, arriveNs: number, target: TimerTarget, lost: boolean): void {
    const m = this.#m;
    if (lost) return m.atCall(arriveNs, target, p, FATE.lost);
    if (this.linkDown) {
      this.record(FAULT.linkDown, p.id, p.flow);
      return m.atCall(arriveNs, target, p, FATE.down);
    }
    if (this.draw(FAULT.linkLoss, this.#lossPpm, p.id, p.flow)) return m.atCall(arriveNs, target, p, FATE.lost);
    const dgram = p.proto === PROTO.udp && p.sid >= 0;
    if (this.draw(FAULT.linkDup, this.#dupPpm, p.id, p.flow)) {
      const c = this.#copy(p);
      if (dgram) {
        c.dupFault = streamExcuse(m, EXCUSE.dup, p.sid, p.off);
        const a = this.#st.acct;
        a.dupBySid[p.sid] = (a.dupBySid[p.sid] ?? 0) + p.len;
        a.wireBytes += p.len;
      }
      m.atCall(arriveNs + 1, target, c, FATE.deliver);
    }
    if (this.draw(FAULT.linkReorder, this.#reorderPpm, p.id, p.flow)) {
      if (dgram) p.reorderFault = streamExcuse(m, EXCUSE.reorder, p.sid, p.off);
      arriveNs += this.#reorderNs;
    }
    m.atCall(arriveNs, target, p, FATE.deliver);
  }

  /** A second copy of a frame (the wire duplicated it). */
  #copy(p: Packet): Packet {
    const c = this.#st.pool.get(p.proto, p.flow, p.len);
    c.seq = p.seq;
    c.ack = p.ack;
    c.flags = p.flags;
    c.win = p.win;
    c.off = p.off;
    c.sid = p.sid;
    c.hash = p.hash;
    c.sport = p.sport;
    c.dport = p.dport;
    c.reorderFault = p.reorderFault; // a copy of a late datagram is late too
    return c;
  }

  /** Arms the scheduled faults: link flap, slow CPU, lowered socket buffers. */
  #schedules(n: (k: string) => number): void {
    const m = this.#m;
    const flapAt = n("fault.linkFlapAtNs"), flapNs = n("fault.linkFlapNs");
    if (flapAt > 0) {
      m.at(flapAt, () => {
        this.linkDown = true;
        this.record(FAULT.linkDown, 0, flapNs);
      });
      m.at(flapAt + flapNs, () => {
        this.linkDown = false;
        this.record(FAULT.linkUp, 0, flapNs);
      });
    }
    this.armCpuSlow(n);
    const sbAt = n("fault.sbLimitAtNs"), sbBytes = n("fault.sbLimitBytes");
    if (sbAt > 0) {
      m.at(sbAt, () => {
        for (const so of this.#st.sockets) {
          so.rcv.hiwat = Math.min(so.rcv.hiwat, sbBytes);
          so.snd.hiwat = Math.min(so.snd.hiwat, sbBytes);
          this.record(FAULT.sbLimit, so.id, sbBytes);
        }
      });
    }
  }
}

/** True when any fault of {@link FAULT_SWITCHES} is on in `cfg` (else no injector is built). */
export function faultsConfigured(cfg: Config): boolean {
  return FAULT_SWITCHES.some((s) => Number(cfg[s.key] ?? 0) !== 0);
}

/** The fault switches of `cfg` that are on, as key=value text (for findings). */
export function faultsOn(cfg: Config): string[] {
  const out: string[] = [];
  for (const s of FAULT_SWITCHES) {
    const v = cfg[s.key];
    if (v !== undefined && v !== 0) out.push(`${s.key}=${v}`);
  }
  return out;
}
