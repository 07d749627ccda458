/**
 * The network stack of one machine: interfaces and their input queues
 * (ifiq), the softnet task queues, `if_input_process` under the shared net
 * lock, IP, UDP and the PCB table. TCP lives in tcp.ts, splicing in
 * splice.ts.
 *
 * Reference section 1: `softnet_percpu` keeps min(8, ncpus) single-thread
 * softnet task queues; `net_tq(ifidx)` = softnets[ifidx % count], and all rx
 * queues of one interface share it (`net.tqPerRxQueue` spreads them);
 * `ifiq_input` appends under `ifiq_mtx`, drops above 10240 queued packets,
 * `task_add`s the ifiq task and returns `len > 6144`; `if_input_process`
 * holds NET_LOCK_SHARED for a batch and runs TCP batched per softnet
 * (`tcp_input_mlist`) before the unlock; the 2025-07 seed then runs
 * `sosp_processq(ns)` after NET_UNLOCK_SHARED.
 *
 * @example
 * ```ts
 * import { NetStack } from "./stack.ts";
 * // const st = new NetStack(m, cfg); const ifp = st.attachIf("em0", 1, 4, (p) => nic.transmit(p));
 * ```
 * @module
 */
import type { Config } from "../config.ts";
import { Histogram } from "../histogram.ts";
import type { Machine } from "../machine.ts";
import { type KCode, KObj, type Lock, MODE, type Task, type Taskq, type Timeout } from "../objects.ts";
import { KIND } from "../schema.ts";
import { taskAdd, taskqCreate, taskqDelBarrier, taskSet } from "../taskq.ts";
import { Timeouts } from "../timeout.ts";
import { MODE_NSQ, type NetSettings, netSettings } from "./config.ts";
import { M_FLOWID_MASK, type Packet, PacketPool, PROTO } from "./packet.ts";
import { type Ifq, ifqEnqueue, ifqInit, type IfqOwner } from "./ifq.ts";
import { sbAppendBytes, sbDropBytes, Sockbuf, Socket, TcpCb, WHICH } from "./socket.ts";
import { streamCheckDatagram, streamLossy } from "../detect/mod.ts";

/** ifiq_input drops the batch when more than this many packets are queued. */
export const IFIQ_MAXLEN = 10240;
/** IFQ_MAXLEN of net/if.h: a send queue's length limit when the driver sets none. */
export const IFQ_MAXLEN = 256;
/** ifiq_input tells the driver to back off above this many. */
export const IFIQ_PRESSURE = 6144;

/** Drop reasons (ENUMS.dropReason). */
export const DROP = {
  ifiqFull: 0,
  sbFull: 1,
  noSocket: 2,
  lossyLink: 3,
  ttl: 4,
  closed: 5,
  rxRing: 6,
  outOfOrder: 7,
  ifqFull: 8,
  mbufFail: 9,
  linkDown: 10,
} as const;

/** Where a packet allocation can fail (the `a` field of a mbuf-fail fault event is site * 65536 + flow). */
export const MGET_SITE = { nicRx: 0, tcpOutput: 1, tcpRst: 2 } as const;

/** The PCB lookup key of a connection: local and foreign port (addresses are implied by the interface). */
export function pcbKey(lport: number, fport: number): number {
  return lport * 65536 + fport;
}

/** Stream-detector id of the bytes entering so_rcv of `so` (+1: leaving it, see splice.ts). */
export function rcvStream(so: Socket): number {
  return so.id * 4;
}

/** A network interface (struct ifnet). */
export interface NetIf {
  readonly idx: number;
  readonly name: string;
  readonly ifiqs: Ifiq[];
  readonly loopback: boolean;
  /** Hands a packet to the driver for transmission (not for loopback). */
  transmit: (p: Packet) => void;
  /** Send queues (if_ifqs), one per transmit queue; empty for loopback. */
  readonly ifqs: Ifq[];
  /** Scratch array for loopback input (no allocation per packet). */
  readonly one: Packet[];
}

/** struct ifiqueue: one per receive queue. */
export class Ifiq extends KObj {
  q: Packet[] = [];
  spare: Packet[] = [];
  constructor(
    id: number,
    name: string,
    readonly ifp: NetIf,
    readonly mtx: Lock,
    readonly softnet: number,
    public task: Task | null,
  ) {
    super(id, name);
  }
}

