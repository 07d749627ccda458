/**
 * `deno run -A tools/bench_read.ts FILE...`: the read side alone (decode into
 * columns, fold + digest check), min / median / max of 3 after a warm-up, for
 * iterating on replay/ and format/ without the whole `deno task bench`.
 * @module
 */
import { TraceReader } from "../replay/reader.ts";
import { checkTrace } from "../replay/check.ts";
import { FIELDS_MAX } from "../core/schema.ts";

const REPEATS = Number(Deno.env.get("REPEATS") ?? 3);
function timed(fn: () => number): { n: number; ms: number[] } {
  let n = fn();
  const ms: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    n = fn();
    ms.push(performance.now() - t0);
  }
  return { n, ms };
}
function show(label: string, n: number, ms: number[]): void {
  const r = ms.map((m) => n / m / 1000).sort((a, b) => a - b);
  console.log(
    `${label.padEnd(40)} ${r[0].toFixed(2)} / ${r[r.length >> 1].toFixed(2)} / ${
      r[r.length - 1].toFixed(2)
    } M ev/s (${n} events)`,
  );
}
const which = Deno.env.get("ONLY") ?? "decode,fold";
for (const file of Deno.args) {
  const bytes = Deno.readFileSync(file);
  let sum = 0;
  if (which.includes("decode")) {
    const d = timed(() => {
      let n = 0;
      TraceReader.fromBytes(bytes).forEachBlock((b) => {
        // A local sum: adding to a captured `let` boxes a number per event and times the garbage collector.
        let local = 0;
        for (let i = 0; i < b.count; i++) local += b.fields[i * FIELDS_MAX];
        sum += local;
        n += b.count;
      });
      return n;
    });
    show(`decode ${file}`, d.n, d.ms);
  }
  if (which.includes("fold")) {
    const f = timed(() => checkTrace(file).events);
    show(`fold ${file}`, f.n, f.ms);
  }
}
