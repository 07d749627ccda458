/**
 * soclose() of a socket that may be spliced (uipc_socket.c 1.385 and the
 * seeds' changes to it): the splice teardown, the barriers each mode has,
 * then protocol disconnect and sofree. Kept apart from splice.ts, which it
 * uses (imports point one way: splice <- soclose).
 * @module
 */
import type { KCode } from "../objects.ts";
import { taskqBarrier, taskqDelBarrier } from "../taskq.ts";
import { KIND } from "../schema.ts";
import { MODE_FLOWID } from "./config.ts";
import { PROTO } from "./packet.ts";
import type { Socket } from "./socket.ts";
import { FREEING_READ, FREEING_WRITE, solockShared, sounlockShared, sounsplice, UNSPLICE } from "./splice.ts";
import type { NetStack } from "./stack.ts";

/**
 * soclose() splice teardown as uipc_socket.c 1.385 (and the seeds) have it:
 * soref(soback) under so_snd.sb_mtx, unsplice the direction into `so`
 * under sblock(soback so_rcv), then `so`'s own under sblock(so_rcv), the
 * idle timeout barrier and the mode's task queue barriers; then protocol
 * disconnect (TCP sends FIN after the queued data) and sofree's sorele.
 */
export function* soclose(st: NetStack, so: Socket): KCode {
  const m = st.m;
  yield m.spend(m.cost.syscall);
  m.emit(KIND.soClose, so.id);
  if (so.sp !== null) {
    yield m.lock(so.sndMtx);
    const soback = so.sp.soback;
    if (soback !== null) m.ref(soback.obj);
    m.unlock(so.sndMtx);
    if (soback !== null) {
      yield m.lock(soback.rcvSblock);
      if (so.isSplicedBack()) {
        const freeing = FREEING_WRITE | (soback === so ? FREEING_READ : 0);
        yield* sounsplice(st, soback, so, freeing, UNSPLICE.close);
      }
      m.unlock(soback.rcvSblock);
      if (st.set.mode !== MODE_FLOWID) st.sorele(soback);
    }
    yield m.lock(so.rcvSblock);
    const sosp = so.sp.socket;
    if (sosp !== null) {
      const freeing = FREEING_READ | (sosp === so ? FREEING_WRITE : 0);
      yield* sounsplice(st, so, sosp, freeing, UNSPLICE.close);
    }
    m.unlock(so.rcvSblock);
    yield* spliceBarriers(st, so, soback);
    if (soback !== null && st.set.mode === MODE_FLOWID) st.sorele(soback); // 2025-09: after the barriers
  }
  yield* solockShared(st, so);
  so.closed = true;
  st.sbFlushRcv(so); // sorflush()
  if (so.proto === PROTO.tcp) yield* st.protos.tcpUsrClosed(st, so);
  else st.pcbDetach(so);
  sounlockShared(st, so);
  st.sorele(so); // the descriptor's reference
}

/** timeout_del_barrier on the idle timeout and the mode's task queue barriers. */
function* spliceBarriers(st: NetStack, so: Socket, soback: Socket | null): KCode {
  const m = st.m;
  const sp = so.sp!;
  if (sp.idleTo !== null) yield* st.procTimeoutDelBarrier(sp.idleTo);
  if (!st.set.closeBarrier) return; // the refcount diff: the queued task's reference keeps the socket alive
  if (st.set.mode === MODE_FLOWID) {
    // 2025-09: taskq_barrier on both sockets' queues.
    const spq = sp.queue;
    if (spq !== null) yield* taskqBarrier(m, spq);
    const back = soback?.sp?.queue ?? null;
    if (back !== null && back !== spq) yield* taskqBarrier(m, back);
  } else if (st.sospliceTq !== null) {
    // 1.385: task_del + taskq_barrier(sosplice_taskq); 2025-07: taskq_del_barrier.
    yield* taskqDelBarrier(m, st.sospliceTq, sp.task!);
  }
}
