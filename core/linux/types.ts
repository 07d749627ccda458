/**
 * The Linux personality's objects: sk_buff, socket, the per-CPU softnet data
 * and the stack context that ties them to one machine. Behaviour lives in
 * netdev.ts (softirq, backlog, devices), tcp.ts (lock_sock, tcp_sendmsg,
 * tcp_recvmsg, tcp_v4_rcv) and splice.ts (the series' ring); this file only
 * holds state, so those files depend on it and not on each other in a cycle.
 * @module
 */
import type { Machine } from "../machine.ts";
import type { Chan, KCode, Lock, RefObj, SoftInt, Thread } from "../objects.ts";
import { OffsetRuns, type SpliceRing } from "./ring.ts";

/** Transports between the two sockets. */
export const TRANSPORTS = ["loopback", "container"] as const;
/** A transport name. */
export type Transport = (typeof TRANSPORTS)[number];

/** The sender's ordering checks (LinuxOptions.sendCheck). */
export const SEND_CHECKS = ["rcvq", "none", "inflight"] as const;
/** A send check name. */
export type SendCheck = (typeof SEND_CHECKS)[number];

/** TCP header flags the model uses. */
export const TH = { ack: 1, fin: 2, rst: 4, psh: 8 } as const;

/** Where an skb allocation can fail (the `a` of an `mbuf-fail` fault event in the Linux scenarios). */
export const SKB_SITE = { tcpSendmsg: 0, tcpSendAck: 1 } as const;

/** icsk_ack.pending bits the model uses (include/net/inet_connection_sock.h). */
export const ICSK_ACK = { pushed: 4, pushed2: 8 } as const;

/** Where a packet is on the container path (veth0 -> br0 -> veth1), drivers/net/veth.c and net/bridge. */
export const HOP = { dst: 0, bridge: 1 } as const;

/** A socket buffer: one TCP segment (a GSO super-segment on loopback and veth). */
export class Skb {
  /** Destination socket (the 4-tuple lookup's result, __inet_lookup_established). */
  dst: LinuxSock | null = null;
  /** TCP sequence number of the first payload byte. */
  seq = 0;
  /** Payload bytes. */
  len = 0;
  /** Bytes of the payload already copied to user space (tcp_recvmsg's offset into the skb). */
  consumed = 0;
  /** TH flags. */
  flags = 0;
  /** Acknowledgement number and the window's right edge it advertises. */
  ack = 0;
  wndRight = 0;
  /** Container path: which hop the skb is at. */
  hop = 0;
  /** Next in whatever list holds it (backlog, sk_backlog, receive queue, write queue, free pool). */
  next: Skb | null = null;
}

/** A singly linked FIFO of skbs (sk_buff_head). */
export class SkbQueue {
  head: Skb | null = null;
  tail: Skb | null = null;
  /** Skbs queued. */
  qlen = 0;
  /** Payload bytes queued (not yet consumed). */
  bytes = 0;

  /** __skb_queue_tail. */
  push(s: Skb): void {
    s.next = null;
    if (this.tail === null) this.head = s;
    else this.tail.next = s;
    this.tail = s;
    this.qlen++;
    this.bytes += s.len - s.consumed;
  }

  /** __skb_dequeue. */
  shift(): Skb | null {
    const s = this.head;
    if (s === null) return null;
    this.head = s.next;
    if (this.head === null) this.tail = null;
    s.next = null;
    this.qlen--;
    this.bytes -= s.len - s.consumed;
    return s;
  }

  /** skb_queue_empty. */
  empty(): boolean {
    return this.head === null;
  }

  /** Inserts `s` in sequence order (the out-of-order queue: an rb-tree by seq in Linux, short here). */
  insertBySeq(s: Skb): void {
    if (this.tail === null || this.tail.seq <= s.seq) return this.push(s);
    this.qlen++;
    this.bytes += s.len - s.consumed;
    if ((this.head as Skb).seq > s.seq) {
      s.next = this.head;
      this.head = s;
      return;
    }
    let at = this.head as Skb;
    while (at.next !== null && at.next.seq <= s.seq) at = at.next;
    s.next = at.next;
    at.next = s;
  }
}

/** The splice state of one socket (struct sk_psock_splice). */
export interface SpliceState {
  /** The paired socket, null after unpair (rcu_assign_pointer(s->peer, NULL)). */
  peer: LinuxSock | null;
  /** The ring this socket reads from and its peer writes into. */
  ring: SpliceRing;
  /** ->lock: alloc and teardown only. */
  lock: Lock;
  /** The percpu_ref keeping the ring alive across a sender's copy (one base reference until killed). */
  ringRef: RefObj;
  /** percpu_ref_kill() happened: tryget_live fails from now on. */
  refKilled: boolean;
}

