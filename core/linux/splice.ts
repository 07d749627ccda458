/**
 * The series' data path (seed linux-tcp-bpf-loopback-splice-2026-06, patches
 * 1/5 and 2/5, net/ipv4/tcp_bpf.c):
 *
 * - `bpf_sock_splice_pair`: a sock_ops program pairs two established sockets;
 *   both rings are allocated then, so the data path never allocates.
 * - `tcp_bpf_splice_sendmsg` → `splice_send_ring`: per chunk, under RCU,
 *   check the peer (paired, ring present, own sk_err / SEND_SHUTDOWN clear,
 *   **peer sk_receive_queue empty**), take the ring's free space
 *   (`splice_ring_space`, refreshing the cached tail when it says full) and
 *   the ring's `percpu_ref` (`percpu_ref_tryget_live`), copy outside RCU,
 *   put the ref. Stop when the ring is full; the rest goes to
 *   `tcp_sendmsg`. Wake the peer once after the loop (`splice_wake_sync`).
 * - `tcp_bpf_recvmsg` → `tcp_bpf_splice_recvmsg`: read the ring first; if it
 *   is empty and sk_receive_queue holds data, return 0 so `tcp_recvmsg`
 *   drains it; EOF, error, pair gone: 0; else busy-poll the ring for the
 *   SO_BUSY_POLL budget (`splice_busy_loop`, patch 2/5) and park on the
 *   socket wait queue (`splice_recv_wait`) until `splice_recv_ready`.
 * - `tcp_bpf_splice_unpair` (from `sk_psock_drop`: close, or TCP_CLOSE after a
 *   RST through sock_map_unhash) clears both peers under both splice locks
 *   (taken in address order) and wakes both sides; `tcp_bpf_splice_destroy`
 *   (after the RCU grace period, sk_psock_destroy) kills the ring's
 *   percpu_ref, which frees the ring once no sender holds it.
 *
 * The ordering invariant (rcv_queue bytes are older than any ring bytes
 * drained with them) is checked by the stream detector: every byte the
 * receiver hands to user space, from the ring or the receive queue, is
 * reported with its stream offset.
 * @module
 */
import type { KCode } from "../objects.ts";
import { SpliceRing } from "./ring.ts";
import { copyNs, reportOffsets, tcpSendmsg } from "./tcp.ts";
import { tcpRecvmsg } from "./tcp_recvmsg.ts";
import { type LinuxNet, type LinuxSock, SHUT, type SpliceState } from "./types.ts";

/** Errors of bpf_sock_splice_pair. */
export const EEXIST = 17, EINVAL = 22;

/** bpf_sock_splice_pair(peer, skops): returns 0 or a negative errno. */
export function splicePair(net: LinuxNet, a: LinuxSock, b: LinuxSock): number {
  if (a === b || a.closed || b.closed) return -EINVAL; // splice_validate
  const sa = spliceGetOrAlloc(net, a), sb = spliceGetOrAlloc(net, b);
  if (sa.peer !== null || sb.peer !== null) return -EEXIST;
  sa.peer = b;
  sb.peer = a;
  return 0;
}

function spliceGetOrAlloc(net: LinuxNet, sk: LinuxSock): SpliceState {
  if (sk.splice !== null) return sk.splice;
  const m = net.m;
  sk.splice = {
    peer: null,
    ring: new SpliceRing(net.opt.ringBytes),
    lock: m.newLock("sk_psock_splice.lock", "spin"),
    ringRef: m.alloc("splice_ring", 1),
    refKilled: false,
  };
  return sk.splice;
}

/** sk_psock_is_spliced(). */
export function isSpliced(sk: LinuxSock): boolean {
  return sk.splice !== null && sk.splice.peer !== null;
}

/** Why a send chunk did not take the ring (counted per socket, for the fallback tests). */
export const FALLBACK = { none: 0, unpaired: 1, error: 2, peerRcvq: 3, ringFull: 4, refDead: 5, inflight: 6 } as const;

/** The result of {@link sendDecision}: why not the ring, or the ring's free space (reused, no allocation). */
export const decision = { reason: 0, space: 0 };

/**
 * The ring-or-TCP decision of splice_send_ring for the next chunk, without
 * side effects other than the cached-tail refresh splice_ring_space does.
 * Fills {@link decision} (FALLBACK.none and the space, or the reason) and returns it.
 */
