/**
 * Rebuilding machine state by folding events: one tracker per concern
 * (scheduling, locks, task queues and timeouts, reference counts, sockets),
 * each fed only the kinds it owns. The rebuilt state is digested with the
 * same function as the live machine (core/digest.ts), so a checkpoint proves
 * the trace is enough to rebuild the machine.
 *
 * @example
 * ```ts
 * import { RebuiltState } from "./state.ts";
 * const s = new RebuiltState();
 * // for (const e of reader.events()) s.apply(e);
 * s.toJSON(); // threads, locks, task queues, ...
 * ```
 * @module
 */
import { digestState, type DigestView } from "../core/digest.ts";
import type { EventRecord } from "../core/event.ts";
import { ENUMS, KIND, KIND_ID_MAX, LOCK_MODE, SB_WHICH, THREAD_STATE } from "../core/schema.ts";
import { TraceError } from "../format/error.ts";
import { CPUS_MAX } from "../format/format.ts";

const TS_RUNNABLE = THREAD_STATE.runnable, TS_RUNNING = THREAD_STATE.running;
const TS_BLOCKED = THREAD_STATE.blocked, TS_EXITED = THREAD_STATE.exited;

// Which tracker owns each kind: one table, so apply() is a single indexed switch.
const C_STR = 1, C_SCHED = 2, C_LOCK = 3, C_TASK = 4, C_REF = 5, C_NET = 6, C_PKT = 7;
const CONCERN = new Uint8Array(KIND_ID_MAX + 1);
CONCERN[KIND.strDef] = C_STR;
CONCERN[KIND.objName] = C_STR;
/** The kinds that change which threads run, wait or are runnable where (the scheduling tracker's). */
export const SCHED_KINDS: readonly number[] = [
  KIND.threadCreate,
  KIND.threadExit,
  KIND.switch,
  KIND.block,
  KIND.wake,
  KIND.sleepTimeout,
  KIND.migrate,
];
for (const k of SCHED_KINDS) CONCERN[k] = C_SCHED;
for (const k of [KIND.lockInit, KIND.lockWait, KIND.lockAcquire, KIND.lockRelease]) CONCERN[k] = C_LOCK;
for (
  const k of [
    KIND.taskqCreate,
    KIND.taskInit,
    KIND.taskAdd,
    KIND.taskDel,
    KIND.taskRun,
    KIND.timeoutInit,
    KIND.timeoutAdd,
    KIND.timeoutDel,
    KIND.timeoutFire,
  ]
) CONCERN[k] = C_TASK;
for (const k of [KIND.objAlloc, KIND.ref, KIND.rele, KIND.objFree]) CONCERN[k] = C_REF;
for (const k of [KIND.soCreate, KIND.sbAppend, KIND.sbDrop, KIND.splice, KIND.unsplice]) CONCERN[k] = C_NET;
for (const k of [KIND.pktRx, KIND.ipInput, KIND.ipOutput, KIND.pktTx, KIND.pktDrop, KIND.pktLro]) CONCERN[k] = C_PKT;

/** Where a packet in flight waits: received by the NIC, not yet through ip_input; or output, not yet sent. */
const PKT_STAGES = ["rx", "tx"] as const;
/** Packets listed by toJSON (the counts are always exact). */
const PACKETS_LISTED_MAX = 64;
const STATE_NAMES = ["none", "runnable", "running", "blocked", "exited"] as const;

/** A thread as rebuilt from events. */
export interface ThreadState {
  /** Thread id (from 1). */
  id: number;
  /** Its name. */
  name: string;
  /** Its priority (larger runs first). */
  prio: number;
  /** ENUMS.threadState value (THREAD_STATE). */
  state: number;
  /** CPU it runs on, is queued on, or last ran on. */
  cpu: number;
  /** Object it waits on (0 none). */
  waitObj: number;
  /** Ids of the locks it holds, in acquisition order. */
  held: number[];
}

/** A lock as rebuilt from events. */
export interface LockState {
  /** Lock object id. */
  id: number;
  /** WITNESS/lockdep class name. */
  cls: string;
  /** ENUMS.lockType value. */
  type: number;
  /** Exclusive owner thread (0 none). */
  owner: number;
  /** Shared holders. */
  readers: number;
  /** Waiting thread ids in arrival order. */
  waiters: number[];
}

