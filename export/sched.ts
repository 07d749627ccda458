/**
 * Exports for other tools, built from the scheduling events of a trace:
 *
 * - `chrome`: Trace Event JSON (the format Perfetto and chrome://tracing
 *   open): one track per CPU with a complete ("X") slice per stretch a thread
 *   ran, one track per lock with its exclusive hold spans, and instant events
 *   for violations and injected faults. Times are microseconds with nanosecond decimals.
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
import { ENUMS, KIND } from "../core/schema.ts";
import { TraceReader } from "../replay/reader.ts";
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

/** Writes the trace at `tracePath` as Trace Event JSON to `outPath` ("-": stdout). */
export function exportChrome(tracePath: string, outPath: string): ExportResult {
  const reader = TraceReader.open(tracePath);
  const out = new TextOut(outPath);
  const t = new SchedTracker(reader);
  const held = new Map<number, { thread: number; sinceNs: number }>();
  const named = new Set<number>(); // lock tracks announced with a thread_name record
  let events = 0, records = 0, lastNs = 0;
  const rec = (obj: Record<string, unknown>) => {
    out.write((records++ === 0 ? "\n" : ",\n") + JSON.stringify(obj));
  };
  try {
    out.write(
      `{"displayTimeUnit":"ns","otherData":${
        JSON.stringify({ scenario: reader.header.scenario, seed: reader.header.seed })
      },"traceEvents":[`,
    );
    rec({ name: "process_name", ph: "M", pid: 0, args: { name: "CPUs" } });
    rec({ name: "process_name", ph: "M", pid: 1, args: { name: "locks (exclusive holds)" } });
    for (let c = 0; c < reader.header.cpus; c++) {
      rec({ name: "thread_name", ph: "M", pid: 0, tid: c, args: { name: `cpu${c}` } });
    }
    for (const e of reader.events()) {
      events++;
      lastNs = e.tNs;
      t.note(e);
      const f = e.fields;
      if (e.kind === KIND.switch) {
        const { from, sinceNs } = t.switchOn(e.cpu, f[1], e.tNs);
        if (from !== 0) slice(rec, 0, e.cpu, t.threadName[from], sinceNs, e.tNs, { thread: from });
      } else if (e.kind === KIND.lockAcquire && f[1] === 0) {
        held.set(f[0], { thread: f[2], sinceNs: e.tNs });
      } else if (e.kind === KIND.lockRelease && f[1] === 0) {
        const h = held.get(f[0]);
        held.delete(f[0]);
        if (h !== undefined) {
          if (!named.has(f[0])) {
            named.add(f[0]);
            rec({
              name: "thread_name",
              ph: "M",
              pid: 1,
              tid: f[0],
              args: { name: t.lockName.get(f[0]) ?? `lock${f[0]}` },
            });
          }
          slice(rec, 1, f[0], t.threadName[h.thread] ?? `thread${h.thread}`, h.sinceNs, e.tNs, { thread: h.thread });
        }
      } else if (e.kind === KIND.violation) {
        const kind = ENUMS.violation[f[0]] ?? "violation";
        rec({
          name: kind,
          ph: "i",
          s: "g",
          ts: us(e.tNs),
          pid: 0,
          tid: e.cpu,
          args: { event: e.index, message: reader.string(f[1]) },
        });
      } else if (e.kind === KIND.fault) {
        // An injected fault: a global instant marker, so the timeline shows what the run went through.
        const what = ENUMS.fault[f[0]] ?? "fault";
        rec({ name: `fault ${what}`, ph: "i", s: "g", ts: us(e.tNs), pid: 0, tid: e.cpu, args: { a: f[1], b: f[2] } });
      }
    }
    for (let c = 0; c < t.cur.length; c++) {
      if (t.cur[c] !== 0) slice(rec, 0, c, t.threadName[t.cur[c]], t.since[c], lastNs, { thread: t.cur[c] });
    }
    out.write("\n]}\n");
  } finally {
    out.close();
    reader.close();
  }
  return { events, records, bytes: out.bytes };
}

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
