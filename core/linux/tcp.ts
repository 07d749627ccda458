/**
 * Linux TCP between two local sockets (torvalds/linux v6.15):
 *
 * - net/core/sock.c `lock_sock_nested` / `release_sock` / `__release_sock`:
 *   the socket is "owned by user" while a task is in tcp_sendmsg or
 *   tcp_recvmsg; `sk_lock.slock` (a BH spinlock) guards the owned bit and
 *   the backlog. A segment arriving in softirq while the socket is owned goes
 *   to `sk_backlog` (`sk_add_backlog` in net/ipv4/tcp_ipv4.c `tcp_v4_rcv`),
 *   and `release_sock` processes it in the owner's context.
 * - net/ipv4/tcp.c `tcp_sendmsg_locked`: copy into the tail skb up to the
 *   size goal (`tcp_xmit_size_goal`: the GSO size rounded to MSS), wait for
 *   send-buffer memory (`sk_stream_wait_memory`), push when an skb is full
 *   and at the end (`tcp_push`); net/ipv4/tcp_output.c `tcp_write_xmit` with
 *   the receive window and Nagle as Minshall's variant (`tcp_nagle_check`,
 *   `tcp_minshall_check`).
 *   `tcp_tso_should_defer` never defers here: with the large window and cwnd of a local transfer a
 *   full-sized TSO skb can always be sent ("If a full-sized TSO skb can be sent, do it").
 * - net/ipv4/tcp.c `tcp_recvmsg_locked` (tcp_recvmsg.ts): copy from sk_receive_queue, target
 *   SO_RCVLOWAT (1); with bytes copied and a non-empty backlog it
 *   release_sock/lock_sock to pick them up; otherwise `sk_wait_data`;
 *   `tcp_cleanup_rbuf` ACKs a full frame or a window that doubled.
 * - net/ipv4/tcp_input.c `tcp_rcv_established`: ACK processing
 *   (`tcp_ack`, `tcp_data_snd_check`), `tcp_queue_rcv`, `sk_data_ready`
 *   (`sock_def_readable`: wake_up_interruptible_sync_poll when the wait
 *   queue is active), `__tcp_ack_snd_check` (more than one full frame
 *   unacknowledged: ACK now; else the delayed ACK, piggybacked on data).
 *   `tcp_reset` sets sk_err and closes.
 *
 * Not modelled: loss and retransmission (loopback and veth do not lose),
 * the delayed-ACK timer (every workload here sends data back or reads enough
 * to ACK), congestion control (cwnd never limits local transfers), TSQ
 * (loopback_xmit orphans the skb at once).
 * @module
 */
import { streamCheck } from "../detect/mod.ts";
import type { KCode } from "../objects.ts";
import { devQueueXmit, skbAlloc, skbFree } from "./netdev.ts";
import type { OffsetRuns } from "./ring.ts";
import { measureRcvMss } from "./rcv_mss.ts";
import { type LinuxNet, type LinuxSock, SHUT, type Skb, SKB_SITE, TH } from "./types.ts";

/** ECONNRESET, EPIPE (negative returns). */
export const ECONNRESET = 104;
export const EPIPE = 32;

/** GSO_MAX_SIZE / tcp_xmit_size_goal's ceiling (64 KiB). */
export const GSO_MAX_BYTES = 65536;

/** The size goal of one skb: the GSO size rounded down to whole MSS. */
export function sizeGoal(mss: number): number {
  return Math.max(mss, Math.floor(GSO_MAX_BYTES / mss) * mss);
}

/** Copy cost of `n` bytes between user and kernel (copy_from_iter / copy_to_iter). */
export function copyNs(net: LinuxNet, n: number): number {
  return Math.round((n * net.m.cost.lxCopyPerKb) / 1024);
}

/**
 * Hands `n` bytes leaving `runs` (in order) to the stream detector, piece by
 * piece: the ordering invariant is checked on every byte a reader receives.
 */
