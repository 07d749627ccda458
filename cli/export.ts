/**
 * `deno task export FILE --format ndjson [--out FILE]`: one JSON event per
 * line (the header first). The other formats named by the product (chrome,
 * ftrace, pcapng) are not implemented yet and say so with exit status 2.
 * @module
 */
import { exportNdjson } from "../recorder/ndjson.ts";
import { parse, UsageError } from "./_args.ts";

const FORMATS = ["ndjson", "chrome", "ftrace", "pcapng"];

/** The `export` command. */
export function cmdExport(args: string[]): number {
  const { values, positionals } = parse(args, { format: { type: "string" }, out: { type: "string" } });
  if (positionals.length !== 1) throw new UsageError("export takes exactly one trace file");
  const format = String(values.format ?? "");
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
  if (format !== "ndjson") throw new UsageError(`export --format ${format}: not yet available (ndjson is)`);
  const r = exportNdjson(positionals[0], (values.out as string | undefined) ?? "-");
  if (values.out !== undefined) console.error(`${values.out}: ${r.events} events, ${r.bytes} bytes`);
  return 0;
}
