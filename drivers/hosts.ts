/**
 * External hosts outside the machine, driven by `m.at` callbacks with a
 * link delay: TCP and UDP sources that send a flow at a configured rate and
 * message size into a NIC of the machine, and sinks that consume (and, for
 * TCP, acknowledge) what the machine transmits. They use no CPU of the
 * machine; their events are attributed to CPU 0, thread 0.
 *
 * The TCP endpoints implement what the relay's TCP needs from a peer:
 * sequence numbers, the advertised window, cumulative ACKs (sink: every
 * second segment or after a delayed-ACK time), go-back-N retransmission on a
 * timeout, FIN in both directions and RST.
 * @module
 */
import type { Machine, TimerTarget } from "../core/machine.ts";
import { HDR_BYTES, type Packet, PROTO, TH } from "../core/net/packet.ts";
import { DROP, type NetStack } from "../core/net/stack.ts";
import { KIND } from "../core/schema.ts";
import { streamCheck, streamCheckDatagram, streamLossy } from "../core/detect/mod.ts";
import type { Nic, Peer } from "./nic.ts";
import { FATE, type Faults } from "./faults.ts";

/** Stream-detector id of what a sink host receives on `flow` (apart from the machine's socket ids). */
export function sinkStream(flow: number): number {
  return 0x4000_0000 + flow;
}

/** Where a host's packets go: a NIC of the machine, with delay and loss (pacing is the source's rate). */
export interface HostLink {
  readonly nic: Nic;
  readonly delayNs: number;
  readonly lossPpm: number;
  /** The fault injector (absent or null: no faults). */
  readonly faults?: Faults | null;
}

/** Settings of a source. */
export interface SourceOptions {
  readonly flow: number;
  readonly sport: number;
  readonly dport: number;
  /** RSS hash of the packets' 4-tuple. */
  readonly hash: number;
  readonly msgBytes: number;
  /** Offered rate, Mbit/s of payload. */
  readonly rateMbps: number;
  /** Bytes to send (0: until the run ends). */
  readonly bytes: number;
  /** TCP: send FIN after `bytes`. */
  readonly fin: boolean;
  readonly startNs: number;
  readonly rtoNs: number;
}

/**
 * Delivers packets that crossed a host link into the machine's NIC, or drops
 * the ones the link lost. One per link: a timer target, so sending a packet
 * arms a timer without allocating a closure.
 */
class LinkArrival implements TimerTarget {
  constructor(readonly m: Machine, readonly st: NetStack, readonly link: HostLink) {}
  /** The packet arrives (`fate`: FATE, the link lost it or was down). */
  onTimer(arg: unknown, fate: number): void {
    const p = arg as Packet;
    if (fate !== FATE.deliver) {
      const reason = fate === FATE.down ? DROP.linkDown : DROP.lossyLink;
      this.m.emitOn(0, 0, KIND.pktDrop, p.id, p.flow, p.len, reason);
      this.st.dropAcct(p, reason);
      this.st.pool.put(p);
      return;
    }
    this.link.nic.receive(p);
  }
}

const arrivals = new WeakMap<HostLink, LinkArrival>();

/** Sends `p` over the link into the machine's NIC (device context). */
function linkSend(m: Machine, st: NetStack, link: HostLink, p: Packet, departNs: number): void {
  const lost = link.lossPpm > 0 && p.len > 0 && m.workRng.chancePpm(link.lossPpm);
  let arrival = arrivals.get(link);
  if (arrival === undefined) arrivals.set(link, arrival = new LinkArrival(m, st, link));
  if (link.faults) return link.faults.wire(p, departNs + link.delayNs, arrival, lost);
  m.atCall(departNs + link.delayNs, arrival, p, lost ? FATE.lost : FATE.deliver);
}

function gapNs(bytes: number, hdr: number, rateMbps: number): number {
  return Math.max(1, Math.round(((bytes + hdr) * 8 * 1000) / rateMbps));
}

/** A UDP source: datagrams of msgBytes at rateMbps. */
export class UdpSource implements TimerTarget {
  sentBytes = 0;
  sentPkts = 0;
  constructor(readonly m: Machine, readonly st: NetStack, readonly link: HostLink, readonly o: SourceOptions) {
    m.atCall(o.startNs, this, null);
  }
  /** Pacing timer: the next datagram is due. */
  onTimer(): void {
    this.#pump();
  }
  #pump(): void {
    const { m, st, o } = this;
    if (o.bytes > 0 && this.sentBytes >= o.bytes) return;
    const len = o.bytes > 0 ? Math.min(o.msgBytes, o.bytes - this.sentBytes) : o.msgBytes;
    const p = st.pool.get(PROTO.udp, o.flow, len);
    p.sport = o.sport;
    p.dport = o.dport;
    p.hash = o.hash;
    p.off = this.sentBytes; // the datagram's place in the flow's byte stream
    p.sid = o.flow;
    this.sentBytes += len;
    this.sentPkts++;
    st.acct.wireBytes += len;
    m.emitOn(0, 0, KIND.srcTx, o.flow, len, this.sentBytes);
    linkSend(m, st, this.link, p, m.nowNs);
    m.atCall(m.nowNs + gapNs(len, HDR_BYTES.udp, o.rateMbps), this, null);
  }
}