export function reportOffsets(net: LinuxNet, sk: LinuxSock, runs: OffsetRuns, n: number): void {
  let left = n;
  while (left > 0) {
    const k = Math.min(left, runs.headLen());
    streamCheck(net.m, sk.flow, runs.headOffset(), k);
    runs.take(k, noop);
    left -= k;
  }
}

function noop(): void {}

/** Page-fragment cost of `n` bytes of TCP payload on one side. */
export function pageNs(net: LinuxNet, n: number): number {
  return Math.round((n * net.m.cost.lxPageFrag) / 4096);
}

/** lock_sock(): take the owned bit, sleeping on sk_lock.wq while another task owns it. */
export function* lockSock(net: LinuxNet, sk: LinuxSock): KCode {
  const m = net.m;
  yield m.lock(sk.slock);
  while (sk.owned !== null) {
    yield m.sleep(sk.lockWq, sk.slock);
    yield m.lock(sk.slock);
  }
  sk.owned = m.cur;
  m.unlock(sk.slock);
  yield m.spend(m.cost.lxLockSock);
}

/** release_sock(): process the backlog in the owner's context (__release_sock), then drop ownership. */
export function* releaseSock(net: LinuxNet, sk: LinuxSock): KCode {
  const m = net.m;
  yield m.lock(sk.slock);
  while (!sk.backlog.empty()) {
    // __release_sock: take the whole list, drop the spinlock, run sk_backlog_rcv on each.
    m.unlock(sk.slock);
    for (let skb = sk.backlog.shift(); skb !== null; skb = sk.backlog.shift()) {
      yield m.spend(m.cost.lxBacklogRcv);
      yield* tcpRcvEstablished(net, sk, skb);
    }
    yield m.lock(sk.slock);
  }
  sk.owned = null;
  if (m.hasSleepers(sk.lockWq)) m.wakeupOne(sk.lockWq);
  m.unlock(sk.slock);
  if (sk.delackDeferred) {
    // tcp_release_cb: the delayed-ACK timer fired while we owned the socket.
    sk.delackDeferred = false;
    if (sk.delackPending) yield* tcpSendAck(net, sk);
  }
}

/** tcp_v4_rcv() for a segment addressed to `skb.dst`, in softirq. */
export function* tcpV4Rcv(net: LinuxNet, skb: Skb): KCode {
  const m = net.m;
  const sk = skb.dst as LinuxSock;
  yield m.spend(m.cost.lxTcpV4Rcv);
  yield m.lock(sk.slock); // bh_lock_sock_nested
  if (sk.owned !== null) {
    sk.backlogged++;
    sk.backlog.push(skb); // sk_add_backlog
    m.unlock(sk.slock);
    return;
  }
  yield* tcpRcvEstablished(net, sk, skb);
  m.unlock(sk.slock);
}