/** Byte accounting for conservation checks (UDP payload; TCP uses its PCB counters). */
export interface NetAcct {
  /** UDP payload bytes on links, in NIC rings, ifiqs (not in a socket, not delivered). */
  wireBytes: number;
  /** UDP payload bytes dropped anywhere. */
  dropBytes: number;
  /** Packets dropped, all protocols (data packets only: pure ACKs are not counted). */
  drops: number;
  dropsByReason: Record<string, number>;
  /** UDP payload bytes dropped, by stream id (the source's flow number). */
  dropBySid: number[];
  /** UDP payload bytes the wire duplicated (fault injection), by stream id: extra bytes to account for. */
  dupBySid: number[];
}

const DROP_NAMES = Object.keys(DROP);

/**
 * Entry points of the layers above the IP layer, as the kernel's protocol
 * switch tables (`inetsw`, `pr_usrreqs`) give them: ip_input reaches TCP,
 * if_input_process reaches the socket layer, and somove reaches TCP's
 * `pru_rcvd`/`pru_send` through these, not by import. {@link wireNetStack}
 * (core/net/mod.ts) fills them, so imports in core/net point one way:
 * stack <- tcp, splice, usrreq <- mod.
 */
export interface NetProtos {
  /** tcp_input() over the softnet's TCP batch. */
  tcpInputMlist(st: NetStack, ns: number): KCode;
  /** tcp_output(): pru_send / pru_rcvd. */
  tcpOutput(st: NetStack, so: Socket): KCode;
  /** tcp_usrclosed(): pru_disconnect at close. */
  tcpUsrClosed(st: NetStack, so: Socket): KCode;
  /** sorwakeup(): the socket layer's receive wakeup (splicing hooks in here). */
  sorwakeup(st: NetStack, so: Socket, ns: number): KCode;
  /** The netstack-queue splice mode's per-softnet socket queue, at the end of if_input_process. */
  sospProcessq(st: NetStack, ns: number): KCode;
}

function unwired(): KCode {
  throw new Error("net: NetStack used before wireNetStack() (core/net/mod.ts)");
}

const UNWIRED: NetProtos = {
  tcpInputMlist: unwired,
  tcpOutput: unwired,
  tcpUsrClosed: unwired,
  sorwakeup: unwired,
  sospProcessq: unwired,
};

/** The stack. */
export class NetStack {
  readonly m: Machine;
  readonly set: NetSettings;
  readonly netlock: Lock;
  readonly softnets: Taskq[] = [];
  /** Per softnet: ns_spliceq (netstack-queue mode) and the TCP batch. */
  readonly spliceq: Socket[][] = [];
  readonly tcpMl: Packet[][] = [];
  /** The "sosplice" task queue, created on the first splice (reference section 2). */
  sospliceTq: Taskq | null = null;
  #procTq: Taskq | null = null;
  readonly pool: PacketPool = new PacketPool();
  readonly tos: Timeouts;
  readonly sockets: Socket[] = [];
  /** PCB table: {@link pcbKey}(local port, foreign port) -> socket. */
  readonly pcbs: Map<number, Socket> = new Map();
  readonly ifs: NetIf[] = [];
  readonly acct: NetAcct = { wireBytes: 0, dropBytes: 0, drops: 0, dropsByReason: {}, dropBySid: [], dupBySid: [] };
  /** Splice latency, ns from so_rcv append to somove: a histogram, fixed memory whatever the run length. */
  readonly spliceLat: Histogram = new Histogram();
  somoveCalls = 0;
  /** The protocol switch: the layers above, filled by wireNetStack(). */
  protos: NetProtos = UNWIRED;
  /**
   * Fault hook: does this packet allocation (m_gethdr/MCLGETL with
   * M_DONTWAIT) fail? `site` is an {@link MGET_SITE}; `flow` the flow it is
   * for. Installed by a driver's fault injector (drivers/faults.ts) and
   * recorded there; null: allocations never fail.
   */
  mgetFail: ((site: number, flow: number) => boolean) | null = null;

  constructor(m: Machine, cfg: Config) {
    this.m = m;
    this.set = netSettings(cfg, m.cpus.length);
    this.netlock = m.newLock("netlock", "rwlock");
    this.tos = new Timeouts(m);
    for (let i = 0; i < this.set.softnets; i++) {
      // softnet_init(): taskq_create("softnet%u", 1, IPL_NET, TASKQ_MPSAFE).
      this.softnets.push(taskqCreate(m, `softnet${i}`, 1, { ipl: "high" }));
      this.spliceq.push([]);
      this.tcpMl.push([]);
    }
    m.socketWalker = (cb) => {
      for (const so of this.sockets) {
        const to = so.sp !== null && so.sp.socket !== null ? so.sp.socket.id : 0;
        cb(so.id, so.rcv.cc, so.snd.cc, to);
      }
    };
  }

