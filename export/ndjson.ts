/**
 * NDJSON export: one JSON object per event, per line, readable by jq and
 * friends. Field values use the schema's names, enum labels and resolved
 * strings:
 *
 * ```json
 * {"index":7,"tNs":1500,"cpu":1,"thread":3,"kind":"lock-acquire","fields":{"lock":12,"mode":"excl","thread":3,"waitNs":0}}
 * ```
 *
 * Fields sit in a nested `fields` object because several schema field names
 * (`thread`, `cpu`, `kind`) collide with the envelope's. A str-def event also
 * carries `"text"`. The export streams: one reused record in, 64 KiB chunks out.
 *
 * @example
 * ```ts
 * import { exportNdjson } from "./ndjson.ts";
 * const { events } = exportNdjson("runs/demo.lstrace", "runs/demo.ndjson");
 * console.log(`${events} events exported`);
 * ```
 * @module
 */
import { canonicalJson } from "../format/format.ts";
import { eventToNdjson } from "../format/json.ts";
import { type TraceError, TraceReader } from "../replay/reader.ts";
import { TextOut } from "./_text_out.ts";

/** Options of {@link exportNdjson}. */
export interface ExportNdjsonOptions {
  /** Write the trace header as a first line `{"header":{...}}` (default true). */
  readonly header?: boolean;
  /** Read with the reader's recover mode: stop quietly at damage (reported in the result). */
  readonly recover?: boolean;
  /** Export events from this index on (default 0). */
  readonly fromIndex?: number;
  /** Export at most this many events. */
  readonly limit?: number;
}

/** What {@link exportNdjson} did. */
export interface ExportNdjsonResult {
  /** Event lines written. */
  readonly events: number;
  /** Bytes written. */
  readonly bytes: number;
  /** Damage met in recover mode. */
  readonly damage: TraceError | undefined;
}

/**
 * Streams the trace at `tracePath` as NDJSON to the file `outPath` ("-" for
 * stdout). Lines already written stay written when a strict read meets damage
 * (the TraceError is rethrown after them).
 *
 * @example
 * ```ts
 * import { exportNdjson } from "./ndjson.ts";
 * exportNdjson("runs/demo.lstrace", "-", { header: false, limit: 100 });
 * ```
 */
export function exportNdjson(tracePath: string, outPath: string, opts: ExportNdjsonOptions = {}): ExportNdjsonResult {
  const reader = TraceReader.open(tracePath, { recover: opts.recover });
  const out = new TextOut(outPath);
  let events = 0;
  try {
    if (opts.header ?? true) out.write(`{"header":${canonicalJson(reader.header)}}\n`);
    const limit = opts.limit ?? Number.MAX_SAFE_INTEGER;
    for (const e of reader.events(opts.fromIndex ?? 0)) {
      if (events >= limit) break;
      out.write(eventToNdjson(e, reader) + "\n");
      events++;
    }
  } finally {
    out.close();
    reader.close();
  }
  return { events, bytes: out.bytes, damage: reader.damage };
}