/** A UDP sink: counts what arrives and feeds the stream detector with each datagram's source offset. */
export class UdpSink implements Peer {
  receivedBytes = 0;
  receivedPkts = 0;
  /** Bytes received per stream id (the source flow each datagram came from). */
  readonly bySid: number[] = [];
  #pkts = 0;
  /** `dropAt` > 0: a test fault, the Nth packet is discarded without being counted. */
  constructor(readonly m: Machine, readonly st: NetStack, readonly flow: number, readonly dropAt = 0) {}
  receive(p: Packet): void {
    if (++this.#pkts === this.dropAt) return this.st.pool.put(p);
    if (p.sid >= 0) {
      streamLossy(this.m, sinkStream(p.sid)); // datagrams may be dropped on the way
      streamCheckDatagram(this.m, sinkStream(p.sid), p); // a repeat or overtake only as a fault made it
      this.bySid[p.sid] = (this.bySid[p.sid] ?? 0) + p.len;
    }
    this.receivedBytes += p.len;
    this.receivedPkts++;
    this.st.acct.wireBytes -= p.len;
    this.m.emitOn(0, 0, KIND.sinkRx, this.flow, p.len, this.receivedBytes);
    this.st.pool.put(p);
  }
}

/** Timer argument of TcpSource's retransmission timer (its pacing timer has none). */
const RTO_TIMER = "rto";

/** A TCP source (the client of the relay), connection pre-established. */
export class TcpSource implements Peer, TimerTarget {
  readonly iss: number;
  sndUna: number;
  sndNxt: number;
  sndMax: number;
  peerWnd: number;
  /** Relay's sequence space (its FIN). */
  rcvNxt: number;
  finAcked = false;
  reset = false;
  peerFin = false;
  segments = 0;
  #pumping = false;
  #timerGen = 0;
  #timerArmed = false;

  constructor(
    readonly m: Machine,
    readonly st: NetStack,
    readonly link: HostLink,
    readonly o: SourceOptions,
    iss: number,
    irs: number,
    wnd: number,
  ) {
    this.iss = iss;
    this.sndUna = this.sndNxt = this.sndMax = iss + 1;
    this.rcvNxt = irs + 1;
    this.peerWnd = wnd;
    m.at(o.startNs, () => this.#kick());
  }

  /** Unique payload bytes sent (FIN excluded). */
  get dataSent(): number {
    return this.sndMax - this.iss - 1 - (this.#finSent() ? 1 : 0);
  }
  /** Payload bytes acknowledged by the relay. */
  get dataAcked(): number {
    return this.sndUna - this.iss - 1 - (this.finAcked ? 1 : 0);
  }

  #dataEnd(): number {
    return this.o.bytes > 0 ? this.iss + 1 + this.o.bytes : Infinity;
  }
  #finSent(): boolean {
    return this.o.fin && this.o.bytes > 0 && this.sndMax > this.#dataEnd();
  }

  /** Pacing timer (arg null): the next segment is due; {@link RTO_TIMER}: the retransmission timer armed as `gen`. */
  onTimer(arg: unknown, gen: number): void {
    if (arg === RTO_TIMER) this.#retransmitTimer(gen);
    else this.#pump();
  }

  #kick(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    this.#pump();
  }

  /** Sends the next segment if the window and data allow, paced at the rate. */
  #pump(): void {
    const { m, o } = this;
    if (this.reset) return void (this.#pumping = false);
    const end = this.#dataEnd();
    const wndEnd = this.sndUna + this.peerWnd;
    const len = Math.max(0, Math.min(o.msgBytes, end - this.sndNxt, wndEnd - this.sndNxt));
    const fin = o.fin && this.sndNxt + len === end && this.sndNxt <= end && !this.finAcked;
    if (len === 0 && !fin) {
      this.#pumping = false;
      this.#armTimer();
      return;
    }
    this.#send(this.sndNxt, len, fin ? TH.FIN : 0);
    this.sndNxt += len + (fin ? 1 : 0);
    if (this.sndNxt > this.sndMax) this.sndMax = this.sndNxt;
    if (len > 0) m.emitOn(0, 0, KIND.srcTx, o.flow, len, this.dataSent);
    this.#armTimer();
    m.atCall(m.nowNs + gapNs(len, HDR_BYTES.tcp, o.rateMbps), this, null);
  }

