/**
 * Linux scenarios: netperf over two local TCP sockets, with and without the
 * RFC series' opportunistic loopback splice (seed
 * linux-tcp-bpf-loopback-splice-2026-06), and the series' correctness
 * arguments as explorable variants.
 *
 * - `linux-netperf`: netperf TCP_RR (request/response of `rr.size` bytes, one
 *   transaction in flight; transactions per second) or TCP_STREAM
 *   (`stream.msgSize` sends; Mbit/s, 10^6 bits), netperf pinned to CPU 1 and
 *   netserver to CPU 0 as in the series; transport loopback or container
 *   (veth pair + bridge), `linux.splice` off or on, `linux.busyPollUs`.
 *   `netperf.runs` runs (3, as the seed's "3 runs averaged"), one connection
 *   each, one after the other; each run's figure is taken from
 *   `netperf.warmupNs` after its start to its end, and the summary gives the
 *   mean, min, max, spread and each run. The runs differ because each starts
 *   after a pause drawn from the seed's workload stream, so at a different
 *   point of the 1 ms scheduler tick (core/linux/tick.ts), as a new netperf
 *   process would: one seed reproduces all of them.
 * - `linux-splice-race`: a paired stream with random message and read sizes
 *   (ring full → TCP fallback → ring again), optionally a close or a RST by
 *   the receiver racing the sender; every byte is checked by the stream
 *   detector and the ring's lifetime by the use-after-free detector.
 * - `linux-splice-broken`: the same with the sender not checking the peer's
 *   receive queue (the ordering argument removed): `explore` finds the
 *   reordering.
 * @module
 */
import { streamEnd } from "../core/detect/mod.ts";
import {
  createLinuxNet,
  LINUX_DEFAULTS,
  type LinuxNet,
  type LinuxOptions,
  type LinuxSock,
  sockAbort,
  sockClose,
  socketPair,
  sockShutdownWr,
  spliceRecvmsgDispatch,
  spliceSendmsg,
} from "../core/linux/mod.ts";
import type { Machine } from "../core/machine.ts";
import { type KCode, PRIO } from "../core/objects.ts";
import { defineScenario, type Metrics, type Scenario } from "../core/scenario.ts";
import { type Config, ConfigError } from "../core/config.ts";
import { LINUX_FAULT_KEYS, LinuxFaults, linuxFaultsConfigured } from "./linux_faults.ts";

/** One published netperf row of the seed's shared copy (TCP_RR, transactions per second). */
export interface SeedRow {
  readonly transport: "loopback" | "container";
  readonly size: number;
  readonly splice: "off" | "on";
  readonly busyPollUs: number;
  readonly tps: number;
  /** Where in the seed. */
  readonly source: string;
  /** Fitted (the calibration reproduces it within 10 %) or a known miss (see docs/cost-model.md). */
  readonly fitted: boolean;
}

const P1 = "patch 1/5 table", P2 = "patch 2/5 table", CL = "cover letter";
/** Every TCP_RR row present in shared/seeds/linux-tcp-bpf-loopback-splice-2026-06.txt. */
export const SEED_ROWS: readonly SeedRow[] = [
  { transport: "loopback", size: 1, splice: "off", busyPollUs: 0, tps: 110_200, source: P1, fitted: true },
  { transport: "loopback", size: 1, splice: "on", busyPollUs: 0, tps: 267_000, source: P1, fitted: true },
  { transport: "loopback", size: 1024, splice: "off", busyPollUs: 0, tps: 105_800, source: P1, fitted: true },
  { transport: "loopback", size: 1024, splice: "on", busyPollUs: 0, tps: 235_100, source: P1, fitted: true },
  { transport: "loopback", size: 65536, splice: "off", busyPollUs: 0, tps: 17_800, source: P1, fitted: true },
  { transport: "loopback", size: 65536, splice: "on", busyPollUs: 0, tps: 20_900, source: P1, fitted: true },
  { transport: "loopback", size: 1, splice: "off", busyPollUs: 50, tps: 111_900, source: P2, fitted: true },
  { transport: "loopback", size: 1, splice: "on", busyPollUs: 50, tps: 1_113_800, source: P2, fitted: true },
  { transport: "loopback", size: 1024, splice: "off", busyPollUs: 50, tps: 106_100, source: P2, fitted: true },
  { transport: "loopback", size: 1024, splice: "on", busyPollUs: 50, tps: 713_000, source: P2, fitted: true },
  { transport: "loopback", size: 65536, splice: "off", busyPollUs: 50, tps: 17_800, source: P2, fitted: true },
  { transport: "loopback", size: 65536, splice: "on", busyPollUs: 50, tps: 40_500, source: P2, fitted: false },
  { transport: "container", size: 1024, splice: "off", busyPollUs: 0, tps: 99_900, source: CL, fitted: true },
  { transport: "container", size: 1024, splice: "on", busyPollUs: 0, tps: 233_900, source: CL, fitted: true },
  { transport: "container", size: 1024, splice: "off", busyPollUs: 50, tps: 100_400, source: CL, fitted: true },
  { transport: "container", size: 1024, splice: "on", busyPollUs: 50, tps: 704_900, source: CL, fitted: true },
];