/** A socket as rebuilt from events. */
export interface SocketState {
  /** Socket object id. */
  id: number;
  /** Bytes in so_rcv. */
  rcvCc: number;
  /** Bytes in so_snd. */
  sndCc: number;
  /** Drain socket of its splice (0 none). */
  spliceTo: number;
}

/** The JSON form of a rebuilt state (what `replay --at` and the viewer show). */
export interface StateJson {
  /** Events folded (the state is after events [0, index)). */
  index: number;
  /** Time of the last folded event, ns. */
  tNs: number;
  /** Each CPU: running thread (0 idle) and its runnable threads. */
  cpus: { id: number; current: number; runQueue: number[] }[];
  /** Every thread with its state, wait and held locks. */
  threads: {
    id: number;
    name: string;
    state: string;
    cpu: number;
    waitObj: number;
    waitName: string;
    held: string[];
  }[];
  /** Every lock with owner, shared holders and waiters. */
  locks: { id: number; cls: string; type: string; owner: number; readers: number; waiters: number[] }[];
  /** Every task queue with its queued tasks. */
  taskqs: { id: number; name: string; queued: { id: number; name: string }[] }[];
  /** Pending timeouts. */
  timeouts: { id: number; name: string; deadlineNs: number }[];
  /** Reference-counted objects. */
  refs: { id: number; type: string; refs: number; freed: boolean }[];
  /** Sockets with buffer byte counts and splice links. */
  sockets: SocketState[];
  /** Packets in flight: counts per stage and the first few, oldest first. */
  packets: { rx: number; tx: number; listed: { id: number; flow: number; len: number; stage: string }[] };
}

/** A {@link RebuiltState} as plain JSON data (see {@link RebuiltState.snapshot}). */
export interface StateSnapshot {
  /** Events folded. */
  index: number;
  /** Time of the last folded event. */
  tNs: number;
  /** Interned strings as [id, text]. */
  strings: [number, string][];
  /** Object names as [id, name]. */
  names: [number, string][];
  /** Threads by id - 1. */
  threads: ThreadState[];
  /** Running thread per CPU. */
  cpuCur: number[];
  /** Locks in creation order. */
  locks: LockState[];
  /** Queued task ids per task queue. */
  taskqs: [number, number[]][];
  /** Pending timeouts as [id, deadline]. */
  timeouts: [number, number][];
  /** Every timeout id in creation order. */
  timeoutIds: number[];
  /** Reference-counted objects as [id, object]. */
  refs: [number, { type: string; refs: number; freed: boolean }][];
  /** Sockets. */
  sockets: SocketState[];
  /** Packets in flight as [id, packet]. */
  packets: [number, { flow: number; len: number; stage: number }][];
}

/** The machine state rebuilt from a trace. */
export class RebuiltState implements DigestView {
  /** Index of the next event to apply (= events folded so far). */
  index = 0;
  /** Time of the last folded event, ns. */
  tNs = 0;
  /** Interned strings by id (from str-def events). */
  readonly strings: string[] = [""];
  /** Names of objects (locks, task queues, tasks, timeouts) by id. */
  readonly names: Map<number, string> = new Map();
  /** Threads by id - 1. */
  readonly threads: ThreadState[] = [];
  /** Running thread per CPU (0 idle). */
  cpuCur: number[] = [];

  /**
   * `cpus` is the header's CPU count: the machine digests every CPU, also
   * those no event ever named (a one-thread run on four CPUs).
   */
  constructor(cpus = 0) {
    for (let c = 0; c < cpus; c++) this.cpuCur.push(0);
  }
  /** Locks in creation (= id) order, and by id. */
  readonly locks: LockState[] = [];
  /** Locks by id. */
  readonly lockById: (LockState | undefined)[] = [];
  /** Queued task ids per task queue (creation = id order). */
  readonly taskqs: Map<number, number[]> = new Map();
  /** Pending timeouts: id -> deadline. */
  readonly timeouts: Map<number, number> = new Map();
  /** Every timeout id, in creation (= id) order. */
  readonly timeoutIds: number[] = [];
  /** Reference-counted objects by id (allocation = id order). */
  readonly refs: Map<number, { type: string; refs: number; freed: boolean }> = new Map();
  /** Sockets by id. */
  readonly sockets: Map<number, SocketState> = new Map();
  /** Packets in flight by packet id: flow, length and stage (0 rx, 1 tx). */
  readonly packets: Map<number, { flow: number; len: number; stage: number }> = new Map();

