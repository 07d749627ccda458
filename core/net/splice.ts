/**
 * Socket splicing (reference section 2, seeds openbsd-softnet-splice
 * 2025-07 and 2025-09): SO_SPLICE with max and idle timeout, somove and
 * its rules, sounsplice, soidle, sotask, sorwakeup/sowwakeup (soclose is in
 * soclose.ts), in three places selected by `splice.mode`:
 *
 * - `thread`: one "sosplice" task queue thread; sotask yields after TCP
 *   ("Avoid user land starvation", removed by both seeds).
 * - `netstack-queue` (2025-07): sosp_insertq puts the socket on the
 *   current softnet's ns_spliceq (atomic qhead against double insert, soref
 *   on insert), and sosp_processq runs sotask + sorele at the end of
 *   if_input_process on the same softnet thread.
 * - `flowid-taskq` (2025-09): the splice task goes to net_tq(pru_flowid(so)),
 *   chosen by atomic_cas_ptr on first use; soclose runs taskq_barrier on both
 *   sockets' queues.
 *
 * Locking follows uipc_socket.c 1.385: `sblock(so_rcv)` (rw "sbufrcv")
 * serialises somove, soidle, sounsplice and the close teardown; the buffers
 * and the SB_SPLICE flags are under the sockbuf mutexes ("sbrcv", "sbsnd"),
 * which sorwakeup/sowwakeup hold across task_add; solock_shared (NET_LOCK
 * shared + so_lock) is taken only around pru_rcvd and pru_send.
 *
 * References (item 6 of issue 10): 1.385 and both posted diffs take no
 * reference for a queued splice task and close relies on the barriers; only
 * netstack-queue's sosp_insertq takes one (sorele in sosp_processq). The
 * 2025-07 first diff ("refcount diff", `splice.closeBarrier=false`) has the
 * task hold one, taken as `splice.refOrder` says: safe `soref(); if
 * (!task_add()) sorele();`, unsafe `if (task_add()) soref();`.
 * @module
 */
import type { KCode } from "../objects.ts";
import { MODE } from "../objects.ts";
import { KIND, UNSPLICE_REASON } from "../schema.ts";
import { taskAdd, taskDel, taskSet } from "../taskq.ts";
import { MODE_FLOWID, MODE_NSQ, MODE_THREAD } from "./config.ts";
import { M_FLOWID_MASK, M_MAXLOOP, type Packet, PROTO } from "./packet.ts";
import { ERR, SB, sbAppendBytes, sbDropBytes, type Socket, SoSplice, TCPS, WHICH } from "./socket.ts";
import { streamCheck, streamCheckDatagram } from "../detect/mod.ts";
import { type NetStack, rcvStream } from "./stack.ts";

/** Unsplice reasons: the schema's ENUMS.unspliceReason, declared once there. */
export const UNSPLICE: typeof UNSPLICE_REASON = UNSPLICE_REASON;

/** sounsplice() freeing flags (SOSP_FREEING_READ, SOSP_FREEING_WRITE). */
export const FREEING_READ = 1, FREEING_WRITE = 2;

/**
 * setsockopt(SO_SPLICE): splice `so` (source) into `sosp` (drain), moving at
 * most `max` bytes (0: no limit), unsplicing after `idleNs` without data (0:
 * never). Returns 0 or an errno. User context. uipc_socket.c 1.385 sosplice():
 * sblock(so_rcv), sblock(sosp so_snd), solock_pair, links under both
 * mutexes, unlock the pair and the drain's sblock, somove(M_WAIT), and
 * SB_SPLICE only if it returned 1.
 */
