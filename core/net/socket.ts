/**
 * Sockets and socket buffers (struct socket, struct sockbuf, struct
 * sosplice). A socket is a reference-counted machine object (type
 * "socket"): the file descriptor, the PCB, splice links and a queued splice
 * task each hold a reference, and the last `sorele` frees it, so a late
 * `soref` is reported as a use after free (reference section 2).
 *
 * Every change of a buffer's byte count goes through {@link sbAppendBytes}
 * or {@link sbDropBytes}, which emit `sb-append`/`sb-drop` with the new
 * count, so the replay side can rebuild `sb_cc` from the trace.
 * @module
 */
import type { Machine } from "../machine.ts";
import type { Chan, Lock, RefObj, Task, Taskq, Timeout } from "../objects.ts";
import { type EnumValues, KIND, SB_WHICH } from "../schema.ts";
import type { Packet } from "./packet.ts";

/** Socket buffer flags and states. */
export const SB = { SPLICE: 1, CANTMORE: 2 } as const;

/** ENUMS.sbWhich. */
export const WHICH: EnumValues<"sbWhich"> = SB_WHICH;

/** errno values used by the stack. */
export const ERR = {
  EPIPE: 32,
  EFBIG: 27,
  EINVAL: 22,
  EBUSY: 16,
  ENOTCONN: 57,
  ETIMEDOUT: 60,
  ECONNRESET: 54,
  EPROTONOSUPPORT: 43,
  ELOOP: 62,
  EPROTO: 71,
} as const;

/** TCP states (TCPS_* numbers of netinet/tcp_fsm.h, used in so-state). */
export const TCPS = {
  CLOSED: 0,
  LISTEN: 1,
  SYN_SENT: 2,
  SYN_RECEIVED: 3,
  ESTABLISHED: 4,
  CLOSE_WAIT: 5,
  FIN_WAIT_1: 6,
  CLOSING: 7,
  LAST_ACK: 8,
  FIN_WAIT_2: 9,
  TIME_WAIT: 10,
} as const;

/** struct sockbuf. `q` holds the records (packets) of a receive buffer. */
export class Sockbuf {
  cc = 0;
  hiwat: number;
  lowat: number;
  flags = 0;
  /** Records; for TCP so_snd only the byte count is kept. */
  readonly q: Packet[] = [];
  /** Head index into q (a ring-free queue: compacted when drained). */
  head = 0;
  /** Sleep channel for readers or writers. */
  readonly chan: Chan;
  constructor(hiwat: number, lowat: number, chan: Chan) {
    this.hiwat = hiwat;
    this.lowat = lowat;
    this.chan = chan;
  }
  /** sbspace(). */
  space(): number {
    return Math.max(0, this.hiwat - this.cc);
  }
  /** Records queued. */
  records(): number {
    return this.q.length - this.head;
  }
  /** First record or undefined. */
  first(): Packet | undefined {
    return this.head < this.q.length ? this.q[this.head] : undefined;
  }
  /** Removes the first record. */
  shift(): Packet {
    const p = this.q[this.head++];
    if (this.head === this.q.length) {
      this.q.length = 0;
      this.head = 0;
    }
    return p;
  }
}

/** TCP control block (struct tcpcb), the fields this model uses. */
export class TcpCb {
  state: number = TCPS.CLOSED;
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndMax = 0;
  sndWnd = 0;
  irs = 0;
  rcvNxt = 0;
  /** Highest sequence advertised to the peer (rcv_adv). */
  rcvAdv = 0;
  ackNow = false;
  /** Our FIN has been acknowledged. */
  finAcked = false;
  /** Retransmit timer and its backoff shift. */
  rexmt: Timeout | null = null;
  rxtShift = 0;
}

/** struct sosplice. */
export class SoSplice {
  /** Drain (ssp_socket) and source (ssp_soback). */
  socket: Socket | null = null;
  soback: Socket | null = null;
  len = 0;
  max = 0;
  idleNs = 0;
  idleTo: Timeout | null = null;
  task: Task | null = null;
  /** flowid-taskq: the softnet queue chosen on first use (ssp_queue). */
  queue: Taskq | null = null;
  /** netstack-queue: softnet index whose queue holds the socket, or -1 (ssp_qhead). */
  qhead: number = -1;
  /** Datagrams taken out of so_rcv by the running somove, not yet sent. */
  readonly out: Packet[] = [];
}

