/**
 * Packets (the model's mbufs) and their pool. A packet carries what the
 * simulated stack needs: length, flow, protocol, TCP header fields, the
 * splice loop count `ph_loopcnt` (reference section 2: somove stops with
 * ELOOP when it reaches M_MAXLOOP), and where and when it was appended to a
 * socket buffer (for splice latency and cache-miss costs).
 *
 * Packets are recycled through {@link PacketPool} so the hot path does not
 * allocate per packet.
 *
 * @example
 * ```ts
 * import { PacketPool, PROTO } from "./packet.ts";
 * const pool = new PacketPool();
 * const p = pool.get(PROTO.udp, 7, 1400);
 * pool.put(p);
 * ```
 * @module
 */
import { Deque } from "../_array.ts";
import { PROTO } from "../schema.ts";

/** Protocols (ENUMS.proto). */
export { PROTO };

/** TCP header flags (the values in tcp-in/tcp-out events). */
export const TH = { FIN: 1, SYN: 2, RST: 4, PUSH: 8, ACK: 16 } as const;

/** M_FLOWID_MASK of sys/sys/mbuf.h: ph_flowid keeps 15 bits of the RSS hash. */
export const M_FLOWID_MASK = 0x7fff;

/** M_MAXLOOP of sys/sys/mbuf.h: somove gives ELOOP when ph_loopcnt reaches it. */
export const M_MAXLOOP = 128;

/** TCP/IP and UDP/IP header bytes plus Ethernet framing, for wire time. */
export const HDR_BYTES = { tcp: 40 + 14, udp: 28 + 14 } as const;

/** One packet (an mbuf chain with a packet header). */
export class Packet {
  id = 0;
  /** Connection (flow) number; both directions of a connection share it. */
  flow = 0;
  proto = 0;
  /** Payload bytes. */
  len = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  win = 0;
  /**
   * Stream offset of the first payload byte (TCP: seq - ISN - 1; UDP: bytes
   * the source sent before this datagram), carried through the relay so the
   * stream detector sees content, not only counts.
   */
  off = 0;
  /** Stream id of a UDP datagram: the source's flow number (-1: none). */
  sid = -1;
  /** m_pkthdr.ph_loopcnt. */
  loopcnt = 0;
  /** When it was appended to a socket buffer (ns). */
  tNs = 0;
  /** CPU that appended it (cache locality). */
  cpu = 0;
  /** RSS hash of the packet's 4-tuple (set by the sender/driver). */
  hash = 0;
  /** Source and destination ports (the PCB lookup key is dport). */
  sport = 0;
  dport = 0;
  /** Interface it arrived on. */
  ifidx = 0;
  /** Handed out by the pool and not yet returned (m_freem). */
  live = false;
  /**
   * Fault decisions this datagram carries for the stream detector (the
   * numbers `streamExcuse` gave; 0: none): the wire's duplication that
   * made this copy, and its holding back that let later ones overtake it.
   * Simulation bookkeeping, not an mbuf field.
   */
  dupFault = 0;
  reorderFault = 0;
}

/** A free list of packets; ids keep increasing so traces name each use. */
export class PacketPool {
  readonly #free: Deque<Packet> = new Deque();
  /** Every packet the pool ever made (it never shrinks), for the end-of-run walk of live ones. */
  readonly #all: Packet[] = [];
  #nextId = 1;
  /** Packets handed out and not yet returned. */
  live = 0;

  /** A packet with fresh id and cleared header fields. */
  get(proto: number, flow: number, len: number): Packet {
    let p = this.#free.pop();
    if (p === undefined) this.#all.push(p = new Packet());
    p.id = this.#nextId++;
    p.proto = proto;
    p.flow = flow;
    p.len = len;
    p.seq = 0;
    p.ack = 0;
    p.flags = 0;
    p.win = 0;
    p.loopcnt = 0;
    p.off = 0;
    p.sid = -1;
    p.tNs = 0;
    p.cpu = 0;
    p.hash = 0;
    p.sport = 0;
    p.dport = 0;
    p.ifidx = 0;
    p.dupFault = 0;
    p.reorderFault = 0;
    p.live = true;
    this.live++;
    return p;
  }

  /** Returns a packet to the pool (m_freem); freeing one twice throws. */
  put(p: Packet): void {
    if (!p.live) throw new Error(`packet ${p.id} freed twice`);
    p.live = false;
    this.live--;
    this.#free.push(p);
  }

  /**
   * Calls `cb` for each packet handed out and not returned: whatever sits in
   * a ring, queue, socket buffer, on a link, or in a thread's hands.
   */
  forEachLive(cb: (p: Packet) => void): void {
    for (const p of this.#all) if (p.live) cb(p);
  }
}