/** tcp_rcv_established(): ACK, data, RST. */
export function* tcpRcvEstablished(net: LinuxNet, sk: LinuxSock, skb: Skb): KCode {
  const m = net.m;
  sk.segsIn++;
  if ((skb.flags & TH.rst) !== 0) {
    skbFree(net, skb);
    yield* tcpReset(net, sk);
    return;
  }
  if ((skb.flags & TH.ack) !== 0 && (skb.ack > sk.sndUna || skb.wndRight > sk.sndWndRight)) {
    // tcp_ack(): clean the acknowledged bytes, take the new window, tcp_new_space → sk_write_space.
    yield m.spend(m.cost.lxTcpAck);
    if (skb.ack > sk.sndUna) sk.sndUna = skb.ack;
    if (skb.wndRight > sk.sndWndRight) sk.sndWndRight = skb.wndRight;
    // tcp_check_space: sk_write_space only for a writer that ran out of memory (SOCK_NOSPACE).
    if (sk.nospace && sndQueued(sk) < net.opt.sndbufBytes) {
      sk.nospace = false;
      if (m.hasSleepers(sk.wq)) {
        m.wakeup(sk.wq);
        yield m.spend(m.cost.lxWakeUp);
      }
    }
    yield* tcpWriteXmit(net, sk); // tcp_data_snd_check
  }
  if (skb.len === 0 && (skb.flags & TH.fin) === 0) {
    skbFree(net, skb);
    return;
  }
  if (skb.seq < sk.rcvNxt) {
    throw new Error(`${sk.name}: segment at ${skb.seq} below rcv_nxt ${sk.rcvNxt} (no retransmission here)`);
  }
  if (skb.seq > sk.rcvNxt) {
    // tcp_data_queue → tcp_data_queue_ofo: a segment beyond a hole, held in sequence order until the hole
    // fills. Loopback and veth deliver on the transmitting CPU's backlog, so segments of one flow sent from
    // two CPUs (tcp_sendmsg on the writer's, tcp_data_snd_check in an ACK's softirq on the reader's) can pass
    // each other when one backlog waits (a softirq left to ksoftirqd). __tcp_ack_snd_check ACKs at once with
    // out-of-order data (a duplicate ACK). The model's sender has no loss recovery, so it does not
    // retransmit on it; RACK's reordering window (min_rtt / 4) would hold a spurious retransmit off as well.
    yield m.spend(m.cost.lxTcpRcvData);
    sk.ofoQueue.insertBySeq(skb);
    sk.ofoSegs++;
    yield* tcpSendAck(net, sk);
    return;
  }
  yield m.spend(m.cost.lxTcpRcvData);
  if (skb.len > 0) {
    // tcp_event_data_recv: inet_csk_schedule_ack, tcp_measure_rcv_mss, lrcvtime.
    measureRcvMss(net, sk, skb);
    sk.lrcvNs = m.nowNs;
  }
  queueRcv(net, sk, skb);
  // tcp_ofo_queue: segments the hole was holding back follow; a filled hole is ACKed at once (ICSK_ACK_NOW,
  // RFC 5681 4.2).
  let holeFilled = false;
  while (sk.ofoQueue.head !== null && sk.ofoQueue.head.seq === sk.rcvNxt) {
    queueRcv(net, sk, sk.ofoQueue.shift() as Skb);
    holeFilled = sk.ofoQueue.empty();
  }
  // sk_data_ready = sock_def_readable: wake only if the wait queue is active.
  if (m.hasSleepers(sk.wq)) {
    m.wakeup(sk.wq);
    yield m.spend(m.cost.lxWakeUp);
  }
  // __tcp_ack_snd_check: more than one full frame (rcv_mss) unacknowledged, or quickack mode → ACK now;
  // otherwise tcp_send_delayed_ack (the ACK rides on the next data segment, or the timer sends it).
  if (holeFilled || sk.rcvNxt - sk.rcvWup > sk.rcvMss || (sk.quickAcks > 0 && !sk.pingpong)) {
    if (sk.quickAcks > 0) sk.quickAcks--;
    yield* tcpSendAck(net, sk);
  } else if (!sk.delackPending && skb.len > 0) {
    delackArm(net, sk);
  }
}

/** tcp_queue_rcv (and tcp_fin): an in-order segment joins the receive queue. */
function queueRcv(net: LinuxNet, sk: LinuxSock, skb: Skb): void {
  sk.rcvNxt += skb.len;
  if ((skb.flags & TH.fin) !== 0) sk.shutdown |= SHUT.rcv; // tcp_fin
  if (skb.len > 0) sk.rcvQueue.push(skb);
  else skbFree(net, skb);
}

/** Initial receive window (TCP_INIT_CWND * MSS rounded, tcp_select_initial_window: 64 KiB). */
export const INITIAL_RCV_WND = 65535;
/** TCP_DELACK_MIN (HZ/25): the delayed-ACK timeout the model uses (ato adaptation not modelled). */
export const DELACK_NS = 40_000_000;