export function* sosplice(
  st: NetStack,
  so: Socket,
  sosp: Socket,
  max: number,
  idleNs: number,
): Generator<number, number, number> {
  const m = st.m;
  yield m.spend(m.cost.syscall);
  if (so.proto !== sosp.proto) return ERR.EPROTONOSUPPORT;
  if (max < 0) return ERR.EINVAL;
  if (st.set.mode !== MODE_FLOWID) st.spliceTq(); // 2025-09 removed sosplice_taskq
  yield m.lock(so.rcvSblock);
  yield m.lock(sosp.sndSblock);
  yield* solockShared(st, so);
  yield m.lock(sosp.lock);
  let err = 0;
  if (!connected(so) || !connected(sosp)) err = ERR.ENOTCONN;
  else if (so.isSpliced() || sosp.isSplicedBack()) err = ERR.EBUSY;
  if (err !== 0) {
    m.unlock(sosp.lock);
    sounlockShared(st, so);
    m.unlock(sosp.sndSblock);
    m.unlock(so.rcvSblock);
    return err;
  }
  spInit(st, so);
  spInit(st, sosp);
  const sp = so.sp!;
  sp.len = 0;
  sp.max = max;
  sp.idleNs = idleNs;
  yield m.lock(so.rcvMtx);
  yield m.lock(sosp.sndMtx);
  m.ref(sosp.obj); // ssp_socket = soref(sosp)
  sp.socket = sosp;
  m.ref(so.obj); // ssp_soback = soref(so)
  sosp.sp!.soback = so;
  m.unlock(sosp.sndMtx);
  m.unlock(so.rcvMtx);
  m.emit(KIND.splice, so.id, sosp.id, max, idleNs);
  m.unlock(sosp.lock);
  sounlockShared(st, so);
  m.unlock(sosp.sndSblock);
  if (yield* somove(st, so)) {
    yield m.lock(so.rcvMtx);
    yield m.lock(sosp.sndMtx);
    so.rcv.flags |= SB.SPLICE;
    sosp.snd.flags |= SB.SPLICE;
    m.unlock(sosp.sndMtx);
    m.unlock(so.rcvMtx);
  }
  m.unlock(so.rcvSblock);
  return 0;
}

/** solock_shared() of an inet socket: NET_LOCK_SHARED, then so_lock (uipc_socket2.c). */
export function* solockShared(st: NetStack, so: Socket): KCode {
  yield st.m.lock(st.netlock, MODE.shared);
  yield st.m.lock(so.lock);
}

/** sounlock_shared(). */
export function sounlockShared(st: NetStack, so: Socket): void {
  st.m.unlock(so.lock);
  st.m.unlock(st.netlock);
}

function connected(so: Socket): boolean {
  if (so.closed || !so.pcbAttached) return false;
  if (so.proto === PROTO.udp) return so.fport !== 0;
  const s = so.tcp?.state ?? TCPS.CLOSED;
  return s === TCPS.ESTABLISHED || s === TCPS.CLOSE_WAIT;
}

function spInit(st: NetStack, so: Socket): void {
  if (so.sp !== null) return;
  const sp = new SoSplice();
  sp.task = taskSet(st.m, `sotask:${so.id}`, () => sotask(st, so, st.set.taskRef), so);
  sp.idleTo = st.procTimeout(`soidle:${so.id}`, () => soidle(st, so));
  so.sp = sp;
}

/**
 * Drain-side errors somove ignores (uipc_socket.c 1.385): a drain's own
 * splice ending in ETIMEDOUT, EFBIG or ELOOP leaves its so_error set, and a
 * bidirectional relay must keep moving the other direction into it.
 */
function drainErrorFatal(err: number): boolean {
  return err !== 0 && err !== ERR.ETIMEDOUT && err !== ERR.EFBIG && err !== ERR.ELOOP;
}

/**
 * somove(): move data from so_rcv of `so` into its drain; 0 when the splice
 * is done (unspliced), 1 to continue. The caller holds sblock(so_rcv). As in
 * uipc_socket.c 1.385: TCP takes sblock(so_snd), the work runs under
 * so_rcv.sb_mtx and the drain's so_snd.sb_mtx, which are dropped around
 * pru_rcvd (solock_shared(so)) and pru_send (solock_shared(sosp)); UDP
 * moves one record per pass (PR_ATOMIC) and loops while records remain.
 */
