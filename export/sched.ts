/**
 * Exports for other tools, built from the scheduling events of a trace:
 *
 * - `chrome`: Trace Event JSON (the format Perfetto and chrome://tracing
 *   open): one track per CPU with a complete ("X") slice per stretch a thread
 *   ran, one track per thread, one track per lock with its exclusive hold
 *   spans, lock waits, wakeup and packet flows, counters, and instant events
 *   for violations and injected faults (see exportChrome). Times are
 *   microseconds with nanosecond decimals.
 * - `ftrace`: the text of `/sys/kernel/tracing/trace` with `sched_switch` and
 *   `sched_wakeup` lines, which Perfetto's systrace importer and trace-cmd
 *   style tools read. Timestamps are seconds with microsecond decimals, as
 *   ftrace prints them; the line order keeps sub-microsecond order.
 *
 * Both stream: memory is bounded by the number of threads and locks.
 *
 * @example
 * ```ts
 * import { exportChrome } from "./sched.ts";
 * exportChrome("runs/taskq-demo-1.lstrace", "runs/taskq-demo-1.json");
 * ```
 * @module
 */
import type { EventRecord } from "../core/event.ts";
import { ENUMS, KIND, THREAD_STATE } from "../core/schema.ts";
import { TraceReader } from "../replay/reader.ts";
import { RebuiltState, SCHED_KINDS } from "../replay/state.ts";
import { TextOut } from "./_text_out.ts";

/** What an export wrote. */
export interface ExportResult {
  /** Trace events read. */
  readonly events: number;
  /** Records written (slices, lines). */
  readonly records: number;
  /** Bytes written. */
  readonly bytes: number;
}

/** Names of threads and locks, and what each CPU runs, as events define them. */
class SchedTracker {
  readonly threadName: string[] = ["idle"];
  readonly threadPrio: number[] = [0];
  readonly lockName = new Map<number, string>();
  readonly cur: number[] = [];
  readonly since: number[] = [];

  constructor(readonly reader: TraceReader) {}

  /** Notes names; returns nothing. */
  note(e: EventRecord): void {
    const f = e.fields;
    if (e.kind === KIND.threadCreate) {
      this.threadName[f[0]] = this.reader.string(f[1]) ?? `thread${f[0]}`;
      this.threadPrio[f[0]] = f[2];
    } else if (e.kind === KIND.lockInit) this.lockName.set(f[0], this.reader.string(f[1]) ?? `lock${f[0]}`);
  }

  /** The CPU's running thread before a switch, and since when; records the new one. */
  switchOn(cpu: number, to: number, tNs: number): { from: number; sinceNs: number } {
    while (this.cur.length <= cpu) {
      this.cur.push(0);
      this.since.push(0);
    }
    const r = { from: this.cur[cpu], sinceNs: this.since[cpu] };
    this.cur[cpu] = to;
    this.since[cpu] = tNs;
    return r;
  }
}

/** Trace Event times are microseconds; fractions keep the nanoseconds. */
const us = (ns: number) => ns / 1000;

/** Process ids of the Trace Event tracks. */
const PID = { cpus: 0, locks: 1, threads: 2, lockWaits: 3, counters: 4 } as const;
/** Network flows followed at once for flow arrows (the oldest is forgotten past this). */
const FLOWS_FOLLOWED_MAX = 100_000;
/** Packet steps whose second field is the network flow (pkt-lro's is the packet merged into). */
const PKT_KINDS = new Set<number>([KIND.pktRx, KIND.ipInput, KIND.ipOutput, KIND.pktTx, KIND.pktDrop]);

/**
 * Writes the trace at `tracePath` as Trace Event JSON to `outPath` ("-":
 * stdout), carrying what the viewer's timeline shows: per-CPU run slices,
 * per-thread run tracks, exclusive lock holds (one track per lock) and lock
 * waits (one track per waiting thread), wakeup flows (waker's CPU -> the
 * wakee's next run) and packet flows (a network flow's packets moving to another CPU) as `s`/`f`
 * pairs with ids, counters (run-queue length per CPU from the rebuilt state,
 * socket buffer fill, soft interrupts pending per CPU), violation instants,
 * and process and thread names.
 */
