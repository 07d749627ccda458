/**
 * The NetBSD TCP socket path under the seed's locks: tcp_input in the net
 * soft interrupt (three-way handshake into so_q0 then so_q, data, ACKs that
 * clock more output, RST), and the system calls (accept, send, receive,
 * close with linger) in thread context. The peers are on the far side of
 * the wire: each segment the machine sends is acknowledged after the round
 * trip, one ACK per segment; the peer's requests, SYNs and RSTs are driven
 * by the scenario with {@link NbTcp.fromPeer}.
 *
 * Locking follows the seed: tcp_input takes INP_WLOCK, then SOLISTEN_LOCK or
 * SOCKBUF_LOCK without dropping INP_WLOCK; SONOTIFY_LOCK is taken only for
 * so_cv (connect/accept/close waits) and never with SOCKBUF_LOCK held. The
 * TCP state machine is reduced to what the locks see (no options or
 * congestion control: a fixed window).
 *
 * Loss happens only where a fault drops a segment at the NIC
 * ({@link NbFaults}: the rx ring full, or wm_rxeof's refill failing in
 * sys/dev/pci/if_wm.c, where wm_add_rxbuf's MGETHDR/MCLGET with M_DONTWAIT
 * returns ENOBUFS and the frame is discarded, if_ierrors counted). What
 * follows a drop is TCP's own recovery, by the kind of segment:
 *
 * - the peer's data: later segments wait in the reassembly queue (tcp_reass)
 *   until the retransmission fills the hole (holes are counted, not
 *   sequenced: the bytes behind every open hole become readable when the
 *   last hole is filled); the peer retransmits after three duplicate ACKs,
 *   one round trip after the loss, when three more segments of its flight
 *   follow the lost one, else at its retransmission timeout (200 ms,
 *   Linux's TCP_RTO_MIN: beyond a 20 ms run);
 * - the peer's ACK: ACKs are cumulative, so the next ACK of the connection
 *   acknowledges the lost one's bytes too (when none follows, our
 *   retransmission timer, at least TCPTV_MIN = 1 s, is beyond the run);
 * - SYN and the handshake's ACK: sent again after the initial RTO, 1 s
 *   (RFC 6298 2.1);
 * - RST: not retransmitted; the connection stays up.
 *
 * {@link NbTcp.conservation} checks that every byte is accounted for.
 * @module
 */
import type { Machine, TimerTarget } from "../machine.ts";
import { type KCode, KObj, type Lock, MODE, type SoftInt } from "../objects.ts";
import { msleep } from "../sync.ts";
import { NB_CLASS, type NbVariant } from "./locking.ts";
import { Held, NbSocket, SS } from "./socket.ts";
import { conservation, type NbFaults, PEER_RTO_NS, PEER_SYN_RTO_NS, reass } from "./tcp_loss.ts";

export { type NbFaults, PEER_RTO_NS, PEER_SYN_RTO_NS } from "./tcp_loss.ts";

/** Segment kinds (`hole`: a marker the NIC queues where it dropped a data segment, not a segment). */
export const SEG = { syn: 1, ack3: 2, data: 3, ack: 4, rst: 5, hole: 6 } as const;

/** CPU costs of the path, ns (the scenario's parameters). */
export interface NbCosts {
  /** tcp_input of one segment (lookup, header processing), outside the copy. */
  readonly inputNs: number;
  /** tcp_output of one segment (header, mbuf chain, driver enqueue). */
  readonly outputNs: number;
  /** Copy of 1 KiB between user and kernel. */
  readonly copyNsPerKb: number;
  /** Hard interrupt of the NIC (before it schedules the net softint). */
  readonly intrNs: number;
  /** One system call's entry and exit. */
  readonly syscallNs: number;
}

/** Path settings. */
export interface NbOptions {
  readonly variant: NbVariant;
  readonly costs: NbCosts;
  /** CPU taking the NIC interrupt and running the net softint. */
  readonly intrCpu: number;
  /** Round trip to the peers, ns. */
  readonly rttNs: number;
  /** Link rate, bits per microsecond (Mb/s). Segments leave no faster. */
  readonly linkMbps: number;
  readonly mssBytes: number;
  /** Send window (fixed), bytes. */
  readonly windowBytes: number;
  /** so_snd / so_rcv high water, bytes. */
  readonly sbBytes: number;
  /** The NIC's faults (absent or null: none). */
  readonly faults?: NbFaults | null;
}

/** A segment in flight or on the receive queue (pooled). */
interface Seg {
  kind: number;
  so: NbSocket;
  bytes: number;
  /** A data segment the peer sends again (it fills a hole). */
  rtx: boolean;
}

