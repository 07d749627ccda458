// The state inspector: the machine rebuilt after the selected event (locks
// held and waited for, run queues, task queues, timeouts, refs, sockets).
import { h } from "../vendor/preact.mjs";
import { useEffect, useState } from "../vendor/hooks.mjs";
import { api, fmtNs, runPath } from "./api.js";

function table(head, rows) {
  if (rows.length === 0) return h("p", { class: "muted" }, "none");
  return h(
    "table",
    { class: "st" },
    h("thead", null, h("tr", null, ...head.map((t) => h("th", null, t)))),
    h("tbody", null, rows.map((r, i) => h("tr", { key: i }, ...r.map((c) => h("td", null, c))))),
  );
}

export function StateInspector({ id, selected }) {
  const [state, setState] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!selected) return;
    setError(null);
    api(`${runPath(id)}/state`, { at: selected.index }).then(setState, (e) => setError(e.message));
  }, [id, selected?.index]);
  if (!selected) {
    return h(
      "section",
      { class: "state" },
      h("h3", null, "State"),
      h("p", { class: "muted" }, "Select an event (timeline or table)."),
    );
  }
  if (error) return h("section", { class: "state" }, h("h3", null, "State"), h("p", { class: "error" }, error));
  if (!state) {
    return h("section", { class: "state" }, h("h3", null, "State"), h("p", { class: "muted" }, "Rebuilding…"));
  }
  const tname = new Map(state.threads.map((t) => [t.id, t.name]));
  const who = (tid) => (tid ? tname.get(tid) ?? `#${tid}` : "–");
  const busyLocks = state.locks.filter((l) => l.owner || l.readers || l.waiters.length);
  return h(
    "section",
    { class: "state", "data-at": state.at },
    h("h3", null, `State after event #${state.at} (${fmtNs(state.tNs)})`),
    h("h4", null, "CPUs"),
    table(
      ["cpu", "running", "run queue"],
      state.cpus.map((c) => [c.id, who(c.current), c.runQueue.map(who).join(", ") || "–"]),
    ),
    h("h4", null, "Locks held or waited for"),
    table(
      ["lock", "type", "owner", "readers", "waiters"],
      busyLocks.map((
        l,
      ) => [`${l.cls} (${l.id})`, l.type, who(l.owner), l.readers || "–", l.waiters.map(who).join(", ") || "–"]),
    ),
    h("h4", null, "Threads"),
    table(
      ["thread", "state", "cpu", "waits on", "holds"],
      state.threads.map((
        t,
      ) => [
        `${t.name} (${t.id})`,
        t.state,
        t.cpu,
        t.waitObj ? t.waitName || `#${t.waitObj}` : "–",
        t.held.join(", ") || "–",
      ]),
    ),
    h("h4", null, "Task queues"),
    table(
      ["queue", "queued tasks"],
      state.taskqs.map((q) => [`${q.name} (${q.id})`, q.queued.map((t) => t.name).join(", ") || "–"]),
    ),
    h("h4", null, "Timeouts pending"),
    table(["timeout", "deadline"], state.timeouts.map((t) => [t.name, fmtNs(t.deadlineNs)])),
    h("h4", null, "Sockets and buffers"),
    table(
      ["socket", "rcv cc", "snd cc", "spliced to"],
      state.sockets.map((s) => [s.id, s.rcvCc, s.sndCc, s.spliceTo || "–"]),
    ),
    h(
      "h4",
      null,
      `Packets in flight: ${state.packets?.rx ?? 0} received (before ip_input), ${state.packets?.tx ?? 0} to transmit`,
    ),
    table(
      ["packet", "flow", "len", "stage"],
      (state.packets?.listed ?? []).map((p) => [p.id, p.flow, p.len, p.stage]),
    ),
    h("h4", null, "Reference-counted objects"),
    table(
      ["object", "type", "refs", "freed"],
      state.refs.slice(0, 200).map((r) => [r.id, r.type, r.refs, r.freed ? "yes" : ""]),
    ),
  );
}