/** Linux cost defaults for the machine's shared entries (docs/cost-model.md "Linux"). */
export const LINUX_MACHINE: Readonly<Record<string, number>> = {
  cpus: 2,
  "cost.ctxSwitch": 500,
  "cost.ipi": 960,
  "cost.wakeup": 150,
  "cost.softintDispatch": 60,
};

const COMMON = {
  "linux.transport": {
    default: "loopback",
    choices: ["loopback", "container"],
    doc: "loopback (lo, 127.0.0.1) or container (netns + veth pair + bridge)",
  },
  "linux.splice": { default: "off", choices: ["off", "on"], doc: "pair the sockets (bpf_sock_splice_pair)" },
  "linux.busyPollUs": {
    default: 0,
    min: 0,
    max: 1_000_000,
    doc: "SO_BUSY_POLL budget of the receivers, us (0: off; the series uses 50)",
  },
  "linux.ringBytes": {
    default: 16384,
    min: 2,
    max: 1 << 30,
    doc: "splice ring size (a power of two)",
    check: (v: unknown) => (Number(v) & (Number(v) - 1)) === 0 ? null : "must be a power of two",
  },
  "linux.sendCheck": {
    default: "rcvq",
    choices: ["rcvq", "none", "inflight"],
    doc: "ring-write ordering check: rcvq (the series: peer receive queue empty), none (broken), " +
      "inflight (also no TCP byte of ours unsent, in flight or backlogged)",
  },
  "linux.ringRef": {
    default: true,
    doc: "the sender holds the ring's percpu_ref across its copy (false: the broken variant)",
  },
  "linux.nodelay": { default: false, doc: "TCP_NODELAY (netperf -D)" },
  ...LINUX_FAULT_KEYS,
} as const;

function linuxOptions(p: Record<string, unknown>): LinuxOptions {
  const ring = p["linux.ringBytes"] as number;
  return {
    ...LINUX_DEFAULTS,
    transport: p["linux.transport"] as "loopback" | "container",
    splice: p["linux.splice"] === "on",
    busyPollUs: p["linux.busyPollUs"] as number,
    ringBytes: ring,
    sendCheck: p["linux.sendCheck"] as "rcvq" | "none" | "inflight",
    ringRef: p["linux.ringRef"] as boolean,
    nodelay: p["linux.nodelay"] as boolean,
  };
}

/** The fault injector of a Linux scenario's stack when a fault is on (drivers/linux_faults.ts). */
function faultsFor(m: Machine, net: LinuxNet, cfg: Config): LinuxFaults | null {
  return linuxFaultsConfigured(cfg) ? new LinuxFaults(m, net, cfg) : null;
}

/** The error paths the faults took (only when an injector is on). */
function faultMetrics(net: LinuxNet, f: LinuxFaults | null): Metrics {
  if (f === null) return {};
  return {
    faults: {
      skbFailSendmsg: net.skbFails[0],
      skbFailSendAck: net.skbFails[1],
      softirqDeferred: net.softirqDeferred,
    },
  };
}

/** Figures about the stack every Linux scenario reports. */
function stackMetrics(net: LinuxNet, socks: LinuxSock[]): Metrics {
  let ringBytes = 0, tcpBytes = 0, fallbacks = 0, backlogged = 0, segs = 0, acks = 0, bpHits = 0, bpExpired = 0;
  let ofo = 0;
  for (const s of socks) {
    ringBytes += s.ringBytesOut;
    tcpBytes += s.tcpBytesOut;
    fallbacks += s.fallbacks;
    backlogged += s.backlogged;
    segs += s.segsOut;
    acks += s.acksOut;
    bpHits += s.busyPollHits;
    bpExpired += s.busyPollExpired;
    ofo += s.ofoSegs;
  }
  let squeeze = 0, handoffs = 0, inline = 0, thread = 0;
  for (const sd of net.softnet) {
    squeeze += sd.timeSqueeze;
    handoffs += sd.handoffs;
    inline += sd.inlineRuns;
    thread += sd.threadRuns;
  }
  return {
    ringBytes,
    tcpBytes,
    fallbacks,
    segments: segs,
    pureAcks: acks,
    sockBacklogged: backlogged,
    outOfOrder: ofo,
    busyPoll: { hits: bpHits, expired: bpExpired },
    softirq: { atBhEnable: inline, onSoftintThread: thread, timeSqueeze: squeeze, ksoftirqdHandoffs: handoffs },
    container: { bridgeForwards: net.bridgeFwd, gsoSegmentsCarried: net.gsoSegs },
  };
}