/** The stack: sockets, the receive queue and the net softint. */
export class NbTcp implements TimerTarget {
  readonly opts: NbOptions;
  /** softnet_lock (the `softnet` variant), else null. */
  readonly giant: Lock | null;
  /** Every socket made, in order. */
  readonly sockets: NbSocket[] = [];
  /** Segments the peers sent and the ones dropped because so_q0 + so_q was full. */
  segsIn = 0;
  synDropped = 0;
  /** Segments the NIC dropped (faults), by SEG kind. */
  readonly nicDrops: number[] = [0, 0, 0, 0, 0, 0, 0];
  /** Data segments that waited in the reassembly queue behind a hole. */
  reassSegs = 0;
  /** Completed accepts and the sum and max of their latency (SYN to accept return), ns. */
  accepts = 0;
  acceptNsSum = 0;
  acceptNsMax = 0;
  readonly held: Held;
  readonly #m: Machine;
  readonly #rxq: Seg[] = [];
  readonly #pool: Seg[] = [];
  readonly #si: SoftInt;
  readonly #nic: KObj;
  #intrPending = false;
  /** When the link is next free to send, ns (output serialises at the link rate). */
  #linkFreeNs = 0;

  constructor(m: Machine, opts: NbOptions) {
    if (!(opts.mssBytes > 0 && opts.windowBytes >= opts.mssBytes && opts.sbBytes >= opts.mssBytes)) {
      throw new Error("netbsd tcp: mss, window and buffer sizes");
    }
    this.#m = m;
    this.opts = opts;
    this.held = new Held(m);
    this.giant = opts.variant === "softnet" ? m.newLock(NB_CLASS.softnet, "adaptive") : null;
    this.#nic = new KObj(m.newId(), "wm0");
    this.#si = m.softintEstablish("net", "tcp_input", (arg) => (arg as NbTcp).#ipintr(), this);
  }

  /** socreate(): a TCP socket. `conn` numbers it at the peer (-1 for a listener). */
  socket(name: string, conn = -1): NbSocket {
    const so = new NbSocket(this.#m, name, conn, this.opts.variant, this.giant);
    this.sockets.push(so);
    return so;
  }

  /** solisten(): `qlimit` bounds so_q0 + so_q. */
  *listen(so: NbSocket, qlimit: number): KCode {
    const h = this.held;
    yield* h.enter(so.sock);
    yield* h.enter(so.accept);
    so.qlimit = qlimit;
    h.exit(so.accept);
    h.exit(so.sock);
  }

  /** The peer sends a segment that arrives after `delayNs` (SYN to a listener; data, RST to a connection). */
  fromPeer(kind: number, so: NbSocket, bytes: number, delayNs: number): void {
    if (kind === SEG.data) {
      so.peerSent += bytes;
      so.inFlightIn += bytes;
    }
    this.#seg(kind, so, bytes, false, delayNs);
  }

  /** A pooled segment; sent to arrive after `delayNs` unless that is negative. */
  #seg(kind: number, so: NbSocket, bytes: number, rtx: boolean, delayNs: number): Seg {
    const s = this.#pool.pop() ?? { kind, so, bytes, rtx };
    s.kind = kind;
    s.so = so;
    s.bytes = bytes;
    s.rtx = rtx;
    if (delayNs >= 0) this.#m.atCall(this.#m.nowNs + delayNs, this, s);
    return s;
  }