export function sendDecision(net: LinuxNet, sk: LinuxSock): typeof decision {
  decision.reason = decide(net, sk);
  if (decision.reason !== FALLBACK.none) decision.space = 0;
  return decision;
}

function decide(net: LinuxNet, sk: LinuxSock): number {
  const self = sk.splice;
  const peer = self === null ? null : self.peer;
  if (peer === null || peer.splice === null) return FALLBACK.unpaired;
  const ps = peer.splice;
  if (sk.err !== 0 || (sk.shutdown & SHUT.send) !== 0) return FALLBACK.error;
  if (net.opt.sendCheck !== "none" && !peer.rcvQueue.empty()) return FALLBACK.peerRcvq;
  if (net.opt.sendCheck === "inflight" && (!sk.writeQueue.empty() || sk.sndNxt !== peer.rcvNxt)) {
    // The proposed fix: no TCP byte of ours is unsent, in flight, or in the peer's socket backlog.
    return FALLBACK.inflight;
  }
  decision.space = ps.ring.space();
  if (decision.space === 0) return FALLBACK.ringFull;
  if (ps.refKilled || ps.ringRef.freed) return FALLBACK.refDead;
  return FALLBACK.none;
}

/** splice_send_ring(): bytes written into the peer's ring (0 when the whole message falls back). */
function* spliceSendRing(net: LinuxNet, sk: LinuxSock, size: number): Generator<number, number, number> {
  const m = net.m;
  let total = 0;
  yield m.spend(m.cost.lxSpliceSend);
  while (size > 0) {
    const d = sendDecision(net, sk);
    if (d.reason !== FALLBACK.none) {
      if (d.reason >= FALLBACK.peerRcvq) sk.fallbacks++;
      break;
    }
    const space = d.space;
    const ps = (sk.splice as SpliceState).peer?.splice as SpliceState;
    if (net.opt.ringRef) m.ref(ps.ringRef); // percpu_ref_tryget_live: the ring stays alive across the copy
    const want = Math.min(size, space);
    // copy_from_iter into ring_buf at head (may fault: a preemption point), then smp_store_release(head).
    yield m.spend(copyNs(net, want));
    if (m.touch(ps.ringRef, "splice_ring_write")) {
      if (net.opt.ringRef) m.rele(ps.ringRef);
      break;
    }
    // smp_store_release(&ring_head): when the reader loaded ring_head since our last store, its line is in the
    // reader's cache and the store waits for it to come back (an RFO) before it is visible; splice_wake_sync's
    // smp_mb() below would wait for it anyway. One cursor-line transfer on this CPU's time.
    if (ps.ring.headShared) yield m.spend(m.cost.lxRingLine);
    const done = ps.ring.write(want, sk.appSent);
    sk.appSent += done;
    sk.ringBytesOut += done;
    if (net.opt.ringRef && m.rele(ps.ringRef)) ps.ring.reset(); // percpu_ref_put; the last one frees
    if (done === 0) break;
    total += done;
    size -= done;
  }
  if (total > 0) {
    // splice_wake_sync: smp_mb, then wake_up_interruptible_sync_poll if the wait queue is active.
    const peer = (sk.splice as SpliceState).peer;
    if (peer !== null && m.hasSleepers(peer.wq)) {
      m.wakeup(peer.wq);
      yield m.spend(m.cost.lxWakeUp);
    }
  }
  return total;
}

/** tcp_bpf_splice_sendmsg(): the ring first, the rest through tcp_sendmsg. Returns bytes sent or -errno. */
export function* spliceSendmsg(net: LinuxNet, sk: LinuxSock, size: number): Generator<number, number, number> {
  const m = net.m;
  yield m.spend(m.cost.lxSyscall);
  let spliced = 0;
  if (isSpliced(sk)) spliced = yield* spliceSendRing(net, sk, size);
  if (spliced < size) {
    const ret = yield* tcpSendmsg(net, sk, size - spliced);
    if (ret < 0) return spliced > 0 ? spliced : ret;
    return spliced + ret;
  }
  return spliced;
}

/** splice_recv_ready(). */
export function recvReady(sk: LinuxSock, s: SpliceState): boolean {
  return s.ring.hasData() || !sk.rcvQueue.empty() || sk.err !== 0 || (sk.shutdown & SHUT.rcv) !== 0 ||
    s.peer === null;
}