  /** net_tq(idx): the softnet index for an interface index or flow id. */
  netTqIndex(idx: number): number {
    return idx % this.softnets.length;
  }

  /** Attaches an interface with `nrxq` receive queues (each with its ifiq). */
  attachIf(name: string, idx: number, nrxq: number, transmit: (p: Packet) => void, loopback = false): NetIf {
    const ifp: NetIf = { idx, name, ifiqs: [], loopback, transmit, one: [], ifqs: [] };
    if (!loopback) {
      const owner: IfqOwner = { m: this.m, transmit: (p) => ifp.transmit(p), drop: (p) => this.drop(p, DROP.ifqFull) };
      for (let q = 0; q < nrxq; q++) {
        // ifq_init() (ifq.c 1.62): ifq_softnet = net_tq(idx) of the send queue.
        ifp.ifqs.push(ifqInit(this.m, `${name}:txq${q}`, this.softnets[this.netTqIndex(q)], IFQ_MAXLEN, owner));
      }
    }
    for (let q = 0; q < nrxq; q++) {
      // ifiq_init(): current ifq.c takes net_tq(idx), the rx queue index, so
      // input spreads over the softnets; older ifq.c took net_tq(ifp->if_index)
      // with "/* + idx */" commented out (reference section 1).
      const sn = this.netTqIndex(this.set.tqPerRxQueue ? q : idx);
      const ifiq = new Ifiq(
        this.m.newId(),
        `${name}:rxq${q}`,
        ifp,
        this.m.newLock("ifiq_mtx", "spin", "high"), /* IPL_NET */
        sn,
        null,
      );
      ifiq.task = taskSet(this.m, `ifiq_task:${name}:${q}`, () => this.ifiqProcess(ifiq), ifiq);
      ifp.ifiqs.push(ifiq);
    }
    this.ifs[idx] = ifp;
    return ifp;
  }

  /** Creates a socket with a fd reference and a PCB reference, bound to `lport`. */
  socket(proto: number, flow: number, lport: number, fport: number, outIf: number, flowid: number): Socket {
    const m = this.m;
    const obj = m.alloc("socket", 2); // the descriptor's reference and the PCB's
    const hi = this.set.sbHiwat;
    const rcv = new Sockbuf(hi, 1, m.chan(`so${obj.id}:rcv`));
    const snd = new Sockbuf(hi, Math.min(2048, hi), m.chan(`so${obj.id}:snd`));
    // soalloc() (uipc_socket.c 1.385): so_lock, rw "sbufrcv"/"sbufsnd" (sblock) and the
    // mutexes "sbrcv"/"sbsnd" (sb_mtx) that guard the buffers and the splice flags.
    const so = new Socket(obj, proto, flow, rcv, snd, {
      lock: m.newLock("so_lock", "adaptive"),
      rcvMtx: m.newLock("sbrcv", "spin"),
      sndMtx: m.newLock("sbsnd", "spin"),
      rcvSblock: m.newLock("sbufrcv", "rwlock"),
      sndSblock: m.newLock("sbufsnd", "rwlock"),
    });
    so.lport = lport;
    so.fport = fport;
    so.outIf = outIf;
    so.flowid = flowid;
    this.sockets.push(so);
    this.pcbs.set(pcbKey(lport, fport), so);
    if (proto === PROTO.udp) {
      streamLossy(m, rcvStream(so)); // datagrams dropped before so_rcv leave holes
      streamLossy(m, rcvStream(so) + 1); // and so do the bytes leaving it
    }
    m.emit(KIND.soCreate, so.id, proto, flow, rcv.hiwat, snd.hiwat);
    return so;
  }

  /** Makes `so` an established TCP connection (pre-established handshake). */
  tcpEstablish(so: Socket, iss: number, irs: number, peerWnd: number): TcpCb {
    const tp = new TcpCb();
    tp.state = 4; // TCPS_ESTABLISHED
    tp.iss = iss;
    tp.sndUna = tp.sndNxt = tp.sndMax = iss + 1;
    tp.irs = irs;
    tp.rcvNxt = irs + 1;
    tp.rcvAdv = tp.rcvNxt + so.rcv.hiwat;
    tp.sndWnd = peerWnd;
    so.tcp = tp;
    this.m.emit(KIND.soState, so.id, tp.state, 0);
    return tp;
  }

  /** Counts and frees a dropped packet, emitting pkt-drop. */
  drop(p: Packet, reason: number): void {
    this.m.emit(KIND.pktDrop, p.id, p.flow, p.len, reason);
    this.dropAcct(p, reason);
    this.pool.put(p);
  }

