/**
 * `deno task export FILE --format ndjson|chrome|ftrace|pcapng [--out FILE]`:
 * one JSON event per line (the header first); Trace Event JSON for Perfetto
 * and chrome://tracing; ftrace text (sched_switch/sched_wakeup); pcapng of
 * the packets at the NICs for Wireshark and tshark.
 * @module
 */
import { exportNdjson } from "../export/ndjson.ts";
import { exportChrome, exportFtrace } from "../export/sched.ts";
import { exportPcapng } from "../export/pcapng.ts";
import { parse, UsageError } from "./_args.ts";

const FORMATS = ["ndjson", "chrome", "ftrace", "pcapng"];

/** The `export` command. */
export function cmdExport(args: string[]): number {
  const { values, positionals } = parse(args, { format: { type: "string" }, out: { type: "string" } });
  if (positionals.length !== 1) throw new UsageError("export takes exactly one trace file");
  const format = String(values.format ?? "");
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
  const out = (values.out as string | undefined) ?? "-";
  const r = format === "ndjson"
    ? exportNdjson(positionals[0], out)
    : format === "chrome"
    ? exportChrome(positionals[0], out)
    : format === "ftrace"
    ? exportFtrace(positionals[0], out)
    : exportPcapng(positionals[0], out);
  if (values.out !== undefined) console.error(`${values.out}: ${r.events} events read, ${r.bytes} bytes written`);
  return 0;
}
