/**
 * Peer formats for the bench: the same event stream encoded and decoded with
 * formats a user might pick instead of `.lstrace`. Bench-only: nothing under
 * cli/, replay/ or recorder/ imports this file, so `run` and `replay` never
 * download msgpackr or protobufjs.
 *
 * - NDJSON: one JSON object per event (format/json.ts, what `export --format ndjson` writes).
 * - msgpackr: one MessagePack array per event `[dt, cpu, thread, kind, f0..f5, text?]`, packed in
 *   chunks of {@link CHUNK_EVENTS} events.
 * - Protocol Buffers (protobufjs): column-wise chunks like Perfetto's compact sched events: a message of
 *   packed repeated columns (kind, time delta, cpu, thread, one column per field slot) per chunk.
 *
 * @module
 */
import { pack, unpack } from "msgpackr";
import protobuf from "protobufjs";
import { EventRecord } from "../core/event.ts";
import { FIELDS_MAX, KIND } from "../core/schema.ts";

/** Events per msgpackr or protobuf chunk. */
export const CHUNK_EVENTS = 16384;

/** Events held as columns (the bench collects a run once, then feeds every codec from it). */
export interface EventColumns {
  readonly length: number;
  readonly tNs: Float64Array;
  readonly cpu: Uint16Array;
  readonly thread: Float64Array;
  readonly kind: Uint8Array;
  readonly fields: Float64Array;
  readonly texts: Map<number, string>;
}

/** A peer codec: encode all events into chunks, decode them back through one reused record. */
export interface PeerCodec {
  readonly name: string;
  encode(ev: EventColumns): Uint8Array[];
  /** Decodes every chunk, calling `fn` with a reused record; returns the event count. */
  decode(chunks: Uint8Array[], fn: (e: EventRecord) => void): number;
}

/** MessagePack through msgpackr: a row per event. */
export const msgpackrCodec: PeerCodec = {
  name: "msgpackr",
  encode(ev) {
    const out: Uint8Array[] = [];
    let prevT = 0;
    for (let start = 0; start < ev.length; start += CHUNK_EVENTS) {
      const end = Math.min(ev.length, start + CHUNK_EVENTS);
      const rows: unknown[] = new Array(end - start);
      for (let i = start; i < end; i++) {
        const at = i * FIELDS_MAX;
        const f = ev.fields;
        const row: unknown[] = [
          ev.tNs[i] - prevT,
          ev.cpu[i],
          ev.thread[i],
          ev.kind[i],
          f[at],
          f[at + 1],
          f[at + 2],
          f[at + 3],
          f[at + 4],
          f[at + 5],
        ];
        if (ev.kind[i] === KIND.strDef) row.push(ev.texts.get(i));
        rows[i - start] = row;
        prevT = ev.tNs[i];
      }
      out.push(pack(rows));
    }
    return out;
  },
  decode(chunks, fn) {
    const rec = new EventRecord();
    let n = 0;
    let t = 0;
    for (const c of chunks) {
      const rows = unpack(c) as number[][];
      for (const row of rows) {
        t += row[0];
        rec.index = n++;
        rec.tNs = t;
        rec.cpu = row[1];
        rec.thread = row[2];
        rec.kind = row[3];
        for (let j = 0; j < FIELDS_MAX; j++) rec.fields[j] = row[4 + j];
        rec.text = row.length > 10 ? String(row[10]) : "";
        fn(rec);
      }
    }
    return n;
  },
};

const root = protobuf.Root.fromJSON({
  nested: {
    EventChunk: {
      fields: {
        kind: { id: 1, rule: "repeated", type: "uint32" },
        dt: { id: 2, rule: "repeated", type: "uint64" },
        cpu: { id: 3, rule: "repeated", type: "uint32" },
        thread: { id: 4, rule: "repeated", type: "uint64" },
        f0: { id: 5, rule: "repeated", type: "sint64" },
        f1: { id: 6, rule: "repeated", type: "sint64" },
        f2: { id: 7, rule: "repeated", type: "sint64" },
        f3: { id: 8, rule: "repeated", type: "sint64" },
        f4: { id: 9, rule: "repeated", type: "sint64" },
        f5: { id: 10, rule: "repeated", type: "sint64" },
        text: { id: 11, rule: "repeated", type: "string" },
      },
    },
  },
});
const EventChunk = root.lookupType("EventChunk");
const FIELD_KEYS = ["f0", "f1", "f2", "f3", "f4", "f5"] as const;

/** Protocol Buffers through protobufjs: packed columns per chunk (proto3 packs repeated scalars). */
export const protobufCodec: PeerCodec = {
  name: "protobuf",
  encode(ev) {
    const out: Uint8Array[] = [];
    let prevT = 0;
    for (let start = 0; start < ev.length; start += CHUNK_EVENTS) {
      const end = Math.min(ev.length, start + CHUNK_EVENTS);
      const n = end - start;
      const msg: Record<string, unknown[]> = {
        kind: new Array(n),
        dt: new Array(n),
        cpu: new Array(n),
        thread: new Array(n),
        text: [],
      };
      for (const k of FIELD_KEYS) msg[k] = new Array(n);
      for (let i = start; i < end; i++) {
        const k = i - start;
        msg.kind[k] = ev.kind[i];
        msg.dt[k] = ev.tNs[i] - prevT;
        prevT = ev.tNs[i];
        msg.cpu[k] = ev.cpu[i];
        msg.thread[k] = ev.thread[i];
        for (let j = 0; j < FIELDS_MAX; j++) msg[FIELD_KEYS[j]][k] = ev.fields[i * FIELDS_MAX + j];
        if (ev.kind[i] === KIND.strDef) msg.text.push(ev.texts.get(i));
      }
      out.push(EventChunk.encode(EventChunk.fromObject(msg)).finish());
    }
    return out;
  },
  decode(chunks, fn) {
    const rec = new EventRecord();
    let n = 0;
    let t = 0;
    for (const c of chunks) {
      const m = EventChunk.decode(c) as unknown as Record<string, (number | { toNumber(): number })[]>;
      const num = (v: number | { toNumber(): number }): number => typeof v === "number" ? v : v.toNumber();
      const texts = m.text as unknown as string[];
      let s = 0;
      for (let k = 0; k < m.kind.length; k++) {
        t += num(m.dt[k]);
        rec.index = n++;
        rec.tNs = t;
        rec.cpu = num(m.cpu[k]);
        rec.thread = num(m.thread[k]);
        rec.kind = num(m.kind[k]);
        for (let j = 0; j < FIELDS_MAX; j++) rec.fields[j] = num(m[FIELD_KEYS[j]][k]);
        rec.text = rec.kind === KIND.strDef ? texts[s++] : "";
        fn(rec);
      }
    }
    return n;
  },
};
