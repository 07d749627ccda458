/**
 * `deno task export FILE --format ndjson|chrome|ftrace|pcapng [--out FILE]`:
 * one JSON event per line (the header first); Trace Event JSON for Perfetto
 * and chrome://tracing; ftrace text (sched_switch/sched_wakeup); pcapng of
 * the packets at the NICs for Wireshark and tshark.
 * @module
 */
import { parseOptions } from "./_help.ts";
import { exportNdjson } from "../export/ndjson.ts";
import { exportChrome, exportFtrace } from "../export/sched.ts";
import { exportPcapng } from "../export/pcapng.ts";
import { parse, UsageError } from "./_args.ts";
import { checkInputFile, checkOutFile, writeAtomically } from "./_files.ts";

const FORMATS = ["ndjson", "chrome", "ftrace", "pcapng"];

/** The `export` command. */
export function cmdExport(args: string[]): number {
  const { values, positionals } = parse(args, parseOptions("export"));
  if (positionals.length !== 1) throw new UsageError("export takes exactly one trace file");
  const format = String(values.format ?? "");
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
  const input = positionals[0];
  checkInputFile(input);
  const out = (values.out as string | undefined) ?? "-";
  if (out !== "-") checkOutFile("--out", out, [input]);
  const write = (path: string) =>
    format === "ndjson"
      ? exportNdjson(input, path)
      : format === "chrome"
      ? exportChrome(input, path)
      : format === "ftrace"
      ? exportFtrace(input, path)
      : exportPcapng(input, path);
  // A damaged input stops the export: the output file then is not created (or keeps its old content).
  const r = out === "-" ? write(out) : writeAtomically(out, write);
  if (values.out !== undefined) console.error(`${values.out}: ${r.events} events read, ${r.bytes} bytes written`);
  return 0;
}
