/**
 * The one event schema. Every event kind lockstep can emit is declared here
 * once, with a numeric id, typed fields and a description. The trace encoder
 * and decoder (recorder/, replay/), the replay trackers and the viewer legend
 * are all derived from this table; nothing else declares an event layout.
 *
 * Field values are JavaScript numbers holding integers in the safe range
 * (0..2^53-1 for unsigned types). Strings are interned: a `str` field holds
 * the id of a string announced earlier by a `str-def` event.
 *
 * @example
 * ```ts
 * import { KIND, kindDef } from "./schema.ts";
 * console.log(kindDef(KIND.taskAdd).fields.map((f) => f.name)); // ["tq","task","queued"]
 * ```
 * @module
 */

/** How a field is typed and therefore encoded. */
export type FieldType =
  | "u" // unsigned integer
  | "i" // signed integer (zigzag encoded)
  | "ns" // unsigned simulated nanoseconds
  | "str" // interned string id
  | "obj" // kernel object id (locks, task queues, tasks, sockets, ...)
  | "thread" // thread id (0 = none / idle)
  | "cpu" // cpu index
  | "pkt" // packet id
  | `enum:${EnumName}`;

/** One field of an event kind. */
export interface FieldDef {
  /** Field name. */
  readonly name: string;
  /** How the value is interpreted. */
  readonly type: FieldType;
}

/** Category of an event kind, used for filtering and the viewer legend. */
export type Category =
  | "meta"
  | "sched"
  | "intr"
  | "lock"
  | "task"
  | "timeout"
  | "ref"
  | "net"
  | "check";

/** One event kind. */
export interface KindDef {
  /** Numeric kind, as stored in traces. */
  readonly id: number;
  /** Kind name (kebab-case). */
  readonly name: string;
  /** Category, for filtering. */
  readonly cat: Category;
  /** Its fields, in record order. */
  readonly fields: readonly FieldDef[];
  /** One-line description. */
  readonly doc: string;
}

/** Largest number of fields any event kind has; records reserve this many. */
export const FIELDS_MAX = 6;

/**
 * Enumerations used by `enum:` fields, and the value sets the machine and the
 * replay trackers share (thread states are also digest values). Index in the
 * array is the value. Code takes numeric values from {@link enumValues}
 * constants (e.g. {@link LOCK_TYPE}), never from restated literals.
 */
export const ENUMS = {
  switchReason: ["block", "preempt", "yield", "exit", "quantum", "perturb", "idle"],
  blockWhy: ["lock", "sleep", "barrier", "spin"],
  lockType: ["spin", "adaptive", "rwlock", "pseudo"],
  lockMode: ["excl", "shared"],
  runEnd: ["time-limit", "event-limit", "quiescent", "deadlock", "all-exited"],
  decision: ["tie", "perturb", "pct", "wake-cpu"],
  violation: [
    "deadlock",
    "lock-order",
    "lock-recursion",
    "sleep-with-spin",
    "softint-safety",
    "use-after-free",
    "refcount-underflow",
    "lost-wakeup",
    "starvation",
    "stream",
    "conservation",
  ],
  sbWhich: ["rcv", "snd"],
  dropReason: [
    "ifiq-full",
    "sb-full",
    "no-socket",
    "lossy-link",
    "ttl",
    "closed",
    "rx-ring",
    "out-of-order",
    "ifq-full",
    "mbuf-fail",
    "link-down",
  ],
  fault: [
    "mbuf-fail",
    "rx-ring",
    "link-loss",
    "link-dup",
    "link-reorder",
    "link-down",
    "link-up",
    "intr-delay",
    "cpu-slow",
    "cpu-normal",
    "sb-limit",
    "softirq-defer",
  ],
  unspliceReason: ["eof", "efbig", "idle", "error", "user", "close", "eloop"],
  proto: ["tcp", "udp"],
  threadState: ["none", "runnable", "running", "blocked", "exited"],
  threadKind: ["kthread", "user", "softint", "intr"],
} as const;

/** Names of the enumerations. */
export type EnumName = keyof typeof ENUMS;

