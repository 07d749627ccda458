/**
 * Relay scenarios: a relayd-like relay inside the machine. N client flows
 * arrive on em0 (ifidx 1), each accepted socket is spliced (SO_SPLICE) to a
 * connection out of em1 (ifidx 2) to a sink host, so data is measured end to
 * end: source host -> NIC rx queue (RSS) -> ifiq -> softnet -> TCP/UDP input
 * -> so_rcv -> somove (where `splice.mode` puts it) -> output -> NIC -> sink.
 *
 * - `splice-tcp`, `splice-udp`: throughput, pps, splice latency and drops per
 *   `splice.mode` (the seeds' 30 -> 40 Gbit/s, TCP +3-20 %, UDP +30-75 %).
 * - `splice-refrace`: a few UDP flows whose relay process closes both
 *   sockets while data keeps arriving, racing the splice wakeup;
 *   `splice.refOrder=unsafe` lets a schedule free the socket before the
 *   late soref (use after free).
 *
 * `finish()` checks byte conservation per flow (drivers/relay_conservation.ts).
 * `relay.respRateMbps` makes the UDP relay bidirectional: the sink hosts
 * answer, and the relay splices each outbound socket back into its inbound
 * one, so each direction's drain is the other's source.
 * @module
 */
import type { Config, ConfigValue, KeySet } from "../core/config.ts";
import type { Machine } from "../core/machine.ts";
import { type KCode, PRIO } from "../core/objects.ts";
import { NET_KEYS } from "../core/net/config.ts";
import { PROTO } from "../core/net/packet.ts";
import { KIND } from "../core/schema.ts";
import { sosplice } from "../core/net/splice.ts";
import { soclose } from "../core/net/soclose.ts";
import { soreceive, sosend } from "../core/net/usrreq.ts";
import { createNetStack, type NetStack } from "../core/net/mod.ts";
import { pcbKey } from "../core/net/stack.ts";
import { tcpTimersInit } from "../core/net/tcp.ts";
import { type HostLink, TcpSink, TcpSource, UdpSink, UdpSource } from "./hosts.ts";
import { Nic } from "./nic.ts";
import { FAULT_KEYS, Faults, faultsConfigured } from "./faults.ts";
import { ipv4, rssHash4 } from "./rss.ts";
import type { Metrics, Scenario } from "../core/scenario.ts";
import { relayConservation, type RelayFlowHosts } from "./relay_conservation.ts";

export { relayConservation } from "./relay_conservation.ts";

/** Parameters of the relay scenarios (NET_KEYS are added to them). */
export const RELAY_KEYS: KeySet = {
  "relay.flows": { default: 8, doc: "client flows, each spliced to its own outbound flow", min: 1, max: 4096 },
  "relay.msgBytes": {
    default: 1448,
    doc: "message size: TCP segment / UDP datagram payload, bytes",
    min: 1,
    max: 65000,
  },
  "relay.rateMbps": { default: 10000, doc: "offered rate per flow, Mbit/s of payload", min: 1, max: 1_000_000 },
  "relay.bytes": { default: 0, doc: "bytes each source sends (0: until the run ends)", min: 0, max: 1e15 },
  "relay.fin": { default: true, doc: "TCP sources send FIN after relay.bytes (false: they just stop)" },
  "relay.closeAtNs": {
    default: 0,
    doc: "relay processes close both sockets at this time (0: when the splice ends; -1: at a random time in the run)",
    min: -1,
    max: 1e15,
  },
  "splice.max": { default: 0, doc: "SO_SPLICE maximum bytes per splice (0: none)", min: 0, max: 1e15 },
  "splice.idleNs": { default: 0, doc: "SO_SPLICE idle timeout, ns (0: none)", min: 0, max: 1e15 },
  "link.delayNs": { default: 5000, doc: "one-way wire delay between hosts and the machine, ns", min: 0, max: 1e12 },
  "link.lossPpm": {
    default: 0,
    doc: "loss of data packets on the source and sink links, per million",
    min: 0,
    max: 1e6,
  },
  "link.gbps": { default: 100, doc: "NIC transmit line rate, Gbit/s", min: 1, max: 10000 },
  "nic.rxQueues": { default: 0, doc: "receive queues per NIC (0: one per CPU)", min: 0, max: 64 },
  "nic.itrNs": { default: 8000, doc: "interrupt moderation delay, ns", min: 0, max: 1e9 },
  "nic.ringSize": { default: 1024, doc: "receive descriptors per queue", min: 1, max: 1e6 },
  "sink.wnd": { default: 1 << 20, doc: "window a TCP sink advertises, bytes", min: 1, max: 1e9 },
  "relay.userCopy": {
    default: false,
    doc: "relay without splicing: the relay process read()s the source and write()s the drain (the baseline)",
  },
  "relay.respRateMbps": {
    default: 0,
    doc: "UDP: each sink host also sends responses at this rate back through the relay, which splices the " +
      "outbound socket into the inbound one (a bidirectional relay); 0: one way",
    min: 0,
    max: 1_000_000,
  },
  "relay.respBytes": { default: 0, doc: "bytes each response source sends (0: until the run ends)", min: 0, max: 1e15 },
  "fault.sinkDropAt": {
    default: 0,
    doc: "test fault: each sink silently discards its Nth packet without counting it (0: never)",
    min: 0,
    max: 1e15,
  },
  "relay.rssBalance": {
    default: true,
    doc: "ephemeral ports are drawn until flow i lands on rx queue i mod queues (even RSS spread, as a " +
      "benchmark picks ports); false: plain random ports",
  },
};