/** Counters kept for conservation checks (they outlive the socket). */
export class SoCounters {
  /** Bytes accepted into so_rcv (in sequence). */
  accepted = 0;
  /** Bytes moved out by somove. */
  moved = 0;
  /** Bytes appended to so_snd. */
  sndAppended = 0;
  /** Bytes discarded from so_rcv by sorflush at close. */
  flushed = 0;
  /** Bytes discarded from so_snd unacknowledged (sbrelease when the socket is freed). */
  sndFlushed = 0;
}

/** The locks of one socket (soalloc() in uipc_socket.c 1.385 initialises them). */
export interface SocketLocks {
  readonly lock: Lock;
  readonly rcvMtx: Lock;
  readonly sndMtx: Lock;
  readonly rcvSblock: Lock;
  readonly sndSblock: Lock;
}

/** struct socket. */
export class Socket {
  readonly obj: RefObj;
  readonly proto: number;
  readonly flow: number;
  /** inp_flowid: the Toeplitz hash of the connection. */
  flowid = 0;
  readonly rcv: Sockbuf;
  readonly snd: Sockbuf;
  /** solock (rwlock so_lock taken exclusive), so_rcv.sb_mtx ("sbrcv") and so_snd.sb_mtx ("sbsnd"). */
  readonly lock: Lock;
  readonly rcvMtx: Lock;
  readonly sndMtx: Lock;
  /** sblock(): the sleeping sockbuf locks so_rcv.sb_lock ("sbufrcv") and so_snd.sb_lock ("sbufsnd"). */
  readonly rcvSblock: Lock;
  readonly sndSblock: Lock;
  error = 0;
  sp: SoSplice | null = null;
  tcp: TcpCb | null = null;
  /** Interface index used for output (the route). */
  outIf = 0;
  lport = 0;
  fport = 0;
  /** The user closed the descriptor; the PCB is detached. */
  closed = false;
  pcbAttached = true;
  /** Stream id and offset of the last datagram soreceive returned (a userland relay writes them on). */
  readSid = -1;
  readOff = 0;
  /** Fault decisions that datagram carried (the stream detector's tags, written on with it). */
  readDupFault = 0;
  readReorderFault = 0;
  /** Last CPU that touched the socket (cache model). */
  lastCpu: number = -1;
  readonly n = new SoCounters();
  constructor(obj: RefObj, proto: number, flow: number, rcv: Sockbuf, snd: Sockbuf, locks: SocketLocks) {
    this.obj = obj;
    this.proto = proto;
    this.flow = flow;
    this.rcv = rcv;
    this.snd = snd;
    this.lock = locks.lock;
    this.rcvMtx = locks.rcvMtx;
    this.sndMtx = locks.sndMtx;
    this.rcvSblock = locks.rcvSblock;
    this.sndSblock = locks.sndSblock;
  }
  /** Object id. */
  get id(): number {
    return this.obj.id;
  }
  /** isspliced(): this socket is a splice source. */
  isSpliced(): boolean {
    return this.sp !== null && this.sp.socket !== null;
  }
  /** issplicedback(): this socket is a splice drain. */
  isSplicedBack(): boolean {
    return this.sp !== null && this.sp.soback !== null;
  }
}

/** Adds `bytes` to a buffer's count and emits sb-append. */
export function sbAppendBytes(m: Machine, so: Socket, which: number, bytes: number): void {
  const sb = which === WHICH.rcv ? so.rcv : so.snd;
  sb.cc += bytes;
  m.emit(KIND.sbAppend, so.id, which, bytes, sb.cc);
}

/** Removes `bytes` from a buffer's count and emits sb-drop. */
export function sbDropBytes(m: Machine, so: Socket, which: number, bytes: number): void {
  const sb = which === WHICH.rcv ? so.rcv : so.snd;
  sb.cc -= bytes;
  m.emit(KIND.sbDrop, so.id, which, bytes, sb.cc);
}
