/**
 * Text search over events: an event matches when the query appears
 * (case-insensitively) in its decoded JSON text: kind, field names and
 * values, the names of the threads and objects it mentions ("socket#60",
 * "softnet0", "tcp_lock"). One request scans at most {@link SEARCH_SCAN_MAX}
 * events forward or backward and says where to resume, so it stays cheap.
 *
 * @module
 */
import { eventJson } from "./_query_events.ts";
import type { RunIndex } from "./_query_index.ts";
import type { TraceReader } from "./reader.ts";

/** Most events one search request scans. */
export const SEARCH_SCAN_MAX = 200_000;
/** Longest query. */
export const SEARCH_QUERY_MAX = 200;

/** A search answer: the match, or where to resume scanning (null when the trace is exhausted that way). */
export interface SearchResult {
  q: string;
  dir: "next" | "prev";
  from: number;
  /** Index of the matching event, or null. */
  index: number | null;
  tNs: number | null;
  /** When no match was found within the budget: where the next request should start; null at the trace's end. */
  resume: number | null;
  scanned: number;
}

/**
 * The first event after `from` (dir "next", exclusive) or the last before it
 * ("prev", exclusive) whose text contains `q`.
 */
export function searchEvents(
  reader: TraceReader,
  ix: RunIndex,
  q: string,
  from: number,
  dir: "next" | "prev",
): SearchResult {
  const needle = q.toLowerCase();
  const hit = (e: Parameters<typeof eventJson>[0]) =>
    JSON.stringify(eventJson(e, reader, ix)).toLowerCase().includes(needle);
  let index: number | null = null, tNs: number | null = null, scanned = 0;
  if (dir === "next") {
    const start = Math.max(0, from + 1);
    let resume: number | null = null;
    if (start < ix.events) {
      for (const e of reader.events(start)) {
        if (scanned >= SEARCH_SCAN_MAX) {
          resume = e.index - 1;
          break;
        }
        scanned++;
        if (hit(e)) {
          [index, tNs] = [e.index, e.tNs];
          break;
        }
      }
    }
    return { q, dir, from, index, tNs, resume: index === null ? resume : null, scanned };
  }
  const end = Math.min(from, ix.events);
  const start = Math.max(0, end - SEARCH_SCAN_MAX);
  if (start < end) {
    for (const e of reader.events(start)) {
      if (e.index >= end) break;
      scanned++;
      if (hit(e)) [index, tNs] = [e.index, e.tNs];
    }
  }
  return { q, dir, from, index, tNs, resume: index === null && start > 0 ? start : null, scanned };
}
