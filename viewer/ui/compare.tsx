/**
 * Two runs compared: their summaries side by side, the first divergent event
 * of each, the state difference right after it, and both timelines centred
 * on the divergence with it marked.
 * @module
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Comparison, RunDetail } from "../../replay/query.ts";
import { api, type Progress } from "./api.ts";
import type { View } from "./draw.ts";
import { type Ev, fmtCount, fmtFull } from "./format.ts";
import { clampView, Timeline } from "./timeline.tsx";
import { placeHash } from "./url.ts";

const WINDOW_NS = 50_000;

function figures(d: RunDetail): [string, string][] {
  const s = d.summary;
  return [
    ["scenario", `${d.header.scenario} seed ${d.header.seed}`],
    ["events", String(d.events)],
    ["simulated", fmtFull(d.simNs)],
    ["status", d.status],
    ["violations", String(d.violations.length)],
    ["contextSwitches", String(s.contextSwitches)],
    ["wakeups", String(s.wakeups)],
    ["crossCpuWakeups", String(s.crossCpuWakeups)],
    ["on-CPU %", s.cpuBusy.map((b) => Math.round(b * 1000) / 10).join(" ")],
    ["lockContention", Object.entries(s.lockContention).map(([k, v]) => `${k}=${v}`).join(" ")],
  ];
}

function Side({ id, d, ev, view, setView }: {
  id: string;
  d: RunDetail;
  ev: Ev | null;
  view: View;
  setView: (v: View) => void;
}) {
  const pointer = useRef<number | null>(null);
  const [area, setArea] = useState<View | null>(null);
  return (
    <div class="side">
      <h3>
        <a
          href={placeHash({
            page: "run",
            id,
            sel: ev?.index,
            t0: view.t0,
            t1: view.t1,
            q: "",
            filters: { kind: "", cat: "", cpu: "", thread: "", lock: "", flow: "" },
          })}
        >
          {id}
        </a>
      </h3>
      <Timeline
        id={id}
        detail={d}
        view={clampView(d, view.t0, view.t1)}
        setView={setView}
        selected={ev}
        select={() => {}}
        highlight={{ threads: new Set(ev ? [ev.thread] : []), locks: new Set() }}
        area={area}
        setArea={setArea}
        pointer={pointer}
        marks={ev ? [ev.tNs] : []}
        testid={`timeline-${id}`}
      />
    </div>
  );
}

/** The comparison page. */
export function ComparePage({ a, b }: { a: string; b: string }) {
  const [cmp, setCmp] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [view, setView] = useState<View | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  useEffect(() => {
    // Large runs are indexed, then compared, in the server's Workers: the answer is 202 with the progress meanwhile.
    api<Comparison>("/api/compare", { a, b }, setProgress).then((c) => {
      setCmp(c);
      const ev = (c.divergence?.a ?? c.divergence?.b) as Ev | null;
      const t = ev ? ev.tNs : c.a.tFirst;
      setView(ev ? { t0: t - WINDOW_NS / 2, t1: t + WINDOW_NS / 2 } : { t0: c.a.tFirst, t1: c.a.simNs });
    }, (e) => setError(e.message));
  }, [a, b]);
  if (error) return <p class="error">{error}</p>;
  if (!cmp || !view) {
    const pct = progress && progress.of ? Math.floor((100 * progress.done) / progress.of) : 0;
    return (
      <div class="opening" data-testid="compare-progress">
        <p class="muted">
          Comparing {a} and {b}
          {progress
            ? `: ${fmtCount(progress.done)} of ${fmtCount(progress.of)} events ${
              progress.comparing ? "compared" : "indexed"
            } (${pct}%)`
            : "…"}
        </p>
        <progress max={100} value={pct} />
      </div>
    );
  }
  const fa = figures(cmp.a), fb = figures(cmp.b);
  const d = cmp.divergence;
  return (
    <div class="compare" data-testid="compare" data-divergence={d ? String(d.event) : "none"}>
      <table class="st">
        <thead>
          <tr>
            <th></th>
            <th>{a}</th>
            <th>{b}</th>
          </tr>
        </thead>
        <tbody>
          {fa.map(([k, va], i) => (
            <tr class={va === fb[i][1] ? "" : "differs"}>
              <td>{k}</td>
              <td>{va}</td>
              <td>{fb[i][1]}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {d
        ? (
          <section>
            <h3>First divergent event: #{d.event}</h3>
            <pre data-testid="divergence">{`${a}: ${JSON.stringify(d.a)}\n${b}: ${JSON.stringify(d.b)}`}</pre>
            <h4>State after it ({a} | {b})</h4>
            {d.stateDiff.length
              ? <ul>{d.stateDiff.map((l, i) => <li key={i}>{l}</li>)}</ul>
              : <p class="muted">no difference</p>}
          </section>
        )
        : <p data-testid="divergence">The runs are identical event for event.</p>}
      <Side id={a} d={cmp.a} ev={d?.a as Ev | null} view={view} setView={setView} />
      <Side id={b} d={cmp.b} ev={d?.b as Ev | null} view={view} setView={setView} />
    </div>
  );
}
