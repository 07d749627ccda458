/**
 * Socket splicing (reference section 2, seeds openbsd-softnet-splice
 * 2025-07 and 2025-09): SO_SPLICE with max and idle timeout, somove and
 * its rules, sounsplice, soidle, sotask, sorwakeup/sowwakeup and soclose,
 * in three places selected by `splice.mode`:
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
 * A queued task holds a socket reference taken as `splice.refOrder` says:
 * safe `soref(); if (!task_add()) sorele();`, unsafe `if (task_add()) soref();`.
 * @module
 */
import type { KCode } from "../objects.ts";
import { MODE } from "../objects.ts";
import { KIND } from "../schema.ts";
import { taskAdd, taskDel, taskqBarrier, taskSet } from "../taskq.ts";
import { MODE_FLOWID, MODE_NSQ, MODE_THREAD } from "./config.ts";
import { M_FLOWID_MASK, M_MAXLOOP, type Packet, PROTO } from "./packet.ts";
import { ERR, SB, sbAppendBytes, sbDropBytes, type Socket, SoSplice, TCPS, WHICH } from "./socket.ts";
import type { NetStack } from "./stack.ts";

/** ENUMS.unspliceReason. */
export const UNSPLICE = { eof: 0, efbig: 1, idle: 2, error: 3, user: 4, close: 5, eloop: 6 } as const;

/** sounsplice() freeing flags. */
const FREEING_READ = 1, FREEING_WRITE = 2;

/**
 * setsockopt(SO_SPLICE): splice `so` (source) into `sosp` (drain), moving at
 * most `max` bytes (0: no limit), unsplicing after `idleNs` without data (0:
 * never). Returns 0 or an errno. User context.
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
  if (!connected(so) || !connected(sosp)) return ERR.ENOTCONN;
  if (so.isSpliced() || sosp.isSplicedBack()) return ERR.EBUSY;
  if (st.set.mode !== MODE_FLOWID) st.spliceTq();
  spInit(st, so);
  spInit(st, sosp);
  // sblock(so_rcv), sblock(sosp so_snd), solock_pair: source before drain.
  yield m.lock(st.netlock, MODE.shared);
  yield m.lock(so.lock);
  yield m.lock(sosp.lock);
  const sp = so.sp!;
  m.ref(sosp.obj); // ssp_socket = soref(sosp)
  sp.socket = sosp;
  m.ref(so.obj); // ssp_soback = soref(so)
  sosp.sp!.soback = so;
  sp.len = 0;
  sp.max = max;
  sp.idleNs = idleNs;
  m.emit(KIND.splice, so.id, sosp.id, max, idleNs);
  // somove(M_WAIT) runs before SB_SPLICE is set; set only if it returned 1.
  if (yield* somove(st, so)) {
    so.rcv.flags |= SB.SPLICE;
    sosp.snd.flags |= SB.SPLICE;
  }
  m.unlock(sosp.lock);
  m.unlock(so.lock);
  m.unlock(st.netlock);
  return 0;
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
  sp.task = taskSet(st.m, `sotask:${so.id}`, () => sotask(st, so, true), so);
  sp.idleTo = st.procTimeout(`soidle:${so.id}`, () => soidle(st, so));
  so.sp = sp;
}

/**
 * somove(): move data from so_rcv of `so` into its drain; 0 when the splice
 * is done (unspliced), 1 to continue. Caller holds NET_LOCK shared and both
 * socket locks.
 */