/** Sends all `n` bytes (netperf's send loop around a blocking send()). */
function* sendAll(net: LinuxNet, sk: LinuxSock, n: number): Generator<number, boolean, number> {
  let left = n;
  while (left > 0) {
    const r = yield* spliceSendmsg(net, sk, left);
    if (r <= 0) return false;
    left -= r;
  }
  return true;
}

/** Receives exactly `n` bytes (netperf's recv loop for one response). */
function* recvAll(net: LinuxNet, sk: LinuxSock, n: number): Generator<number, boolean, number> {
  let left = n;
  while (left > 0) {
    const r = yield* spliceRecvmsgDispatch(net, sk, left);
    if (r <= 0) return false;
    left -= r;
  }
  return true;
}

/** Runs of one linux-netperf simulation (a bound for the per-run figures). */
export const RUNS_MAX = 100;
/** netperf's read size while it waits for netserver's close. */
const RECV_DRAIN_BYTES = 65536;

/** Figures of one netperf run (bounded by netperf.runs). */
interface RunFigures {
  /** Transactions (TCP_RR) or receives (TCP_STREAM) counted, and their bytes. */
  count: number;
  bytes: number;
  /** Times of the first and last counted one, ns. */
  firstNs: number;
  lastNs: number;
}

/** The run's figure: transactions/s (TCP_RR) or Mbit/s, 10^6 bit/s (TCP_STREAM). */
function runFigure(r: RunFigures, rr: boolean): number {
  const spanNs = r.firstNs >= 0 && r.lastNs > r.firstNs ? r.lastNs - r.firstNs : 0;
  if (spanNs === 0) return 0;
  // TCP_RR: transactions completed after the first counted one, over the time between them.
  return rr ? Math.round(((r.count - 1) * 1e9) / spanNs) : Math.round((r.bytes * 8 * 1e3) / spanNs);
}

