/**
 * A NetBSD TCP socket with the seed's field locking key: which lock object
 * serves each role depends on the locking variant (locking.ts). In the
 * `softnet` and `socket-mutex` variants several roles are one mutex; the
 * {@link Held} helper then counts the nesting instead of taking it twice.
 * @module
 */
import type { Machine } from "../machine.ts";
import { Chan, type KCode, KObj, type Lock, MODE } from "../objects.ts";
import { KIND } from "../schema.ts";
import { NB_CLASS, type NbVariant } from "./locking.ts";

/** so_state bits used here (sys/socketvar.h SS_*; TCPS_* collapsed). */
export const SS = {
  synReceived: 1,
  connected: 2,
  disconnecting: 4,
  cantRcvMore: 8,
  reset: 16,
  closed: 32,
} as const;

/** One socket (struct socket, with its inpcb and both sockbufs). */
export class NbSocket extends KObj {
  /** (a) SS bits. */
  state = 0;
  /** SOCK_IO: sblock() of the send side (sleepable I/O serialisation). */
  readonly ioSnd: Lock;
  /** SOCK_IO: sblock() of the receive side. */
  readonly ioRcv: Lock;
  /** SOCK_LOCK: so->so_lock. */
  readonly sock: Lock;
  /** INP_WLOCK / INP_RLOCK: the inpcb rwlock. */
  readonly inp: Lock;
  /** SOLISTEN_LOCK: so_accept_lock (so_q, so_q0, so_qlen, so_q0len, so_qlimit, so_head, so_onq). */
  readonly accept: Lock;
  /** SOCKBUF_LOCK of so_snd. */
  readonly sbSnd: Lock;
  /** SOCKBUF_LOCK of so_rcv. */
  readonly sbRcv: Lock;
  /** SONOTIFY_LOCK: so_notify_lock, interlock of so_cv. */
  readonly notify: Lock;
  /** (n) so_cv: connect/accept/close waits. */
  readonly cv: Chan;
  /** (b) sb_cv of each buffer (sbwait). */
  readonly cvSnd: Chan;
  readonly cvRcv: Chan;
  /** (l) partial connections, then complete ones. */
  readonly q0: NbSocket[] = [];
  readonly q: NbSocket[] = [];
  /** (l) so_qlimit. */
  qlimit = 0;
  /** (l) so_head. */
  head: NbSocket | null = null;
  /** (b) bytes in so_snd (unacknowledged included) and so_rcv. */
  sndCc = 0;
  rcvCc = 0;
  /** (i) bytes sent and not yet acknowledged. */
  inflight = 0;
  /** (i) bytes acknowledged by the peer (the throughput count). */
  ackedBytes = 0;
  /** The peer streams to us (iperf3 client): segments in flight from it, and stalled on a full so_rcv. */
  peerStreams = false;
  peerInflight = 0;
  peerStalled = false;
  /** Bytes the application received. */
  rcvdBytes = 0;
  /**
   * Byte accounting of the peer's data and ACKs (what a dropped segment
   * changes; tcp.ts's `conservation`): data bytes the peer sent (once each),
   * on their way to us (retransmissions included), behind a hole in the
   * reassembly queue and the number of holes, and discarded on a reset or
   * closed socket; ACKed bytes on their way to us, and acknowledged by an
   * ACK the NIC dropped (the next ACK covers them: ACKs are cumulative).
   */
  peerSent = 0;
  inFlightIn = 0;
  reassBytes = 0;
  reassHoles = 0;
  discardedBytes = 0;
  ackInFlight = 0;
  ackLost = 0;
  /** Time the SYN arrived (accept latency). */
  synNs = 0;
  /** Number of the connection at the peer (0-based; -1 for a listen socket). */
  readonly conn: number;

  constructor(m: Machine, name: string, conn: number, variant: NbVariant, giant: Lock | null) {
    super(m.newId(), name);
    m.emit(KIND.objName, this.id, m.str(name));
    this.conn = conn;
    this.ioSnd = m.newLock(NB_CLASS.io, "adaptive");
    this.ioRcv = m.newLock(NB_CLASS.io, "adaptive");
    if (variant === "softnet" || variant === "socket-mutex") {
      // Today's code: so_lock is softnet_lock; the first attempt: one mutex per socket.
      const one = giant ?? m.newLock(NB_CLASS.sock, "adaptive");
      this.sock =
        this.inp =
        this.accept =
        this.sbSnd =
        this.sbRcv =
        this.notify =
          one;
    } else {
      this.sock = m.newLock(NB_CLASS.sock, "adaptive");
      this.inp = m.newLock(NB_CLASS.inp, "rwlock");
      this.accept = m.newLock(NB_CLASS.listen, "adaptive");
      this.sbSnd = m.newLock(NB_CLASS.sb, "adaptive");
      this.sbRcv = m.newLock(NB_CLASS.sb, "adaptive");
      this.notify = m.newLock(NB_CLASS.notify, "adaptive");
    }
    this.cv = new Chan(m.newId(), `${name}.so_cv`);
    this.cvSnd = new Chan(m.newId(), `${name}.so_snd`);
    this.cvRcv = new Chan(m.newId(), `${name}.so_rcv`);
  }
}

/**
 * Takes and drops role locks, counting nesting when two roles are one mutex
 * (the collapsed variants), so code is written once for every variant.
 */
export class Held {
  readonly #m: Machine;
  readonly #depth = new Map<Lock, number>();

  constructor(m: Machine) {
    this.#m = m;
  }

  /** Takes `l` (an rwlock in `mode`) unless the current thread already holds it as another role. */
  *enter(l: Lock, mode: number = MODE.excl): KCode {
    if (l.owner === this.#m.cur) {
      this.#depth.set(l, (this.#depth.get(l) ?? 0) + 1);
      return;
    }
    yield this.#m.lock(l, mode);
  }

  /** Drops one role of `l`. */
  exit(l: Lock): void {
    const d = this.#depth.get(l) ?? 0;
    if (d > 0) this.#depth.set(l, d - 1);
    else this.#m.unlock(l);
  }

  /** True when `l` is held by the current thread only once (safe as a cv interlock). */
  heldOnce(l: Lock): boolean {
    return (l.owner === this.#m.cur) && (this.#depth.get(l) ?? 0) === 0;
  }
}