export function* somove(st: NetStack, so: Socket): Generator<number, number, number> {
  const m = st.m;
  const sp = so.sp!;
  const sosp = sp.socket!;
  st.somoveCalls++;
  yield m.spend(m.cost.somoveBase);
  yield* st.touchSo(so);
  let error = so.error;
  if (error === 0 && (sosp.snd.flags & SB.CANTMORE)) error = ERR.EPIPE;
  if (error === 0) error = sosp.error;
  if (error !== 0) {
    if (so.error === 0) setError(st, so, error);
    yield* sounsplice(st, so, sosp, 0, UNSPLICE.error);
    return 0;
  }
  if ((so.rcv.flags & SB.CANTMORE) && so.rcv.cc === 0) {
    yield* sounsplice(st, so, sosp, 0, UNSPLICE.eof);
    return 0;
  }
  if (sp.max > 0 && sp.len >= sp.max) return yield* efbig(st, so, sosp);
  // Move min(rcv cc, max - len), bounded by the drain's space.
  let len = so.rcv.cc;
  let maxreached = false;
  if (sp.max > 0 && len >= sp.max - sp.len) {
    len = sp.max - sp.len;
    maxreached = true;
  }
  const space = sosp.proto === PROTO.tcp ? sosp.snd.space() : sosp.snd.hiwat;
  if (space < len) {
    maxreached = false;
    if (space < sosp.snd.lowat) return 1;
    len = space;
  }
  const r = so.proto === PROTO.tcp
    ? yield* moveStream(st, so, sosp, len, maxreached)
    : yield* moveDgram(st, so, sosp, len);
  if (r < 0) {
    setError(st, so, ERR.ELOOP);
    yield* sounsplice(st, so, sosp, 0, UNSPLICE.eloop);
    return 0;
  }
  if (r > 0) m.emit(KIND.somove, so.id, sosp.id, r, sp.len);
  if (sp.max > 0 && (sp.len >= sp.max || (maxreached && r === len))) return yield* efbig(st, so, sosp);
  if (sp.idleNs > 0 && sp.idleTo !== null) st.tos.add(sp.idleTo, sp.idleNs);
  return 1;
}

/** Max reached: EFBIG into the source's so_error, unsplice. */
function* efbig(st: NetStack, so: Socket, sosp: Socket): Generator<number, number, number> {
  setError(st, so, ERR.EFBIG);
  yield* sounsplice(st, so, sosp, 0, UNSPLICE.efbig);
  return 0;
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
 * TCP: move `len` bytes of whole mbufs, splitting one only when the max is
 * reached or the drain is empty; pru_rcvd (window update), pru_send
 * (sbappend to the drain, tcp_output). Returns bytes moved, -1 on ELOOP.
 */
function* moveStream(
  st: NetStack,
  so: Socket,
  sosp: Socket,
  len: number,
  maxreached: boolean,
): Generator<number, number, number> {
  const m = st.m;
  let moved = 0;
  while (moved < len) {
    const p = so.rcv.first();
    if (p === undefined) break;
    const take = Math.min(p.len, len - moved);
    if (take < p.len && !maxreached && sosp.snd.cc + moved > 0) break;
    if (looped(p)) return -1;
    yield* accountMoved(st, p);
    if (take === p.len) st.pool.put(so.rcv.shift());
    else p.len -= take;
    moved += take;
  }
  if (moved === 0) return 0;
  // sbdrop of the source and sbappend of the drain in one step, so the
  // byte counts never show the data in neither buffer.
  sbDropBytes(m, so, WHICH.rcv, moved);
  so.n.moved += moved;
  so.sp!.len += moved;
  sbAppendBytes(m, sosp, WHICH.snd, moved); // pru_send
  sosp.n.sndAppended += moved;
  yield m.spend(m.cost.sbDrop + m.cost.sbAppend);
  yield* st.protos.tcpOutput(st, so); // pru_rcvd: window update when worth it
  yield* st.protos.tcpOutput(st, sosp);
  return moved;
}

/** UDP: move whole datagrams that fit in `len`, each sent by udp_output. Returns bytes moved, -1 on ELOOP. */
function* moveDgram(st: NetStack, so: Socket, sosp: Socket, len: number): Generator<number, number, number> {
  const m = st.m;
  const out = so.sp!.out;
  let moved = 0;
  let loop = false;
  yield m.lock(so.rcvMtx);
  for (let p = so.rcv.first(); p !== undefined && moved + p.len <= len; p = so.rcv.first()) {
    if (looped(p)) {
      loop = true;
      break;
    }
    out.push(so.rcv.shift());
    st.acct.wireBytes += p.len; // on its way out again
    sosp.n.sndAppended += p.len;
    moved += p.len;
  }
  if (moved > 0) {
    sbDropBytes(m, so, WHICH.rcv, moved);
    so.n.moved += moved;
    so.sp!.len += moved;
  }
  m.unlock(so.rcvMtx);
  if (moved > 0) yield m.spend(m.cost.sbDrop);
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const p = out[i];
    yield* accountMoved(st, p);
    yield* st.udpOutput(sosp, p);
  }
  out.length = 0;
  return loop ? -1 : moved;
}