/** netperf TCP_RR and TCP_STREAM between two pinned processes, `netperf.runs` times. */
export const linuxNetperf: Scenario = defineScenario({
  name: "linux-netperf",
  doc: "Linux netperf TCP_RR / TCP_STREAM over loopback or veth+bridge, with or without the BPF loopback splice",
  params: {
    ...COMMON,
    "linux.tickHz": {
      default: 1000,
      min: 0,
      max: 100_000,
      doc: "CONFIG_HZ: the scheduler tick on busy CPUs (0: none, and the runs no longer differ)",
    },
    "netperf.test": { default: "TCP_RR", choices: ["TCP_RR", "TCP_STREAM"], doc: "netperf test" },
    "rr.size": { default: 1024, min: 1, max: 1 << 24, doc: "TCP_RR request and response size, bytes (-r S,S)" },
    "stream.msgSize": { default: 16384, min: 1, max: 1 << 24, doc: "TCP_STREAM send size, bytes (-m)" },
    "stream.recvSize": {
      default: 131072,
      min: 1,
      max: 1 << 24,
      doc: "TCP_STREAM netserver receive size, bytes (-M; netserver defaults to its socket buffer)",
    },
    "netperf.runs": {
      default: 3,
      min: 1,
      max: RUNS_MAX,
      doc: "netperf runs, one connection each, one after the other; the figure is their mean (the seed: 3 runs)",
    },
    "netperf.lengthNs": { default: 5_000_000, min: 1000, max: 1e12, doc: "length of one run (netperf -l), ns" },
    "netperf.warmupNs": {
      default: 500_000,
      min: 0,
      max: 1e12,
      doc: "a run's figures count from this long after its start (connection ramp excluded)",
    },
    "netperf.pauseNsMax": {
      default: 1_000_000,
      min: 0,
      max: 1e12,
      doc: "before each run netperf pauses for a time drawn below this from the seed's workload stream " +
        "(where the run starts against the tick: what makes runs differ)",
    },
  },
  machine: { ...LINUX_MACHINE, "sim.durationNs": 30_000_000 },
  setup(m, p, cfg) {
    // Runs that sim.durationNs cuts off end early or do not start: runsStarted and runsCompleted say so.
    const runs = p["netperf.runs"], lengthNs = p["netperf.lengthNs"], warmNs = p["netperf.warmupNs"];
    const pauseMax = p["netperf.pauseNsMax"];
    if (warmNs >= lengthNs) throw new ConfigError("netperf.warmupNs: must be below netperf.lengthNs");
    const net = createLinuxNet(m, { ...linuxOptions(p), tickHz: p["linux.tickHz"] });
    const faults = faultsFor(m, net, cfg);
    const rr = p["netperf.test"] === "TCP_RR";
    const figs: RunFigures[] = [];
    for (let r = 0; r < runs; r++) figs.push({ count: 0, bytes: 0, firstNs: -1, lastNs: 0 });
    const socks: LinuxSock[] = [];
    let runsStarted = 0, runsDone = 0;
    const pauseChan = m.chan("netperf.pause");
    /** Counts one transaction or receive of run `r` if it falls in the run's measured window. */
    const count = (r: number, startNs: number, b: number) => {
      if (m.nowNs < startNs + warmNs || m.nowNs > startNs + lengthNs) return;
      const f = figs[r];
      if (f.firstNs < 0) f.firstNs = m.nowNs;
      f.count++;
      f.bytes += b;
      f.lastNs = m.nowNs;
    };
    const size = p["rr.size"], msg = p["stream.msgSize"], rsize = p["stream.recvSize"];
    m.spawn("netperf", function* (): KCode {
      for (let r = 0; r < runs; r++) {
        // A new netperf process: it starts wherever the previous one left the machine's tick.
        const pauseNs = pauseMax > 0 ? m.workRng.below(pauseMax) : 0;
        if (pauseNs > 0) yield m.sleep(pauseChan, null, pauseNs);
        const startNs = m.nowNs, endNs = startNs + lengthNs;
        runsStarted++;
        const [client, server] = socketPair(net, `netperf${r + 1}.sk`, `netserver${r + 1}.sk`);
        socks.push(client, server);
        // netserver forks a child per data connection (pinned to CPU 0 as in the series).
        m.spawn(`netserver${r + 1}`, function* (): KCode {
          if (rr) {
            while (yield* recvAll(net, server, size)) if (!(yield* sendAll(net, server, size))) break;
          } else {
            for (;;) {
              const got = yield* spliceRecvmsgDispatch(net, server, rsize);
              if (got <= 0) break;
              count(r, startNs, got);
            }
          }
          yield* sockClose(net, server);
        }, { pin: 0, prio: PRIO.user });
        let ok = true;
        while (ok && m.nowNs < endNs) {
          if (rr) {
            ok = (yield* sendAll(net, client, size)) && (yield* recvAll(net, client, size));
            if (ok) count(r, startNs, size);
          } else ok = yield* sendAll(net, client, msg);
        }
        // The end of the test: shutdown(SHUT_WR), read until netserver's close, close.
        yield* sockShutdownWr(net, client);
        while ((yield* spliceRecvmsgDispatch(net, client, RECV_DRAIN_BYTES)) > 0) { /* the peer's FIN ends it */ }
        yield* sockClose(net, client);
        runsDone++;
      }
      net.tickStopped = true; // nothing left to measure: let the machine quiesce
    }, { pin: 1, prio: PRIO.user });
    return {
      metrics: () => {
        const key = rr ? "transPerSec" : "mbitPerSec";
        const per: Record<string, number> = {};
        let sum = 0, min = Infinity, max = 0, trans = 0;
        // Runs the simulated time cut off before they started are left out (runsStarted says how many ran).
        for (let r = 0; r < runsStarted; r++) {
          const v = runFigure(figs[r], rr);
          per[`run${r + 1}`] = v;
          sum += v;
          min = Math.min(min, v);
          max = Math.max(max, v);
          trans += figs[r].count;
        }
        if (runsStarted === 0) min = 0;
        const mean = runsStarted > 0 ? Math.round(sum / runsStarted) : 0;
        const out: Metrics = { [key]: mean, [`${key}Min`]: min, [`${key}Max`]: max };
        out.spreadPct = mean > 0 ? Math.round(((max - min) * 1000) / mean) / 10 : 0;
        out[rr ? "transPerSecRuns" : "mbitPerSecRuns"] = per;
        if (rr) {
          const f = figs.reduce((a, b) => ({ n: a.n + Math.max(0, b.count - 1), ns: a.ns + (b.lastNs - b.firstNs) }), {
            n: 0,
            ns: 0,
          });
          out.rttUs = f.n > 0 ? Math.round(f.ns / f.n / 10) / 100 : 0;
        }
        out.runsStarted = runsStarted;
        out.runsCompleted = runsDone;
        out.transactions = trans;
        return { ...out, ...stackMetrics(net, socks), ticks: ticksOf(net), ...faultMetrics(net, faults) };
      },
    };
  },
});

