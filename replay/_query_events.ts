/**
 * Paged, filtered event listing: scans forward from an index, keeps the
 * events that pass every filter, and stops at the page size or a scan budget
 * (returning where to resume), so one request stays cheap on any trace.
 *
 * @module
 */
import { EventRecord } from "../core/event.ts";
import { KIND, KIND_ID_MAX, kindDefOrNull, KINDS } from "../core/schema.ts";
import { eventToJson } from "../format/json.ts";
import { CHUNK_EVENTS, forEachBlock, KIND_WORDS, type RunIndex } from "./_query_index.ts";
import type { BlockCursor } from "./_blocks.ts";
import type { TraceReader } from "./reader.ts";

/** Largest page. */
export const EVENTS_LIMIT_MAX = 1000;
/** Most events one request scans while filtering. */
export const EVENTS_SCAN_MAX = 1_000_000;

/** Filters of an events query; each given one must match. */
export interface EventFilter {
  /** Kind ids. */
  kinds?: ReadonlySet<number>;
  cpus?: ReadonlySet<number>;
  /** The running thread or any thread field. */
  thread?: number;
  /** A `lock` field, or the object a thread blocked on or was woken from. */
  lock?: number;
  /** A `flow` field. */
  flow?: number;
}

/** One page of events. */
export interface EventPage {
  from: number;
  limit: number;
  /** Index to continue from, or null at the end of the trace. */
  next: number | null;
  scanned: number;
  events: Record<string, unknown>[];
}

/** Field positions by role, per kind id. */
const ROLE = {
  thread: fieldsWhere((_k, f) => f.type === "thread"),
  lock: fieldsWhere((k, f) => f.name === "lock" || (f.name === "obj" && (k === KIND.block || k === KIND.wake))),
  flow: fieldsWhere((_k, f) => f.name === "flow"),
  named: fieldsWhere((_k, f) => f.type === "thread" || f.type === "obj"),
};

function fieldsWhere(pred: (kind: number, f: { name: string; type: string }) => boolean): number[][] {
  const out: number[][] = Array.from({ length: KIND_ID_MAX + 1 }, () => []);
  for (const k of KINDS) k.fields.forEach((f, j) => pred(k.id, f) && out[k.id].push(j));
  return out;
}

function anyField(e: EventRecord, at: number[], v: number): boolean {
  for (const j of at) if (e.fields[j] === v) return true;
  return false;
}

/** Whether `e` passes `f`. */
export function matches(e: EventRecord, f: EventFilter): boolean {
  if (f.kinds && !f.kinds.has(e.kind)) return false;
  if (f.cpus && !f.cpus.has(e.cpu)) return false;
  if (f.thread !== undefined && e.thread !== f.thread && !anyField(e, ROLE.thread[e.kind], f.thread)) return false;
  if (f.lock !== undefined && !anyField(e, ROLE.lock[e.kind], f.lock)) return false;
  if (f.flow !== undefined && !anyField(e, ROLE.flow[e.kind], f.flow)) return false;
  return true;
}

/** The JSON of one event, with its category and the names of the threads and objects it mentions. */
export function eventJson(e: EventRecord, reader: TraceReader, ix: RunIndex): Record<string, unknown> {
  const out = eventToJson(e, reader);
  const def = kindDefOrNull(e.kind);
  out.cat = def?.cat ?? "meta";
  const names: Record<string, string> = {};
  const running = e.thread ? ix.threads.get(e.thread)?.name : undefined;
  if (running) out.threadName = running;
  for (const j of ROLE.named[e.kind]) {
    // Thread ids and object ids are separate spaces: look each up in its own.
    const field = def!.fields[j];
    const id = e.fields[j];
    const n = id === 0 ? undefined : field.type === "thread" ? ix.threads.get(id)?.name : ix.names.get(id);
    if (n !== undefined) names[field.name] = n;
  }
  if (Object.keys(names).length > 0) out.names = names;
  return out;
}

/** A page of at most `limit` events from index `from` that pass `filter` (`cur`: see `forEachBlock`). */
export function queryEvents(
  reader: TraceReader,
  ix: RunIndex,
  from: number,
  limit: number,
  filter: EventFilter,
  cur?: BlockCursor,
): EventPage {
  limit = Math.max(1, Math.min(limit, EVENTS_LIMIT_MAX));
  const events: Record<string, unknown>[] = [];
  let scanned = 0;
  let next: number | null = null;
  const mask = kindMask(filter);
  const rec = new EventRecord();
  const chunks = ix.chunkT.length;
  let at = from;
  while (at < ix.events && next === null) {
    // Chunks without any wanted kind are skipped whole (the index knows each chunk's kinds).
    let c = Math.floor(at / CHUNK_EVENTS);
    while (mask && c < chunks && !hasAny(ix.chunkKinds, c, mask)) c++;
    if (c >= chunks) break;
    at = Math.max(at, c * CHUNK_EVENTS);
    const end = Math.min(ix.events, mask ? (c + 1) * CHUNK_EVENTS : ix.events);
    forEachBlock(reader, at, (d, start) => {
      for (let i = start; i < d.count; i++) {
        const index = d.firstIndex + i;
        if (scanned >= EVENTS_SCAN_MAX || events.length >= limit) {
          next = index;
          return false;
        }
        if (index >= end) return false;
        scanned++;
        d.fill(i, rec);
        if (matches(rec, filter)) events.push(eventJson(rec, reader, ix));
      }
      return true;
    }, cur);
    at = end;
  }
  return { from, limit, next, scanned, events };
}

/** The kind filter as chunk bit words, or undefined without one. */
function kindMask(f: EventFilter): Uint32Array | undefined {
  if (!f.kinds) return undefined;
  const m = new Uint32Array(KIND_WORDS);
  for (const k of f.kinds) m[k >>> 5] |= 1 << (k & 31);
  return m;
}

function hasAny(bits: Uint32Array, chunk: number, mask: Uint32Array): boolean {
  for (let w = 0; w < KIND_WORDS; w++) if (bits[chunk * KIND_WORDS + w] & mask[w]) return true;
  return false;
}
