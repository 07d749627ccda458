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
import type { EventRecord } from "../core/event.ts";
import { type EnumName, ENUMS, KIND_ID_MAX, KINDS } from "../core/schema.ts";
import { type TraceError, TraceReader } from "../replay/reader.ts";
import { canonicalJson } from "./format.ts";
import { TextOut } from "./_text_out.ts";

/** Where str fields are resolved (a TraceReader is one). */
export interface StringLookup {
  /** The text of string `id`, or undefined. */
  string(id: number): string | undefined;
}

/** How each field of a kind is shown: its name and, for enums and strings, how to resolve it. */
interface FieldView {
  readonly name: string;
  readonly labels: readonly string[] | undefined;
  readonly str: boolean;
}

const VIEWS: (readonly FieldView[] | undefined)[] = new Array(KIND_ID_MAX + 1);
const NAMES: (string | undefined)[] = new Array(KIND_ID_MAX + 1);
for (const k of KINDS) {
  NAMES[k.id] = k.name;
  VIEWS[k.id] = k.fields.map((f) => ({
    name: f.name,
    labels: f.type.startsWith("enum:") ? ENUMS[f.type.slice(5) as EnumName] : undefined,
    str: f.type === "str" && k.name !== "str-def",
  }));
}

/**
 * The JSON object of one event.
 *
 * @example
 * ```ts
 * import { eventToJson } from "./ndjson.ts";
 * import { EventRecord } from "../core/event.ts";
 * const e = new EventRecord();
 * e.kind = 33; // lock-release
 * e.fields[0] = 12;
 * console.log(eventToJson(e, { string: () => undefined }));
 * // { index: 0, tNs: 0, cpu: 0, thread: 0, kind: "lock-release", fields: { lock: 12, mode: "excl" } }
 * ```
 */
export function eventToJson(e: EventRecord, strings: StringLookup): Record<string, unknown> {
  const views = VIEWS[e.kind];
  if (!views) throw new RangeError(`ndjson: unknown event kind ${e.kind}`);
  const fields: Record<string, unknown> = {};
  for (let j = 0; j < views.length; j++) {
    const view = views[j];
    const v = e.fields[j];
    if (view.labels) fields[view.name] = view.labels[v] ?? v;
    else if (view.str) fields[view.name] = strings.string(v) ?? `#${v}`;
    else fields[view.name] = v;
  }
  const out: Record<string, unknown> = {
    index: e.index,
    tNs: e.tNs,
    cpu: e.cpu,
    thread: e.thread,
    kind: NAMES[e.kind],
    fields,
  };
  if (e.text !== "") out.text = e.text;
  return out;
}

/**
 * One NDJSON line (without the newline).
 *
 * @example
 * ```ts
 * import { eventToNdjson } from "./ndjson.ts";
 * import { EventRecord } from "../core/event.ts";
 * const line = eventToNdjson(new EventRecord(), { string: () => undefined });
 * ```
 */
export function eventToNdjson(e: EventRecord, strings: StringLookup): string {
  return JSON.stringify(eventToJson(e, strings));
}

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
