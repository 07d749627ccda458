/**
 * The NetBSD seed's two workloads (seeds/netbsd-tcp-net-mpsafe-2026-05.txt,
 * issue 12), on core/netbsd/ with `kernel=netbsd`:
 *
 * - `netbsd-tcp`: a server with a listen socket and N connections accepted by
 *   one thread and served by one thread each on the CPUs other than the
 *   interrupt CPU: iperf3 -R-like bulk senders and request/response
 *   connections, one of which is reset by its peer; the bulk senders close
 *   with SO_LINGER. Compare `netbsd.locking` (softnet, socket-mutex,
 *   hierarchy, wrong-order) for throughput, accept latency, contention and
 *   waiting per lock class, and the longest wait of an application thread.
 * - `netbsd-softint-starve`: one CPU, an iperf3 -R-like sender whose ACKs
 *   clock the net softint, TCP delayed-ACK and retransmit callouts at
 *   SOFTINT_CLOCK, a watchdog that must be tickled every W ns and some
 *   general soft interrupt work at the gen level; compare `softint.order`.
 *
 * Both declare the faults of the NIC's receive path (rx ring full, the
 * driver's refill failing, a late interrupt; core/netbsd/tcp.ts has the
 * error paths and TCP's recovery) and the slow CPU window, and check at the
 * end that every byte of every connection is accounted for (`conservation`).
 * @module
 */
import type { Machine, TimerTarget } from "../core/machine.ts";
import { type KCode, KObj, type Lock, PRIO, THREAD_KIND } from "../core/objects.ts";
import { ConfigError } from "../core/config.ts";
import { defineScenario, type Metrics, type Scenario } from "../core/scenario.ts";
import { Histogram } from "../core/histogram.ts";
import { Timeouts } from "../core/timeout.ts";
import { HierarchyCheck, NB_VARIANTS, type NbCosts, type NbSocket, NbTcp, SEG } from "../core/netbsd/mod.ts";
import { CPU_SLOW_KEYS, FaultDraws, faultKeys } from "./fault_draws.ts";
import { faultsConfigured } from "./faults.ts";

/** The faults of the NIC receive path and the slow CPU, as both scenarios declare them. */
const NB_FAULT_PARAMS = faultKeys(
  "fault.mbufFailPpm",
  "fault.rxRingPpm",
  "fault.intrDelayPpm",
  "fault.intrDelayNs",
  ...CPU_SLOW_KEYS,
);

/** Reports the connections' byte accounting failures as conservation violations. */
function checkConservation(m: Machine, tcp: NbTcp): void {
  for (const msg of tcp.conservation()) m.violation("conservation", msg);
}

/** With faults on: the segments the NIC dropped, by kind, and those that waited behind a hole. */
function faultMetrics(tcp: NbTcp): Metrics {
  if (!tcp.opts.faults) return {};
  const d = tcp.nicDrops;
  return {
    nicDrops: { syn: d[SEG.syn], ack3: d[SEG.ack3], data: d[SEG.data], ack: d[SEG.ack], rst: d[SEG.rst] },
    reassSegments: tcp.reassSegs,
  };
}

const COST_PARAMS = {
  "nbtcp.inputNs": { default: 1_200, doc: "tcp_input of one segment, ns", min: 1, max: 1e9 },
  "nbtcp.outputNs": { default: 1_000, doc: "tcp_output of one segment, ns", min: 1, max: 1e9 },
  "nbtcp.copyNsPerKb": { default: 100, doc: "user/kernel copy of 1 KiB, ns", min: 0, max: 1e9 },
  "nbtcp.intrNs": { default: 500, doc: "NIC hard interrupt, ns", min: 1, max: 1e9 },
  "nbtcp.syscallNs": { default: 300, doc: "system call entry and exit, ns", min: 0, max: 1e9 },
} as const;

function costsOf(p: Record<string, unknown>): NbCosts {
  return {
    inputNs: p["nbtcp.inputNs"] as number,
    outputNs: p["nbtcp.outputNs"] as number,
    copyNsPerKb: p["nbtcp.copyNsPerKb"] as number,
    intrNs: p["nbtcp.intrNs"] as number,
    syscallNs: p["nbtcp.syscallNs"] as number,
  };
}

