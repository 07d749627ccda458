/**
 * `deno run -A tools/bench_read.ts FILE...`: the read side alone (decode into
 * columns, fold + digest check, and `replay --at N --json` in a new process at
 * 10 %, 50 % and 97 % of the trace next to an empty Deno program), min /
 * median / max of REPEATS (3) after a warm-up, for iterating on replay/ and
 * format/ without the whole `deno task bench`. ONLY=decode,fold,at picks.
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
const which = Deno.env.get("ONLY") ?? "decode,fold,at";
const main = new URL("../cli/main.ts", import.meta.url).pathname;

/** Wall milliseconds of `deno run ...args` in a new process. */
async function wallMs(args: string[]): Promise<number> {
  const t0 = performance.now();
  const o = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).output();
  const ms = performance.now() - t0;
  if (o.code !== 0) throw new Error(`bench_read: ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
  return ms;
}
function showMs(label: string, ms: number[]): void {
  const r = [...ms].sort((a, b) => a - b);
  console.log(
    `${label.padEnd(40)} ${r[0].toFixed(0)} / ${r[r.length >> 1].toFixed(0)} / ${r[r.length - 1].toFixed(0)} ms`,
  );
}
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
  if (which.includes("at")) {
    const r = TraceReader.open(file);
    const count = r.eventCount ?? r.scan();
    r.close();
    const at = (
      frac: number,
    ) => [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      main,
      "replay",
      "--at",
      String(Math.floor(count * frac)),
      "--json",
      file,
    ];
    await wallMs(at(0.999)); // builds the seek sidecar when missing or stale
    const seek: number[] = [], empty: number[] = [], zlib: number[] = [];
    const emptyFile = Deno.makeTempFileSync({ suffix: ".ts" });
    // The zstd blocks need node:zlib, whose polyfill graph (streams, buffers) is most of the load time that is not ours.
    const zlibFile = Deno.makeTempFileSync({ suffix: ".ts" });
    Deno.writeTextFileSync(zlibFile, 'import { createZstdDecompress } from "node:zlib";\ncreateZstdDecompress();\n');
    for (let k = 0; k < REPEATS; k++) {
      for (const frac of [0.1, 0.5, 0.97]) {
        seek.push(await wallMs(at(frac)));
        empty.push(await wallMs(["run", emptyFile]));
        zlib.push(await wallMs(["run", zlibFile]));
      }
    }
    Deno.removeSync(emptyFile);
    Deno.removeSync(zlibFile);
    showMs(`replay --at N --json, new process`, seek);
    showMs(`  the floor: deno run of an empty file`, empty);
    showMs(`  an empty file importing node:zlib`, zlib);
  }
}