  /** Folds one event. Events must come in index order. */
  apply(e: EventRecord): void {
    if (e.index !== this.index) throw corrupt(e.index, `event ${e.index} out of order (expected ${this.index})`);
    this.index++;
    this.tNs = e.tNs;
    const f = e.fields;
    switch (CONCERN[e.kind]) {
      case C_STR:
        if (e.kind === KIND.strDef) this.strings[f[0]] = e.text;
        else this.names.set(f[0], this.strings[f[1]]); // obj-name
        return;
      case C_SCHED:
        return this.#sched(e, f);
      case C_LOCK:
        return this.#lock(e, f);
      case C_TASK:
        return this.#task(e.kind, f);
      case C_REF:
        return this.#ref(e.kind, f);
      case C_NET:
        return this.#net(e.kind, f);
      case C_PKT:
        return this.#packet(e.kind, f);
      default:
        return;
    }
  }

  /** Scheduling tracker: thread states, CPUs' current threads, waits. */
  #sched(e: EventRecord, f: Float64Array): void {
    switch (e.kind) {
      case KIND.threadCreate: {
        const id = f[0];
        // Thread ids are handed out in order from 1 (Machine.spawn); anything else is not a recording.
        if (id !== this.threads.length + 1 || !(f[4] < CPUS_MAX)) {
          throw corrupt(
            e.index,
            `thread-create of thread ${id} on cpu ${f[4]} (next thread id ${this.threads.length + 1})`,
          );
        }
        this.threads[id - 1] = {
          id: small(id),
          name: this.strings[f[1]],
          prio: f[2],
          state: TS_RUNNABLE,
          cpu: small(f[4]),
          waitObj: 0,
          held: [],
        };
        while (this.cpuCur.length <= f[4]) this.cpuCur.push(0);
        return;
      }
      case KIND.threadExit:
        this.#thread(f[0]).state = TS_EXITED;
        return;
      case KIND.switch: {
        while (this.cpuCur.length <= e.cpu) this.cpuCur.push(0);
        if (f[0] !== 0) {
          const from = this.#thread(f[0]);
          if (from.state === TS_RUNNING) {
            from.state = TS_RUNNABLE;
            from.cpu = small(e.cpu);
          }
        }
        if (f[1] !== 0) {
          const to = this.#thread(f[1]);
          to.state = TS_RUNNING;
          to.cpu = small(e.cpu);
        }
        this.cpuCur[e.cpu] = small(f[1]);
        return;
      }
      case KIND.block: {
        const th = this.#thread(e.thread);
        th.state = TS_BLOCKED;
        th.waitObj = small(f[0]);
        return;
      }
      case KIND.wake:
      case KIND.sleepTimeout: {
        const th = this.#thread(f[0]);
        th.state = TS_RUNNABLE;
        th.cpu = small(e.kind === KIND.wake ? f[1] : f[2]);
        th.waitObj = 0;
        return;
      }
      case KIND.migrate:
        this.#thread(f[0]).cpu = small(f[2]);
        return;
    }
  }

  /** Lock tracker: owners, shared holders, FIFO waiters, held lists. */
  #lock(e: EventRecord, f: Float64Array): void {
    if (e.kind === KIND.lockInit) {
      const l = { id: small(f[0]), cls: this.strings[f[1]], type: f[2], owner: 0, readers: 0, waiters: [] };
      this.locks.push(l);
      this.lockById[f[0]] = l;
      this.names.set(f[0], l.cls);
      return;
    }
    const l = this.lockById[f[0]];
    if (l === undefined) throw corrupt(e.index, `event ${e.index} names unknown lock ${f[0]}`);
    if (e.kind === KIND.lockAcquire) this.#acquire(l, f[1], this.#thread(f[2]));
    else if (e.kind === KIND.lockRelease) this.#release(l, f[1], this.#thread(e.thread));
    else {
      l.waiters.push(small(e.thread));
      this.#thread(e.thread).waitObj = l.id;
    }
  }

  #acquire(l: LockState, mode: number, th: ThreadState): void {
    if (l.waiters.length > 0) {
      const i = l.waiters.indexOf(th.id);
      if (i >= 0) {
        removeAt(l.waiters, i);
        th.waitObj = 0;
      }
    }
    if (mode === LOCK_MODE.excl) l.owner = th.id;
    else l.readers++;
    th.held.push(l.id);
  }

  #release(l: LockState, mode: number, th: ThreadState): void {
    if (mode === LOCK_MODE.excl) l.owner = 0;
    else l.readers--;
    const held = th.held;
    const i = held.lastIndexOf(l.id);
    if (i >= 0) removeAt(held, i);
  }

  /** Task queue and timeout tracker. */
  #task(kind: number, f: Float64Array): void {
    switch (kind) {
      case KIND.taskqCreate:
        this.taskqs.set(f[0], []);
        this.names.set(f[0], this.strings[f[1]]);
        return;
      case KIND.taskInit:
      case KIND.timeoutInit:
        this.names.set(f[0], this.strings[f[1]]);
        if (kind === KIND.timeoutInit) this.timeoutIds.push(small(f[0]));
        return;
      case KIND.taskAdd:
        if (f[2] === 1) this.#queue(f[0]).push(small(f[1]));
        return;
      case KIND.taskDel:
      case KIND.taskRun: {
        if (kind === KIND.taskDel && f[2] !== 1) return;
        const q = this.#queue(f[0]);
        const i = q.indexOf(f[1]);
        if (i < 0) throw corrupt(this.index - 1, `event ${this.index - 1}: task ${f[1]} is not on queue ${f[0]}`);
        removeAt(q, i);
        return;
      }
      case KIND.timeoutAdd:
        this.timeouts.set(f[0], f[1]);
        return;
      case KIND.timeoutDel:
      case KIND.timeoutFire:
        this.timeouts.delete(f[0]);
        return;
    }
  }

  /** Reference count tracker. */
  #ref(kind: number, f: Float64Array): void {
    if (kind === KIND.objAlloc) {
      this.refs.set(f[0], { type: this.strings[f[1]], refs: f[2], freed: false });
      return;
    }
    const o = this.refs.get(f[0]);
    if (o === undefined) throw corrupt(this.index - 1, `event ${this.index - 1} names unknown object ${f[0]}`);
    if (kind === KIND.objFree) o.freed = true;
    else o.refs = f[1];
  }

  /**
   * Packet tracker: packets in flight in the box, between the NIC's receive
   * (pkt-rx) and ip_input (ip-input), and between ip_output (ip-output) and the
   * NIC's transmit (pkt-tx); a drop ends either. Keyed by packet id.
   */
  #packet(kind: number, f: Float64Array): void {
    if (kind === KIND.pktRx) this.packets.set(f[0], { flow: f[1], len: f[2], stage: 0 });
    else if (kind === KIND.ipOutput) this.packets.set(f[0], { flow: f[1], len: f[3], stage: 1 });
    else if (kind === KIND.pktLro) {
      this.packets.delete(f[0]);
      const into = this.packets.get(f[1]);
      if (into !== undefined) into.len += f[2];
    } else this.packets.delete(f[0]); // ip-input, pkt-tx, pkt-drop
  }

  /** Socket tracker: buffer byte counts and splice links. */
  #net(kind: number, f: Float64Array): void {
    if (kind === KIND.soCreate) {
      this.sockets.set(f[0], { id: f[0], rcvCc: 0, sndCc: 0, spliceTo: 0 });
      return;
    }
    const so = this.sockets.get(f[0]);
    if (so === undefined) return; // a socket the stack did not announce: nothing to track
    if (kind === KIND.sbAppend || kind === KIND.sbDrop) {
      if (f[1] === SB_WHICH.rcv) so.rcvCc = f[3];
      else so.sndCc = f[3];
    } else if (kind === KIND.splice) so.spliceTo = f[1];
    else so.spliceTo = 0;
  }

  #thread(id: number): ThreadState {
    const t = this.threads[id - 1];
    if (t === undefined) throw corrupt(this.index - 1, `event ${this.index - 1} names unknown thread ${id}`);
    return t;
  }

  #queue(id: number): number[] {
    const q = this.taskqs.get(id);
    if (q === undefined) throw corrupt(this.index - 1, `event ${this.index - 1} names unknown task queue ${id}`);
    return q;
  }

  /** The five digests of the rebuilt state (same function as the live machine). */
  digest(): number[] {
    return digestState(this);
  }

  /** A deep copy (for seek snapshots). */
  clone(): RebuiltState {
    const c = new RebuiltState();
    c.index = this.index;
    c.tNs = this.tNs;
    c.strings.length = 0;
    c.strings.push(...this.strings);
    for (const [k, v] of this.names) c.names.set(k, v);
    for (const t of this.threads) c.threads.push({ ...t, held: t.held.slice() });
    c.cpuCur = this.cpuCur.slice();
    for (const l of this.locks) {
      const copy = { ...l, waiters: l.waiters.slice() };
      c.locks.push(copy);
      c.lockById[l.id] = copy;
    }
    for (const [k, q] of this.taskqs) c.taskqs.set(k, q.slice());
    for (const [k, v] of this.timeouts) c.timeouts.set(k, v);
    c.timeoutIds.push(...this.timeoutIds);
    for (const [k, o] of this.refs) c.refs.set(k, { ...o });
    for (const [k, s] of this.sockets) c.sockets.set(k, { ...s });
    for (const [k, p] of this.packets) c.packets.set(k, { ...p });
    return c;
  }

  /**
   * Every field as plain JSON data, for the seek snapshots persisted next to
   * a trace (replay/seek.ts); {@link RebuiltState.fromSnapshot} restores it.
   */
  snapshot(): StateSnapshot {
    const strings: [number, string][] = [];
    this.strings.forEach((t, id) => void strings.push([id, t]));
    return {
      index: this.index,
      tNs: this.tNs,
      strings,
      names: [...this.names],
      threads: this.threads,
      cpuCur: this.cpuCur,
      locks: this.locks,
      taskqs: [...this.taskqs],
      timeouts: [...this.timeouts],
      timeoutIds: this.timeoutIds,
      refs: [...this.refs],
      sockets: [...this.sockets.values()],
      packets: [...this.packets],
    };
  }

  /** The state a {@link snapshot} describes (a deep copy: the snapshot may be reused). */
  static fromSnapshot(o: StateSnapshot): RebuiltState {
    const c = new RebuiltState();
    c.index = o.index;
    c.tNs = o.tNs;
    for (const [id, t] of o.strings) c.strings[id] = t;
    for (const [k, v] of o.names) c.names.set(k, v);
    for (const t of o.threads) c.threads.push({ ...t, held: t.held.slice() });
    c.cpuCur = o.cpuCur.slice();
    for (const l of o.locks) {
      const copy = { ...l, waiters: l.waiters.slice() };
      c.locks.push(copy);
      c.lockById[l.id] = copy;
    }
    for (const [k, q] of o.taskqs) c.taskqs.set(k, q.slice());
    for (const [k, v] of o.timeouts) c.timeouts.set(k, v);
    c.timeoutIds.push(...o.timeoutIds);
    for (const [k, r] of o.refs) c.refs.set(k, { ...r });
    for (const so of o.sockets) c.sockets.set(so.id, { ...so });
    for (const [k, p] of o.packets) c.packets.set(k, { ...p });
    return c;
  }

  // DigestView ------------------------------------------------------------
  /** DigestView. */
  cpuCount(): number {
    return this.cpuCur.length;
  }
  /** DigestView. */
  cpuCurrent(cpu: number): number {
    return this.cpuCur[cpu] ?? 0;
  }
  /** DigestView. */
  forEachThread(cb: (id: number, state: number, cpu: number, waitObj: number) => void): void {
    for (const t of this.threads) {
      const onCpu = t.state === TS_RUNNABLE || t.state === TS_RUNNING;
      cb(t.id, t.state, onCpu ? t.cpu : 0, t.waitObj);
    }
  }
  /** DigestView. */
  forEachLock(cb: (id: number, owner: number, readers: number, waiters: readonly number[]) => void): void {
    for (const l of this.locks) cb(l.id, l.owner, l.readers, l.waiters);
  }
  /** DigestView. */
  forEachTaskq(cb: (id: number, queued: readonly number[]) => void): void {
    for (const [id, q] of this.taskqs) cb(id, q);
  }
  /** DigestView. */
  forEachTimeout(cb: (id: number, deadlineNs: number) => void): void {
    for (const id of this.timeoutIds) {
      const d = this.timeouts.get(id);
      if (d !== undefined) cb(id, d);
    }
  }
  /** DigestView. */
  forEachRef(cb: (id: number, refs: number, freed: boolean) => void): void {
    for (const [id, o] of this.refs) cb(id, o.refs, o.freed);
  }
  /** DigestView. */
  forEachSocket(cb: (id: number, rcvCc: number, sndCc: number, spliceTo: number) => void): void {
    const ids = [...this.sockets.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      const s = this.sockets.get(id) as SocketState;
      cb(id, s.rcvCc, s.sndCc, s.spliceTo);
    }
  }

  #packetsJson(): StateJson["packets"] {
    let rx = 0;
    const listed: StateJson["packets"]["listed"] = [];
    for (const [id, p] of this.packets) {
      if (p.stage === 0) rx++;
      if (listed.length < PACKETS_LISTED_MAX) listed.push({ id, flow: p.flow, len: p.len, stage: PKT_STAGES[p.stage] });
    }
    return { rx, tx: this.packets.size - rx, listed };
  }

  /** Readable JSON of the whole state. */
  toJSON(): StateJson {
    const name = (id: number) => this.names.get(id) ?? (id === 0 ? "" : `#${id}`);
    const rq = (cpu: number) => this.threads.filter((t) => t.state === TS_RUNNABLE && t.cpu === cpu).map((t) => t.id);
    return {
      index: this.index,
      tNs: this.tNs,
      cpus: this.cpuCur.map((cur, id) => ({ id, current: cur, runQueue: rq(id) })),
      threads: this.threads.map((t) => ({
        id: t.id,
        name: t.name,
        state: STATE_NAMES[t.state],
        cpu: t.cpu,
        waitObj: t.waitObj,
        waitName: t.waitObj === 0 ? "" : name(t.waitObj),
        held: t.held.map(name),
      })),
      locks: this.locks.map((l) => ({
        id: l.id,
        cls: l.cls,
        type: ENUMS.lockType[l.type] ?? String(l.type),
        owner: l.owner,
        readers: l.readers,
        waiters: l.waiters.slice(),
      })),
      taskqs: [...this.taskqs].map(([id, q]) => ({
        id,
        name: name(id),
        queued: q.map((t) => ({ id: t, name: name(t) })),
      })),
      timeouts: [...this.timeouts].map(([id, d]) => ({ id, name: name(id), deadlineNs: d })),
      refs: [...this.refs].map(([id, o]) => ({ id, type: o.type, refs: o.refs, freed: o.freed })),
      sockets: [...this.sockets.values()].sort((a, b) => a.id - b.id).map((s) => ({ ...s })),
      packets: this.#packetsJson(),
    };
  }
}

export {
  /** Names of the thread states, indexed by TS value. */
  STATE_NAMES,
  /** TS value of a blocked thread. */
  TS_BLOCKED,
};

/**
 * `v` (a non-negative safe integer read from a Float64Array column) as a
 * small integer when it is one: ids kept in objects and pushed into id lists
 * as doubles make V8 box a heap number on every push (measured: most of the
 * fold's garbage came from lock ids).
 */
function small(v: number): number {
  return v < 0x40000000 ? v | 0 : v;
}

/** Removes `a[i]` in place (splice would allocate the array of removed elements on every call). */
function removeAt(a: number[], i: number): void {
  const last = a.length - 1;
  for (let k = i; k < last; k++) a[k] = a[k + 1];
  a.pop();
}

/**
 * Events that pass their checksums but contradict the state they apply to
 * (a lock never created, a thread never spawned): the trace's content is
 * wrong, which is a trace error like any other damage. The fold adds the
 * block (see foldFailure in _fold_error.ts).
 */
function corrupt(index: number, why: string): TraceError {
  return new TraceError("corrupt", `the rebuilt state cannot apply it: ${why}`, { recovered: index });
}
