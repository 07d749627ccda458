/**
 * The Linux personality: a Linux network stack on the machine, built only on
 * the machine's public API (threads, spin locks, sleep/wakeup on channels,
 * the "net" soft interrupt level, costs).
 *
 * - types.ts: sk_buff, socket, softnet_data, options;
 * - netdev.ts: NET_RX softirq with the NAPI budget and the ksoftirqd
 *   hand-off, the per-CPU backlog, loopback and veth + bridge transmit;
 * - tcp.ts: lock_sock/release_sock with the socket backlog, tcp_sendmsg,
 *   tcp_v4_rcv (net/ipv4, net/core/sock.c); tcp_recvmsg.ts: tcp_recvmsg;
 *   rcv_mss.ts: the receiver's segment-size estimate and pushed marks;
 * - splice.ts + ring.ts: the RFC series' opportunistic loopback splice;
 * - tick.ts: the periodic scheduler tick (what makes netperf's runs differ).
 *
 * What the machine does not do the Linux way yet (modelled here with the
 * existing primitives; a machine change would make it exact):
 *
 * 1. softirq on irq exit / local_bh_enable: Linux runs pending softirqs in
 *    the raising context. netdev.ts does this for NET_RX raised by a task
 *    (`localBhEnable` runs net_rx_action on the task, no switch), but a
 *    softirq raised from a timer or hard interrupt still runs on the
 *    machine's soft interrupt thread and pays `cost.ctxSwitch` twice; the
 *    machine runs soft interrupts only on their own threads. A machine
 *    primitive "run pending soft interrupts of this CPU on the current
 *    thread now" (irq_exit → invoke_softirq) would make both exact, and
 *    would let the machine's own softint accounting (starvation detector,
 *    softint events in the trace) see the inline runs, which it does not now.
 *    Also BH-disabled sections do not pin the task: the scenarios pin their
 *    tasks, so nothing migrates mid-softirq.
 * 2. CFS: Linux tasks are preempted by wakeup granularity, not a fixed
 *    quantum; ksoftirqd is an ordinary CFS task here at PRIO.user.
 * 3. wake_up_*_sync hints and idle polling: the machine charges `cost.ipi`
 *    when it wakes an idle CPU from another one; the Linux scenarios set it
 *    to the cross-CPU wakeup latency measured for Linux (docs/cost-model.md).
 *
 * @example
 * ```ts
 * import { createLinuxNet, socketPair } from "./mod.ts";
 * // const net = createLinuxNet(m, { ...LINUX_DEFAULTS, transport: "loopback" });
 * // const [client, server] = socketPair(net, "netperf", "netserver");
 * ```
 * @module
 */
import type { Machine } from "../machine.ts";
import type { KCode, SoftInt } from "../objects.ts";
import { softnetInit } from "./netdev.ts";
import { tickInit } from "./tick.ts";
import { initialRcvMss } from "./rcv_mss.ts";
import { spliceDestroy, splicePair, spliceUnpair } from "./splice.ts";
import { delackInit, INITIAL_RCV_WND, lockSock, releaseSock, tcpSendCtl, tcpSendFin, tcpV4Rcv } from "./tcp.ts";
import { type LinuxNet, type LinuxOptions, LinuxSock, SHUT, SkbQueue, TH } from "./types.ts";

export { SpliceRing } from "./ring.ts";
export { circCnt, circSpace } from "./ring.ts";
export {
  FALLBACK,
  isSpliced,
  recvReady,
  sendDecision,
  spliceDestroy,
  splicePair,
  spliceRecvmsgDispatch,
  spliceSendmsg,
  spliceUnpair,
} from "./splice.ts";
export { lockSock, releaseSock, tcpSendmsg } from "./tcp.ts";
export { tcpRecvmsg } from "./tcp_recvmsg.ts";
export {
  type LinuxNet,
  type LinuxOptions,
  LinuxSock,
  SEND_CHECKS,
  type SendCheck,
  SHUT,
  type Transport,
  TRANSPORTS,
} from "./types.ts";

/** MSS on loopback (lo MTU 65536 - 40 - 12 bytes of timestamp option). */
export const MSS_LOOPBACK = 65483;
/** MSS over a veth with the default MTU 1500 (1500 - 40 - 12). */
export const MSS_VETH = 1448;

/** Defaults: sysctls of a stock v6.15 kernel, the series' ring size, splice and busy poll off. */
export const LINUX_DEFAULTS: LinuxOptions = {
  transport: "loopback",
  netdevBudget: 300,
  netdevBudgetUs: 2000,
  devWeight: 64,
  maxBacklog: 1000,
  sndbufBytes: 4 << 20,
  rcvbufBytes: 6 << 20,
  nodelay: false,
  splice: false,
  ringBytes: 16 * 1024,
  busyPollUs: 0,
  sendCheck: "rcvq",
  ringRef: true,
  tickHz: 0,
};