/** Per lock class: contended acquisitions out of all. */
function contention(locks: readonly Lock[]): { contended: Record<string, number>; acquired: Record<string, number> } {
  const contended: Record<string, number> = {}, acquired: Record<string, number> = {};
  for (const l of locks) {
    contended[l.cls] = (contended[l.cls] ?? 0) + l.contended;
    acquired[l.cls] = (acquired[l.cls] ?? 0) + l.acquisitions;
  }
  return { contended, acquired };
}

const us = (ns: number) => Math.round(ns / 100) / 10;

/** The netbsd-tcp scenario. */
export const netbsdTcp: Scenario = defineScenario({
  name: "netbsd-tcp",
  doc: "NetBSD TCP server (listen, accept, bulk and request/response, RST, linger) under netbsd.locking",
  params: {
    "netbsd.locking": {
      default: "hierarchy",
      doc: "socket locking: softnet (giant softnet_lock), socket-mutex (one per socket), hierarchy (the seed's), " +
        "wrong-order (hierarchy with SOCK_LOCK taken under SOCKBUF_LOCK)",
      choices: NB_VARIANTS,
    },
    "nbtcp.conns": { default: 4, doc: "connections accepted", min: 1, max: 64 },
    "nbtcp.bulk": {
      default: 2,
      doc: "of which iperf3 -R-like bulk senders (the rest request/response)",
      min: 0,
      max: 64,
    },
    "nbtcp.bulkDir": {
      default: "send",
      doc: "bulk connections: send (iperf3 -R, the server fills so_snd) or receive (iperf3, the server drains so_rcv)",
      choices: ["send", "receive"],
    },
    "nbtcp.rttNs": { default: 50_000, doc: "round trip to the clients, ns", min: 1000, max: 1e10 },
    "nbtcp.linkMbps": { default: 10_000, doc: "link rate, Mb/s", min: 1, max: 400_000 },
    "nbtcp.windowBytes": { default: 65_536, doc: "send window (fixed), bytes", min: 1448, max: 1 << 30 },
    "nbtcp.sbBytes": { default: 262_144, doc: "socket buffer high water, bytes", min: 1448, max: 1 << 30 },
    "nbtcp.writeBytes": { default: 65_536, doc: "bytes per write() of a bulk sender", min: 1, max: 1 << 30 },
    "nbtcp.bulkBytes": { default: 2_000_000, doc: "bytes a bulk sender writes before close", min: 1, max: 1e12 },
    "nbtcp.lingerNs": { default: 5_000_000, doc: "SO_LINGER time of the bulk senders' close, ns", min: 0, max: 1e12 },
    "nbtcp.reqBytes": { default: 512, doc: "request size", min: 1, max: 1 << 20 },
    "nbtcp.respBytes": { default: 4_096, doc: "response size", min: 1, max: 1 << 24 },
    "nbtcp.rstAtNs": {
      default: 12_000_000,
      doc: "the last request/response connection is reset by its peer at this time (0: never)",
      min: 0,
      max: 1e15,
    },
    ...COST_PARAMS,
    ...NB_FAULT_PARAMS,
  },
  machine: { kernel: "netbsd", cpus: 4, "sim.durationNs": 20_000_000 },
  setup(m, p, cfg) {
    if (p["nbtcp.bulk"] > p["nbtcp.conns"]) throw new ConfigError("nbtcp.bulk: above nbtcp.conns");
    const check = new HierarchyCheck(m);
    check.install();
    const rtt = p["nbtcp.rttNs"];
    const tcp = new NbTcp(m, {
      variant: p["netbsd.locking"] as (typeof NB_VARIANTS)[number],
      costs: costsOf(p),
      intrCpu: 0,
      rttNs: rtt,
      linkMbps: p["nbtcp.linkMbps"],
      mssBytes: 1448,
      windowBytes: p["nbtcp.windowBytes"],
      sbBytes: p["nbtcp.sbBytes"],
      faults: faultsConfigured(cfg) ? new FaultDraws(m, cfg) : null,
    });
    const ncpu = Number(cfg["cpus"]);
    const appCpu = (i: number) => ncpu === 1 ? 0 : 1 + i % (ncpu - 1);
    const conns = p["nbtcp.conns"], bulk = p["nbtcp.bulk"];
    const reqBytes = p["nbtcp.reqBytes"], respBytes = p["nbtcp.respBytes"];
    // Application waits per class and the longest single wait of an application thread.
    const waitNsByClass: Record<string, number> = {};
    const waitNsByThread: Record<string, number> = {}; // "thread/class", every thread (contended waits only)
    let appWaitNsMax = 0, appWaitClass = "-", softnetWaitNs = 0;
    m.hooks.lockWaited.add((th, l, waitNs) => {
      if (waitNs === 0) return;
      const key = `${th.name}/${l.cls}`;
      waitNsByThread[key] = (waitNsByThread[key] ?? 0) + waitNs;
      if (th.kind === THREAD_KIND.softint) softnetWaitNs += waitNs;
      else {
        waitNsByClass[l.cls] = (waitNsByClass[l.cls] ?? 0) + waitNs;
        if (waitNs > appWaitNsMax) [appWaitNsMax, appWaitClass] = [waitNs, l.cls];
      }
    });
    let rrDone = 0, rrNsSum = 0, resets = 0, lingerOk = 0, lingerTimedOut = 0;
    const ls = tcp.socket("lsock");
    for (let i = 0; i < conns; i++) tcp.fromPeer(SEG.syn, ls, i, 20_000 + 10_000 * i);
    let rstSock: NbSocket | null = null;
    const bulkReceiver = function* (so: NbSocket): KCode {
      tcp.peerStream(so);
      for (;;) {
        const n = yield* tcp.receive(so, p["nbtcp.writeBytes"]);
        if (n <= 0) break;
      }
    };
    const bulkWorker = function* (so: NbSocket): KCode {
      if (p["nbtcp.bulkDir"] === "receive") return yield* bulkReceiver(so);
      let sent = 0;
      while (sent < p["nbtcp.bulkBytes"]) {
        const n = yield* tcp.send(so, p["nbtcp.writeBytes"]);
        if (n < 0) return;
        sent += n;
      }
      if (yield* tcp.close(so, p["nbtcp.lingerNs"])) lingerOk++;
      else lingerTimedOut++;
    };
    const rrWorker = function* (so: NbSocket): KCode {
      tcp.fromPeer(SEG.data, so, reqBytes, rtt / 2); // the first request
      let arrivedNs = m.nowNs + rtt / 2, have = 0;
      for (;;) {
        const n = yield* tcp.receive(so, 65_536);
        if (n < 0) {
          resets++;
          break;
        }
        if (n === 0) break;
        have += n;
        if (have < reqBytes) continue;
        have -= reqBytes;
        if ((yield* tcp.send(so, respBytes)) < 0) {
          resets++;
          break;
        }
        rrDone++;
        rrNsSum += m.nowNs - arrivedNs;
        // The client reads the response and asks again (closed loop).
        tcp.fromPeer(SEG.data, so, reqBytes, rtt);
        arrivedNs = m.nowNs + rtt;
      }
      yield* tcp.close(so, 0);
    };
    m.spawn("acceptor", function* (): KCode {
      yield* tcp.listen(ls, 16);
      for (let i = 0; i < conns; i++) {
        const so = yield* tcp.accept(ls);
        const k = so.conn;
        if (k === conns - 1 && k >= bulk) rstSock = so;
        const body = k < bulk ? bulkWorker(so) : rrWorker(so);
        m.spawn(k < bulk ? `iperf${k}` : `rr${k}`, () => body, { pin: appCpu(k), prio: PRIO.user });
      }
    }, { pin: appCpu(0), prio: PRIO.user });
    const rstAt = p["nbtcp.rstAtNs"];
    if (rstAt > 0) m.at(rstAt, () => rstSock !== null && tcp.fromPeer(SEG.rst, rstSock, 0, 0));
    return {
      finish: () => checkConservation(m, tcp),
      metrics(): Metrics {
        let acked = 0;
        for (const so of tcp.sockets) if (so.conn >= 0 && so.conn < bulk) acked += so.ackedBytes + so.rcvdBytes;
        const { contended, acquired } = contention(m.locks);
        const waitUs: Record<string, number> = {};
        for (const [k, v] of Object.entries(waitNsByClass)) waitUs[k] = us(v);
        const threadWaitUs: Record<string, number> = {};
        for (const k of Object.keys(waitNsByThread).sort()) threadWaitUs[k] = us(waitNsByThread[k]);
        return {
          throughputMbps: Math.round(acked * 8 * 1000 / Math.max(1, m.nowNs)),
          accepts: tcp.accepts,
          acceptLatencyUsMean: tcp.accepts ? us(tcp.acceptNsSum / tcp.accepts) : 0,
          acceptLatencyUsMax: us(tcp.acceptNsMax),
          rrTransactions: rrDone,
          rrLatencyUsMean: rrDone ? us(rrNsSum / rrDone) : 0,
          resets,
          lingerOk,
          lingerTimedOut,
          contended,
          acquired,
          appWaitUs: waitUs,
          threadWaitUs,
          appWaitUsMax: us(appWaitNsMax),
          appWaitMaxClass: appWaitClass,
          softnetWaitUs: us(softnetWaitNs),
          hierarchyViolations: check.reported.length,
          ...faultMetrics(tcp),
        };
      },
    };
  },
});