export function* somove(st: NetStack, so: Socket): Generator<number, number, number> {
  const m = st.m;
  const sp = so.sp!;
  const sosp = sp.socket!;
  const tcp = so.proto === PROTO.tcp;
  st.somoveCalls++;
  if (tcp) yield m.lock(so.sndSblock);
  yield m.lock(so.rcvMtx);
  yield m.lock(sosp.sndMtx);
  yield m.spend(m.cost.somoveBase);
  yield* st.touchSo(so);
  if (st.set.faultReorderAt > 0 && st.somoveCalls >= st.set.faultReorderAt && so.rcv.records() >= 2) {
    st.set.faultReorderAt = 0; // once
    const q = so.rcv.q, h = so.rcv.head; // test fault: two records out of order
    const t = q[h];
    q[h] = q[h + 1];
    q[h + 1] = t;
  }
  let error = 0, maxreached = false, moved = 0;
  for (;;) { // nextpkt:
    error = so.error;
    if (error !== 0) break;
    if (sosp.snd.flags & SB.CANTMORE) {
      error = ERR.EPIPE;
      break;
    }
    if (drainErrorFatal(sosp.error)) {
      error = sosp.error;
      break;
    }
    if (!connected(sosp) && !sosp.closed) break;
    let len = so.rcv.cc;
    if (sp.max > 0 && sp.max <= sp.len + len) {
      len = sp.max - sp.len;
      maxreached = true;
    }
    const space = tcp ? sosp.snd.space() : sosp.snd.hiwat;
    if (space <= 0) {
      maxreached = false;
      break;
    }
    if (space < len) {
      maxreached = false;
      if (space < sosp.snd.lowat) break;
      len = space;
    }
    const first = so.rcv.first();
    if (first === undefined) break;
    if (looped(first)) {
      error = ERR.ELOOP;
      break;
    }
    if (!tcp) {
      // PR_ATOMIC: the whole record or nothing; at the maximum a record that
      // does not fit ends the splice (maxreached stays set, no EFBIG).
      if (len < first.len) break;
      if (first.len < len) {
        maxreached = false;
        len = first.len;
      }
    }
    const r = tcp ? yield* moveStream(st, so, sosp, len, maxreached) : yield* moveDgram(st, so, sosp);
    if (r < 0) {
      error = ERR.EPIPE;
      break;
    }
    moved += r;
    if (tcp || maxreached || so.rcv.records() === 0) break; // "Move several packets if possible."
  }
  if (moved > 0) m.emit(KIND.somove, so.id, sosp.id, moved, sp.len);
  // release:
  if (error === 0 && maxreached && sp.max === sp.len) error = ERR.EFBIG;
  if (error !== 0) setError(st, so, error);
  const eof = (so.rcv.flags & SB.CANTMORE) !== 0 && so.rcv.cc === 0;
  const unsplice = eof || (sosp.snd.flags & SB.CANTMORE) !== 0 || maxreached || error !== 0;
  m.unlock(sosp.sndMtx);
  m.unlock(so.rcvMtx);
  if (tcp) m.unlock(so.sndSblock);
  if (unsplice) {
    const reason = error === ERR.EFBIG
      ? UNSPLICE.efbig
      : error === ERR.ELOOP
      ? UNSPLICE.eloop
      : error !== 0
      ? UNSPLICE.error
      : eof
      ? UNSPLICE.eof
      : UNSPLICE.efbig;
    yield* sounsplice(st, so, sosp, 0, reason);
    return 0;
  }
  if (sp.idleNs > 0 && sp.idleTo !== null) {
    st.tos.add(sp.idleTo, sp.idleNs);
    yield m.spend(m.cost.timeoutAdd); // timeout_add_nsec(&so_spliceidleto)
  }
  return 1;
}

function setError(st: NetStack, so: Socket, err: number): void {
  so.error = err;
  st.m.emit(KIND.soState, so.id, so.tcp?.state ?? 0, err);
}

/** ph_loopcnt++ >= M_MAXLOOP: the splice loops. */
function looped(p: Packet): boolean {
  return p.loopcnt++ >= M_MAXLOOP;
}