/** Sets up the delayed-ACK timer's soft interrupt (TIMER_SOFTIRQ → tcp_delack_timer). */
export function delackInit(net: LinuxNet): void {
  const m = net.m;
  net.delackSi = m.softintEstablish("clock", "TIMER(tcp_delack)", () => delackTimer(net), net);
}

function delackArm(net: LinuxNet, sk: LinuxSock, afterNs = DELACK_NS): void {
  const m = net.m;
  sk.delackPending = true;
  sk.delackAtNs = m.nowNs + afterNs;
  sk.delackCpu = m.curCpu.id;
  // sk_reset_timer: one timer per socket in the heap; one that fires early re-arms itself (mod_timer).
  if (!sk.delackTimerArmed) {
    sk.delackTimerArmed = true;
    m.atCall(sk.delackAtNs, delackTarget, sk);
  }
}

/** The timer wheel's side of the delayed-ACK timer: no closure per arm. */
const delackTarget = {
  onTimer(arg: unknown): void {
    const sk = arg as LinuxSock;
    const net = sk.net as LinuxNet;
    const m = net.m;
    sk.delackTimerArmed = false;
    if (!sk.delackPending || sk.closed) return;
    if (sk.delackAtNs > m.nowNs) {
      sk.delackTimerArmed = true;
      m.atCall(sk.delackAtNs, delackTarget, sk);
      return;
    }
    m.postInterrupt(sk.delackCpu, sk.wq, delackIrq, net);
  },
};

// deno-lint-ignore require-yield
function* delackIrq(arg: unknown): KCode {
  const net = arg as LinuxNet;
  net.m.softintSchedule(net.delackSi as NonNullable<typeof net.delackSi>);
}

/** tcp_delack_timer: ACK every socket whose delayed ACK is due; defer to release_sock if it is owned. */
function* delackTimer(net: LinuxNet): KCode {
  const m = net.m;
  for (const sk of net.socks) {
    if (!sk.delackPending || sk.delackAtNs > m.nowNs || sk.closed) continue;
    yield m.lock(sk.slock);
    if (sk.owned !== null) {
      sk.delackDeferred = true;
      m.unlock(sk.slock);
      continue;
    }
    sk.pingpong = false; // tcp_delack_timer_handler: "Delayed ACK missed: leave pingpong mode"
    yield* tcpSendAck(net, sk);
    m.unlock(sk.slock);
  }
}

/** tcp_reset(): ECONNRESET, both directions shut, the socket closes (unhash → psock drop → unpair). */
export function* tcpReset(net: LinuxNet, sk: LinuxSock): KCode {
  const m = net.m;
  sk.err = ECONNRESET;
  sk.shutdown = SHUT.rcv | SHUT.send;
  sk.closed = true;
  m.wakeup(sk.wq);
  yield m.spend(m.cost.lxWakeUp);
  if (net.onClose !== null) yield* net.onClose(net, sk);
}

/** Fills the ACK fields of an outgoing segment (every segment carries one). */
function stampAck(net: LinuxNet, sk: LinuxSock, skb: Skb): void {
  skb.flags |= TH.ack;
  skb.ack = sk.rcvNxt;
  skb.wndRight = sk.copiedSeq + net.opt.rcvbufBytes;
  sk.rcvWup = sk.rcvNxt;
  sk.advRight = skb.wndRight;
  // tcp_event_ack_sent → inet_csk_clear_xmit_timer(ICSK_TIME_DACK): icsk_ack.pending (PUSHED bits too) cleared.
  sk.delackPending = false;
  sk.ackPushed = 0;
}

/** TCP_DELACK_MAX (HZ/5): where __tcp_send_ack re-arms the delayed-ACK timer when its skb cannot be had. */
export const DELACK_MAX_NS = 200_000_000;

