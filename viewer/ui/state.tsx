/**
 * The state inspector: the machine rebuilt after the selected event, and the
 * wait-for chain of the selected event's thread (thread -> what it waits on
 * -> the lock's owner -> what that owner waits on ...), which answers "why is
 * this thread waiting" and ends at a running thread, a sleep, or a cycle.
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import type { StateJson } from "../../replay/query.ts";
import { api, runPath } from "./api.ts";
import { type Ev, fmtFull } from "./format.ts";

type State = StateJson & { at: number };

/** One step of a wait-for chain. */
export interface ChainStep {
  thread: number;
  name: string;
  state: string;
  /** What it waits on (0 none), its name, and the lock's owner when it is a held lock. */
  waitObj: number;
  waitName: string;
  owner: number;
}

/** Walks the wait-for chain from `thread` in `s`; `cycle` when it returns to a thread already seen. */
export function waitChain(s: StateJson, thread: number): { steps: ChainStep[]; cycle: boolean } {
  const byId = new Map(s.threads.map((t) => [t.id, t]));
  const locks = new Map(s.locks.map((l) => [l.id, l]));
  const steps: ChainStep[] = [];
  const seen = new Set<number>();
  let cur = thread;
  while (cur && !seen.has(cur) && steps.length < 64) {
    seen.add(cur);
    const t = byId.get(cur);
    if (!t) break;
    const lock = t.waitObj ? locks.get(t.waitObj) : undefined;
    const owner = lock ? lock.owner : 0;
    steps.push({ thread: t.id, name: t.name, state: t.state, waitObj: t.waitObj, waitName: t.waitName, owner });
    if (!t.waitObj || !owner) break;
    cur = owner;
  }
  return { steps, cycle: cur !== 0 && seen.has(cur) && steps.length > 0 && steps[steps.length - 1].owner === cur };
}

function WaitChain({ state, thread }: { state: StateJson; thread: number }) {
  if (!thread) return <p class="muted">The selected event has no running thread.</p>;
  const { steps, cycle } = waitChain(state, thread);
  return (
    <ol class="chain" data-testid="wait-chain" data-cycle={String(cycle)}>
      {steps.map((s) => (
        <li data-thread={s.thread}>
          <b>{s.name}</b> ({s.thread}) is {s.state}
          {s.waitObj
            ? (
              <span>
                , waits on <b>{s.waitName || `#${s.waitObj}`}</b>
                {s.owner
                  ? <span>, held by {state.threads.find((t) => t.id === s.owner)?.name ?? s.owner}</span>
                  : <span>(no owner: a sleep or a condition; someone must call wakeup)</span>}
              </span>
            )
            : null}
        </li>
      ))}
      {cycle && <li class="error">… which closes the cycle: a deadlock.</li>}
    </ol>
  );
}

function Table({ head, rows }: { head: string[]; rows: (string | number)[][] }) {
  if (rows.length === 0) return <p class="muted">none</p>;
  return (
    <table class="st">
      <thead>
        <tr>{head.map((h) => <th key={h}>{h}</th>)}</tr>
      </thead>
      <tbody>{rows.map((r, i) => <tr key={i}>{r.map((c, j) => <td key={j}>{c}</td>)}</tr>)}</tbody>
    </table>
  );
}

/** The inspector for the selected event. */
export function StateInspector({ id, selected }: { id: string; selected: Ev | null }) {
  const [state, setState] = useState<State | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!selected) return;
    setError(null);
    api<State>(`${runPath(id)}/state`, { at: selected.index }).then(setState, (e) => setError(e.message));
  }, [id, selected?.index]);
  if (!selected) {
    return (
      <section class="state">
        <h3>State</h3>
        <p class="muted">Select an event (timeline or table).</p>
      </section>
    );
  }
  if (error) {
    return (
      <section class="state">
        <h3>State</h3>
        <p class="error">{error}</p>
      </section>
    );
  }
  if (!state || state.at !== selected.index) {
    return (
      <section class="state">
        <h3>State</h3>
        <p class="muted">Rebuilding…</p>
      </section>
    );
  }
  const tname = new Map(state.threads.map((t) => [t.id, t.name]));
  const who = (tid: number) => (tid ? tname.get(tid) ?? `#${tid}` : "–");
  const busy = state.locks.filter((l) => l.owner || l.readers || l.waiters.length);
  return (
    <section class="state" data-at={state.at}>
      <h3>State after event #{state.at} ({fmtFull(state.tNs)})</h3>
      <h4>Why is {who(selected.thread)} waiting? (wait-for chain)</h4>
      <WaitChain state={state} thread={selected.thread} />
      <h4>CPUs</h4>
      <Table
        head={["cpu", "running", "run queue"]}
        rows={state.cpus.map((c) => [c.id, who(c.current), c.runQueue.map(who).join(", ") || "–"])}
      />
      <h4>Locks held or waited for</h4>
      <Table
        head={["lock", "type", "owner", "readers", "waiters"]}
        rows={busy.map((l) => [
          `${l.cls} (${l.id})`,
          l.type,
          who(l.owner),
          l.readers || "–",
          l.waiters.map(who).join(", ") || "–",
        ])}
      />
      <h4>Threads</h4>
      <Table
        head={["thread", "state", "cpu", "waits on", "holds"]}
        rows={state.threads.map((t) => [
          `${t.name} (${t.id})`,
          t.state,
          t.cpu,
          t.waitObj ? t.waitName || `#${t.waitObj}` : "–",
          t.held.join(", ") || "–",
        ])}
      />
      <h4>Task queues</h4>
      <Table
        head={["queue", "queued tasks"]}
        rows={state.taskqs.map((q) => [`${q.name} (${q.id})`, q.queued.map((t) => t.name).join(", ") || "–"])}
      />
      <h4>Timeouts pending</h4>
      <Table head={["timeout", "deadline"]} rows={state.timeouts.map((t) => [t.name, fmtFull(t.deadlineNs)])} />
      <h4>Sockets and buffers</h4>
      <Table
        head={["socket", "rcv cc", "snd cc", "spliced to"]}
        rows={state.sockets.map((s) => [s.id, s.rcvCc, s.sndCc, s.spliceTo || "–"])}
      />
      <h4>
        Packets in flight: {state.packets.rx} received (before ip_input), {state.packets.tx} to transmit
      </h4>
      <Table
        head={["packet", "flow", "len", "stage"]}
        rows={state.packets.listed.map((p) => [p.id, p.flow, p.len, p.stage])}
      />
      <h4>Reference-counted objects</h4>
      <Table
        head={["object", "type", "refs", "freed"]}
        rows={state.refs.slice(0, 200).map((r) => [r.id, r.type, r.refs, r.freed ? "yes" : ""])}
      />
    </section>
  );
}