/** Cost and latency bookkeeping of one packet leaving so_rcv through somove. */
function* accountMoved(st: NetStack, p: Packet): Generator<number, void, number> {
  const m = st.m;
  st.latSample(m.nowNs - p.tNs);
  yield m.spend(p.cpu !== m.curCpu.id ? m.cost.somovePerPkt + m.cost.cacheMissPkt : m.cost.somovePerPkt);
}

/**
 * TCP: take `len` bytes of whole mbufs out of so_rcv (a partial one only at
 * the maximum or into an empty drain), then with the mutexes dropped
 * pru_rcvd (window update) under solock_shared(so) and pru_send (sbappend
 * to the drain, tcp_output) under solock_shared(sosp). Caller holds both
 * mutexes; they are held again on return. Returns the bytes moved.
 */
function* moveStream(
  st: NetStack,
  so: Socket,
  sosp: Socket,
  len: number,
  maxreached: boolean,
): Generator<number, number, number> {
  const m = st.m;
  const sid = spliceStream(so);
  let moved = 0;
  while (moved < len) {
    const p = so.rcv.first();
    if (p === undefined) break;
    const take = Math.min(p.len, len - moved);
    if (take < p.len && !maxreached && sosp.snd.cc > 0) break;
    yield* accountMoved(st, p);
    streamCheck(m, sid, p.off, take); // the bytes leave the source in stream order
    if (take === p.len) st.pool.put(so.rcv.shift());
    else {
      p.len -= take;
      p.off += take;
    }
    moved += take;
  }
  if (moved === 0) return 0;
  sbDropBytes(m, so, WHICH.rcv, moved);
  so.n.moved += moved;
  yield m.spend(m.cost.sbDrop);
  m.unlock(sosp.sndMtx);
  m.unlock(so.rcvMtx);
  yield* solockShared(st, so);
  yield* st.protos.tcpOutput(st, so); // pru_rcvd: window update when worth it
  sounlockShared(st, so);
  yield* solockShared(st, sosp);
  let err = 0;
  if ((sosp.snd.flags & SB.CANTMORE) || !sosp.pcbAttached) err = -1;
  else {
    sbAppendBytes(m, sosp, WHICH.snd, moved); // pru_send: sbappendstream + tcp_output
    sosp.n.sndAppended += moved;
    yield m.spend(m.cost.sbAppend);
    yield* st.protos.tcpOutput(st, sosp);
  }
  sounlockShared(st, sosp);
  yield m.lock(so.rcvMtx);
  yield m.lock(sosp.sndMtx);
  if (err < 0) {
    // pru_send failed: the mbufs are freed (counted as flushed by close).
    so.n.flushed += moved;
    return -1;
  }
  so.sp!.len += moved;
  return moved;
}

/**
 * UDP: one datagram out of so_rcv, sent by udp_output under
 * solock_shared(sosp) with the mutexes dropped. Returns its bytes.
 */
function* moveDgram(st: NetStack, so: Socket, sosp: Socket): Generator<number, number, number> {
  const m = st.m;
  const p = so.rcv.shift();
  streamCheckDatagram(m, spliceStream(so), p);
  sbDropBytes(m, so, WHICH.rcv, p.len);
  so.n.moved += p.len;
  so.sp!.len += p.len;
  sosp.n.sndAppended += p.len;
  st.acct.wireBytes += p.len; // on its way out again
  const len = p.len;
  yield m.spend(m.cost.sbDrop);
  m.unlock(sosp.sndMtx);
  m.unlock(so.rcvMtx);
  yield* accountMoved(st, p);
  yield* solockShared(st, sosp);
  yield* st.udpOutput(sosp, p);
  sounlockShared(st, sosp);
  yield m.lock(so.rcvMtx);
  yield m.lock(sosp.sndMtx);
  return len;
}

/** Stream-detector id of the bytes leaving so_rcv of `so` through its splice (stack.ts rcvStream + 1). */
export function spliceStream(so: Socket): number {
  return rcvStream(so) + 1;
}

/**
 * sounsplice(): clear SB_SPLICE and the links under both mutexes, task_del
 * and timeout_del (where each mode has them), wake the sides not being
 * freed under solock_shared, drop the link references. Caller holds
 * sblock(so_rcv).
 */