/** tcp_send_ack(): a pure ACK down the transport. */
export function* tcpSendAck(net: LinuxNet, sk: LinuxSock): KCode {
  const m = net.m;
  if (net.skbFail !== null && net.skbFail(SKB_SITE.tcpSendAck, sk.flow) > 0) {
    // __tcp_send_ack: alloc_skb(GFP_ATOMIC) failed → inet_csk_schedule_ack and the delayed-ACK timer
    // re-armed at TCP_DELACK_MAX: the ACK is retried from the timer (or rides on the next data segment).
    net.skbFails[SKB_SITE.tcpSendAck]++;
    sk.delackPending = false;
    delackArm(net, sk, DELACK_MAX_NS);
    return;
  }
  const skb = skbAlloc(net);
  skb.dst = sk.peer;
  skb.seq = sk.sndNxt;
  stampAck(net, sk, skb);
  sk.acksOut++;
  yield m.spend(m.cost.lxTcpXmit);
  yield* devQueueXmit(net, skb);
}

/**
 * tcp_send_fin(): the FIN goes after every queued byte, and the queue is
 * pushed with Nagle off (__tcp_push_pending_frames(..., TCP_NAGLE_OFF)).
 */
export function* tcpSendFin(net: LinuxNet, sk: LinuxSock): KCode {
  sk.finQueued = true;
  yield* tcpWriteXmit(net, sk);
}

/** Sends a control segment (FIN or RST) at snd_nxt. */
export function* tcpSendCtl(net: LinuxNet, sk: LinuxSock, flags: number): KCode {
  const m = net.m;
  const skb = skbAlloc(net);
  skb.dst = sk.peer;
  skb.seq = sk.sndNxt;
  skb.flags = flags;
  stampAck(net, sk, skb);
  yield m.spend(m.cost.lxTcpXmit);
  yield* devQueueXmit(net, skb);
}

/**
 * tcp_write_xmit(): send write-queue skbs the window and Nagle (Minshall) allow;
 * `push` (TCP_NAGLE_PUSH, from tcp_push before a wait for memory) sends a small tail anyway.
 */
export function* tcpWriteXmit(net: LinuxNet, sk: LinuxSock, push = false): KCode {
  const m = net.m;
  for (;;) {
    const skb = sk.writeQueue.head;
    if (sk.xmitBusy) return;
    if (skb === null) {
      if (sk.finQueued && !sk.finSent) {
        sk.finSent = true;
        yield* tcpSendCtl(net, sk, TH.fin);
      }
      return;
    }
    if (sk.sndNxt + skb.len > sk.sndWndRight) return; // receive window full (tcp_snd_wnd_test)
    const partial = skb.len < net.mss;
    // tcp_nagle_check with tcp_minshall_check: hold a small segment while a small one is unacknowledged,
    // unless it is not the last (the application is still filling it: pushed when full or at tcp_push).
    if (partial && !push && !net.opt.nodelay && !sk.finQueued && sk.sndSml > sk.sndUna) return;
    sk.writeQueue.shift();
    skb.dst = sk.peer;
    skb.seq = sk.sndNxt;
    sk.sndNxt += skb.len;
    if (partial) sk.sndSml = sk.sndNxt;
    // tcp_event_data_sent: a reply within ato of the last data received → interactive (pingpong) mode
    // (sysctl tcp_pingpong_thresh 1); ato taken as its TCP_ATO_MIN start, DELACK_NS.
    if (sk.lrcvNs >= 0 && m.nowNs - sk.lrcvNs < DELACK_NS) sk.pingpong = true;
    stampAck(net, sk, skb);
    sk.segsOut++;
    if (net.opt.transport === "container") net.gsoSegs += Math.ceil(skb.len / net.mss);
    // tcp_write_xmit is not reentered while a segment is on its way down (the socket is owned or
    // bh-locked); a softirq ACK that arrives meanwhile sends nothing itself.
    sk.xmitBusy = true;
    yield m.spend(m.cost.lxTcpXmit);
    yield* devQueueXmit(net, skb);
    sk.xmitBusy = false;
  }
}