/**
 * sounsplice(): clear SB_SPLICE and the links under both locks, task_del and
 * timeout_del, wake the sides not being freed, drop the link references.
 */
export function* sounsplice(st: NetStack, so: Socket, sosp: Socket, freeing: number, reason: number): KCode {
  const m = st.m;
  const sp = so.sp!;
  so.rcv.flags &= ~SB.SPLICE;
  sosp.snd.flags &= ~SB.SPLICE;
  if (sp.idleTo !== null) st.tos.del(sp.idleTo);
  const tq = st.set.mode === MODE_FLOWID ? sp.queue : st.sospliceTq;
  // A task removed from its queue gives back the reference it held.
  if (tq !== null && (yield* taskDel(m, tq, sp.task!)) === 1) st.sorele(so);
  m.emit(KIND.unsplice, so.id, sosp.id, reason, sp.len);
  sp.socket = null;
  sosp.sp!.soback = null;
  if ((freeing & FREEING_READ) === 0) m.wakeup(so.rcv.chan);
  if ((freeing & FREEING_WRITE) === 0) m.wakeup(sosp.snd.chan);
  st.sorele(sosp);
  st.sorele(so);
}

/** soidle(): the idle timeout fired; ETIMEDOUT and unsplice. */
function* soidle(st: NetStack, so: Socket): KCode {
  const m = st.m;
  yield m.lock(st.netlock, MODE.shared);
  yield m.lock(so.lock);
  const sosp = so.sp!.socket;
  if (sosp !== null && so.sp!.idleTo?.pending === false) {
    yield m.lock(sosp.lock);
    setError(st, so, ERR.ETIMEDOUT);
    yield* sounsplice(st, so, sosp, 0, UNSPLICE.idle);
    m.unlock(sosp.lock);
  }
  m.unlock(so.lock);
  m.unlock(st.netlock);
}

/**
 * sotask(): solock_shared, sblock, somove if still spliced; in thread mode a
 * TCP source then yields. `rele`: the task's reference is dropped at the end.
 */
function* sotask(st: NetStack, so: Socket, rele: boolean): KCode {
  const m = st.m;
  if (m.touch(so.obj, "sotask")) return;
  yield m.lock(st.netlock, MODE.shared);
  yield m.lock(so.lock);
  let doyield = false;
  const sosp = so.sp!.socket;
  if ((so.rcv.flags & SB.SPLICE) && sosp !== null) {
    yield m.lock(sosp.lock);
    yield* somove(st, so);
    m.unlock(sosp.lock);
    doyield = st.set.mode === MODE_THREAD && so.proto === PROTO.tcp;
  }
  m.unlock(so.lock);
  m.unlock(st.netlock);
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
    st.sorele(so);
  }
  q.length = 0;
}

