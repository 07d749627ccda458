/**
 * The run list: every trace in the viewer's folder and its subfolders
 * (explore findings under explore/), with indexing progress, and the traces
 * or folders that cannot be offered, each with the reason.
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import type { RunList as RunListData } from "../../replay/query.ts";
import { api } from "./api.ts";
import { fmtBytes, fmtCount, fmtFull } from "./format.ts";
import { placeHash } from "./url.ts";

/** The run list page. */
export function RunList() {
  const [list, setList] = useState<RunListData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pick, setPick] = useState<string[]>([]);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      api<RunListData>("/api/runs").then((l) => {
        setList(l);
        // Poll while some run is being indexed, to show its progress and then its status.
        if (l.runs.some((r) => r.status === "indexing")) timer = setTimeout(load, 500);
      }, (e) => setError(e.message));
    load();
    return () => clearTimeout(timer);
  }, []);
  if (error) return <p class="error">{error}</p>;
  if (!list) return <p class="muted">Loading runs…</p>;
  const toggle = (id: string) => setPick(pick.includes(id) ? pick.filter((p) => p !== id) : [...pick, id].slice(-2));
  return (
    <div>
      {list.runs.length === 0 && <p class="muted">No .lstrace files in this folder. Record one with: deno task run</p>}
      <p>
        <a
          class={pick.length === 2 ? "button" : "button disabled"}
          data-testid="compare-link"
          href={pick.length === 2 ? placeHash({ page: "compare", a: pick[0], b: pick[1] }) : undefined}
        >
          compare the two runs ticked
        </a>
      </p>
      <table class="runs">
        <thead>
          <tr>
            <th></th>
            <th>run</th>
            <th>scenario</th>
            <th>seed</th>
            <th>cpus</th>
            <th>events</th>
            <th>simulated</th>
            <th>size</th>
            <th>status</th>
            <th>violations</th>
          </tr>
        </thead>
        <tbody>
          {list.runs.map((r) => (
            <tr key={r.id}>
              <td>
                <input type="checkbox" checked={pick.includes(r.id)} onChange={() => toggle(r.id)} data-id={r.id} />
              </td>
              <td>
                <a class="run-link" href={`#/run/${encodeURIComponent(r.id)}`}>{r.id}</a>
              </td>
              <td>{r.scenario ?? "–"}</td>
              <td>{r.seed ?? "–"}</td>
              <td>{r.cpus ?? "–"}</td>
              <td class="num">{r.events === null ? "–" : fmtCount(r.events)}</td>
              <td class="num">{r.simNs === null ? "–" : fmtFull(r.simNs)}</td>
              <td class="num">{fmtBytes(r.size)}</td>
              <td title={r.error ?? ""}>
                <span class={`badge ${r.status}`}>
                  {r.status}
                  {r.progress ? ` ${Math.floor((100 * r.progress.done) / Math.max(1, r.progress.of))}%` : ""}
                </span>
              </td>
              <td class="num">{r.violations ?? "?"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.skipped.length > 0 && (
        <section class="skipped" data-testid="skipped">
          <h3>Not offered ({list.skipped.length})</h3>
          <ul>
            {list.skipped.map((s) => (
              <li>
                <code>{s.path}</code>: {s.reason}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