/** Reads up to `len` ring bytes: the copy, then the tail release; reports the offsets to the stream detector. */
function* ringRead(net: LinuxNet, sk: LinuxSock, s: SpliceState, len: number): Generator<number, number, number> {
  const m = net.m;
  const want = Math.min(len, s.ring.count()); // smp_load_acquire(head)
  if (want === 0) return 0;
  yield m.spend(copyNs(net, want) + Math.round((want * m.cost.lxRingPerKb) / 1024) + m.cost.lxRingLine);
  const n = s.ring.read(want);
  reportOffsets(net, sk, s.ring.offsets, n);
  sk.ringBytesIn += n;
  return n;
}

/**
 * tcp_bpf_splice_recvmsg(): returns bytes read from the ring; 0 when the
 * caller must go to tcp_recvmsg (receive queue has data, EOF, pair gone) or
 * an error was set in `sk.err`.
 */
function* spliceRecvmsg(net: LinuxNet, sk: LinuxSock, len: number): Generator<number, number, number> {
  const m = net.m;
  const s = sk.splice as SpliceState;
  for (;;) {
    const copied = yield* ringRead(net, sk, s, len);
    if (copied > 0) return copied;
    if (!sk.rcvQueue.empty()) return 0; // stream ordering: TCP bytes first
    if (sk.err !== 0 || (sk.shutdown & SHUT.rcv) !== 0 || s.peer === null) return 0;
    if (net.opt.busyPollUs > 0) {
      // splice_busy_loop: cpu_relax + splice_recv_ready until sk_busy_loop_timeout.
      const start = m.nowNs;
      const budgetNs = net.opt.busyPollUs * 1000;
      let ready = false;
      while (m.nowNs - start < budgetNs) {
        yield m.spend(m.cost.lxBusyPollLoop);
        if (recvReady(sk, s)) {
          ready = true;
          break;
        }
      }
      if (ready) sk.busyPollHits++;
      else sk.busyPollExpired++;
      if (s.ring.hasData()) continue;
    }
    // splice_recv_wait: wait_event_interruptible on sk_sleep(sk).
    if (!recvReady(sk, s)) yield m.sleep(sk.wq);
  }
}

/** tcp_bpf_recvmsg() for a socket with a psock: the ring dispatch, then tcp_recvmsg. */
export function* spliceRecvmsgDispatch(net: LinuxNet, sk: LinuxSock, len: number): Generator<number, number, number> {
  const m = net.m;
  yield m.spend(m.cost.lxSyscall);
  if (isSpliced(sk)) {
    const r = yield* spliceRecvmsg(net, sk, len);
    if (r > 0) return r;
    if (sk.err !== 0 && sk.rcvQueue.empty()) return -sk.err;
  }
  return yield* tcpRecvmsg(net, sk, len);
}

/** tcp_bpf_splice_unpair(): clear both peers under both locks (address order), wake both sides. */
export function* spliceUnpair(net: LinuxNet, sk: LinuxSock): KCode {
  const m = net.m;
  const self = sk.splice;
  if (self === null || self.peer === null) return;
  const peer = self.peer;
  const ps = peer.splice;
  if (ps === null) return;
  const first = sk.id < peer.id ? self : ps, second = first === self ? ps : self;
  yield m.lock(first.lock); // spin_lock_bh
  yield m.lock(second.lock); // spin_lock_nested
  if (self.peer === peer && ps.peer === sk) {
    self.peer = null;
    ps.peer = null;
  }
  m.unlock(second.lock);
  m.unlock(first.lock);
  yield m.spend(m.cost.lxSpliceUnpair);
  // splice_wake on both sockets: the parked receivers re-check and see the pair gone.
  m.wakeup(sk.wq);
  m.wakeup(peer.wq);
  yield m.spend(m.cost.lxWakeUp);
}

/** tcp_bpf_splice_destroy() (sk_psock_destroy, after the RCU grace period): percpu_ref_kill. */
export function spliceDestroy(net: LinuxNet, sk: LinuxSock): void {
  const s = sk.splice;
  if (s === null || s.refKilled) return;
  s.refKilled = true;
  if (net.m.rele(s.ringRef)) s.ring.reset(); // splice_ring_ref_release when no sender holds it
}