export function* sounsplice(st: NetStack, so: Socket, sosp: Socket, freeing: number, reason: number): KCode {
  const m = st.m;
  const sp = so.sp!;
  const mode = st.set.mode;
  yield m.lock(so.rcvMtx);
  yield m.lock(sosp.sndMtx);
  so.rcv.flags &= ~SB.SPLICE;
  sosp.snd.flags &= ~SB.SPLICE;
  let removed = 0;
  if (mode === MODE_FLOWID) {
    // 2025-09: timeout_del and task_del(so_splicequeue) under the mutexes.
    yield* idleDel(st, so);
    if (sp.queue !== null) removed = yield* taskDel(m, sp.queue, sp.task!);
  }
  sp.socket = null;
  sosp.sp!.soback = null;
  m.unlock(sosp.sndMtx);
  m.unlock(so.rcvMtx);
  if (mode === MODE_THREAD) {
    // 1.385: task_del(sosplice_taskq), then timeout_del.
    if (st.sospliceTq !== null) removed = yield* taskDel(m, st.sospliceTq, sp.task!);
    yield* idleDel(st, so);
  } else if (mode === MODE_NSQ) {
    // 2025-07: timeout_del moved before task_del.
    yield* idleDel(st, so);
    if (st.sospliceTq !== null) removed = yield* taskDel(m, st.sospliceTq, sp.task!);
  }
  // The refcount diff: a task removed from its queue gives back its reference.
  if (removed === 1 && st.set.taskRef) st.sorele(so);
  m.emit(KIND.unsplice, so.id, sosp.id, reason, sp.len);
  if ((freeing & FREEING_READ) === 0) {
    yield* solockShared(st, so);
    const readable = so.rcv.cc > 0 || (so.rcv.flags & SB.CANTMORE) !== 0 || so.error !== 0;
    if (readable) m.wakeup(so.rcv.chan);
    sounlockShared(st, so);
  }
  if ((freeing & FREEING_WRITE) === 0) {
    yield* solockShared(st, sosp);
    m.wakeup(sosp.snd.chan);
    sounlockShared(st, sosp);
  }
  st.sorele(sosp);
  st.sorele(so);
}

function* idleDel(st: NetStack, so: Socket): KCode {
  const to = so.sp!.idleTo;
  if (to === null) return;
  st.tos.del(to);
  yield st.m.spend(st.m.cost.timeoutDel);
}

/** soidle(): the idle timeout fired; under sblock(so_rcv), if still spliced: ETIMEDOUT and unsplice. */
function* soidle(st: NetStack, so: Socket): KCode {
  const m = st.m;
  yield m.lock(so.rcvSblock);
  const sosp = so.sp!.socket;
  if ((so.rcv.flags & SB.SPLICE) && sosp !== null) {
    setError(st, so, ERR.ETIMEDOUT);
    yield* sounsplice(st, so, sosp, 0, UNSPLICE.idle);
  }
  m.unlock(so.rcvSblock);
}

/**
 * sotask(): sblock(so_rcv), somove if SB_SPLICE, sbunlock; in thread mode a
 * TCP source then yields ("Avoid user land starvation", removed by both
 * seeds). `rele`: the refcount diff's task drops its reference at the end.
 */
function* sotask(st: NetStack, so: Socket, rele: boolean): KCode {
  const m = st.m;
  if (m.touch(so.obj, "sotask")) return;
  yield m.lock(so.rcvSblock);
  let doyield = false;
  if ((so.rcv.flags & SB.SPLICE) && so.sp!.socket !== null) {
    doyield = st.set.mode === MODE_THREAD && so.proto === PROTO.tcp;
    yield* somove(st, so);
  }
  m.unlock(so.rcvSblock);
  if (doyield) yield m.yieldCpu(); // "Avoid user land starvation."
  if (rele) st.sorele(so);
}