/** Bytes the socket holds against its send buffer: unacknowledged plus unsent. */
function sndQueued(sk: LinuxSock): number {
  return sk.sndNxt - sk.sndUna + sk.writeQueue.bytes;
}

/**
 * tcp_sendmsg(): queue `len` bytes (stream offsets from sk.appSent) and push
 * them. Returns `len`, or a negative errno.
 */
export function* tcpSendmsg(net: LinuxNet, sk: LinuxSock, len: number): Generator<number, number, number> {
  const m = net.m;
  yield* lockSock(net, sk);
  const goal = sizeGoal(net.mss);
  let left = len;
  while (left > 0) {
    if (sk.err !== 0 || (sk.shutdown & SHUT.send) !== 0) {
      yield* releaseSock(net, sk);
      return len - left > 0 ? len - left : -(sk.err !== 0 ? sk.err : EPIPE);
    }
    const tail = sk.writeQueue.tail;
    let room = 0;
    if (tail !== null && tail.len < goal) room = goal - tail.len;
    if (room === 0 && sndQueued(sk) >= net.opt.sndbufBytes) {
      // sk_stream_wait_memory: push what is queued, release the socket, wait for sk_write_space.
      sk.nospace = true; // SOCK_NOSPACE: the next ACK that frees memory wakes us
      yield* tcpWriteXmit(net, sk);
      yield* releaseSock(net, sk);
      if (sndQueued(sk) >= net.opt.sndbufBytes && sk.err === 0) yield m.sleep(sk.wq);
      yield* lockSock(net, sk);
      continue;
    }
    if (room === 0 && net.skbFail !== null) {
      const vmWaitNs = net.skbFail(SKB_SITE.tcpSendmsg, sk.flow);
      if (vmWaitNs > 0) {
        // tcp_stream_alloc_skb returned NULL → wait_for_space: SOCK_NOSPACE, tcp_push(TCP_NAGLE_PUSH), then
        // sk_stream_wait_memory (net/core/stream.c). Send memory is free (the failure was the allocator's),
        // so it sleeps vm_wait = get_random_u32_below(HZ / 5) + 2 jiffies unless a wakeup on the socket's
        // wait queue ends it first, and tries again.
        net.skbFails[SKB_SITE.tcpSendmsg]++;
        sk.nospace = true;
        yield* tcpWriteXmit(net, sk, true);
        yield* releaseSock(net, sk);
        if (sk.err === 0) yield m.sleep(sk.wq, null, vmWaitNs);
        yield* lockSock(net, sk);
        continue;
      }
    }
    let skb = tail as Skb;
    // The first copy of a call into the old tail clears its PSH (tcp_sendmsg_locked: !copied).
    if (room > 0 && left === len) skb.flags &= ~TH.psh;
    if (room === 0) {
      skb = skbAlloc(net);
      sk.writeQueue.push(skb);
      room = goal;
      yield m.spend(m.cost.lxSkbAlloc);
    }
    const n = Math.min(left, room);
    yield m.spend(copyNs(net, n) + pageNs(net, n));
    skb.len += n;
    sk.writeQueue.bytes += n;
    sk.tcpOffsets.push(sk.appSent, n);
    sk.appSent += n;
    sk.tcpBytesOut += n;
    left -= n;
    if (skb.len >= goal) yield* tcpWriteXmit(net, sk); // forced push of a full skb
  }
  // tcp_push: tcp_mark_push on the tail (no MSG_MORE), then __tcp_push_pending_frames. tcp_should_autocork
  // never holds here: it needs a transmitted skb still charged to sk_wmem_alloc, and loopback_xmit orphans
  // it at once (drivers/net/loopback.c skb_orphan), veth's at ip_rcv_core in the softirq this task runs at
  // its own local_bh_enable before tcp_push is reached again.
  const tail = sk.writeQueue.tail;
  if (tail !== null) tail.flags |= TH.psh;
  yield* tcpWriteXmit(net, sk);
  yield* releaseSock(net, sk);
  return len;
}
