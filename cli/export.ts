/**
 * `deno task export FILE --format ndjson|chrome|ftrace [--out FILE]`: one
 * JSON event per line (the header first); Trace Event JSON for Perfetto and
 * chrome://tracing; ftrace text (sched_switch/sched_wakeup). pcapng is not
 * implemented yet and says so with exit status 2.
 * @module
 */
import { exportNdjson } from "../recorder/ndjson.ts";
import { exportChrome, exportFtrace } from "../recorder/export_sched.ts";
import { parse, UsageError } from "./_args.ts";

const FORMATS = ["ndjson", "chrome", "ftrace", "pcapng"];

/** The `export` command. */
export function cmdExport(args: string[]): number {
  const { values, positionals } = parse(args, { format: { type: "string" }, out: { type: "string" } });
  if (positionals.length !== 1) throw new UsageError("export takes exactly one trace file");
  const format = String(values.format ?? "");
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
  if (format === "pcapng") {
    throw new UsageError("export --format pcapng: not yet available (ndjson, chrome, ftrace are)");
  }
  const out = (values.out as string | undefined) ?? "-";
  const r = format === "ndjson"
    ? exportNdjson(positionals[0], out)
    : format === "chrome"
    ? exportChrome(positionals[0], out)
    : exportFtrace(positionals[0], out);
  if (values.out !== undefined) console.error(`${values.out}: ${r.events} events read, ${r.bytes} bytes written`);
  return 0;
}
