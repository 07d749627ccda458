/**
 * A multi-queue Ethernet NIC driving the stack: receive queues selected by
 * RSS (Toeplitz hash, 128-entry indirection table), per-queue rings with an
 * interrupt moderation delay, one interrupt vector per queue (queue q on CPU
 * q mod ncpu) whose handler hands the batch to `ifiq_input`; transmit
 * serialises packets at the link rate and hands them to the wire.
 * @module
 */
import type { Machine, TimerTarget } from "../core/machine.ts";
import { type KCode, KObj } from "../core/objects.ts";
import { HDR_BYTES, type Packet, PROTO, TH } from "../core/net/packet.ts";
import { TSO_SEG_MAX_BYTES } from "../core/net/config.ts";
import { DROP, type NetIf, type NetStack, pcbKey } from "../core/net/stack.ts";
import { KIND } from "../core/schema.ts";
import { RssTable } from "./rss.ts";
import { FATE, type Faults } from "./faults.ts";

/** NIC settings. */
export interface NicOptions {
  readonly rxQueues: number;
  /** Interrupt moderation: delay from the first packet to the interrupt, ns. */
  readonly itrNs: number;
  readonly linkGbps: number;
  /** Receive descriptors per queue. */
  readonly ringSize: number;
}

/** Something on the far side of the wire. */
export interface Peer {
  receive(p: Packet): void;
}

/** One NIC. */
export class Nic implements TimerTarget {
  readonly iface: NetIf;
  readonly rss: RssTable;
  /** Far-side endpoints by pcbKey(our port, their port). */
  readonly peers: Map<number, Peer> = new Map();
  /** Wire delay to the peers, ns. */
  delayNs = 0;
  /** Loss on transmit, per million (drawn from m.workRng). */
  lossPpm = 0;
  rxPackets = 0;
  /** The fault injector (null: no faults). */
  faults: Faults | null = null;
  readonly #m: Machine;
  readonly #st: NetStack;
  readonly #opt: NicOptions;
  readonly #rings: Packet[][] = [];
  readonly #spare: Packet[][] = [];
  readonly #pending: boolean[] = [];
  readonly #irq: KObj[] = [];
  #txFreeNs = 0;

  constructor(m: Machine, st: NetStack, name: string, idx: number, opt: NicOptions) {
    this.#m = m;
    this.#st = st;
    this.#opt = opt;
    this.rss = new RssTable(opt.rxQueues);
    this.iface = st.attachIf(name, idx, opt.rxQueues, (p) => this.transmit(p));
    for (let q = 0; q < opt.rxQueues; q++) {
      this.#rings.push([]);
      this.#spare.push([]);
      this.#pending.push(false);
      this.#irq.push(new KObj(m.newId(), `${name}:q${q}`));
    }
  }

  /** CPU of queue q's interrupt vector. */
  cpuOf(q: number): number {
    return q % this.#m.cpus.length;
  }

  /** A packet arrives from the wire (device context). */
  receive(p: Packet): void {
    const m = this.#m;
    const q = this.rss.queue(p.hash);
    const cpu = this.cpuOf(q);
    p.ifidx = this.iface.idx;
    const f = this.faults;
    if (this.#rings[q].length >= this.#opt.ringSize || (f !== null && f.rxRingFull(p, q))) {
      return this.#rxDrop(cpu, p, DROP.rxRing);
    }
    // The slot's cluster was not replaced (MCLGETL failed in the rx refill):
    // the driver reuses the old one and the frame is lost (ix/em rxeof).
    if (f !== null && f.rxMbufFail(p)) return this.#rxDrop(cpu, p, DROP.mbufFail);
    this.rxPackets++;
    this.#rings[q].push(p);
    m.emitOn(cpu, 0, KIND.pktRx, p.id, p.flow, p.len, q);
    if (p.proto === PROTO.tcp) m.emitOn(cpu, 0, KIND.pktTcp, p.id, p.seq >>> 0, p.ack >>> 0, p.flags, p.win);
    if (this.#pending[q]) return;
    this.#pending[q] = true;
    const lateNs = f !== null ? f.intrDelayNs(q) : 0;
    m.at(
      m.nowNs + this.#opt.itrNs + lateNs,
      () => m.postInterrupt(cpu, this.#irq[q], (a) => this.#intr(a as number), q),
    );
  }

  #rxDrop(cpu: number, p: Packet, reason: number): void {
    this.#m.emitOn(cpu, 0, KIND.pktDrop, p.id, p.flow, p.len, reason);
    this.#st.dropAcct(p, reason);
    this.#st.pool.put(p);
  }

  /** The queue's interrupt handler: drain the ring into ifiq_input until empty. */
  *#intr(q: number): KCode {
    const m = this.#m;
    for (;;) {
      const batch = this.#rings[q];
      if (batch.length === 0) break;
      this.#rings[q] = this.#spare[q];
      this.#spare[q] = batch;
      yield m.spend(m.cost.nicRxPkt * batch.length);
      if (this.#st.set.lro) yield* this.#lro(batch);
      yield* this.#st.ifiqInput(this.iface.ifiqs[q], batch);
      batch.length = 0;
    }
    this.#pending[q] = false;
  }

  /**
   * tcp_softlro_glue(): append each in-order TCP data segment to the last
   * segment of its flow in the batch (up to 64 KiB), so the stack runs
   * ip_input, tcp_input and sbappend once per glued chunk. In place, no
   * allocation; only pure ACK/PUSH data segments glue.
   */
  *#lro(batch: Packet[]): KCode {
    const m = this.#m;
    let kept = 0, glued = 0;
    for (let r = 0; r < batch.length; r++) {
      const p = batch[r];
      const into = lroTarget(batch, kept, p);
      if (into === null) {
        batch[kept++] = p;
        continue;
      }
      m.emit(KIND.pktLro, p.id, into.id, p.len);
      into.len += p.len;
      into.ack = p.ack;
      into.win = p.win;
      into.flags |= p.flags;
      this.#st.pool.put(p);
      glued++;
    }
    batch.length = kept;
    if (glued > 0) yield m.spend(m.cost.lroGlue * glued);
  }