/** sosp_processq(ns): run the softnet's splice queue (2025-07 seed). */
export function* sospProcessq(st: NetStack, ns: number): KCode {
  const q = st.spliceq[ns];
  // Not locked: insert and process run on the same softnet thread; new
  // entries may be appended while processing, ph_loopcnt bounds the loop.
  for (let i = 0; i < q.length; i++) {
    const so = q[i];
    so.sp!.qhead = -1; // WRITE_ONCE(so->so_spliceqhead, NULL)
    yield* sotask(st, so, false);
    st.sorele(so); // the reference sosp_insertq took
  }
  q.length = 0;
}

/** Queues the splice work of source `so` as `splice.mode` says; `ns` is the softnet (-1: none). Caller holds the sockbuf mutex. */
function* spliceSchedule(st: NetStack, so: Socket, ns: number): KCode {
  const mode = st.set.mode;
  const sp = so.sp!;
  if (mode === MODE_NSQ && ns >= 0) {
    // sosp_insertq(): atomic_cas_ptr(&so_spliceqhead, NULL, &ns_spliceq), soref, insert.
    if (sp.qhead < 0) {
      sp.qhead = ns;
      st.m.ref(so.obj);
      yield st.m.spend(st.m.cost.refOp);
      st.spliceq[ns].push(so);
    }
    return;
  }
  let tq = st.sospliceTq;
  if (mode === MODE_FLOWID) {
    // atomic_cas_ptr(&so_splicequeue, NULL, net_tq(pru_flowid(so))): inp_flowid
    // is the NIC's RSS hash masked to M_FLOWID_MASK, so with ifiq_init's
    // net_tq(rx queue) the task lands on the softnet that did the input.
    if (sp.queue === null) sp.queue = st.softnets[st.netTqIndex(so.flowid & M_FLOWID_MASK)];
    tq = sp.queue;
  }
  if (tq === null) tq = st.spliceTq();
  if (st.set.taskRef) yield* taskAddRef(st, so, tq);
  else yield* taskAdd(st.m, tq, sp.task!); // 1.385 and the posted diffs: no task reference
}

/** The refcount diff: task_add of the splice task with its socket reference, in `splice.refOrder`. */
function* taskAddRef(st: NetStack, so: Socket, tq: import("../objects.ts").Taskq): KCode {
  const m = st.m;
  const t = so.sp!.task!;
  if (st.set.unsafeRef) {
    // if (task_add()) soref(): the task may run elsewhere and sorele first.
    if ((yield* taskAdd(m, tq, t)) === 1) {
      m.ref(so.obj);
      yield m.spend(m.cost.refOp);
    }
    return;
  }
  m.ref(so.obj);
  yield m.spend(m.cost.refOp);
  if ((yield* taskAdd(m, tq, t)) === 0) st.sorele(so);
}

/**
 * sorwakeup(so, ns): under so_rcv.sb_mtx, schedule the splice if SB_SPLICE
 * (uipc_socket.c 1.385: task_add under the mutex, so WITNESS sees sbrcv ->
 * tq_mtx); a spliced source wakes no reader.
 */
export function* sorwakeup(st: NetStack, so: Socket, ns: number): KCode {
  const m = st.m;
  const mtx = st.set.wakeupMutex;
  if (mtx) yield m.lock(so.rcvMtx);
  if (so.rcv.flags & SB.SPLICE) yield* spliceSchedule(st, so, ns);
  const spliced = so.isSpliced();
  if (mtx) m.unlock(so.rcvMtx);
  if (spliced) return;
  if (m.hasSleepers(so.rcv.chan)) m.wakeup(so.rcv.chan);
}

/** sowwakeup(so, ns): under so_snd.sb_mtx, a drain got space: schedule its source's splice, else wake writers. */
export function* sowwakeup(st: NetStack, so: Socket, ns: number): KCode {
  const m = st.m;
  const mtx = st.set.wakeupMutex;
  if (mtx) yield m.lock(so.sndMtx);
  const soback = so.sp !== null ? so.sp.soback : null;
  if ((so.snd.flags & SB.SPLICE) && soback !== null) yield* spliceSchedule(st, soback, ns);
  const back = so.isSplicedBack();
  if (mtx) m.unlock(so.sndMtx);
  if (back) return;
  if (m.hasSleepers(so.snd.chan)) m.wakeup(so.snd.chan);
}