/** One relayed flow: sockets, hosts, and how the splice ended. */
export interface RelayFlow extends RelayFlowHosts {
  spliceErr: number;
  /** so_error of the source socket when the splice ended (EFBIG, ETIMEDOUT, ...). */
  endError: number;
  closed: boolean;
}

/** The relay world built by {@link buildRelay} (tests reach into it). */
export interface RelayWorld {
  readonly st: NetStack;
  readonly flows: RelayFlow[];
  readonly nicIn: Nic;
  readonly nicOut: Nic;
}

const relays = new WeakMap<Machine, RelayWorld>();

/** The relay built on `m`, for tests and tools (reach `m` through runScenario's `onSetup` or outcome). */
export function relayOf(m: Machine): RelayWorld | undefined {
  return relays.get(m);
}

const RELAY_IN = ipv4("10.0.1.1"), RELAY_OUT = ipv4("10.0.2.1");

/** Builds the machine's stack, NICs, hosts and relay processes. */
export function buildRelay(m: Machine, cfg: Config, proto: number): RelayWorld {
  const n = (k: string) => Number(cfg[k]);
  const st = createNetStack(m, cfg);
  const nrxq = n("nic.rxQueues") > 0 ? n("nic.rxQueues") : m.cpus.length;
  const nicOpt = { rxQueues: nrxq, itrNs: n("nic.itrNs"), linkGbps: n("link.gbps"), ringSize: n("nic.ringSize") };
  const nicIn = new Nic(m, st, "em0", 1, nicOpt);
  const nicOut = new Nic(m, st, "em1", 2, nicOpt);
  nicIn.delayNs = nicOut.delayNs = n("link.delayNs");
  nicOut.lossPpm = n("link.lossPpm");
  const faults = faultsConfigured(cfg) ? new Faults(m, st, cfg) : null;
  nicIn.faults = nicOut.faults = faults;
  const srcLink: HostLink = { nic: nicIn, delayNs: n("link.delayNs"), lossPpm: n("link.lossPpm"), faults };
  const sinkLink: HostLink = { nic: nicOut, delayNs: n("link.delayNs"), lossPpm: 0, faults };
  const flows: RelayFlow[] = [];
  const used = new Set<number>();
  for (let i = 0; i < n("relay.flows"); i++) flows.push(buildFlow(m, cfg, st, proto, i, srcLink, sinkLink, used));
  const world = { st, flows, nicIn, nicOut };
  relays.set(m, world);
  return world;
}

/**
 * An ephemeral port (49152..65535) not used yet, drawn from the workload
 * PRNG; with `want` >= 0, redrawn until `queueOf(port)` is `want`.
 */
function ephemeral(m: Machine, used: Set<number>, want = -1, queueOf: (port: number) => number = () => -1): number {
  for (;;) {
    const p = m.workRng.between(49152, 65535);
    if (used.has(p) || (want >= 0 && queueOf(p) !== want)) continue;
    used.add(p);
    return p;
  }
}