  /** Drop accounting without the event (device context emits its own). */
  dropAcct(p: Packet, reason: number): void {
    const a = this.acct;
    if (p.len > 0) {
      a.drops++;
      const k = DROP_NAMES[reason];
      a.dropsByReason[k] = (a.dropsByReason[k] ?? 0) + 1;
    }
    if (p.proto === PROTO.udp) {
      a.wireBytes -= p.len;
      a.dropBytes += p.len;
      if (p.sid >= 0) a.dropBySid[p.sid] = (a.dropBySid[p.sid] ?? 0) + p.len;
    }
  }

  /** Cache model: visiting a socket last touched on another CPU costs a miss. */
  *touchSo(so: Socket): Generator<number, void, number> {
    const cpu = this.m.curCpu.id;
    if (so.lastCpu !== cpu) {
      if (so.lastCpu >= 0) yield this.m.spend(this.m.cost.cacheMissSock);
      so.lastCpu = cpu;
    }
  }

  /** ifiq_input(): queue a batch for the softnet; returns 1 when the driver should back off. */
  *ifiqInput(ifiq: Ifiq, batch: Packet[]): Generator<number, number, number> {
    const m = this.m;
    yield m.lock(ifiq.mtx);
    const n = batch.length;
    if (ifiq.q.length > IFIQ_MAXLEN) {
      for (let i = 0; i < n; i++) this.drop(batch[i], DROP.ifiqFull);
      m.unlock(ifiq.mtx);
      return 1;
    }
    for (let i = 0; i < n; i++) ifiq.q.push(batch[i]);
    const len = ifiq.q.length;
    m.emit(KIND.ifiqInput, ifiq.id, n, len);
    m.unlock(ifiq.mtx);
    yield m.spend(m.cost.ifiqInput);
    yield* taskAdd(m, this.softnets[ifiq.softnet], ifiq.task as Task);
    return len > IFIQ_PRESSURE ? 1 : 0;
  }

  /** ifiq_process(): take the whole queue and run if_input_process on it. */
  *ifiqProcess(ifiq: Ifiq): KCode {
    const m = this.m;
    yield m.lock(ifiq.mtx);
    const ml = ifiq.q;
    ifiq.q = ifiq.spare;
    ifiq.spare = ml;
    m.emit(KIND.ifiqProcess, ifiq.id, ml.length);
    m.unlock(ifiq.mtx);
    yield* this.ifInputProcess(ml, ifiq.softnet);
    ml.length = 0;
  }

  /** if_input_process(): NET_LOCK_SHARED, input each packet, tcp_input_mlist, unlock, sosp_processq. */
  *ifInputProcess(ml: Packet[], ns: number): KCode {
    const m = this.m;
    yield m.lock(this.netlock, MODE.shared);
    for (let i = 0; i < ml.length; i++) {
      const p = ml[i];
      yield m.spend(m.cost.etherInput + m.cost.ipInput);
      m.emit(KIND.ipInput, p.id, p.flow, p.proto, p.len);
      if (p.proto === PROTO.udp) yield* this.udpInput(p, ns);
      else this.tcpMl[ns].push(p);
    }
    yield* this.protos.tcpInputMlist(this, ns);
    m.unlock(this.netlock);
    if (this.set.mode === MODE_NSQ) yield* this.protos.sospProcessq(this, ns);
  }

  /** udp_input(): PCB lookup, sbappendaddr under so_rcv.sb_mtx, sorwakeup. */
  *udpInput(p: Packet, ns: number): KCode {
    const m = this.m;
    yield m.spend(m.cost.udpInput);
    const so = this.pcbs.get(pcbKey(p.dport, p.sport));
    if (so === undefined || !so.pcbAttached) return this.drop(p, DROP.noSocket);
    m.ref(so.obj); // the PCB lookup returns a referenced PCB and socket
    yield* this.touchSo(so);
    yield m.lock(so.rcvMtx);
    let reason = -1;
    if (so.rcv.flags & 2 /* SS_CANTRCVMORE */) reason = DROP.closed;
    else if (so.rcv.space() < p.len) reason = DROP.sbFull;
    else this.sbAppendRecord(so, p);
    m.unlock(so.rcvMtx);
    if (reason >= 0) this.drop(p, reason);
    else {
      yield m.spend(m.cost.sbAppend);
      yield* this.protos.sorwakeup(this, so, ns);
    }
    this.sorele(so);
  }