  /** if_start: serialise at link rate, then the wire carries it to the peer. */
  transmit(p: Packet): void {
    const m = this.#m;
    // A TSO segment leaves as MSS-sized frames, each with its own headers.
    const frames = p.proto === PROTO.tcp ? Math.max(1, Math.ceil(p.len / this.#st.set.mss)) : 1;
    const wireBits = (p.len + frames * (p.proto === PROTO.tcp ? HDR_BYTES.tcp : HDR_BYTES.udp)) * 8;
    const start = Math.max(m.nowNs, this.#txFreeNs);
    this.#txFreeNs = start + Math.ceil(wireBits / this.#opt.linkGbps);
    const peer = this.peers.get(pcbKey(p.sport, p.dport));
    if (peer === undefined) {
      m.emit(KIND.pktDrop, p.id, p.flow, p.len, DROP.noSocket);
      this.#st.dropAcct(p, DROP.noSocket);
      this.#st.pool.put(p);
      return;
    }
    const lost = this.lossPpm > 0 && p.len > 0 && m.workRng.chancePpm(this.lossPpm);
    if (this.faults !== null) return this.faults.wire(p, this.#txFreeNs + this.delayNs, this, lost);
    m.atCall(this.#txFreeNs + this.delayNs, this, p, lost ? FATE.lost : FATE.deliver);
  }

  /** A transmitted packet reaches its peer after the wire delay (`fate`: FATE, the wire lost it or the link was down). */
  onTimer(arg: unknown, fate: number): void {
    const p = arg as Packet;
    if (fate !== FATE.deliver) {
      const reason = fate === FATE.down ? DROP.linkDown : DROP.lossyLink;
      this.#m.emitOn(0, 0, KIND.pktDrop, p.id, p.flow, p.len, reason);
      this.#st.dropAcct(p, reason);
      this.#st.pool.put(p);
      return;
    }
    (this.peers.get(pcbKey(p.sport, p.dport)) as Peer).receive(p);
  }
}

/** Segments LRO glues: TCP data with only ACK/PUSH set. */
const LRO_FLAGS_OK = TH.ACK | TH.PUSH;
/** How far back in the batch LRO looks for the flow's last segment. */
const LRO_LOOKBACK = 16;

/** The kept segment of `p`'s flow that `p` continues, or null. */
function lroTarget(batch: Packet[], kept: number, p: Packet): Packet | null {
  if (p.proto !== PROTO.tcp || p.len === 0 || (p.flags & ~LRO_FLAGS_OK) !== 0) return null;
  for (let i = kept - 1; i >= 0 && i >= kept - LRO_LOOKBACK; i--) {
    const q = batch[i];
    if (q.flow !== p.flow || q.proto !== PROTO.tcp || q.dport !== p.dport) continue;
    // Only the flow's last kept segment may be extended, and only in sequence.
    const ok = q.len > 0 && (q.flags & ~LRO_FLAGS_OK) === 0 && q.seq + q.len === p.seq &&
      q.len + p.len <= TSO_SEG_MAX_BYTES;
    return ok ? q : null;
  }
  return null;
}