function buildFlow(
  m: Machine,
  cfg: Config,
  st: NetStack,
  proto: number,
  i: number,
  srcLink: HostLink,
  sinkLink: HostLink,
  used: Set<number>,
) {
  const n = (k: string) => Number(cfg[k]);
  // Clients and sinks on their own addresses; the relay listens on 8080 and
  // connects out from ephemeral ports; client ports are ephemeral too.
  const client = ipv4("10.0.0.10") + i, sink = ipv4("10.0.3.10") + i;
  const inPort = 8080, sport = 9000;
  const want = cfg["relay.rssBalance"] === true ? i % srcLink.nic.rss.queues : -1;
  const cport = ephemeral(m, used, want, (p) => srcLink.nic.rss.queue(rssHash4(client, RELAY_IN, p, inPort)));
  const outPort = ephemeral(m, used, want, (p) => sinkLink.nic.rss.queue(rssHash4(sink, RELAY_OUT, sport, p)));
  // inp_flowid: the Toeplitz hash of the connection, equal to its packets' RSS hash.
  const hashIn = rssHash4(client, RELAY_IN, cport, inPort);
  const hashOut = rssHash4(sink, RELAY_OUT, sport, outPort);
  const inSo = st.socket(proto, 2 * i + 1, inPort, cport, 1, hashIn);
  const outSo = st.socket(proto, 2 * i + 2, outPort, sport, 2, hashOut);
  m.emit(KIND.flowDef, 2 * i + 1, proto, RELAY_IN, client, inPort, cport);
  m.emit(KIND.flowDef, 2 * i + 2, proto, RELAY_OUT, sink, outPort, sport);
  const startNs = 1000 + m.workRng.below(4000);
  const so = {
    flow: 2 * i + 1,
    sport: cport,
    dport: inPort,
    hash: hashIn,
    msgBytes: n("relay.msgBytes"),
    rateMbps: n("relay.rateMbps"),
    bytes: n("relay.bytes"),
    fin: cfg["relay.fin"] === true,
    startNs,
    rtoNs: st.set.rtoNs,
  };
  const f: RelayFlow = {
    idx: i,
    inSo,
    outSo,
    tsrc: null,
    tsink: null,
    usrc: null,
    usink: null,
    rsrc: null,
    rsink: null,
    spliceErr: 0,
    endError: 0,
    closed: false,
  };
  if (proto === PROTO.tcp) {
    const cIss = m.workRng.below(1 << 30), rInIss = m.workRng.below(1 << 30);
    const rOutIss = m.workRng.below(1 << 30), sIss = m.workRng.below(1 << 30);
    st.tcpEstablish(inSo, rInIss, cIss, 65535 * 4);
    st.tcpEstablish(outSo, rOutIss, sIss, n("sink.wnd"));
    tcpTimersInit(st, inSo);
    tcpTimersInit(st, outSo);
    f.tsrc = new TcpSource(m, st, srcLink, so, cIss, rInIss, inSo.rcv.hiwat);
    f.tsink = new TcpSink(
      m,
      st,
      sinkLink,
      {
        flow: 2 * i + 2,
        sport,
        dport: outPort,
        hash: hashOut,
        wnd: n("sink.wnd"),
        delAckNs: 50_000,
      },
      sIss,
      rOutIss,
    );
    srcLink.nic.peers.set(pcbKey(inPort, cport), f.tsrc);
    sinkLink.nic.peers.set(pcbKey(outPort, sport), f.tsink);
  } else {
    f.usrc = new UdpSource(m, st, srcLink, so);
    f.usink = new UdpSink(m, st, 2 * i + 2, n("fault.sinkDropAt"));
    sinkLink.nic.peers.set(pcbKey(outPort, sport), f.usink);
    if (n("relay.respRateMbps") > 0) {
      // Responses: sink host -> em1 -> outSo, spliced into inSo -> em0 -> client host.
      const back: HostLink = { nic: sinkLink.nic, delayNs: sinkLink.delayNs, lossPpm: 0, faults: sinkLink.faults };
      f.rsrc = new UdpSource(m, st, back, {
        ...so,
        flow: 2 * i + 2,
        sport,
        dport: outPort,
        hash: hashOut,
        rateMbps: n("relay.respRateMbps"),
        bytes: n("relay.respBytes"),
        startNs: startNs + 500,
      });
      f.rsink = new UdpSink(m, st, 2 * i + 1, n("fault.sinkDropAt"));
      srcLink.nic.peers.set(pcbKey(inPort, cport), f.rsink);
    }
  }
  spawnRelayProc(m, cfg, st, f);
  return f;
}