  /** TimerTarget: a segment reaches the NIC (`late` 1: a delayed interrupt is due); the first of a batch raises the interrupt. */
  onTimer(arg: unknown, late: number): void {
    const m = this.#m;
    if (late === 1) return m.postInterrupt(this.opts.intrCpu, this.#nic, rxintr, this);
    const s = arg as Seg, f = this.opts.faults;
    this.segsIn++;
    if (f && (f.rxRingFull(this.segsIn, 0) || f.mbufFail(this.segsIn, 0))) return this.#nicDrop(s);
    this.#rxq.push(s);
    this.#raise();
  }

  /** The first frame of a batch raises the rx interrupt (late when the fault says so). */
  #raise(): void {
    const m = this.#m, f = this.opts.faults;
    if (this.#intrPending) return;
    this.#intrPending = true;
    const lateNs = f ? f.intrDelayNs(0) : 0;
    if (lateNs > 0) m.atCall(m.nowNs + lateNs, this, null, 1);
    else m.postInterrupt(this.opts.intrCpu, this.#nic, rxintr, this);
  }

  /** The NIC dropped `s`: the peer's recovery (module doc). */
  #nicDrop(s: Seg): void {
    const so = s.so, o = this.opts;
    this.nicDrops[s.kind]++;
    if (s.kind === SEG.data) {
      if (!s.rtx) {
        // The hole opens where the segment would have been: a marker keeps its place in the queue.
        this.#rxq.push(this.#seg(SEG.hole, so, 0, false, -1));
        this.#raise();
      }
      const fast = so.peerStreams && so.peerInflight >= s.bytes + 3 * o.mssBytes;
      s.rtx = true;
      return this.#m.atCall(this.#m.nowNs + (fast ? o.rttNs : PEER_RTO_NS), this, s);
    }
    if (s.kind === SEG.syn || s.kind === SEG.ack3) return this.#m.atCall(this.#m.nowNs + PEER_SYN_RTO_NS, this, s);
    if (s.kind === SEG.ack) {
      so.ackInFlight -= s.bytes;
      so.ackLost += s.bytes; // the next ACK of the connection covers them
    }
    this.#pool.push(s); // an ACK (covered by the next) or a RST (lost)
  }

  /** Byte accounting of every connection (tcp_loss.ts): the failures, empty when it holds. */
  conservation(): string[] {
    return conservation(this.sockets);
  }

  /** The hard interrupt: schedules the net softint on this CPU (softint_schedule). */
  *rxintrBody(): KCode {
    yield this.#m.spend(this.opts.costs.intrNs);
    this.#intrPending = false;
    this.#m.softintSchedule(this.#si);
  }

  /** The net softint: tcp_input of every queued segment, in arrival order. */
  *#ipintr(): KCode {
    for (let s = this.#rxq.shift(); s !== undefined; s = this.#rxq.shift()) {
      yield* this.#tcpInput(s);
      this.#pool.push(s);
    }
  }