export function exportChrome(tracePath: string, outPath: string): ExportResult {
  const reader = TraceReader.open(tracePath);
  const out = new TextOut(outPath);
  const t = new SchedTracker(reader);
  const state = new RebuiltState();
  const held = new Map<number, { thread: number; sinceNs: number }>();
  const waiting = new Map<number, { lock: number; sinceNs: number }>(); // by thread
  const named = new Set<string>(); // tracks announced with a thread_name record
  const wakeFlow = new Map<number, { cpu: number; tNs: number }>(); // by wakee: the wake not yet followed by a run
  const flowAt = new Map<number, { cpu: number; tNs: number; pkt: number }>(); // by network flow: its last hop
  const rq: number[] = [], pending: number[] = [];
  const queued = new Array<number>(reader.header.cpus).fill(0); // scratch: runnable threads per CPU
  let events = 0, records = 0, lastNs = 0, flowId = 0;
  const rec = (obj: Record<string, unknown>) => {
    out.write((records++ === 0 ? "\n" : ",\n") + JSON.stringify(obj));
  };
  const track = (pid: number, tid: number, name: string) => {
    const key = `${pid}:${tid}`;
    if (named.has(key)) return;
    named.add(key);
    rec({ name: "thread_name", ph: "M", pid, tid, args: { name } });
  };
  const threadName = (id: number) => t.threadName[id] ?? `thread${id}`;
  const lockName = (id: number) => t.lockName.get(id) ?? `lock${id}`;
  // A flow is written whole (start and finish) once its end is known, so every flow in the file is closed.
  const flow = (name: string, cat: string, a: { cpu: number; tNs: number }, b: { cpu: number; tNs: number }) => {
    const id = ++flowId;
    rec({ name, cat, ph: "s", id, ts: us(a.tNs), pid: PID.cpus, tid: a.cpu });
    rec({ name, cat, ph: "f", bp: "e", id, ts: us(b.tNs), pid: PID.cpus, tid: b.cpu });
  };
  const counter = (name: string, tNs: number, value: number) =>
    rec({ name, ph: "C", ts: us(tNs), pid: PID.counters, args: { value } });
  try {
    out.write(
      `{"displayTimeUnit":"ns","otherData":${
        JSON.stringify({ scenario: reader.header.scenario, seed: reader.header.seed })
      },"traceEvents":[`,
    );
    const processes: [number, string][] = [
      [PID.cpus, "CPUs"],
      [PID.locks, "locks (exclusive holds)"],
      [PID.threads, "threads (running)"],
      [PID.lockWaits, "lock waits (per waiting thread)"],
      [PID.counters, "counters"],
    ];
    for (const [pid, name] of processes) {
      rec({ name: "process_name", ph: "M", pid, args: { name } });
      rec({ name: "process_sort_index", ph: "M", pid, args: { sort_index: pid } });
    }
    for (let c = 0; c < reader.header.cpus; c++) track(PID.cpus, c, `cpu${c}`);
    for (const e of reader.events()) {
      events++;
      lastNs = e.tNs;
      t.note(e);
      state.apply(e);
      const f = e.fields;
      if (e.kind === KIND.switch) {
        const { from, sinceNs } = t.switchOn(e.cpu, f[1], e.tNs);
        if (from !== 0) {
          slice(rec, PID.cpus, e.cpu, threadName(from), sinceNs, e.tNs, { thread: from });
          track(PID.threads, from, threadName(from));
          slice(rec, PID.threads, from, `cpu${e.cpu}`, sinceNs, e.tNs, { cpu: e.cpu });
        }
        const woke = wakeFlow.get(f[1]);
        if (woke !== undefined) {
          wakeFlow.delete(f[1]);
          flow("wakeup", "sched", woke, { cpu: e.cpu, tNs: e.tNs });
        }
      } else if (e.kind === KIND.wake) {
        // The waker runs on e.cpu; the arrow ends where the wakee next runs.
        if (!wakeFlow.has(f[0])) wakeFlow.set(f[0], { cpu: e.cpu, tNs: e.tNs });
      } else if (e.kind === KIND.lockWait) {
        if (!waiting.has(e.thread)) waiting.set(e.thread, { lock: f[0], sinceNs: e.tNs });
      } else if (e.kind === KIND.lockAcquire) {
        const w = waiting.get(f[2]);
        if (w !== undefined && w.lock === f[0]) {
          waiting.delete(f[2]);
          track(PID.lockWaits, f[2], `${threadName(f[2])} waits`);
          slice(rec, PID.lockWaits, f[2], lockName(f[0]), w.sinceNs, e.tNs, { lock: f[0], event: e.index });
        }
        if (f[1] === 0) held.set(f[0], { thread: f[2], sinceNs: e.tNs });
      } else if (e.kind === KIND.lockRelease && f[1] === 0) {
        const h = held.get(f[0]);
        held.delete(f[0]);
        if (h !== undefined) {
          track(PID.locks, f[0], lockName(f[0]));
          slice(rec, PID.locks, f[0], threadName(h.thread), h.sinceNs, e.tNs, { thread: h.thread });
        }
      } else if (e.kind === KIND.violation) {
        const kind = ENUMS.violation[f[0]] ?? "violation";
        rec({
          name: kind,
          ph: "i",
          s: "g",
          ts: us(e.tNs),
          pid: PID.cpus,
          tid: e.cpu,
          args: { event: e.index, message: reader.string(f[1]) },
        });
      } else if (PKT_KINDS.has(e.kind)) {
        // A network flow's packets moving to another CPU (a softnet thread, the sosplice thread): an arrow per move.
        const prev = flowAt.get(f[1]);
        if (prev !== undefined && prev.cpu !== e.cpu) flow(`flow ${f[1]}`, "packet", prev, { cpu: e.cpu, tNs: e.tNs });
        if (prev === undefined && flowAt.size >= FLOWS_FOLLOWED_MAX) {
          flowAt.delete(flowAt.keys().next().value as number);
        }
        flowAt.set(f[1], { cpu: e.cpu, tNs: e.tNs, pkt: f[0] });
      } else if (e.kind === KIND.sbAppend || e.kind === KIND.sbDrop) {
        counter(`so#${f[0]} ${ENUMS.sbWhich[f[1]] ?? f[1]} bytes`, e.tNs, f[3]);
      } else if (e.kind === KIND.softintSchedule || e.kind === KIND.softintRun) {
        const cpu = e.kind === KIND.softintSchedule ? f[1] : e.cpu;
        const was = pending[cpu] ?? 0;
        const now = e.kind === KIND.softintSchedule ? was + (f[2] === 1 ? 1 : 0) : Math.max(0, was - 1);
        if (now !== was) counter(`softint pending cpu${cpu}`, e.tNs, pending[cpu] = now);
      } else if (e.kind === KIND.fault) {
        // An injected fault: a global instant marker, so the timeline shows what the run went through.
        const what = ENUMS.fault[f[0]] ?? "fault";
        rec({
          name: `fault ${what}`,
          ph: "i",
          s: "g",
          ts: us(e.tNs),
          pid: PID.cpus,
          tid: e.cpu,
          args: { a: f[1], b: f[2] },
        });
      }
      if (SCHED.has(e.kind)) {
        // Run-queue length per CPU as the rebuilt state has it (runnable threads queued there).
        queued.fill(0);
        for (const th of state.threads) if (th && th.state === TS_RUNNABLE && th.cpu < queued.length) queued[th.cpu]++;
        for (let c = 0; c < queued.length; c++) {
          if (queued[c] !== (rq[c] ?? -1)) counter(`run queue cpu${c}`, e.tNs, rq[c] = queued[c]);
        }
      }
    }
    for (let c = 0; c < t.cur.length; c++) {
      const th = t.cur[c];
      if (th === 0) continue;
      slice(rec, PID.cpus, c, threadName(th), t.since[c], lastNs, { thread: th });
      track(PID.threads, th, threadName(th));
      slice(rec, PID.threads, th, `cpu${c}`, t.since[c], lastNs, { cpu: c });
    }
    // Holds and waits still open at the end (a deadlock's) end with the trace.
    for (const [lock, h] of held) {
      track(PID.locks, lock, lockName(lock));
      slice(rec, PID.locks, lock, threadName(h.thread), h.sinceNs, lastNs, { thread: h.thread, open: true });
    }
    for (const [th, w] of waiting) {
      track(PID.lockWaits, th, `${threadName(th)} waits`);
      slice(rec, PID.lockWaits, th, lockName(w.lock), w.sinceNs, lastNs, { lock: w.lock, open: true });
    }
    out.write("\n]}\n");
  } finally {
    out.close();
    reader.close();
  }
  return { events, records, bytes: out.bytes };
}