/** The relay process of one flow: splice, wait for the splice to end (or the close time), close both. */
function spawnRelayProc(m: Machine, cfg: Config, st: NetStack, f: RelayFlow): void {
  const max = Number(cfg["splice.max"]), idle = Number(cfg["splice.idleNs"]);
  let closeAt = Number(cfg["relay.closeAtNs"]);
  if (closeAt < 0) {
    const dur = Number(cfg["sim.durationNs"]);
    closeAt = m.workRng.between(Math.floor(dur / 10), Math.floor((dur * 9) / 10));
  }
  if (cfg["relay.userCopy"] === true) return spawnCopyProc(m, cfg, st, f);
  const bidir = f.rsrc !== null;
  m.spawn(`relayd${f.idx}`, function* (): KCode {
    f.spliceErr = yield* sosplice(st, f.inSo, f.outSo, max, idle);
    if (bidir && f.spliceErr === 0) f.spliceErr = yield* sosplice(st, f.outSo, f.inSo, max, idle);
    if (closeAt > 0) {
      if (m.nowNs < closeAt) yield m.sleep(f.inSo.rcv.chan, null, closeAt - m.nowNs);
    } else {
      // read() blocks while spliced; sounsplice wakes us.
      while (f.inSo.isSpliced()) yield m.sleep(f.inSo.rcv.chan);
      while (bidir && f.outSo.isSpliced()) yield m.sleep(f.outSo.rcv.chan);
    }
    f.endError = f.inSo.error;
    yield* soclose(st, f.inSo);
    yield* soclose(st, f.outSo);
    f.closed = true;
  }, { prio: PRIO.user });
}

/** The userland-copy relay process: read() the source, write() the drain, close both at EOF. */
function spawnCopyProc(m: Machine, cfg: Config, st: NetStack, f: RelayFlow): void {
  const chunk = Math.max(Number(cfg["relay.msgBytes"]), 16384);
  m.spawn(`relayd${f.idx}`, function* (): KCode {
    for (;;) {
      const n = yield* soreceive(st, f.inSo, chunk);
      if (n === 0) break;
      if ((yield* sosend(st, f.outSo, n, f.inSo)) !== 0) break;
    }
    f.endError = f.inSo.error;
    yield* soclose(st, f.inSo);
    yield* soclose(st, f.outSo);
    f.closed = true;
  }, { prio: PRIO.user });
}

/** Percentile of sorted samples (nearest rank). */
/** Metrics of a relay run. */
export function relayMetrics(m: Machine, w: RelayWorld): Metrics {
  const simNs = Math.max(1, m.nowNs);
  let bytes = 0, pkts = 0, offered = 0;
  for (const f of w.flows) {
    bytes += f.tsink?.receivedBytes ?? f.usink?.receivedBytes ?? 0;
    pkts += f.tsink?.receivedPkts ?? f.usink?.receivedPkts ?? 0;
    offered += f.tsrc?.dataSent ?? f.usrc?.sentBytes ?? 0;
  }
  return {
    throughputGbps: Math.round((bytes * 8 * 100) / simNs) / 100,
    pps: Math.round((pkts * 1e9) / simNs),
    offeredGbps: Math.round((offered * 8 * 100) / simNs) / 100,
    spliceLatP50Ns: w.st.spliceLat.quantile(50),
    spliceLatP99Ns: w.st.spliceLat.quantile(99),
    drops: w.st.acct.drops,
    dropsByReason: { ...w.st.acct.dropsByReason },
    somoveCalls: w.st.somoveCalls,
    bytesPerSomove: w.st.somoveCalls > 0 ? Math.round(bytes / w.st.somoveCalls) : 0,
  };
}