function ticksOf(net: LinuxNet): Record<string, number> {
  const out: Record<string, number> = {};
  for (let c = 0; c < net.ticks.length; c++) out[`cpu${c}`] = net.ticks[c];
  return out;
}

/** Parameters of the race scenarios. */
const RACE = {
  ...COMMON,
  "race.mode": {
    default: "stream",
    choices: ["stream", "close", "rst"],
    doc: "stream: random sizes until done; close/rst: the receiver closes (or resets) while the sender sends",
  },
  "race.bytes": { default: 200_000, min: 1, max: 1e12, doc: "bytes the sender sends" },
  "race.msgMax": { default: 40_000, min: 1, max: 1 << 24, doc: "largest send, bytes (sizes drawn up to it)" },
  "race.readMax": { default: 30_000, min: 1, max: 1 << 24, doc: "largest read, bytes" },
  "race.thinkNs": { default: 3000, min: 0, max: 1e9, doc: "largest pause of the receiver between reads" },
  "race.closeAfter": {
    default: 60_000,
    min: 0,
    max: 1e12,
    doc: "close/rst modes: the receiver closes after reading this many bytes",
  },
  "race.closeJitterNs": {
    default: 4000,
    min: 0,
    max: 1e9,
    doc: "close/rst modes: the close comes up to this long after that (drawn per run)",
  },
} as const;

function raceScenario(name: string, doc: string, broken: boolean): Scenario {
  return defineScenario({
    name,
    doc,
    params: {
      ...RACE,
      "linux.splice": { ...COMMON["linux.splice"], default: "on" },
      "linux.sendCheck": { ...COMMON["linux.sendCheck"], default: broken ? "none" : "rcvq" },
    },
    machine: { ...LINUX_MACHINE, "sim.durationNs": 200_000_000 },
    setup(m: Machine, p, cfg) {
      const net = createLinuxNet(m, linuxOptions(p));
      const faults = faultsFor(m, net, cfg);
      const [tx, rx] = socketPair(net, "sender.sk", "receiver.sk");
      const total = p["race.bytes"], mode = p["race.mode"];
      let sent = 0, got = 0, closed = false;
      m.spawn("sender", function* (): KCode {
        while (sent < total) {
          const n = Math.min(total - sent, 1 + m.workRng.below(p["race.msgMax"]));
          const r = yield* spliceSendmsg(net, tx, n);
          if (r <= 0) return;
          sent += r;
          yield m.spend(m.workRng.below(2000));
        }
        yield* sockClose(net, tx);
      }, { pin: 1, prio: PRIO.user });
      m.spawn("receiver", function* (): KCode {
        for (;;) {
          if (mode !== "stream" && got >= p["race.closeAfter"]) {
            yield m.spend(m.workRng.below(p["race.closeJitterNs"] + 1)); // when exactly: varies with the seed
            closed = true;
            if (mode === "close") yield* sockClose(net, rx);
            else yield* sockAbort(net, rx);
            return;
          }
          const r = yield* spliceRecvmsgDispatch(net, rx, 1 + m.workRng.below(p["race.readMax"]));
          if (r <= 0) return;
          got += r;
          yield m.spend(m.workRng.below(p["race.thinkNs"] + 1));
        }
      }, { pin: 0, prio: PRIO.user });
      return {
        metrics: () => ({ sent, received: got, ...stackMetrics(net, [tx, rx]), ...faultMetrics(net, faults) }),
        finish: () => {
          if (!closed) streamEnd(m, rx.flow, sent);
        },
      };
    },
  });
}

/** The series' correctness arguments, explorable: ordering across fallback, ring lifetime across close/RST. */
export const linuxSpliceRace: Scenario = raceScenario(
  "linux-splice-race",
  "Linux splice: random sizes through ring and TCP fallback; race.mode=close|rst tears the pair down mid-send",
  false,
);

/** The broken variant: the sender does not check the peer's receive queue. */
export const linuxSpliceBroken: Scenario = raceScenario(
  "linux-splice-broken",
  "Linux splice with the sender not checking the peer's receive queue: explore finds the reordering",
  true,
);