  /** Appends packet `p` as a record to so_rcv (caller holds the buffer's lock); `p.off` is its stream offset. */
  sbAppendRecord(so: Socket, p: Packet): void {
    streamCheckDatagram(this.m, rcvStream(so), p);
    p.tNs = this.m.nowNs;
    p.cpu = this.m.curCpu.id;
    so.rcv.q.push(p);
    so.n.accepted += p.len;
    if (p.proto === PROTO.udp) this.acct.wireBytes -= p.len;
    sbAppendBytes(this.m, so, WHICH.rcv, p.len);
  }

  /** sorflush(): discards unread data at close. */
  sbFlushRcv(so: Socket): void {
    if (so.rcv.cc === 0) return;
    const n = so.rcv.cc;
    while (so.rcv.records() > 0) {
      const p = so.rcv.shift();
      if (p.sid >= 0) this.acct.dropBySid[p.sid] = (this.acct.dropBySid[p.sid] ?? 0) + p.len;
      this.pool.put(p);
    }
    so.n.flushed += n;
    if (so.proto === PROTO.udp) this.acct.dropBytes += n;
    sbDropBytes(this.m, so, WHICH.rcv, n);
  }

  /** udp_output(): send one datagram from `so` (its bytes are already counted on the wire). */
  *udpOutput(so: Socket, p: Packet): KCode {
    yield this.m.spend(this.m.cost.udpOutput);
    p.flow = so.flow;
    p.sport = so.lport;
    p.dport = so.fport;
    p.hash = so.flowid;
    yield* this.ipOutput(so.outIf, p);
  }

  /** ip_output() and the interface output. */
  *ipOutput(ifidx: number, p: Packet): KCode {
    const m = this.m;
    yield m.spend(m.cost.ipOutput);
    m.emit(KIND.ipOutput, p.id, p.flow, p.proto, p.len);
    const ifp = this.ifs[ifidx];
    if (ifp.loopback) {
      // looutput(): the packet comes back in through the loopback ifiq.
      yield m.spend(m.cost.ifOutput);
      ifp.one[0] = p;
      yield* this.ifiqInput(ifp.ifiqs[0], ifp.one);
      ifp.one.length = 0;
      return;
    }
    // if_enqueue_ifq() (if.c 1.741): priq_idx picks the send queue by ph_flowid.
    const ifq = ifp.ifqs[(p.hash & M_FLOWID_MASK) % ifp.ifqs.length];
    yield* ifqEnqueue(ifq.owner, ifq, p);
  }

  /** in_pcbdetach(): drop the PCB's socket reference. */
  pcbDetach(so: Socket): void {
    if (!so.pcbAttached) return;
    so.pcbAttached = false;
    const key = pcbKey(so.lport, so.fport);
    if (this.pcbs.get(key) === so) this.pcbs.delete(key);
    if (so.tcp?.rexmt) this.tos.del(so.tcp.rexmt);
    this.sorele(so);
  }

  /** sorele(): drop a reference; the last one flushes the buffers (sofree) and frees the socket. */
  sorele(so: Socket): void {
    if (!so.obj.freed && so.obj.refs === 1) {
      this.sbFlushRcv(so);
      if (so.snd.cc > 0) {
        so.n.sndFlushed += so.snd.cc;
        sbDropBytes(this.m, so, WHICH.snd, so.snd.cc);
      }
    }
    this.m.rele(so.obj);
  }

  /**
   * timeout_set_flags(..., TIMEOUT_PROC): a timeout whose handler runs in
   * process context (OpenBSD's softclock thread), so it may take NET_LOCK
   * and socket locks; the splice idle timeout and the TCP timers are such.
   * The softclock handler only queues the work on that thread.
   */
  procTimeout(name: string, fn: () => KCode): Timeout {
    const task = taskSet(this.m, name, fn, null);
    return this.tos.set(name, (t) => this.#procKick(t as Task), task);
  }

  *#procKick(task: Task): KCode {
    if (this.#procTq === null) this.#procTq = taskqCreate(this.m, "softclock", 1);
    yield* taskAdd(this.m, this.#procTq, task);
  }

  /** timeout_del_barrier() of a process-context timeout: also waits for its queued or running handler. */
  *procTimeoutDelBarrier(to: Timeout): Generator<number, void, number> {
    yield* this.tos.delBarrier(to);
    if (this.#procTq !== null) yield* taskqDelBarrier(this.m, this.#procTq, to.arg as Task);
  }

  /** The sosplice task queue (created lazily, reference section 2). */
  spliceTq(): Taskq {
    if (this.sospliceTq === null) this.sospliceTq = taskqCreate(this.m, "sosplice", 1);
    return this.sospliceTq;
  }

  /** Adds a splice-latency sample. */
  latSample(ns: number): void {
    this.spliceLat.record(ns);
  }
}