  #send(seq: number, len: number, flags: number): void {
    const { m, st, o } = this;
    const p = st.pool.get(PROTO.tcp, o.flow, len);
    p.seq = seq;
    p.ack = this.rcvNxt;
    p.flags = TH.ACK | flags;
    p.win = 65535 * 4;
    p.sport = o.sport;
    p.dport = o.dport;
    p.hash = o.hash;
    this.segments++;
    linkSend(m, st, this.link, p, m.nowNs);
  }

  /** Retransmission timer: go back to snd_una (or probe a zero window). */
  #armTimer(): void {
    if (this.#timerArmed || this.reset) return;
    const outstanding = this.sndUna < this.sndMax;
    const blocked = this.sndNxt < this.#dataEnd() && this.peerWnd <= this.sndNxt - this.sndUna;
    if (!outstanding && !blocked) return;
    this.#timerArmed = true;
    // A timer entry instead of a closure per arming (no allocation; same heap order).
    this.m.atCall(this.m.nowNs + this.o.rtoNs, this, RTO_TIMER, ++this.#timerGen);
  }

  #retransmitTimer(gen: number): void {
    if (gen !== this.#timerGen) return;
    this.#timerArmed = false;
    if (this.reset) return;
    if (this.sndUna < this.sndMax) this.sndNxt = this.sndUna;
    else if (this.peerWnd === 0) this.#send(this.sndNxt, 0, TH.PUSH); // window probe
    this.#armTimer();
    this.#kick();
  }

  /** An ACK (or FIN/RST) from the relay. */
  receive(p: Packet): void {
    if (p.flags & TH.RST) {
      this.reset = true;
      this.st.pool.put(p);
      return;
    }
    if (p.ack > this.sndUna && p.ack <= this.sndMax) {
      this.sndUna = p.ack;
      if (this.o.fin && this.sndUna > this.#dataEnd()) this.finAcked = true;
      if (this.sndNxt < this.sndUna) this.sndNxt = this.sndUna;
      this.#timerGen++; // restart the timer
      this.#timerArmed = false;
    }
    this.peerWnd = p.win;
    if ((p.flags & TH.FIN) && p.seq === this.rcvNxt) {
      this.rcvNxt++;
      this.peerFin = true;
      this.#send(this.sndNxt, 0, 0); // ACK the relay's FIN
    }
    this.st.pool.put(p);
    this.#armTimer();
    this.#kick();
  }
}

/** Settings of a TCP sink. */
export interface SinkOptions {
  readonly flow: number;
  readonly sport: number;
  readonly dport: number;
  readonly hash: number;
  /** Advertised window (the sink consumes at once). */
  readonly wnd: number;
  readonly delAckNs: number;
}

/** A TCP sink: accepts in-order data, ACKs every second segment, answers FIN with FIN. */
export class TcpSink implements Peer, TimerTarget {
  readonly irs: number;
  rcvNxt: number;
  readonly iss: number;
  sndNxt: number;
  receivedBytes = 0;
  receivedPkts = 0;
  finRcvd = false;
  reset = false;
  /** Data arrived out of order (dropped and re-ACKed). */
  outOfOrder = 0;
  #unacked = 0;
  #ackGen = 0;

  constructor(
    readonly m: Machine,
    readonly st: NetStack,
    readonly link: HostLink,
    readonly o: SinkOptions,
    iss: number,
    irs: number,
  ) {
    this.iss = iss;
    this.sndNxt = iss + 1;
    this.irs = irs;
    this.rcvNxt = irs + 1;
  }

  receive(p: Packet): void {
    const { m, st, o } = this;
    if (p.flags & TH.RST) {
      this.reset = true;
      st.pool.put(p);
      return;
    }
    let ackNow = false;
    if (p.len > 0) {
      if (p.seq === this.rcvNxt) {
        streamCheck(m, sinkStream(o.flow), p.seq - this.irs - 1, p.len);
        this.rcvNxt += p.len;
        this.receivedBytes += p.len;
        this.receivedPkts++;
        m.emitOn(0, 0, KIND.sinkRx, o.flow, p.len, this.receivedBytes);
        this.#unacked++;
        if (this.#unacked >= 2) ackNow = true;
      } else {
        this.outOfOrder++;
        ackNow = true;
      }
    }
    let fin = false;
    if ((p.flags & TH.FIN) && p.seq + p.len === this.rcvNxt) {
      this.rcvNxt++;
      fin = !this.finRcvd;
      this.finRcvd = true;
      ackNow = true;
    } else if ((p.flags & TH.FIN) && this.finRcvd) ackNow = true;
    st.pool.put(p);
    if (ackNow) this.#ack(fin ? TH.FIN : 0);
    else if (this.#unacked > 0) this.#delayedAck();
  }

  #delayedAck(): void {
    // A timer entry instead of a closure per segment (no allocation; same heap order).
    this.m.atCall(this.m.nowNs + this.o.delAckNs, this, null, ++this.#ackGen);
  }

  /** The delayed-ACK timer armed as `gen`: ACK now unless a later ACK went out since. */
  onTimer(_arg: unknown, gen: number): void {
    if (gen === this.#ackGen && this.#unacked > 0) this.#ack(0);
  }

  #ack(flags: number): void {
    const { m, st, o } = this;
    this.#unacked = 0;
    this.#ackGen++;
    const p = st.pool.get(PROTO.tcp, o.flow, 0);
    p.seq = this.sndNxt;
    p.ack = this.rcvNxt;
    p.flags = TH.ACK | flags;
    p.win = o.wnd;
    p.sport = o.sport;
    p.dport = o.dport;
    p.hash = o.hash;
    if (flags & TH.FIN) this.sndNxt++;
    linkSend(m, st, this.link, p, m.nowNs);
  }
}