/** Queues the splice work of source `so` as `splice.mode` says; `ns` is the softnet (-1: none). */
function* spliceSchedule(st: NetStack, so: Socket, ns: number): KCode {
  const mode = st.set.mode;
  const sp = so.sp!;
  if (mode === MODE_NSQ && ns >= 0) {
    // sosp_insertq(): atomic_cas_ptr(&so_spliceqhead, NULL, &ns_spliceq), soref, insert.
    if (sp.qhead < 0) {
      sp.qhead = ns;
      st.m.ref(so.obj);
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
  yield* taskAddRef(st, so, tq);
}

/** task_add of the splice task with its socket reference, in `splice.refOrder`. */
function* taskAddRef(st: NetStack, so: Socket, tq: import("../objects.ts").Taskq): KCode {
  const m = st.m;
  const t = so.sp!.task!;
  if (st.set.unsafeRef) {
    // if (task_add()) soref(): the task may run elsewhere and sorele first.
    if ((yield* taskAdd(m, tq, t)) === 1) m.ref(so.obj);
    return;
  }
  m.ref(so.obj);
  if ((yield* taskAdd(m, tq, t)) === 0) st.sorele(so);
}

/** sorwakeup(so, ns): splice the source, else wake readers (not while spliced). */
export function* sorwakeup(st: NetStack, so: Socket, ns: number): KCode {
  if (so.rcv.flags & SB.SPLICE) yield* spliceSchedule(st, so, ns);
  if (so.isSpliced()) return;
  if (st.m.hasSleepers(so.rcv.chan)) st.m.wakeup(so.rcv.chan);
}

/** sowwakeup(so, ns): a drain got space; splice its source, else wake writers. */
export function* sowwakeup(st: NetStack, so: Socket, ns: number): KCode {
  if ((so.snd.flags & SB.SPLICE) && so.sp !== null && so.sp.soback !== null) {
    yield* spliceSchedule(st, so.sp.soback, ns);
  }
  if (so.isSplicedBack()) return;
  if (st.m.hasSleepers(so.snd.chan)) st.m.wakeup(so.snd.chan);
}

/**
 * soclose(): unsplice both directions (the drain side with soref(soback)),
 * timeout_del_barrier, the task queue barrier of the mode, protocol
 * disconnect (TCP sends FIN after the queued data), then sofree's sorele.
 */
export function* soclose(st: NetStack, so: Socket): KCode {
  const m = st.m;
  yield m.spend(m.cost.syscall);
  m.emit(KIND.soClose, so.id);
  const soback = so.sp !== null ? so.sp.soback : null;
  if (soback !== null) m.ref(soback.obj);
  yield m.lock(st.netlock, MODE.shared);
  if (soback !== null) {
    yield m.lock(soback.lock);
    yield m.lock(so.lock);
    if (soback.sp!.socket === so) yield* sounsplice(st, soback, so, FREEING_WRITE, UNSPLICE.close);
    m.unlock(so.lock);
    m.unlock(soback.lock);
  }
  yield m.lock(so.lock);
  const sosp = so.sp !== null ? so.sp.socket : null;
  if (sosp !== null) {
    yield m.lock(sosp.lock);
    yield* sounsplice(st, so, sosp, FREEING_READ, UNSPLICE.close);
    m.unlock(sosp.lock);
  }
  so.closed = true;
  m.unlock(so.lock);
  m.unlock(st.netlock);
  if (so.sp !== null) yield* spliceBarriers(st, so, soback);
  if (soback !== null) st.sorele(soback);
  yield m.lock(st.netlock, MODE.shared);
  yield m.lock(so.lock);
  st.sbFlushRcv(so); // sorflush()
  if (so.proto === PROTO.tcp) yield* st.protos.tcpUsrClosed(st, so);
  else st.pcbDetach(so);
  m.unlock(so.lock);
  m.unlock(st.netlock);
  st.sorele(so); // the descriptor's reference
}

/** timeout_del_barrier on the idle timeout and the mode's task queue barriers. */
function* spliceBarriers(st: NetStack, so: Socket, soback: Socket | null): KCode {
  const m = st.m;
  const sp = so.sp!;
  if (sp.idleTo !== null) yield* st.procTimeoutDelBarrier(sp.idleTo);
  if (!st.set.closeBarrier) return; // the queued task's reference keeps the socket alive
  if (st.set.mode === MODE_FLOWID) {
    // 2025-09: taskq_barrier on both sockets' queues.
    const spq = sp.queue;
    if (spq !== null) yield* taskqBarrier(m, spq);
    const back = soback?.sp?.queue ?? null;
    if (back !== null && back !== spq) yield* taskqBarrier(m, back);
  } else if (st.sospliceTq !== null) {
    // thread mode and the no-netstack path: taskq_del_barrier(sosplice_taskq).
    yield* taskqBarrier(m, st.sospliceTq);
  }
}