/** `"wake-cpu"` as `"wakeCpu"`: the property name of an enum label. */
export type CamelCase<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<CamelCase<B>>}` : S;

/** An enumeration as an object from camel-cased label to value, e.g. `{ spin: 0, adaptive: 1, ... }`. */
export type EnumValues<N extends EnumName> = { readonly [L in (typeof ENUMS)[N][number] as CamelCase<L>]: number };

/** The values of enumeration `name` by camel-cased label, derived from {@link ENUMS} so they cannot drift. */
export function enumValues<N extends EnumName>(name: N): EnumValues<N> {
  const out: Record<string, number> = {};
  const labels: readonly string[] = ENUMS[name];
  for (let i = 0; i < labels.length; i++) out[labels[i].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = i;
  return Object.freeze(out) as EnumValues<N>;
}

/** Switch reasons (ENUMS.switchReason). */
export const SWITCH_REASON: EnumValues<"switchReason"> = enumValues("switchReason");
/** Block reasons (ENUMS.blockWhy). */
export const BLOCK_WHY: EnumValues<"blockWhy"> = enumValues("blockWhy");
/** Lock types (ENUMS.lockType). */
export const LOCK_TYPE: EnumValues<"lockType"> = enumValues("lockType");
/** Lock modes (ENUMS.lockMode). */
export const LOCK_MODE: EnumValues<"lockMode"> = enumValues("lockMode");
/** Decision points (ENUMS.decision). */
export const DECISION: EnumValues<"decision"> = enumValues("decision");
/** Injected faults (ENUMS.fault). */
export const FAULT: EnumValues<"fault"> = enumValues("fault");
/** Thread states (ENUMS.threadState; also digest values). */
export const THREAD_STATE: EnumValues<"threadState"> = enumValues("threadState");
/** Thread kinds (ENUMS.threadKind; the `kind` field of thread-create). */
export const THREAD_KIND: EnumValues<"threadKind"> = enumValues("threadKind");
/** Stream buffers (ENUMS.sbWhich). */
export const SB_WHICH: EnumValues<"sbWhich"> = enumValues("sbWhich");
/** Packet protocols (ENUMS.proto). */
export const PROTO: EnumValues<"proto"> = enumValues("proto");
/** Unsplice reasons (ENUMS.unspliceReason). */
export const UNSPLICE_REASON: EnumValues<"unspliceReason"> = enumValues("unspliceReason");

const f = (name: string, type: FieldType): FieldDef => ({ name, type });

/**
 * All event kinds, in id order. Ids are stable: a trace stores ids, so an id
 * is never reused for another meaning (append new kinds, bump the format
 * version when a layout changes).
 */
export const KINDS: readonly KindDef[] = [
  // --- meta ---------------------------------------------------------------
  {
    id: 0,
    name: "str-def",
    cat: "meta",
    fields: [f("id", "str")],
    doc: "Interns a string; the text travels with the event.",
  },
  {
    id: 1,
    name: "run-end",
    cat: "meta",
    fields: [f("reason", "enum:runEnd"), f("blocked", "u")],
    doc: "The run ended; `blocked` threads were still waiting.",
  },
  {
    id: 2,
    name: "checkpoint",
    cat: "meta",
    fields: [f("sched", "u"), f("lock", "u"), f("task", "u"), f("ref", "u"), f("net", "u"), f("seq", "u")],
    doc: "Digest of each part of the machine state after every preceding event.",
  },
  {
    id: 3,
    name: "decision",
    cat: "meta",
    fields: [f("point", "enum:decision"), f("n", "u"), f("value", "u"), f("seq", "u")],
    doc:
      "A seeded draw that changed the schedule: `value` of `n` choices (0 is the default); `seq` counts every decision point of the run, so a re-execution can follow it.",
  },
  {
    id: 4,
    name: "violation",
    cat: "check",
    fields: [f("kind", "enum:violation"), f("msg", "str"), f("a", "u"), f("b", "u")],
    doc: "A detector found a bug; `msg` explains it.",
  },
  // id 5 was config-note, never emitted (the header carries the configuration): retired, not to be reused.
  {
    id: 7,
    name: "fault",
    cat: "check",
    fields: [f("fault", "enum:fault"), f("a", "u"), f("b", "u")],
    doc:
      "An injected fault (`fault.*` keys) took effect: `a` and `b` name what it hit (a packet, an interface, a CPU, a socket) and how much; drawn from the seed, so a re-execution injects the same ones.",
  },
  {
    id: 6,
    name: "obj-name",
    cat: "meta",
    fields: [f("obj", "obj"), f("name", "str")],
    doc: "Names a kernel object that has no creation event of its own (a wait channel, a condition).",
  },
  // --- scheduling ---------------------------------------------------------
  {
    id: 10,
    name: "thread-create",
    cat: "sched",
    fields: [f("thread", "thread"), f("name", "str"), f("prio", "u"), f("pin", "i"), f("cpu", "cpu"), f("kind", "u")],
    doc: "A thread exists and is runnable on `cpu`. prio: larger runs first. pin -1: may migrate.",
  },
  { id: 11, name: "thread-exit", cat: "sched", fields: [f("thread", "thread")], doc: "The running thread exited." },
  {
    id: 12,
    name: "switch",
    cat: "sched",
    fields: [f("from", "thread"), f("to", "thread"), f("reason", "enum:switchReason")],
    doc: "Context switch on this CPU; `from` is requeued unless it blocked or exited.",
  },
  {
    id: 13,
    name: "block",
    cat: "sched",
    fields: [f("obj", "obj"), f("why", "enum:blockWhy"), f("timeoutNs", "ns")],
    doc: "The running thread waits on `obj` (0 timeout = forever).",
  },
  {
    id: 14,
    name: "wake",
    cat: "sched",
    fields: [f("thread", "thread"), f("cpu", "cpu"), f("obj", "obj")],
    doc: "`thread` becomes runnable on `cpu` (a cross-CPU wakeup when cpu differs).",
  },
  {
    id: 15,
    name: "sleep-timeout",
    cat: "sched",
    fields: [f("thread", "thread"), f("obj", "obj"), f("cpu", "cpu")],
    doc: "A timed sleep expired; `thread` runnable on `cpu`.",
  },
  {
    id: 16,
    name: "wakeup-call",
    cat: "sched",
    fields: [f("chan", "obj"), f("woken", "u"), f("one", "u")],
    doc: "wakeup()/wakeup_one()/cv_signal on `chan`, waking `woken` threads.",
  },
  {
    id: 17,
    name: "migrate",
    cat: "sched",
    fields: [f("thread", "thread"), f("from", "cpu"), f("to", "cpu")],
    doc: "A runnable thread moved between run queues (idle steal).",
  },
  // --- interrupts ---------------------------------------------------------
  {
    id: 20,
    name: "softint-establish",
    cat: "intr",
    fields: [f("si", "obj"), f("level", "u"), f("name", "str")],
    doc: "A soft interrupt handler at `level` (index into softint.levels).",
  },
  {
    id: 21,
    name: "softint-schedule",
    cat: "intr",
    fields: [f("si", "obj"), f("cpu", "cpu"), f("queued", "u")],
    doc: "softint_schedule(); queued 0 means it was already pending (no-op).",
  },
  {
    id: 22,
    name: "softint-run",
    cat: "intr",
    fields: [f("si", "obj"), f("level", "u")],
    doc: "The handler starts on this CPU; its pending mark is cleared.",
  },
  { id: 23, name: "softint-done", cat: "intr", fields: [f("si", "obj")], doc: "The handler returned." },
  {
    id: 24,
    name: "intr-enter",
    cat: "intr",
    fields: [f("irq", "obj"), f("name", "str")],
    doc: "A hard interrupt preempts this CPU.",
  },
  { id: 25, name: "intr-exit", cat: "intr", fields: [f("irq", "obj")], doc: "The hard interrupt handler returned." },
  // --- locks --------------------------------------------------------------
  {
    id: 30,
    name: "lock-init",
    cat: "lock",
    fields: [f("lock", "obj"), f("class", "str"), f("type", "enum:lockType")],
    doc: "A lock of a WITNESS/lockdep class.",
  },
  {
    id: 31,
    name: "lock-wait",
    cat: "lock",
    fields: [f("lock", "obj"), f("mode", "enum:lockMode"), f("owner", "thread")],
    doc: "The running thread found the lock taken and spins or sleeps.",
  },
  {
    id: 32,
    name: "lock-acquire",
    cat: "lock",
    fields: [f("lock", "obj"), f("mode", "enum:lockMode"), f("thread", "thread"), f("waitNs", "ns")],
    doc: "`thread` now holds the lock (after waiting `waitNs`).",
  },
  {
    id: 33,
    name: "lock-release",
    cat: "lock",
    fields: [f("lock", "obj"), f("mode", "enum:lockMode")],
    doc: "The running thread released the lock.",
  },
  // --- task queues --------------------------------------------------------
  {
    id: 40,
    name: "taskq-create",
    cat: "task",
    fields: [f("tq", "obj"), f("name", "str"), f("nthreads", "u")],
    doc: "taskq_create().",
  },
  { id: 41, name: "task-init", cat: "task", fields: [f("task", "obj"), f("name", "str")], doc: "task_set()." },
  {
    id: 42,
    name: "task-add",
    cat: "task",
    fields: [f("tq", "obj"), f("task", "obj"), f("queued", "u")],
    doc: "task_add(); queued 0 when already on the queue.",
  },
  {
    id: 43,
    name: "task-del",
    cat: "task",
    fields: [f("tq", "obj"), f("task", "obj"), f("removed", "u")],
    doc: "task_del(); removed 1 only if it was queued.",
  },
  {
    id: 44,
    name: "task-run",
    cat: "task",
    fields: [f("tq", "obj"), f("task", "obj")],
    doc: "A worker dequeued the task, cleared its queued mark and runs it.",
  },
  {
    id: 45,
    name: "task-done",
    cat: "task",
    fields: [f("tq", "obj"), f("task", "obj")],
    doc: "The task function returned.",
  },
  {
    id: 46,
    name: "barrier-enter",
    cat: "task",
    fields: [f("tq", "obj"), f("version", "u")],
    doc: "taskq_barrier() called (version 127 or 136).",
  },
  { id: 47, name: "barrier-exit", cat: "task", fields: [f("tq", "obj")], doc: "taskq_barrier() returned." },
  // --- timeouts -----------------------------------------------------------
  { id: 50, name: "timeout-init", cat: "timeout", fields: [f("to", "obj"), f("name", "str")], doc: "timeout_set()." },
  {
    id: 51,
    name: "timeout-add",
    cat: "timeout",
    fields: [f("to", "obj"), f("deadlineNs", "ns"), f("added", "u")],
    doc: "timeout_add(); added 0 when it was already pending (rescheduled).",
  },
  { id: 52, name: "timeout-del", cat: "timeout", fields: [f("to", "obj"), f("removed", "u")], doc: "timeout_del()." },
  {
    id: 53,
    name: "timeout-fire",
    cat: "timeout",
    fields: [f("to", "obj"), f("lateNs", "ns")],
    doc: "The clock soft interrupt runs the handler, `lateNs` after its deadline.",
  },
  { id: 54, name: "timeout-done", cat: "timeout", fields: [f("to", "obj")], doc: "The timeout handler returned." },
  // --- reference counts ---------------------------------------------------
  {
    id: 60,
    name: "obj-alloc",
    cat: "ref",
    fields: [f("obj", "obj"), f("type", "str"), f("refs", "u")],
    doc: "A reference-counted object was allocated with `refs` references.",
  },
  {
    id: 61,
    name: "ref",
    cat: "ref",
    fields: [f("obj", "obj"), f("count", "u")],
    doc: "A reference was taken; `count` is the new count.",
  },
  {
    id: 62,
    name: "rele",
    cat: "ref",
    fields: [f("obj", "obj"), f("count", "u")],
    doc: "A reference was dropped; `count` is the new count.",
  },
  {
    id: 63,
    name: "obj-free",
    cat: "ref",
    fields: [f("obj", "obj")],
    doc: "The object was freed (its count reached zero).",
  },
  // --- network (ids 70..99) -----------------------------------------------
  {
    id: 70,
    name: "pkt-rx",
    cat: "net",
    fields: [f("pkt", "pkt"), f("flow", "u"), f("len", "u"), f("queue", "u")],
    doc: "The NIC received a packet into receive queue `queue` (RSS).",
  },
  {
    id: 71,
    name: "pkt-drop",
    cat: "net",
    fields: [f("pkt", "pkt"), f("flow", "u"), f("len", "u"), f("reason", "enum:dropReason")],
    doc: "A packet was dropped.",
  },
  {
    id: 72,
    name: "ifiq-input",
    cat: "net",
    fields: [f("ifiq", "obj"), f("n", "u"), f("qlen", "u")],
    doc: "ifiq_input() queued `n` packets; the queue now holds `qlen`.",
  },
  {
    id: 73,
    name: "ifiq-process",
    cat: "net",
    fields: [f("ifiq", "obj"), f("n", "u")],
    doc: "if_input_process() took a batch of `n` packets.",
  },
  {
    id: 74,
    name: "ip-input",
    cat: "net",
    fields: [f("pkt", "pkt"), f("flow", "u"), f("proto", "enum:proto"), f("len", "u")],
    doc: "IP input of a packet.",
  },
  {
    id: 75,
    name: "ip-output",
    cat: "net",
    fields: [f("pkt", "pkt"), f("flow", "u"), f("proto", "enum:proto"), f("len", "u")],
    doc: "IP output of a packet.",
  },
  {
    id: 76,
    name: "pkt-tx",
    cat: "net",
    fields: [f("pkt", "pkt"), f("flow", "u"), f("len", "u")],
    doc: "The NIC transmitted a packet.",
  },
  {
    id: 77,
    name: "so-create",
    cat: "net",
    fields: [f("so", "obj"), f("proto", "enum:proto"), f("flow", "u"), f("rcvHiwat", "u"), f("sndHiwat", "u")],
    doc: "A socket exists.",
  },
  {
    id: 78,
    name: "sb-append",
    cat: "net",
    fields: [f("so", "obj"), f("which", "enum:sbWhich"), f("bytes", "u"), f("cc", "u")],
    doc: "Bytes appended to a socket buffer; `cc` is the new count.",
  },
  {
    id: 79,
    name: "sb-drop",
    cat: "net",
    fields: [f("so", "obj"), f("which", "enum:sbWhich"), f("bytes", "u"), f("cc", "u")],
    doc: "Bytes removed from a socket buffer; `cc` is the new count.",
  },
  {
    id: 80,
    name: "splice",
    cat: "net",
    fields: [f("so", "obj"), f("sosp", "obj"), f("max", "u"), f("idleNs", "ns")],
    doc: "SO_SPLICE linked source `so` to drain `sosp`.",
  },
  {
    id: 81,
    name: "unsplice",
    cat: "net",
    fields: [f("so", "obj"), f("sosp", "obj"), f("reason", "enum:unspliceReason"), f("len", "u")],
    doc: "The splice ended after moving `len` bytes.",
  },
  {
    id: 82,
    name: "somove",
    cat: "net",
    fields: [f("so", "obj"), f("sosp", "obj"), f("bytes", "u"), f("total", "u")],
    doc: "somove() moved `bytes` from `so` to `sosp`.",
  },
  {
    id: 83,
    name: "tcp-in",
    cat: "net",
    fields: [f("so", "obj"), f("seq", "u"), f("ack", "u"), f("len", "u"), f("flags", "u"), f("win", "u")],
    doc: "tcp_input() of a segment (flags: FIN 1, SYN 2, RST 4, ACK 16).",
  },
  {
    id: 84,
    name: "tcp-out",
    cat: "net",
    fields: [f("so", "obj"), f("seq", "u"), f("ack", "u"), f("len", "u"), f("flags", "u"), f("win", "u")],
    doc: "tcp_output() sent a segment.",
  },
  {
    id: 85,
    name: "tcp-rexmt",
    cat: "net",
    fields: [f("so", "obj"), f("seq", "u"), f("len", "u")],
    doc: "The retransmit timer fired and resent from `seq`.",
  },
  {
    id: 86,
    name: "so-state",
    cat: "net",
    fields: [f("so", "obj"), f("state", "u"), f("error", "u")],
    doc: "Socket/TCP state change (state: TCPS_* number) or so_error set.",
  },
  {
    id: 87,
    name: "sink-rx",
    cat: "net",
    fields: [f("flow", "u"), f("bytes", "u"), f("total", "u")],
    doc: "An external sink host received `bytes` of flow `flow`.",
  },
  {
    id: 88,
    name: "src-tx",
    cat: "net",
    fields: [f("flow", "u"), f("bytes", "u"), f("total", "u")],
    doc: "An external source host sent `bytes` of flow `flow`.",
  },
  { id: 89, name: "so-close", cat: "net", fields: [f("so", "obj")], doc: "soclose() started on the socket." },
  {
    id: 90,
    name: "pkt-lro",
    cat: "net",
    fields: [f("pkt", "pkt"), f("into", "pkt"), f("len", "u")],
    doc: "LRO (tcp_softlro_glue) appended packet `pkt`, `len` bytes, to packet `into` of the same flow.",
  },
  {
    id: 91,
    name: "flow-def",
    cat: "net",
    fields: [
      f("flow", "u"),
      f("proto", "enum:proto"),
      f("localIp", "u"),
      f("remoteIp", "u"),
      f("localPort", "u"),
      f("remotePort", "u"),
    ],
    doc:
      "The addresses of flow `flow`: the machine's end (local) and the external host's (remote), IPv4 as 32-bit numbers.",
  },
  {
    id: 92,
    name: "pkt-tcp",
    cat: "net",
    fields: [f("pkt", "pkt"), f("seq", "u"), f("ack", "u"), f("flags", "u"), f("win", "u")],
    doc: "The TCP header of the packet just received or transmitted at a NIC (pkt-rx, pkt-tx), for captures.",
  },
];

/** Kind ids by camel-cased name, e.g. `KIND.taskAdd`. */
export const KIND = {
  strDef: 0,
  runEnd: 1,
  checkpoint: 2,
  decision: 3,
  violation: 4,
  fault: 7,
  objName: 6,
  threadCreate: 10,
  threadExit: 11,
  switch: 12,
  block: 13,
  wake: 14,
  sleepTimeout: 15,
  wakeupCall: 16,
  migrate: 17,
  softintEstablish: 20,
  softintSchedule: 21,
  softintRun: 22,
  softintDone: 23,
  intrEnter: 24,
  intrExit: 25,
  lockInit: 30,
  lockWait: 31,
  lockAcquire: 32,
  lockRelease: 33,
  taskqCreate: 40,
  taskInit: 41,
  taskAdd: 42,
  taskDel: 43,
  taskRun: 44,
  taskDone: 45,
  barrierEnter: 46,
  barrierExit: 47,
  timeoutInit: 50,
  timeoutAdd: 51,
  timeoutDel: 52,
  timeoutFire: 53,
  timeoutDone: 54,
  objAlloc: 60,
  ref: 61,
  rele: 62,
  objFree: 63,
  pktRx: 70,
  pktDrop: 71,
  ifiqInput: 72,
  ifiqProcess: 73,
  ipInput: 74,
  ipOutput: 75,
  pktTx: 76,
  soCreate: 77,
  sbAppend: 78,
  sbDrop: 79,
  splice: 80,
  unsplice: 81,
  somove: 82,
  tcpIn: 83,
  tcpOut: 84,
  tcpRexmt: 85,
  soState: 86,
  sinkRx: 87,
  srcTx: 88,
  soClose: 89,
  pktLro: 90,
  flowDef: 91,
  pktTcp: 92,
} as const;

/** Largest kind id; lookup tables are sized from it. */
export const KIND_ID_MAX = 127;

const byId: (KindDef | undefined)[] = new Array(KIND_ID_MAX + 1);
const byName = new Map<string, KindDef>();
for (const k of KINDS) {
  if (k.id < 0 || k.id > KIND_ID_MAX) throw new Error(`schema: kind id ${k.id} out of range`);
  if (byId[k.id]) throw new Error(`schema: duplicate kind id ${k.id}`);
  if (k.fields.length > FIELDS_MAX) throw new Error(`schema: ${k.name} has too many fields`);
  byId[k.id] = k;
  byName.set(k.name, k);
}
for (const [camel, id] of Object.entries(KIND)) {
  const k = byId[id];
  const kebab = camel.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
  if (!k || k.name !== kebab) throw new Error(`schema: KIND.${camel} does not name kind ${id}`);
}

/** The definition of kind `id`, or undefined for an unknown id. */
export function kindDefOrNull(id: number): KindDef | undefined {
  return id >= 0 && id <= KIND_ID_MAX ? byId[id] : undefined;
}

/** The definition of kind `id`; throws on an unknown id. */
export function kindDef(id: number): KindDef {
  const k = kindDefOrNull(id);
  if (!k) throw new Error(`unknown event kind ${id}`);
  return k;
}

/** The definition of the kind called `name` (e.g. "task-add"). */
export function kindByName(name: string): KindDef | undefined {
  return byName.get(name);
}

/** The value of an enum label, or -1. */
export function enumValue(name: EnumName, label: string): number {
  return (ENUMS[name] as readonly string[]).indexOf(label);
}

/** The label of an enum value (or the number as text when out of range). */
export function enumLabel(name: EnumName, value: number): string {
  const labels = ENUMS[name] as readonly string[];
  return labels[value] ?? String(value);
}
