/**
 * Interface send queues (struct ifqueue), ported from sys/net/ifq.c 1.62 and
 * the output half of sys/net/if.c 1.741:
 *
 * - `if_enqueue_ifq()` picks the send queue by the mbuf's flow id
 *   (`priq_idx`: ph_flowid % if_nifqs), `ifq_enqueue()` appends it under
 *   `ifq_mtx` (dropping above `ifq_maxlen`), then `ifq_start()`.
 * - `ifq_start()`: with at least min(if_txmit, ifq_maxlen) packets queued
 *   it `task_del`s the bundle task and runs the start routine at once;
 *   otherwise it defers it: `task_add(ifq_softnet, &ifq_bundle)`, so the
 *   driver's transmit runs on the softnet thread of the queue
 *   (`ifq_init`: `ifq_softnet = net_tq(idx)`), not inline on whatever
 *   thread called `if_enqueue` (a splice task, a user process, a timer).
 * - `ifq_serialize()`: one CPU at a time runs the queue's start task; others
 *   queue it for the running serialiser (`ifq_task_mtx`).
 * - `ifq_start_task()` calls the driver's `if_qstart`, which drains the queue
 *   into the NIC (`ifOutput` cost per packet).
 * @module
 */
import type { Machine } from "../machine.ts";
import { type KCode, KObj, type Lock, type Task, type Taskq } from "../objects.ts";
import { KIND } from "../schema.ts";
import { taskAdd, taskDel, taskSet } from "../taskq.ts";
import { type Packet, PROTO } from "./packet.ts";

/** IF_TXMIT_DEFAULT of net/if_var.h: packets queued before ifq_start stops deferring. */
export const IF_TXMIT_DEFAULT = 16;

/** One send queue. */
export class Ifq extends KObj {
  /** Queued packets from `head` on (compacted when drained). */
  readonly q: Packet[] = [];
  head = 0;
  /** ifq_serializer != NULL: a CPU is running the start task. */
  serializing = false;
  /** The start task is on ifq_task_list. */
  startQueued = false;
  bundle: Task | null = null;
  /** Packets handed to the driver, and by the inline path / the bundle task. */
  starts = 0;
  bundleRuns = 0;
  constructor(
    id: number,
    name: string,
    readonly mtx: Lock,
    readonly taskMtx: Lock,
    readonly softnet: Taskq,
    readonly maxlen: number,
    readonly txmit: number,
    readonly owner: IfqOwner,
  ) {
    super(id, name);
  }
  /** ifq_len(). */
  len(): number {
    return this.q.length - this.head;
  }
}

/** What the send queue needs from its interface and stack. */
export interface IfqOwner {
  readonly m: Machine;
  /** The driver's if_qstart hand-off of one packet to the hardware. */
  transmit(p: Packet): void;
  /** Drops a packet the queue refused (ENOBUFS). */
  drop(p: Packet): void;
}

/** ifq_init(): a send queue whose deferred start runs on `softnet`. */
export function ifqInit(m: Machine, name: string, softnet: Taskq, maxlen: number, owner: IfqOwner): Ifq {
  const ifq = new Ifq(
    m.newId(),
    name,
    m.newLock("ifq_mtx", "spin", "high"), // mtx_init(&ifq->ifq_mtx, IPL_NET)
    m.newLock("ifq_task_mtx", "spin", "high"),
    softnet,
    maxlen,
    IF_TXMIT_DEFAULT,
    owner,
  );
  ifq.bundle = taskSet(m, `ifq_bundle:${name}`, () => ifqBundleTask(owner, ifq), ifq);
  return ifq;
}

/** ifq_enqueue() + ifq_start(): queue `p` for transmission. */
export function* ifqEnqueue(owner: IfqOwner, ifq: Ifq, p: Packet): KCode {
  const m = owner.m;
  yield m.lock(ifq.mtx);
  const full = ifq.len() >= ifq.maxlen;
  if (!full) ifq.q.push(p);
  m.unlock(ifq.mtx);
  if (full) return owner.drop(p);
  yield* ifqStart(owner, ifq);
}

/** ifq_start() of ifq.c 1.62. */
function* ifqStart(owner: IfqOwner, ifq: Ifq): KCode {
  const m = owner.m;
  if (ifq.len() >= Math.min(ifq.txmit, ifq.maxlen)) {
    yield* taskDel(m, ifq.softnet, ifq.bundle!);
    yield* ifqRunStart(owner, ifq);
  } else yield* taskAdd(m, ifq.softnet, ifq.bundle!);
}

/** ifq_bundle_task(): the deferred start. */
function* ifqBundleTask(owner: IfqOwner, ifq: Ifq): KCode {
  ifq.bundleRuns++;
  yield* ifqRunStart(owner, ifq);
}

/** ifq_run_start() = ifq_serialize(ifq, &ifq->ifq_start). */
function* ifqRunStart(owner: IfqOwner, ifq: Ifq): KCode {
  const m = owner.m;
  if (ifq.startQueued) return; // ISSET(t->t_flags, TASK_ONQUEUE)
  yield m.lock(ifq.taskMtx);
  ifq.startQueued = true;
  if (!ifq.serializing) {
    ifq.serializing = true;
    while (ifq.startQueued) {
      ifq.startQueued = false;
      m.unlock(ifq.taskMtx);
      yield* ifqStartTask(owner, ifq);
      yield m.lock(ifq.taskMtx);
    }
    ifq.serializing = false;
  }
  m.unlock(ifq.taskMtx);
}

/** ifq_start_task() -> the driver's if_qstart: dequeue every packet and hand it to the hardware. */
function* ifqStartTask(owner: IfqOwner, ifq: Ifq): KCode {
  const m = owner.m;
  ifq.starts++;
  for (;;) {
    yield m.lock(ifq.mtx);
    const p = ifq.len() > 0 ? ifq.q[ifq.head++] : undefined;
    if (ifq.head === ifq.q.length) {
      ifq.q.length = 0;
      ifq.head = 0;
    }
    m.unlock(ifq.mtx);
    if (p === undefined) return;
    yield m.spend(m.cost.ifOutput);
    m.emit(KIND.pktTx, p.id, p.flow, p.len);
    if (p.proto === PROTO.tcp) m.emit(KIND.pktTcp, p.id, p.seq >>> 0, p.ack >>> 0, p.flags, p.win);
    owner.transmit(p);
  }
}