/** Callout lateness and watchdog bookkeeping (a TimerTarget for the general work's device). */
class StarveState implements TimerTarget {
  readonly lateness = new Histogram();
  lateNsMax = 0;
  fired = 0;
  /** Callouts that fired one tick or more after the tick they were due on. */
  tickMisses = 0;
  tickles = 0;
  misses = 0;
  lastTickleNs = 0;
  genRuns = 0;
  genLateNsMax = 0;
  genPostedNs = -1;
  constructor(readonly m: Machine, readonly everyNs: number, readonly post: () => void) {}
  onTimer(): void {
    this.post();
    this.m.atCall(this.m.nowNs + this.everyNs, this, null);
  }
}

/** The netbsd-softint-starve scenario. */
export const netbsdSoftintStarve: Scenario = defineScenario({
  name: "netbsd-softint-starve",
  doc: "one CPU, iperf3 -R-like sender: ACK-clocked net softints against SOFTINT_CLOCK callouts and a watchdog",
  params: {
    "nbst.rttNs": { default: 50_000, doc: "round trip to the receiver, ns", min: 1000, max: 1e10 },
    "nbst.linkMbps": { default: 10_000, doc: "link rate, Mb/s", min: 1, max: 400_000 },
    "nbst.windowBytes": { default: 65_536, doc: "send window (fixed), bytes", min: 1448, max: 1 << 30 },
    "nbst.sbBytes": {
      default: 16_777_216,
      doc: "so_snd high water (iperf3 -w): the softint sends from it without the application running",
      min: 1448,
      max: 1 << 30,
    },
    "nbst.writeBytes": {
      default: 16_777_216,
      doc: "bytes per write() (iperf3 -l; see docs/netbsd.md on smaller writes)",
      min: 1,
      max: 1 << 30,
    },
    "nbst.timerNs": {
      default: 10_000_000,
      doc: "the TCP timer (delayed ACK/retransmit) period, ns",
      min: 1,
      max: 1e12,
    },
    "nbst.watchdogNs": {
      default: 30_000_000,
      doc: "watchdog period W: a tickle later than this after the previous one is a miss",
      min: 1,
      max: 1e12,
    },
    "nbst.genEveryNs": {
      default: 1_000_000,
      doc: "general soft interrupt work: one run every so often (0: none)",
      min: 0,
      max: 1e12,
    },
    "nbst.genNs": { default: 100_000, doc: "cost of one run of the general work, ns", min: 1, max: 1e12 },
    ...COST_PARAMS,
    ...NB_FAULT_PARAMS,
  },
  machine: { kernel: "netbsd", cpus: 1, "sim.durationNs": 100_000_000, "detect.starvationNs": 1_000_000_000 },
  setup(m, p, cfg) {
    const tcp = new NbTcp(m, {
      variant: "hierarchy",
      costs: costsOf(p),
      intrCpu: 0,
      rttNs: p["nbst.rttNs"],
      linkMbps: p["nbst.linkMbps"],
      mssBytes: 1448,
      windowBytes: p["nbst.windowBytes"],
      sbBytes: p["nbst.sbBytes"],
      faults: faultsConfigured(cfg) ? new FaultDraws(m, cfg) : null,
    });
    const tos = new Timeouts(m);
    const genNs = p["nbst.genNs"];
    const gen = m.softintEstablish("gen", "general", function* (): KCode {
      st.genRuns++;
      const late = m.nowNs - st.genPostedNs;
      if (late > st.genLateNsMax) st.genLateNsMax = late;
      st.genPostedNs = -1;
      yield m.spend(genNs);
    }, null);
    const dev = new KObj(m.newId(), "gendev");
    const genIntr = function* (): KCode {
      yield m.spend(p["nbtcp.intrNs"]);
      if (st.genPostedNs < 0) st.genPostedNs = m.nowNs;
      m.softintSchedule(gen);
    };
    const st = new StarveState(m, p["nbst.genEveryNs"], () => m.postInterrupt(0, dev, genIntr, null));
    if (p["nbst.genEveryNs"] > 0) m.atCall(p["nbst.genEveryNs"], st, null);
    // Lateness after the tick the callout was due on: callouts are tick based,
    // so a timeout fires on the first hardclock tick at or after its deadline.
    m.hooks.timeoutFire.add((_to, lateNs) => {
      const deadlineNs = m.nowNs - lateNs;
      const tickLateNs = m.nowNs - Math.ceil(deadlineNs / tos.tickNs) * tos.tickNs;
      st.fired++;
      st.lateness.record(tickLateNs);
      if (tickLateNs > st.lateNsMax) st.lateNsMax = tickLateNs;
      if (tickLateNs >= tos.tickNs) st.tickMisses++;
    });
    const timerNs = p["nbst.timerNs"], wdNs = p["nbst.watchdogNs"];
    const tcpTimer = tos.set("tcp_timer", function* (): KCode {
      yield m.spend(1_000);
      tos.add(tcpTimer, timerNs);
    });
    // The watchdog tickler is a callout at W/2 (sysmon_wdog's callout); a tickle later than W is a miss.
    const wdog = tos.set("wdog_tickle", function* (): KCode {
      st.tickles++;
      if (m.nowNs - st.lastTickleNs > wdNs) st.misses++;
      st.lastTickleNs = m.nowNs;
      yield m.spend(500);
      tos.add(wdog, wdNs / 2);
    });
    const so = tcp.socket("iperf");
    so.state = 2; // SS.connected: the connection is established before the run
    m.spawn("iperf3", function* (): KCode {
      tos.add(tcpTimer, timerNs);
      tos.add(wdog, wdNs / 2);
      for (;;) if ((yield* tcp.send(so, p["nbst.writeBytes"])) < 0) return;
    }, { pin: 0, prio: PRIO.user });
    return {
      finish: () => checkConservation(m, tcp),
      metrics(): Metrics {
        const stillLate = m.nowNs - st.lastTickleNs > wdNs ? 1 : 0;
        // Callouts still waiting at the end count with their lateness so far.
        let lateNsMax = st.lateNsMax, tickMisses = st.tickMisses;
        for (const to of [tcpTimer, wdog]) {
          if (!to.pending) continue;
          const lateNs = m.nowNs - Math.ceil(to.deadlineNs / tos.tickNs) * tos.tickNs;
          if (lateNs > lateNsMax) lateNsMax = lateNs;
          if (lateNs >= tos.tickNs) tickMisses++;
        }
        return {
          throughputMbps: Math.round(so.ackedBytes * 8 * 1000 / Math.max(1, m.nowNs)),
          timersFired: st.fired,
          timerLateUsP50: us(st.lateness.quantile(0.5)),
          timerLateUsP99: us(st.lateness.quantile(0.99)),
          timerLateUsMax: us(lateNsMax),
          timerTickMisses: tickMisses,
          watchdogTickles: st.tickles,
          watchdogMisses: st.misses + stillLate,
          genRuns: st.genRuns,
          genLateUsMax: us(st.genLateNsMax),
          ...faultMetrics(tcp),
        };
      },
    };
  },
});