/** Kinds that change which threads are runnable where. */
const SCHED = new Set<number>(SCHED_KINDS);
const TS_RUNNABLE = THREAD_STATE.runnable;

function slice(
  rec: (o: Record<string, unknown>) => void,
  pid: number,
  tid: number,
  name: string,
  t0Ns: number,
  t1Ns: number,
  args: Record<string, unknown>,
): void {
  rec({ name, ph: "X", ts: us(t0Ns), dur: us(t1Ns - t0Ns), pid, tid, args });
}

/** ftrace's prev_state for a switch reason: preempted threads stay runnable (R), blocked ones sleep (S). */
const PREV_STATE: Record<string, string> = {
  block: "S",
  preempt: "R+",
  yield: "R",
  exit: "X",
  quantum: "R",
  perturb: "R+",
  idle: "R",
};

/** Writes the trace at `tracePath` as ftrace text (sched_switch, sched_wakeup) to `outPath`. */
export function exportFtrace(tracePath: string, outPath: string): ExportResult {
  const reader = TraceReader.open(tracePath);
  const out = new TextOut(outPath);
  const t = new SchedTracker(reader);
  let events = 0, records = 0;
  const comm = (id: number, cpu: number) => id === 0 ? `swapper/${cpu}` : t.threadName[id].replace(/\s/g, "_");
  const prio = (id: number) => id === 0 ? 120 : Math.max(0, 139 - Math.min(139, Math.round(t.threadPrio[id] / 10)));
  try {
    out.write(`# tracer: nop\n#\n# lockstep ${reader.header.scenario} seed ${reader.header.seed}\n`);
    out.write(
      "#           TASK-PID     CPU#  ||||   TIMESTAMP  FUNCTION\n#              | |         |   ||||      |         |\n",
    );
    for (const e of reader.events()) {
      events++;
      t.note(e);
      const f = e.fields;
      if (e.kind !== KIND.switch && e.kind !== KIND.wake && e.kind !== KIND.sleepTimeout) continue;
      const cpu = String(e.cpu).padStart(3, "0");
      const ts = (e.tNs / 1e9).toFixed(6);
      if (e.kind === KIND.switch) {
        t.switchOn(e.cpu, f[1], e.tNs);
        const from = f[0], to = f[1];
        const state = PREV_STATE[ENUMS.switchReason[f[2]] ?? "block"] ?? "S";
        out.write(
          `${comm(from, e.cpu).padStart(16)}-${String(from).padEnd(5)} [${cpu}] d..2 ${ts}: sched_switch: prev_comm=${
            comm(from, e.cpu)
          } prev_pid=${from} prev_prio=${prio(from)} prev_state=${state} ==> next_comm=${
            comm(to, e.cpu)
          } next_pid=${to} next_prio=${prio(to)}\n`,
        );
      } else {
        const target = e.kind === KIND.wake ? f[1] : f[2];
        const who = e.thread;
        out.write(
          `${comm(who, e.cpu).padStart(16)}-${String(who).padEnd(5)} [${cpu}] d..3 ${ts}: sched_wakeup: comm=${
            comm(f[0], target)
          } pid=${f[0]} prio=${prio(f[0])} target_cpu=${String(target).padStart(3, "0")}\n`,
        );
      }
      records++;
    }
  } finally {
    out.close();
    reader.close();
  }
  return { events, records, bytes: out.bytes };
}