function relayScenario(
  name: string,
  doc: string,
  proto: number,
  defaults: Record<string, ConfigValue>,
  machineDefaults: Record<string, ConfigValue>,
): Scenario {
  const params: KeySet = { ...NET_KEYS, ...RELAY_KEYS, ...FAULT_KEYS };
  for (const [k, v] of Object.entries(defaults)) params[k] = { ...params[k], default: v };
  return {
    name,
    doc,
    params,
    // OpenBSD: kernel threads (softnet, sosplice) are not preempted (core/sched.ts).
    machineDefaults: { "sched.kpreempt": "off", ...machineDefaults },
    setup(m: Machine, cfg: Config) {
      const w = buildRelay(m, cfg, proto);
      return {
        metrics: () => relayMetrics(m, w),
        finish: () => void relayConservation(m, w),
      };
    },
  };
}

/**
 * The relay scenarios default to `net.tqPerRxQueue=true`: the seeds' setup
 * ("The hot path receiving packets will distribute them over all softnet
 * threads") spreads the rx queues over the softnets. The offered load
 * (`relay.rateMbps` per flow, 8 flows) is the point docs/cost-model.md
 * calls the result: the highest load of the sweep that the best splice
 * mode still delivers (>= 99 %): 6 Gbit/s per flow for TCP, 2 for UDP.
 */
export const spliceTcp: Scenario = relayScenario(
  "splice-tcp",
  "relayd-like TCP relay: N client flows spliced to N sink flows; compare splice.mode",
  PROTO.tcp,
  { "net.tqPerRxQueue": true, "relay.rateMbps": 6000 },
  { "sim.durationNs": 5_000_000 },
);

/** UDP relay. */
export const spliceUdp: Scenario = relayScenario(
  "splice-udp",
  "relayd-like UDP relay: N client flows spliced to N sink flows; compare splice.mode",
  PROTO.udp,
  { "net.tqPerRxQueue": true, "relay.msgBytes": 1400, "relay.rateMbps": 2000 },
  { "sim.durationNs": 5_000_000 },
);

/**
 * The refcount race: closes racing the splice wakeup, with the 2025-07
 * refcount diff (splice.closeBarrier=false) in the unsafe order. Under the
 * 1.385 locking (task_add and soref under sb_mtx, splice.wakeupLock=sb_mtx)
 * the splice links keep a reference while SB_SPLICE is set, so no schedule
 * frees the socket; the scenario opens the window (wakeupLock=none).
 */
/**
 * What both refrace scenarios set: the refcount diff's unsafe task_add/soref order without close barriers, on
 * flowid task queues, with the hypothetical unlocked wakeup that opens the window (1.385's sb_mtx closes it), and
 * relay processes that close while data arrives.
 */
const REFRACE: Readonly<Record<string, ConfigValue>> = {
  "splice.wakeupLock": "none",
  "splice.refOrder": "unsafe",
  "splice.closeBarrier": false,
  "splice.mode": "flowid-taskq",
  "net.tqPerRxQueue": true,
  "relay.flows": 4,
  "relay.closeAtNs": -1,
};

/** The UDP race of the July thread's refcount diff. */
export const spliceRefrace: Scenario = relayScenario(
  "splice-refrace",
  "few UDP flows; relay processes close their sockets while data arrives, racing task_add/soref (splice.refOrder)",
  PROTO.udp,
  {
    ...REFRACE,
    "relay.msgBytes": 512,
    "relay.rateMbps": 500,
  },
  { "sim.durationNs": 1_000_000 },
);

/**
 * The TCP variant: the July thread's sowwakeup -> soback path. An ACK from
 * the sink frees drain space, tcp_input's sowwakeup task_adds the source's
 * splice task on its flowid queue and only then sorefs it; meanwhile the
 * relay closes, the client's next segment is answered with RST (the PCB
 * lets go), and the task runs on the other softnet and drops the last
 * reference with its own sorele.
 */
export const spliceRefraceTcp: Scenario = relayScenario(
  "splice-refrace-tcp",
  "few TCP flows; relay processes close while data and ACKs flow, racing sowwakeup's task_add/soref on soback",
  PROTO.tcp,
  {
    ...REFRACE,
    "relay.rateMbps": 2000,
    "sink.wnd": 65536,
  },
  { "sim.durationNs": 1_000_000 },
);
