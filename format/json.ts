/**
 * The JSON form of one event, derived from the event schema: field names,
 * enum labels and resolved strings. NDJSON export, replay's divergence
 * report and the viewer's event table all show events through this one
 * function, so they agree.
 *
 * ```json
 * {"index":7,"tNs":1500,"cpu":1,"thread":3,"kind":"lock-acquire","fields":{"lock":12,"mode":"excl","thread":3,"waitNs":0}}
 * ```
 *
 * Fields sit in a nested `fields` object because several schema field names
 * (`thread`, `cpu`, `kind`) collide with the envelope's. A str-def event also
 * carries `"text"`.
 *
 * @example
 * ```ts
 * import { eventToNdjson } from "./json.ts";
 * import { EventRecord } from "../core/event.ts";
 * console.log(eventToNdjson(new EventRecord(), { string: () => undefined }));
 * ```
 * @module
 */
import type { EventRecord } from "../core/event.ts";
import { type EnumName, ENUMS, KIND_ID_MAX, KINDS } from "../core/schema.ts";

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
 * import { eventToJson } from "./json.ts";
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
 * import { eventToNdjson } from "./json.ts";
 * import { EventRecord } from "../core/event.ts";
 * const line = eventToNdjson(new EventRecord(), { string: () => undefined });
 * ```
 */
export function eventToNdjson(e: EventRecord, strings: StringLookup): string {
  return JSON.stringify(eventToJson(e, strings));
}
