/**
 * Deadlock detection over the wait-for graph: a thread waits for a lock's
 * holders, for the wakers a sleep declared (`waitFor`), or (preempted inside
 * a spin mutex) for the thread that spins on its CPU. A cycle is reported
 * once when a wait closes it; at quiescence the stuck threads are reported.
 * @module
 */
import { EMPTY_THREADS, type MachineBase } from "./machine_base.ts";
import { type Cpu, Lock, LOCK_TYPE, type Thread, TS } from "./objects.ts";
import { BLOCK_WHY, ENUMS } from "./schema.ts";

/** Cycle reports of one machine. */
export class DeadlockCheck {
  readonly #m: MachineBase;
  readonly #cyclesReported = new Set<string>();

  /** Checks on machine `m`. */
  constructor(m: MachineBase) {
    this.#m = m;
  }

  /** Reports a wait-for cycle through `th` (lock owners, declared wakers) once per cycle. */
  check(th: Thread): void {
    const cpus = this.#m.cpus;
    if (!mayCycle(th, cpus)) return;
    const cycle = cycleFrom(th, cpus);
    if (cycle === null) return;
    const key = cycle.map((t) => t.id).sort((a, b) => a - b).join(",");
    if (this.#cyclesReported.has(key)) return;
    this.#cyclesReported.add(key);
    this.#m.violation("deadlock", deadlockMessage(cycle, cpus), th.id, cycle.length);
  }
}

/**
 * Cheap test before the search, without allocating: a lock wait can only
 * close a cycle when a holder of the lock itself waits for something.
 */
function mayCycle(th: Thread, cpus: readonly Cpu[]): boolean {
  const w = th.waitObj;
  if (!(w instanceof Lock)) return true; // a sleep with declared wakers: rare, search
  if (w.owner !== null) return waitsOnSomething(w.owner, cpus);
  const rs = w.readerThreads;
  for (let i = 0; i < rs.length; i++) if (waitsOnSomething(rs.at(i), cpus)) return true;
  return false;
}

/** Text naming every stuck thread, what it holds and what it waits for, and the cycle if any. */
export function deadlockMessage(stuck: Thread[], cpus: readonly Cpu[]): string {
  const parts = stuck.map((t) => `${t.name}${heldText(t)} ${waitText(t, cpus)}`);
  for (const t of stuck) {
    const cyc = cycleFrom(t, cpus);
    if (cyc !== null) return `${parts.join("; ")}; cycle: ${cyc.map((x) => x.name).join(" -> ")} -> ${cyc[0].name}`;
  }
  return parts.join("; ");
}

/** " holding a (rwlock excl), b (taskq)" or "". Task queue pseudo-locks appear while a task runs. */
function heldText(t: Thread): string {
  if (t.held.length === 0) return "";
  const one = (l: Lock) => {
    const type = l.type === LOCK_TYPE.pseudo ? "taskq" : ENUMS.lockType[l.type];
    const mode = l.type !== LOCK_TYPE.rwlock ? "" : l.owner === t ? " excl" : " shared";
    return `${l.cls} (${type}${mode})`;
  };
  return ` holding ${t.held.toArray().map(one).join(", ")}`;
}

/** What a blocked thread waits for: a lock and its holders, a barrier and the workers it needs, a channel. */
function waitText(t: Thread, cpus: readonly Cpu[]): string {
  const w = t.waitObj;
  if (w === null) {
    const on = waitsFor(t, cpus);
    return on.length > 0 ? `was preempted on cpu${t.cpu} by ${on[0].name}, which spins there` : "is not waiting";
  }
  if (w instanceof Lock) {
    const by = w.owner !== null
      ? ` (owned by ${w.owner.name})`
      : w.readerThreads.length > 0
      ? ` (held shared by ${w.readerThreads.toArray().map((x) => x.name).join(", ")})`
      : "";
    return `waits for lock ${w.cls}${by}`;
  }
  const wakers = t.waitFor.length > 0 ? t.waitFor.map((x) => x.name).join(", ") : "";
  if (t.waitWhy === BLOCK_WHY.barrier) {
    return `waits in a barrier on ${w.name}` + (wakers !== "" ? ` for the queue's workers: ${wakers}` : "");
  }
  return `sleeps on ${w.name}` + (wakers !== "" ? ` (only ${wakers} can wake it)` : "");
}

/** True when {@link waitsFor} of `t` is not empty (without building it). */
function waitsOnSomething(t: Thread, cpus: readonly Cpu[]): boolean {
  if (t.waitObj !== null) return true;
  const c = cpus[t.cpu];
  return t.state === TS.runnable && t.spinHeld > 0 && c.cur !== null && c.spinning;
}

/** Threads `t` waits for: a lock's holders, or the wakers a sleep declared. */
function waitsFor(t: Thread, cpus: readonly Cpu[]): Thread[] {
  const w = t.waitObj;
  if (w === null) {
    // Preempted inside a spin mutex by a thread that now spins on this CPU:
    // it cannot run (nor move) until that thread stops spinning.
    const c = cpus[t.cpu];
    if (t.state === TS.runnable && t.spinHeld > 0 && c.cur !== null && c.spinning) return [c.cur];
    return EMPTY_THREADS;
  }
  if (w instanceof Lock) return w.owner !== null ? [w.owner] : w.readerThreads.toArray();
  return t.waitFor;
}

/** The wait-for cycle starting and ending at `start`, or null (depth-first, bounded by the thread count). */
export function cycleFrom(start: Thread, cpus: readonly Cpu[]): Thread[] | null {
  const path: Thread[] = [start];
  const seen = new Set<Thread>([start]);
  const dfs = (t: Thread): boolean => {
    for (const n of waitsFor(t, cpus)) {
      if (n === start) return true;
      if (seen.has(n)) continue;
      seen.add(n);
      path.push(n);
      if (dfs(n)) return true;
      path.pop();
    }
    return false;
  };
  return dfs(start) ? path : null;
}