  *#tcpInput(s: Seg): KCode {
    const m = this.#m, h = this.held, so = s.so, c = this.opts.costs;
    if (s.kind === SEG.hole) return void so.reassHoles++; // the NIC dropped a data segment here
    if (s.kind === SEG.syn) {
      // Listener: INP_WLOCK, then SOLISTEN without dropping it (sonewconn into so_q0).
      yield* h.enter(so.inp, MODE.excl);
      yield m.spend(c.inputNs);
      yield* h.enter(so.accept);
      const ok = so.q0.length + so.q.length < so.qlimit;
      if (ok) {
        const ns = this.socket(`${so.name}.c${so.q0.length + so.q.length + this.accepts}`, s.bytes);
        ns.state = SS.synReceived;
        ns.head = so;
        ns.synNs = m.nowNs;
        so.q0.push(ns);
        // SYN-ACK out; the peer's ACK completes the handshake one round trip later.
        this.fromPeer(SEG.ack3, ns, 0, this.opts.rttNs);
      } else {
        // Not listening yet, or so_q0 + so_q full: the SYN is dropped and the client sends it again after
        // its initial RTO (a run ends first, unless it is long: the connection is not refused).
        this.synDropped++;
        this.fromPeer(SEG.syn, so, s.bytes, PEER_SYN_RTO_NS);
      }
      h.exit(so.accept);
      if (ok) yield m.spend(c.outputNs);
      h.exit(so.inp);
      return;
    }
    if (s.kind === SEG.ack3) {
      // The handshake's ACK: found through the listener (syncache), moved so_q0 -> so_q.
      const head = so.head as NbSocket;
      yield* h.enter(head.inp, MODE.excl);
      yield m.spend(c.inputNs);
      yield* h.enter(head.accept);
      const i = head.q0.indexOf(so);
      if (i >= 0) {
        head.q0.splice(i, 1);
        head.q.push(so);
        so.state = SS.connected; // soisconnected()
      }
      h.exit(head.accept);
      // Wake accept(): SONOTIFY is below INP_WLOCK, so taken without the solock dance.
      yield* h.enter(head.notify);
      m.wakeup(head.cv);
      h.exit(head.notify);
      h.exit(head.inp);
      return;
    }
    yield* h.enter(so.inp, MODE.excl);
    yield m.spend(c.inputNs);
    if (s.kind === SEG.data) {
      if ((so.state & (SS.reset | SS.closed)) !== 0) so.discardedBytes += reass(so, s);
      else {
        yield* h.enter(so.sbRcv);
        const inOrder = reass(so, s);
        if (inOrder === 0) this.reassSegs++;
        so.rcvCc += inOrder; // sbappendstream
        m.wakeup(so.cvRcv); // sorwakeup: selnotify and sb_cv under SOCKBUF_LOCK
        const room = this.opts.sbBytes - so.rcvCc;
        h.exit(so.sbRcv);
        if (so.peerStreams) {
          // ACK out; the peer sends the next segment a round trip later while the window is open.
          so.peerInflight -= inOrder;
          yield m.spend(c.outputNs);
          if (room >= this.opts.windowBytes) this.#peerFill(so);
          else so.peerStalled = true;
        }
      }
    } else if (s.kind === SEG.ack) {
      so.ackInFlight -= s.bytes;
      const acked = s.bytes + so.ackLost; // cumulative: also what a dropped ACK acknowledged
      so.ackLost = 0;
      so.inflight -= acked;
      so.ackedBytes += acked;
      yield* h.enter(so.sbSnd);
      so.sndCc -= acked; // sbdrop
      m.wakeup(so.cvSnd); // sowwakeup
      const drained = so.sndCc === 0;
      h.exit(so.sbSnd);
      yield* this.#output(so); // the window opened: ACK clocking sends more
      if (drained && (so.state & SS.disconnecting) !== 0) {
        yield* h.enter(so.notify); // a lingering close waits on so_cv
        m.wakeup(so.cv);
        h.exit(so.notify);
      }
    } else if (s.kind === SEG.rst) {
      so.state |= SS.reset | SS.cantRcvMore;
      yield* h.enter(so.sbRcv);
      m.wakeup(so.cvRcv);
      h.exit(so.sbRcv);
      yield* h.enter(so.sbSnd);
      m.wakeup(so.cvSnd);
      h.exit(so.sbSnd);
      yield* h.enter(so.notify); // SOCKBUF and SONOTIFY do not nest
      m.wakeup(so.cv);
      h.exit(so.notify);
    }
    h.exit(so.inp);
  }

  /** The streaming peer fills its window (min of the send window and our so_rcv room). */
  #peerFill(so: NbSocket): void {
    const o = this.opts;
    while (so.peerInflight + o.mssBytes <= o.windowBytes) {
      so.peerInflight += o.mssBytes;
      const wireNs = Math.ceil((o.mssBytes + 66) * 8 * 1000 / o.linkMbps);
      this.fromPeer(SEG.data, so, o.mssBytes, o.rttNs / 2 + wireNs * (so.peerInflight / o.mssBytes));
    }
  }

  /** The peer starts streaming to `so` (an iperf3 client): its window of segments. */
  peerStream(so: NbSocket): void {
    so.peerStreams = true;
    this.#peerFill(so);
  }

  /** tcp_output with INP_WLOCK held: sends what the window allows from so_snd. */
  *#output(so: NbSocket): KCode {
    const m = this.#m, o = this.opts;
    if ((so.state & SS.reset) !== 0) return;
    for (;;) {
      const unsent = so.sndCc - so.inflight;
      const room = o.windowBytes - so.inflight;
      const n = Math.min(unsent, room, o.mssBytes);
      if (n <= 0) return;
      so.inflight += n;
      so.ackInFlight += n; // the peer's ACK of it is on its way from now (fromPeer below)
      yield m.spend(o.costs.outputNs);
      // The segment leaves at the link rate; the peer's ACK returns a round trip later.
      const wireNs = Math.ceil((n + 66) * 8 * 1000 / o.linkMbps);
      const leave = Math.max(this.#linkFreeNs, m.nowNs) + wireNs;
      this.#linkFreeNs = leave;
      this.fromPeer(SEG.ack, so, n, leave - m.nowNs + o.rttNs);
    }
  }

  /** accept(): the next complete connection, sleeping on so_cv while so_q is empty. */
  *accept(ls: NbSocket): Generator<number, NbSocket, number> {
    const m = this.#m, h = this.held;
    yield m.spend(this.opts.costs.syscallNs);
    for (;;) {
      yield* h.enter(ls.sock);
      yield* h.enter(ls.accept);
      const so = ls.q.shift();
      if (so !== undefined) so.head = null;
      h.exit(ls.accept);
      h.exit(ls.sock);
      if (so !== undefined) {
        const ns = m.nowNs - so.synNs;
        this.accepts++;
        this.acceptNsSum += ns;
        if (ns > this.acceptNsMax) this.acceptNsMax = ns;
        return so;
      }
      yield* h.enter(ls.notify);
      // so_qlen is read under SONOTIFY: tcp_input queues under SOLISTEN, then takes SONOTIFY to wake.
      while (ls.q.length === 0) yield* msleep(m, ls.cv, ls.notify);
      h.exit(ls.notify);
    }
  }

  /** sosend(): `bytes` into so_snd under SOCK_IO, then tcp_output under INP_WLOCK. Returns bytes sent or -1. */
  *send(so: NbSocket, bytes: number): Generator<number, number, number> {
    const m = this.#m, h = this.held, o = this.opts;
    yield m.spend(o.costs.syscallNs);
    yield* h.enter(so.ioSnd);
    let left = bytes;
    while (left > 0 && (so.state & SS.reset) === 0) {
      yield* h.enter(so.sbSnd);
      while (so.sndCc >= o.sbBytes && (so.state & SS.reset) === 0) yield* msleep(m, so.cvSnd, so.sbSnd); // sbwait
      const n = Math.min(left, o.sbBytes - so.sndCc);
      h.exit(so.sbSnd);
      if (n <= 0) break;
      yield m.spend(Math.ceil(n * o.costs.copyNsPerKb / 1024)); // uiomove into mbufs, no lock held
      yield* h.enter(so.inp, MODE.excl);
      yield* h.enter(so.sbSnd);
      so.sndCc += n; // sbappendstream
      h.exit(so.sbSnd);
      left -= n;
      yield* this.#output(so);
      h.exit(so.inp);
    }
    h.exit(so.ioSnd);
    return (so.state & SS.reset) !== 0 ? -1 : bytes - left;
  }

  /**
   * soreceive(): up to `max` bytes, sleeping on so_rcv while it is empty.
   * Returns bytes, 0 at end of stream, -1 after a reset. The `wrong-order`
   * variant takes SOCK_LOCK while holding SOCKBUF_LOCK here (deliberately).
   */
  *receive(so: NbSocket, max: number): Generator<number, number, number> {
    const m = this.#m, h = this.held, o = this.opts;
    yield m.spend(o.costs.syscallNs);
    yield* h.enter(so.ioRcv);
    yield* h.enter(so.sbRcv);
    while (so.rcvCc === 0 && (so.state & SS.cantRcvMore) === 0) yield* msleep(m, so.cvRcv, so.sbRcv);
    const n = Math.min(so.rcvCc, max);
    so.rcvCc -= n;
    so.rcvdBytes += n; // the application's from here (the copy below)
    if (o.variant === "wrong-order") {
      yield* h.enter(so.sock); // reversal: SOCK_LOCK is above SOCKBUF_LOCK
      h.exit(so.sock);
    }
    h.exit(so.sbRcv);
    if (n > 0) yield m.spend(Math.ceil(n * o.costs.copyNsPerKb / 1024)); // uiomove out
    if (so.peerStalled && o.sbBytes - so.rcvCc >= o.windowBytes) {
      // Window update: tcp_output under INP_WLOCK (pru_rcvd), the peer resumes.
      yield* h.enter(so.inp, MODE.excl);
      so.peerStalled = false;
      yield m.spend(o.costs.outputNs);
      this.#peerFill(so);
      h.exit(so.inp);
    }
    h.exit(so.ioRcv);
    if (n === 0 && (so.state & SS.reset) !== 0) return -1;
    return n;
  }

  /**
   * soclose() with SO_LINGER `lingerNs` (0: none): FIN under SOCK_LOCK and
   * INP_WLOCK, then wait on so_cv under SONOTIFY until so_snd drains or
   * the linger time passes. Returns true if everything was acknowledged.
   */
  *close(so: NbSocket, lingerNs: number): Generator<number, boolean, number> {
    const m = this.#m, h = this.held;
    yield m.spend(this.opts.costs.syscallNs);
    yield* h.enter(so.sock);
    yield* h.enter(so.inp, MODE.excl);
    so.state |= SS.disconnecting | SS.cantRcvMore;
    yield m.spend(this.opts.costs.outputNs); // FIN
    h.exit(so.inp);
    h.exit(so.sock);
    if (lingerNs > 0) {
      const until = m.nowNs + lingerNs;
      yield* h.enter(so.notify);
      while (so.sndCc > 0 && (so.state & SS.reset) === 0 && m.nowNs < until) {
        yield* msleep(m, so.cv, so.notify, until - m.nowNs); // cv_timedwait(&so->so_cv, so_notify_lock)
      }
      h.exit(so.notify);
    }
    so.state |= SS.closed;
    return so.sndCc === 0;
  }
}

/** The NIC's hard interrupt handler (static: no closure per interrupt). */
function rxintr(arg: unknown): KCode {
  return (arg as NbTcp).rxintrBody();
}
