/**
 * A multi-queue Ethernet NIC driving the stack: receive queues selected by
 * RSS (Toeplitz hash, 128-entry indirection table), per-queue rings with an
 * interrupt moderation delay, one interrupt vector per queue (queue q on CPU
 * q mod ncpu) whose handler hands the batch to `ifiq_input`; transmit
 * serialises packets at the link rate and hands them to the wire.
 * @module
 */
import type { Machine } from "../core/machine.ts";
import { type KCode, KObj } from "../core/objects.ts";
import { HDR_BYTES, type Packet, PROTO } from "../core/net/packet.ts";
import { DROP, type NetIf, type NetStack, pcbKey } from "../core/net/stack.ts";
import { KIND } from "../core/schema.ts";
import { RssTable } from "./rss.ts";

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
export class Nic {
  readonly iface: NetIf;
  readonly rss: RssTable;
  /** Far-side endpoints by pcbKey(our port, their port). */
  readonly peers = new Map<number, Peer>();
  /** Wire delay to the peers, ns. */
  delayNs = 0;
  /** Loss on transmit, per million (drawn from m.workRng). */
  lossPpm = 0;
  rxPackets = 0;
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
    if (this.#rings[q].length >= this.#opt.ringSize) {
      m.emitOn(cpu, 0, KIND.pktDrop, p.id, p.flow, p.len, DROP.rxRing);
      this.#st.dropAcct(p, DROP.rxRing);
      this.#st.pool.put(p);
      return;
    }
    this.rxPackets++;
    this.#rings[q].push(p);
    m.emitOn(cpu, 0, KIND.pktRx, p.id, p.flow, p.len, q);
    if (this.#pending[q]) return;
    this.#pending[q] = true;
    m.at(m.nowNs + this.#opt.itrNs, () => m.postInterrupt(cpu, this.#irq[q], (a) => this.#intr(a as number), q));
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
      yield* this.#st.ifiqInput(this.iface.ifiqs[q], batch);
      batch.length = 0;
    }
    this.#pending[q] = false;
  }

  /** if_start: serialise at link rate, then the wire carries it to the peer. */
  transmit(p: Packet): void {
    const m = this.#m;
    const wireBits = (p.len + (p.proto === PROTO.tcp ? HDR_BYTES.tcp : HDR_BYTES.udp)) * 8;
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
    m.at(this.#txFreeNs + this.delayNs, () => {
      if (lost) {
        m.emitOn(0, 0, KIND.pktDrop, p.id, p.flow, p.len, DROP.lossyLink);
        this.#st.dropAcct(p, DROP.lossyLink);
        this.#st.pool.put(p);
        return;
      }
      peer.receive(p);
    });
  }
}