/** A TCP socket of the Linux model. */
export class LinuxSock {
  /** Socket lock: sk_lock.slock (spin, bh) and the owned bit (lock_sock). */
  readonly slock: Lock;
  owned: Thread | null = null;
  /** Waiters for the owned bit (sk_lock.wq). */
  readonly lockWq: Chan;
  /** The socket wait queue (sk_sleep / sk->sk_wq). */
  readonly wq: Chan;
  /** out_of_order_queue: segments beyond a hole in the sequence space, in sequence order. */
  readonly ofoQueue: SkbQueue = new SkbQueue();
  /** Segments that arrived out of order. */
  ofoSegs = 0;
  /** sk_backlog: segments that arrived while the socket was owned by user. */
  readonly backlog: SkbQueue = new SkbQueue();
  /** sk_receive_queue. */
  readonly rcvQueue: SkbQueue = new SkbQueue();
  /** sk_write_queue (unsent part; sent data is acknowledged in one step, so no rtx queue is kept). */
  readonly writeQueue: SkbQueue = new SkbQueue();
  /** The connection's other end (where this socket's segments go). */
  peer: LinuxSock | null = null;
  /** Stream-detector flow of the bytes this socket receives. */
  flow = 0;
  // Sender state (RFC 793 names as in struct tcp_sock).
  sndNxt = 0;
  sndUna = 0;
  /** Right edge of the window the peer advertised (snd_una + snd_wnd). */
  sndWndRight = 0;
  /** snd_sml: end of the last small segment sent (Minshall's Nagle). */
  sndSml = 0;
  /** SOCK_NOSPACE: a writer waits for send-buffer memory. */
  nospace = false;
  /** A tcp_write_xmit is under way (guards reentry from a softirq ACK). */
  xmitBusy = false;
  /** Stream offset of the next byte the application sends (ring or TCP). */
  appSent = 0;
  /** Stream offsets of the TCP bytes this socket queued, in sequence order (read by the peer's tcp_recvmsg). */
  readonly tcpOffsets: OffsetRuns = new OffsetRuns("tcp sequence space");
  // Receiver state.
  rcvNxt = 0;
  /** rcv_wup: rcv_nxt at the last ACK sent. */
  rcvWup = 0;
  /** copied_seq: bytes handed to user space. */
  copiedSeq = 0;
  /** Right edge of the window last advertised (rcv_wup + rcv_wnd). */
  advRight = 0;
  /** icsk_ack.quick: segments still to ACK at once (tcp_incr_quickack at establishment). */
  quickAcks = 0;
  /** icsk_ack.rcv_mss: the peer's segment size as tcp_measure_rcv_mss estimates it. */
  rcvMss = 0;
  /** icsk_ack.last_seg_size (tcp_measure_rcv_mss). */
  lastSegSize = 0;
  /** icsk_ack.pending's ICSK_ACK_PUSHED / ICSK_ACK_PUSHED2 (cleared by every ACK sent). */
  ackPushed = 0;
  /** Interactive (ping-pong) mode: this socket sent data within ato of receiving some (tcp_event_data_sent). */
  pingpong = false;
  /** icsk_ack.lrcvtime: when data last arrived, ns (-1: never). */
  lrcvNs = -1;
  /** A delayed ACK is scheduled (ICSK_ACK_TIMER) and when it fires. */
  delackPending = false;
  delackAtNs = 0;
  /** The delack timer is in the machine's timer heap, and the CPU it fires on. */
  delackTimerArmed = false;
  delackCpu = 0;
  /** The stack this socket belongs to (set by socketPair). */
  net: unknown = null;
  /** The delack timer fired while the socket was owned (TCP_DELACK_TIMER_DEFERRED, run by tcp_release_cb). */
  delackDeferred = false;
  /** sk_err (ECONNRESET after a RST), sk_shutdown bits. */
  err = 0;
  shutdown = 0;
  /** A FIN is queued behind the write queue (tcp_send_fin) and whether it left. */
  finQueued = false;
  finSent = false;
  /** TCP state: established until closed. */
  closed = false;
  /** The series' per-socket splice state (null: never paired). */
  splice: SpliceState | null = null;
  // Counters.
  segsOut = 0;
  segsIn = 0;
  acksOut = 0;
  backlogged = 0;
  ringBytesOut = 0;
  ringBytesIn = 0;
  tcpBytesOut = 0;
  fallbacks = 0;
  busyPollExpired = 0;
  busyPollHits = 0;

  constructor(readonly m: Machine, readonly id: number, readonly name: string) {
    this.slock = m.newLock("sk_lock-AF_INET.slock", "spin");
    this.lockWq = m.chan(`${name}.sk_lock.wq`);
    this.wq = m.chan(`${name}.sk_wq`);
  }
}

/** sk_shutdown bits. */
export const SHUT = { rcv: 1, send: 2 } as const;