/** A Linux network stack on `m`. */
export function createLinuxNet(m: Machine, opt: LinuxOptions): LinuxNet {
  if (!(opt.ringBytes >= 2 && (opt.ringBytes & (opt.ringBytes - 1)) === 0)) {
    throw new Error(`ring size ${opt.ringBytes} is not a power of two`);
  }
  if (!(Number.isInteger(opt.tickHz) && opt.tickHz >= 0 && opt.tickHz <= 100_000)) {
    throw new Error(`tick rate ${opt.tickHz} Hz is outside 0..100000`);
  }
  const net: LinuxNet = {
    m,
    opt,
    softnet: [],
    netRx: null as unknown as SoftInt,
    rcv: null,
    pool: new SkbQueue(),
    skbsMade: 0,
    socks: [],
    mss: opt.transport === "loopback" ? MSS_LOOPBACK : MSS_VETH,
    gsoSegs: 0,
    bridgeFwd: 0,
    delackSi: null,
    onClose: closeHook,
    tickObj: null,
    tickStopped: false,
    ticks: m.cpus.map(() => 0),
    skbFail: null,
    softirqDefer: null,
    skbFails: [0, 0],
    softirqDeferred: 0,
  };
  softnetInit(net, tcpV4Rcv);
  delackInit(net);
  tickInit(net);
  return net;
}

/**
 * An established connection between two new sockets (the handshake is not
 * simulated: its result is). With `opt.splice`, the sock_ops program's
 * bpf_sock_splice_pair at ESTABLISHED pairs them.
 */
export function socketPair(net: LinuxNet, nameA: string, nameB: string): [LinuxSock, LinuxSock] {
  const a = new LinuxSock(net.m, net.m.newId(), nameA);
  const b = new LinuxSock(net.m, net.m.newId(), nameB);
  a.peer = b;
  b.peer = a;
  a.flow = a.id;
  b.flow = b.id;
  for (const s of [a, b]) {
    s.net = net;
    s.sndWndRight = net.opt.rcvbufBytes;
    s.advRight = net.opt.rcvbufBytes;
    // tcp_initialize_rcv_mss, then tcp_incr_quickack: rcv_wnd / (2 * rcv_mss) quick ACKs, 2 to 16.
    s.rcvMss = initialRcvMss(net.mss);
    s.quickAcks = Math.min(16, Math.max(2, Math.floor(INITIAL_RCV_WND / (2 * s.rcvMss))));
    net.socks.push(s);
  }
  if (net.opt.splice && splicePair(net, a, b) !== 0) throw new Error("bpf_sock_splice_pair failed");
  return [a, b];
}

/** When a socket reaches TCP_CLOSE: sock_map_unhash drops the psock, sk_psock_drop unpairs. */
function* closeHook(net: LinuxNet, sk: LinuxSock): KCode {
  yield* spliceUnpair(net, sk);
}

/**
 * close(): sk_psock_drop (unpair), FIN through TCP with the frozen
 * sequence numbers, then sk_psock_destroy after the RCU grace period
 * (percpu_ref_kill on the ring).
 */
export function* sockClose(net: LinuxNet, sk: LinuxSock): KCode {
  const m = net.m;
  yield m.spend(m.cost.lxSyscall);
  if (sk.closed) return;
  yield* spliceUnpair(net, sk);
  yield* lockSock(net, sk); // tcp_close
  sk.closed = true;
  sk.shutdown |= SHUT.send | SHUT.rcv;
  yield* tcpSendFin(net, sk);
  yield* releaseSock(net, sk);
  yield m.spend(m.cost.lxRcuGp); // queue_rcu_work: the destroy runs after a grace period
  spliceDestroy(net, sk);
}

/** shutdown(SHUT_WR): SEND_SHUTDOWN (the ring is no longer written), FIN through TCP. */
export function* sockShutdownWr(net: LinuxNet, sk: LinuxSock): KCode {
  const m = net.m;
  yield m.spend(m.cost.lxSyscall);
  if ((sk.shutdown & SHUT.send) !== 0) return;
  yield* lockSock(net, sk); // inet_shutdown → tcp_shutdown
  sk.shutdown |= SHUT.send;
  yield* tcpSendFin(net, sk);
  yield* releaseSock(net, sk);
}

/** An abortive close (SO_LINGER 0): RST to the peer, this side closes. */
export function* sockAbort(net: LinuxNet, sk: LinuxSock): KCode {
  const m = net.m;
  yield m.spend(m.cost.lxSyscall);
  if (sk.closed) return;
  yield* spliceUnpair(net, sk);
  sk.closed = true;
  sk.shutdown |= SHUT.send | SHUT.rcv;
  yield* tcpSendCtl(net, sk, TH.rst);
  yield m.spend(m.cost.lxRcuGp);
  spliceDestroy(net, sk);
}
