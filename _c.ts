import { TraceReader } from "./replay/reader.ts";
import { KIND } from "./core/schema.ts";
const r = TraceReader.open(Deno.args[0]);
const cpus = r.header.cpus;
const cur = new Array(cpus).fill(0), last = new Array(cpus).fill(0), busy = new Array(cpus).fill(0);
const depth = new Array(cpus).fill(0), istart = new Array(cpus).fill(0), ibusy = new Array(cpus).fill(0);
let tLast = 0;
for (const e of r.events()) {
  tLast = e.tNs;
  const c = e.cpu;
  if (e.kind === KIND.switch) {
    if (cur[c]) busy[c] += e.tNs - last[c];
    last[c] = e.tNs;
    cur[c] = e.fields[1];
  } else if (e.kind === KIND.intrEnter) { if (depth[c]++ === 0) istart[c] = e.tNs; }
  else if (e.kind === KIND.intrExit) { if (--depth[c] === 0 && !cur[c]) ibusy[c] += e.tNs - istart[c]; }
}
for (let c = 0; c < cpus; c++) if (cur[c]) busy[c] += tLast - last[c];
console.log(
  busy.map((b, c) => (100 * b / tLast).toFixed(1)).join(" "),
  "| +intr idle:",
  busy.map((b, c) => (100 * (b + ibusy[c]) / tLast).toFixed(1)).join(" "),
);