/** Per-CPU softnet_data (net/core/dev.c). */
export class Softnet {
  /** input_pkt_queue (the backlog netif_rx fills). */
  readonly input: SkbQueue = new SkbQueue();
  /** ksoftirqd/N, woken when net_rx_action hands off. */
  ksoftirqd: Thread | null = null;
  readonly ksoftirqdChan: Chan;
  /** ksoftirqd owns the pending softirqs of this CPU (invoke_softirq defers to it). */
  ksoftirqdActive = false;
  /** net_rx_action is running on this CPU (in a task at local_bh_enable, on the softint thread, or ksoftirqd). */
  inSoftirq = false;
  /** NET_RX raised from process context: run by the raiser's local_bh_enable (do_softirq). */
  raised = false;
  /** Counters. */
  processed = 0;
  /** net_rx_action runs inline at local_bh_enable, and on the soft interrupt thread. */
  inlineRuns = 0;
  threadRuns = 0;
  timeSqueeze = 0;
  handoffs = 0;
  dropped = 0;
  constructor(m: Machine, readonly cpu: number) {
    this.ksoftirqdChan = m.chan(`ksoftirqd/${cpu}`);
  }
}

/** Tunables of one Linux stack (sysctls and socket options). */
export interface LinuxOptions {
  /** loopback (lo, MTU 65536) or container (veth pair + bridge, MTU 1500 with GSO/GRO as veth does). */
  readonly transport: Transport;
  /** net.core.netdev_budget (packets per net_rx_action). */
  readonly netdevBudget: number;
  /** net.core.netdev_budget_usecs. */
  readonly netdevBudgetUs: number;
  /** net.core.dev_weight (process_backlog quota). */
  readonly devWeight: number;
  /** net.core.netdev_max_backlog. */
  readonly maxBacklog: number;
  /** Socket send and receive buffer (bytes; the autotuned steady state). */
  readonly sndbufBytes: number;
  readonly rcvbufBytes: number;
  /** TCP_NODELAY on both sockets. */
  readonly nodelay: boolean;
  /** Splice: pair the sockets (bpf_sock_splice_pair at ESTABLISHED). */
  readonly splice: boolean;
  /** Ring size, bytes (SPLICE_RING_SIZE). */
  readonly ringBytes: number;
  /** SO_BUSY_POLL budget of the receiver, us (0: off). */
  readonly busyPollUs: number;
  /**
   * The sender's ordering check before a ring write: "rcvq" (the series: the peer's receive queue is
   * empty), "none" (broken: no check), "inflight" (also no TCP byte unsent, in flight or backlogged).
   */
  readonly sendCheck: SendCheck;
  /** Broken variant: the sender copies without the percpu_ref. */
  readonly ringRef: boolean;
  /** CONFIG_HZ: the scheduler tick on every busy CPU (0: no tick; tick.ts). */
  readonly tickHz: number;
}

/** One Linux network stack on a machine. */
export interface LinuxNet {
  readonly m: Machine;
  readonly opt: LinuxOptions;
  /** Per CPU. */
  readonly softnet: Softnet[];
  /** The NET_RX softirq (one handler, pending per CPU). */
  netRx: SoftInt;
  /** The top of the receive path (tcp_v4_rcv), set by softnetInit. */
  rcv: ((net: LinuxNet, skb: Skb) => KCode) | null;
  /** Free skbs (the slab). */
  readonly pool: SkbQueue;
  /** Skbs allocated ever (bounded: the pool grows, never shrinks). */
  skbsMade: number;
  /** Sockets by creation order. */
  readonly socks: LinuxSock[];
  /** MSS of the transport. */
  readonly mss: number;
  /** Segmentation and coalescing counters. */
  gsoSegs: number;
  bridgeFwd: number;
  /** The delayed-ACK timer's soft interrupt (TIMER_SOFTIRQ running tcp_delack_timer). */
  delackSi: SoftInt | null;
  /** Teardown when a socket reaches TCP_CLOSE (unhash → sock_map → psock drop → splice unpair); set by mod.ts. */
  onClose: ((net: LinuxNet, sk: LinuxSock) => KCode) | null;
  /** The tick's interrupt source (null: tickHz 0). */
  tickObj: Chan | null;
  /** The workload is over: the tick stops re-arming, so the machine can quiesce. */
  tickStopped: boolean;
  /** Ticks taken, per CPU. */
  readonly ticks: number[];
  /**
   * Fault hooks, set by a driver's injector (null: off). `skbFail(site, flow)`: 0, or the allocation at
   * SKB_SITE `site` fails and the value is tcp_sendmsg's vm_wait in ns (any positive value elsewhere).
   * `softirqDefer(cpu)`: a NET_RX raised by a task goes to ksoftirqd instead of its local_bh_enable.
   */
  skbFail: ((site: number, flow: number) => number) | null;
  softirqDefer: ((cpu: number) => boolean) | null;
  /** Error paths taken: skb allocation failures per SKB_SITE, softirqs left to ksoftirqd by the fault. */
  readonly skbFails: number[];
  softirqDeferred: number;
}
