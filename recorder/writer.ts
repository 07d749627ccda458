/**
 * The trace writer: an {@link EventSink} that encodes each event into a
 * preallocated block buffer and writes whole blocks synchronously, so a
 * process killed at any moment leaves a file whose whole blocks all read back.
 * On close it appends the index footer and the trailer. Memory stays bounded:
 * one block buffer plus the footer index (blocks, checkpoint positions,
 * strings), each capped by a limit in format.ts.
 *
 * @example
 * ```ts
 * import { TraceWriter } from "./writer.ts";
 * import { EventRecord } from "../core/event.ts";
 * const w = TraceWriter.memory({ tool: "lockstep 0.1.0", scenario: "demo", seed: 1, cpus: 2, config: {}, inputs: [] });
 * const e = new EventRecord();
 * e.kind = 1; // run-end
 * w.onEvent(e);
 * w.close();
 * console.log(w.bytes().length, w.events);
 * ```
 * @module
 */
import type { EventRecord, EventSink } from "../core/event.ts";
import { FIELDS_MAX, kindDefOrNull } from "../core/schema.ts";
import { deflaterAt, nextLevel, ZSTD_LEVEL_DENSE, ZSTD_LEVEL_FAST } from "./_compress.ts";
import { traceHeaderBytes } from "./_header.ts";
import type { WriterState } from "./_writer_state.ts";
import { Columns } from "./_columns.ts";
import {
  BLOCK_CRC_AT,
  BLOCK_HEADER_BYTES,
  BLOCK_MAGIC,
  BLOCK_PAYLOAD_DEFAULT_BYTES,
  BLOCK_PAYLOAD_MAX_BYTES,
  BLOCK_PAYLOAD_MIN_BYTES,
  BLOCKS_MAX,
  CHECKPOINTS_INDEX_MAX,
  CODEC_NONE,
  CODEC_ZSTD,
  CPUS_MAX,
  crc32c,
  EVENT_MAX_BYTES,
  FOOTER_HEADER_BYTES,
  FOOTER_MAGIC,
  FOOTER_MAX_BYTES,
  MODE_TABLE_MAX_BYTES,
  putU32,
  putU64,
  putVarI,
  putVarU,
  SAFE_MAX,
  STRING_MAX_BYTES,
  STRING_TABLE_MAX_BYTES,
  STRINGS_MAX,
  type TraceHeaderInit,
  TRAILER_BYTES,
  TRAILER_MAGIC,
} from "../format/format.ts";
import {
  chooseModes,
  CODE_ADAPT,
  CODE_I,
  CODE_OF_KIND,
  CODE_PKT,
  CODE_U,
  DT_ZERO,
  FIELD_CODE,
  FIELD_COUNT,
  FIELD_LIMIT,
  KEY_FIELD,
  KEY_SHIFT,
  KEY_WAYS,
  KIND_CHECKPOINT,
  KIND_CODE_ESCAPE,
  KIND_STR_DEF,
  MODE_BASE,
  MODE_DELTA,
  SAME_CONTEXT,
  SLOTS,
  THREAD_WAYS,
  varISize,
  varUSize,
} from "../format/_layout.ts";
import { type ByteSink, FileSink, MemorySink } from "./_sink.ts";

export { DENSE_ABOVE_BYTES_PER_EVENT, ZSTD_LEVEL_DENSE, ZSTD_LEVEL_FAST } from "./_compress.ts";
export { traceHeaderBytes } from "./_header.ts";
export type { WriterState } from "./_writer_state.ts";

/** Options of {@link TraceWriter}. */
export interface TraceWriterOptions {
  /**
   * Payload bytes a block holds before it is written (default 256 KiB, from
   * 8 KiB to 256 KiB). Smaller blocks lose fewer events to a kill and make
   * random access cheaper; larger ones amortise the 32-byte block header.
   */
  readonly blockPayloadBytes?: number;
  /**
   * How blocks are stored: "zstd" (default) compresses each block on its own
   * (level {@link ZSTD_LEVEL_FAST} or {@link ZSTD_LEVEL_DENSE}, per block);
   * "none" stores them raw (tests, debugging).
   */
  readonly compression?: "zstd" | "none";
  /**
   * Trust the records (default false): skip the per-event checks of kind,
   * order, context and every field against its schema type. For records
   * built by the machine's one emit path (core/machine_base.ts), whose values
   * the kernel models compute as schema-typed integers; the machine is the
   * boundary where user input (configuration, scenario parameters, names) is
   * checked. str-def events, rare, are checked either way. Tests record with
   * checks on ({@link VALIDATE_EVENTS_ENV}).
   */
  readonly trusted?: boolean;
}

/**
 * Environment variable that turns the per-event checks back on for runs the
 * CLI records (`1`): `deno task test` sets it, so every scenario the tests
 * record is checked field by field against the schema.
 */
export const VALIDATE_EVENTS_ENV = "LOCKSTEP_VALIDATE_EVENTS";

const encoder = new TextEncoder();

/**
 * The `.lstrace` writer. See the module documentation.
 *
 * @example
 * ```ts
 * import { TraceWriter } from "./writer.ts";
 * const w = TraceWriter.create("runs/demo.lstrace", { tool: "lockstep", scenario: "demo", seed: 1, cpus: 2, config: {}, inputs: [] });
 * // machine.addSink(w); machine.run(); (the machine calls w.onEvent(e) per event, then w.onEnd())
 * w.close();
 * console.log(w.events, w.bytesWritten);
 * ```
 */
export class TraceWriter implements EventSink {
  readonly #sink: ByteSink;
  readonly #memory: MemorySink | undefined;
  /** Block header space followed by the payload being encoded. */
  readonly #buf: Uint8Array;
  /** Largest position where an ordinary event still surely fits. */
  readonly #flushAt: number;
  readonly #payloadEnd: number;
  #pos = BLOCK_HEADER_BYTES;
  #blockEvents = 0;
  #blockFirstIndex = 0;
  #blockFirstT = 0;
  // Per-block context state, reset when a block is written (docs/trace-format.md).
  #prevT = 0;
  #prevCpu = 0;
  #prevThread = 0;
  #prevPkt = 0;
  readonly #cpuLast = new Float64Array(CPUS_MAX);
  #cpuHi = -1;
  /** Previous value of each mode slot (kind * FIELDS_MAX + field) in this block. */
  readonly #adaptPrev = new Float64Array(SLOTS);
  /** Previous value of each mode slot per key entry, `(slot << KEY_SHIFT) | (key & (KEY_WAYS - 1))`, in this block. */
  readonly #keyedPrev = new Float64Array(SLOTS * KEY_WAYS);
  /** The block's current key: the value of the last key field (KEY_FIELD) encoded. */
  #key = 0;
  /** Time of the last event of each thread entry (thread mod THREAD_WAYS) in this block. */
  readonly #threadT = new Float64Array(THREAD_WAYS);
  /**
   * Bytes each mode would have taken per slot in this block, `cost[mode * SLOTS + slot]`: picks the next
   * block's modes (chooseModes).
   */
  readonly #cost = new Float64Array(3 * SLOTS);
  /** This block's field mode per slot, MODE_BASE, MODE_DELTA or MODE_KEYED (listed at the payload's start). */
  readonly #modes = new Uint8Array(SLOTS);
  /** The zstd level of the block being filled (see ZSTD_LEVEL_FAST). */
  #level = ZSTD_LEVEL_DENSE;
  readonly #compress: boolean;
  /** Skip the per-event checks (TraceWriterOptions.trusted). */
  readonly #trusted: boolean;
  /** The stored block: header and (compressed) payload, written in one write. */
  readonly #out: Uint8Array;

  #events = 0;
  #bytesWritten = 0;
  #closed = false;
  #broken = false;

  readonly #blocks = new Columns(4);
  readonly #checkpoints = new Columns(2);
  #checkpointStride = 1;
  #checkpointsSeen = 0;
  /** Defined string ids; the footer repeats the table so readers can seek without a scan. */
  readonly #stringIds = new Set<number>();
  readonly #strings: { id: number; index: number; utf8: Uint8Array }[] = [];
  #stringBytes = 0;

  private constructor(
    sink: ByteSink,
    memory: MemorySink | undefined,
    header: TraceHeaderInit,
    opts: TraceWriterOptions,
    headerWritten = false,
  ) {
    const payloadBytes = opts.blockPayloadBytes ?? BLOCK_PAYLOAD_DEFAULT_BYTES;
    if (
      !Number.isSafeInteger(payloadBytes) || payloadBytes < BLOCK_PAYLOAD_MIN_BYTES ||
      payloadBytes > BLOCK_PAYLOAD_MAX_BYTES
    ) {
      throw new RangeError(
        `trace writer: blockPayloadBytes must be in ${BLOCK_PAYLOAD_MIN_BYTES}..${BLOCK_PAYLOAD_MAX_BYTES}, got ${payloadBytes}`,
      );
    }
    if (opts.compression !== undefined && opts.compression !== "zstd" && opts.compression !== "none") {
      throw new RangeError(`trace writer: compression must be "zstd" or "none", got ${opts.compression}`);
    }
    this.#sink = sink;
    this.#memory = memory;
    this.#compress = opts.compression !== "none";
    this.#trusted = opts.trusted === true;
    this.#buf = new Uint8Array(BLOCK_HEADER_BYTES + payloadBytes);
    this.#out = new Uint8Array(BLOCK_HEADER_BYTES + payloadBytes);
    this.#payloadEnd = BLOCK_HEADER_BYTES + payloadBytes;
    this.#flushAt = this.#payloadEnd - EVENT_MAX_BYTES;
    const head = traceHeaderBytes(header);
    if (headerWritten) this.#bytesWritten = head.length;
    else this.#emit(head);
    this.#startBlock();
  }

  /**
   * Creates (or truncates) the file at `path` and writes the header.
   *
   * @example
   * ```ts
   * import { TraceWriter } from "./writer.ts";
   * const w = TraceWriter.create("/tmp/run.lstrace", { tool: "lockstep", scenario: "s", seed: 7, cpus: 4, config: {}, inputs: [] });
   * w.close();
   * ```
   */
  static create(path: string, header: TraceHeaderInit, opts: TraceWriterOptions = {}): TraceWriter {
    const sink = new FileSink(path);
    try {
      return new TraceWriter(sink, undefined, header, opts);
    } catch (err) {
      sink.close();
      throw err;
    }
  }

  /**
   * A writer into a growable memory buffer; read it with {@link bytes} after
   * {@link close}.
   *
   * @example
   * ```ts
   * import { TraceWriter } from "./writer.ts";
   * const w = TraceWriter.memory({ tool: "lockstep", scenario: "s", seed: 7, cpus: 4, config: {}, inputs: [] });
   * w.close();
   * const file: Uint8Array = w.bytes();
   * ```
   */
  static memory(header: TraceHeaderInit, opts: TraceWriterOptions = {}): TraceWriter {
    const sink = new MemorySink();
    return new TraceWriter(sink, sink, header, opts);
  }

  /**
   * A writer into `sink` (closed by {@link close}). With `headerWritten` the
   * sink already holds the header {@link traceHeaderBytes} makes of `header`
   * (the threaded writer writes it on the calling thread, then encodes in a
   * worker): it is counted in {@link bytesWritten} but not written again.
   *
   * @example
   * ```ts
   * import { TraceWriter } from "./writer.ts";
   * import { MemorySink } from "./_sink.ts";
   * const w = TraceWriter.over(new MemorySink(), { tool: "lockstep", scenario: "s", seed: 7, cpus: 4, config: {}, inputs: [] });
   * w.close();
   * ```
   */
  static over(
    sink: ByteSink,
    header: TraceHeaderInit,
    opts: TraceWriterOptions = {},
    headerWritten = false,
  ): TraceWriter {
    try {
      return new TraceWriter(sink, undefined, header, opts, headerWritten);
    } catch (err) {
      sink.close();
      throw err;
    }
  }

  /**
   * Continues the file whose writer handed over `state` ({@link handOver}):
   * `sink` appends after what that writer wrote; `header` and `opts` must be
   * the ones it was made with.
   *
   * @example
   * ```ts
   * import { TraceWriter } from "./writer.ts";
   * import { MemorySink } from "./_sink.ts";
   * const header = { tool: "lockstep", scenario: "s", seed: 7, cpus: 4, config: {}, inputs: [] };
   * const a = TraceWriter.over(new MemorySink(), header);
   * const b = TraceWriter.resume(new MemorySink(), header, {}, a.handOver());
   * b.close();
   * ```
   */
  static resume(sink: ByteSink, header: TraceHeaderInit, opts: TraceWriterOptions, state: WriterState): TraceWriter {
    const w = TraceWriter.over(sink, header, opts, true);
    if (state.payloadBytes !== w.#payloadEnd - BLOCK_HEADER_BYTES || state.pos > w.#payloadEnd) {
      sink.close();
      throw new RangeError("trace writer: resumed with other options than the writer that handed over");
    }
    w.#buf.set(state.buf.subarray(0, state.pos));
    w.#pos = state.pos;
    w.#blockEvents = state.blockEvents;
    w.#blockFirstIndex = state.blockFirstIndex;
    w.#blockFirstT = state.blockFirstT;
    w.#prevT = state.prevT;
    w.#prevCpu = state.prevCpu;
    w.#prevThread = state.prevThread;
    w.#prevPkt = state.prevPkt;
    w.#cpuLast.set(state.cpuLast);
    w.#cpuHi = state.cpuHi;
    w.#adaptPrev.set(state.adaptPrev);
    w.#keyedPrev.set(state.keyedPrev);
    w.#key = state.key;
    w.#threadT.set(state.threadT);
    w.#cost.set(state.cost);
    w.#modes.set(state.modes);
    if (state.level !== ZSTD_LEVEL_FAST && state.level !== ZSTD_LEVEL_DENSE) {
      sink.close();
      throw new RangeError(`trace writer: resumed with zstd level ${state.level}`);
    }
    w.#level = state.level;
    w.#events = state.events;
    w.#bytesWritten = state.bytesWritten;
    w.#blocks.restore(state.blocks);
    w.#checkpoints.restore(state.checkpoints);
    w.#checkpointStride = state.checkpointStride;
    w.#checkpointsSeen = state.checkpointsSeen;
    for (const str of state.strings) {
      w.#stringIds.add(str.id);
      w.#strings.push(str);
    }
    w.#stringBytes = state.stringBytes;
    return w;
  }

  /**
   * Hands this writer's state to another ({@link resume}) between two
   * events, and closes this one without writing anything more (its sink is
   * left open for the caller).
   */
  handOver(): WriterState {
    if (this.#closed || this.#broken) throw new Error("trace writer: hand-over of a closed or failed writer");
    this.#closed = true;
    this.#broken = true;
    return {
      payloadBytes: this.#payloadEnd - BLOCK_HEADER_BYTES,
      buf: this.#buf.slice(0, this.#pos),
      pos: this.#pos,
      blockEvents: this.#blockEvents,
      blockFirstIndex: this.#blockFirstIndex,
      blockFirstT: this.#blockFirstT,
      prevT: this.#prevT,
      prevCpu: this.#prevCpu,
      prevThread: this.#prevThread,
      prevPkt: this.#prevPkt,
      cpuLast: this.#cpuLast.slice(),
      cpuHi: this.#cpuHi,
      adaptPrev: this.#adaptPrev.slice(),
      keyedPrev: this.#keyedPrev.slice(),
      key: this.#key,
      threadT: this.#threadT.slice(),
      cost: this.#cost.slice(),
      modes: this.#modes.slice(),
      level: this.#level,
      events: this.#events,
      bytesWritten: this.#bytesWritten,
      blocks: this.#blocks.rows(),
      checkpoints: this.#checkpoints.rows(),
      checkpointStride: this.#checkpointStride,
      checkpointsSeen: this.#checkpointsSeen,
      strings: this.#strings.slice(),
      stringBytes: this.#stringBytes,
    };
  }

  /** Bytes handed to the file so far (the block being filled is not counted until written). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Events accepted so far. */
  get events(): number {
    return this.#events;
  }

  /** The whole file of a closed {@link memory} writer. */
  bytes(): Uint8Array {
    if (!this.#memory) throw new Error("trace writer: bytes() needs a writer made by TraceWriter.memory");
    if (!this.#closed) throw new Error("trace writer: bytes() before close()");
    return this.#memory.bytes();
  }

  /** Encodes one event. Throws (and refuses further events) when the event breaks the schema or the order. */
  onEvent(e: EventRecord): void {
    const kind = e.kind;
    const t = e.tNs;
    const cpu = e.cpu;
    const thread = e.thread;
    const fieldCount = FIELD_COUNT[kind];
    const trusted = this.#trusted;
    // One test for the common case; #diagnose names the broken rule (and throws).
    // Trusted: only the kind (str-def takes its own path) and the writer's state.
    if (
      trusted ? kind === KIND_STR_DEF || this.#broken : !(fieldCount >= 0 && kind !== KIND_STR_DEF &&
        e.index === this.#events && t >= this.#prevT && t <= SAFE_MAX && Number.isInteger(t) && cpu >= 0 &&
        cpu < CPUS_MAX && (cpu | 0) === cpu && thread >= 0 && thread <= SAFE_MAX && Number.isInteger(thread) &&
        !this.#broken && e.text === "")
    ) {
      if (kind === KIND_STR_DEF) this.#diagnose(e, true);
      else this.#diagnose(e, false);
      if (kind === KIND_STR_DEF) return this.#encodeStrDef(e);
    }
    if (this.#pos > this.#flushAt) this.#flush();
    this.#broken = true; // until the event is fully encoded
    const buf = this.#buf;
    let p = this.#pos;
    // Lead byte, escaped kind, time delta (inline: see #encodePrefix, which str-def uses).
    let dt = t - this.#prevT;
    if (this.#blockEvents === 0) {
      this.#blockFirstIndex = this.#events;
      this.#blockFirstT = t;
      this.#threadT.fill(t);
      dt = 0;
    }
    const code = CODE_OF_KIND[kind];
    const same = cpu === this.#prevCpu && thread === this.#prevThread;
    buf[p++] = code | (dt === 0 ? DT_ZERO : 0) | (same ? SAME_CONTEXT : 0);
    if (code === KIND_CODE_ESCAPE) buf[p++] = kind;
    if (!same) p = this.#encodeContext(p, cpu, thread);
    // The time since the thread entry's last event in the block (docs/trace-format.md, Events).
    const threadT = this.#threadT, entry = thread & (THREAD_WAYS - 1);
    if (dt !== 0) {
      const dtThread = t - threadT[entry];
      if (dtThread < 0x80) buf[p++] = dtThread;
      else p = putVarU(buf, p, dtThread);
    }
    threadT[entry] = t;
    const fields = e.fields;
    const base = kind * FIELDS_MAX;
    // Tables in locals: an imported binding costs a module-cell load on every use.
    const codes = FIELD_CODE, limits = FIELD_LIMIT;
    const adaptPrev = this.#adaptPrev, keyedPrev = this.#keyedPrev, cost = this.#cost, modes = this.#modes;
    const keyField = KEY_FIELD[kind];
    for (let j = 0; j < fieldCount; j++) {
      const v = fields[j];
      const slot = base + j;
      const fieldCode = codes[slot];
      if (fieldCode === CODE_ADAPT || fieldCode === CODE_PKT) {
        if (!trusted && !(v >= 0 && v <= SAFE_MAX && Number.isInteger(v))) this.#refuseField(e, j);
        // The three predictions of the value; the block's mode says which one is stored, and all three
        // costs are summed for the next block's choice.
        const pkt = fieldCode === CODE_PKT;
        const d0 = pkt ? v - this.#prevPkt : v;
        const d1 = v - adaptPrev[slot];
        const k = (slot << KEY_SHIFT) | (this.#key & (KEY_WAYS - 1));
        const d2 = v - keyedPrev[k];
        const mode = modes[slot];
        const d = mode === MODE_BASE ? d0 : mode === MODE_DELTA ? d1 : d2;
        if (mode === MODE_BASE && !pkt) {
          if (v < 0x80) buf[p++] = v;
          else if (v < 0x4000) {
            buf[p] = v | 0x80;
            buf[p + 1] = v >>> 7;
            p += 2;
          } else p = putVarU(buf, p, v);
        } else if (d >= -0x40 && d < 0x40) buf[p++] = d < 0 ? -2 * d - 1 : 2 * d;
        else p = putVarI(buf, p, d);
        // All three forms one byte: equal costs change no choice (the common case, skipped).
        if (!((pkt ? d0 >= -0x40 && d0 < 0x40 : v < 0x80) && d1 >= -0x40 && d1 < 0x40 && d2 >= -0x40 && d2 < 0x40)) {
          cost[slot] += pkt ? varISize(d0) : varUSize(v);
          cost[SLOTS + slot] += varISize(d1);
          cost[2 * SLOTS + slot] += varISize(d2);
        }
        adaptPrev[slot] = v;
        keyedPrev[k] = v;
        if (pkt) this.#prevPkt = v;
      } else if (fieldCode === CODE_U) {
        if (!trusted && !(v >= 0 && v < limits[slot] && Number.isInteger(v))) this.#refuseField(e, j);
        if (v < 0x80) buf[p++] = v;
        else p = putVarU(buf, p, v);
      } else if (fieldCode === CODE_I) {
        if (!trusted && !(v >= -SAFE_MAX && v <= SAFE_MAX && Number.isInteger(v))) this.#refuseField(e, j);
        if (v >= -0x40 && v < 0x40) buf[p++] = v < 0 ? -2 * v - 1 : 2 * v;
        else p = putVarI(buf, p, v);
      } else {
        if (!trusted && !this.#stringIds.has(v)) this.#refuseField(e, j, "names no string defined earlier");
        p = putVarU(buf, p, v);
      }
      if (j === keyField) this.#key = v;
    }
    if (!trusted) {
      for (let j = fieldCount; j < FIELDS_MAX; j++) {
        if (fields[j] !== 0) this.#refuseField(e, j, "is beyond the kind's fields and must be 0");
      }
    }
    this.#pos = p;
    this.#prevT = t;
    this.#blockEvents++;
    this.#events++;
    this.#broken = false;
    if (kind === KIND_CHECKPOINT) this.#noteCheckpoint(e.index, t);
  }

  /**
   * Names the first rule `e` breaks and throws; returns only for a valid
   * str-def (`strDef`), which takes its own, rarer path.
   */
  #diagnose(e: EventRecord, strDef: boolean): void {
    if (this.#closed || this.#broken) {
      this.#refuse(e, this.#closed ? "the writer is closed" : "an earlier event failed");
    }
    const kind = e.kind;
    if (!(FIELD_COUNT[kind] >= 0)) this.#refuse(e, `unknown kind ${kind}`);
    if (e.index !== this.#events) this.#refuse(e, `index ${e.index} where ${this.#events} was due`);
    const t = e.tNs;
    if (!(t >= this.#prevT && t <= SAFE_MAX && Number.isInteger(t))) {
      this.#refuse(e, `time ${t} is not an integer in ${this.#prevT}..2^53-1 (times never go backwards)`);
    }
    if (!(e.cpu >= 0 && e.cpu < CPUS_MAX && Number.isInteger(e.cpu))) {
      this.#refuse(e, `cpu ${e.cpu} is not in 0..${CPUS_MAX - 1}`);
    }
    if (!(e.thread >= 0 && e.thread <= SAFE_MAX && Number.isInteger(e.thread))) {
      this.#refuse(e, `thread ${e.thread} is not a non-negative safe integer`);
    }
    if (strDef) return;
    if (e.text !== "") this.#refuse(e, "text is set on a kind other than str-def");
    this.#refuse(e, "breaks a rule of the writer"); // not reached: the fast test failed for a reason above
  }

  /** Ends the run: same as {@link close}. */
  onEnd(): void {
    this.close();
  }

  /**
   * Writes the last block, the footer and the trailer, and closes the file.
   * A second call does nothing. After a refused event the file is closed
   * without a footer (readers recover its whole blocks by scanning).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (!this.#broken) {
        this.#flush();
        this.#writeFooter();
      }
    } finally {
      this.#broken = true; // a trusted writer's one test then refuses any further event
      this.#sink.close();
    }
  }

  // --- encoding -------------------------------------------------------------

  /** Lead byte (kind code and flags), escaped kind id, time delta and context; returns the position after them. */
  #encodePrefix(kind: number, t: number, cpu: number, thread: number): number {
    const buf = this.#buf;
    let p = this.#pos;
    let dt = t - this.#prevT;
    if (this.#blockEvents === 0) {
      this.#blockFirstIndex = this.#events;
      this.#blockFirstT = t;
      this.#threadT.fill(t);
      dt = 0; // the block header holds the first time; deltas restart in every block
    }
    const code = CODE_OF_KIND[kind];
    const same = cpu === this.#prevCpu && thread === this.#prevThread;
    buf[p++] = code | (dt === 0 ? DT_ZERO : 0) | (same ? SAME_CONTEXT : 0);
    if (code === KIND_CODE_ESCAPE) buf[p++] = kind;
    if (!same) p = this.#encodeContext(p, cpu, thread);
    const entry = thread & (THREAD_WAYS - 1);
    if (dt !== 0) p = putVarU(buf, p, t - this.#threadT[entry]);
    this.#threadT[entry] = t;
    return p;
  }

  /** The context of an event whose cpu or thread differs from the previous one. */
  #encodeContext(p: number, cpu: number, thread: number): number {
    const buf = this.#buf;
    if (cpu > this.#cpuHi) this.#cpuHi = cpu;
    if (this.#cpuLast[cpu] === thread) {
      // The thread last seen on this cpu in this block: the cpu number says it all.
      p = putVarU(buf, p, cpu * 2 + 1);
    } else {
      p = putVarU(buf, p, cpu * 2);
      p = putVarU(buf, p, thread);
      this.#cpuLast[cpu] = thread;
    }
    this.#prevCpu = cpu;
    this.#prevThread = thread;
    return p;
  }

  /** Ends an event encoded by a cold path. */
  #commit(p: number, t: number): void {
    this.#pos = p;
    this.#prevT = t;
    this.#blockEvents++;
    this.#events++;
    this.#broken = false;
  }

  /** str-def: rare, so it may allocate (the UTF-8 bytes, kept for the footer). */
  #encodeStrDef(e: EventRecord): void {
    const id = e.fields[0];
    if (!(id >= 0 && id <= SAFE_MAX && Number.isInteger(id))) this.#refuseField(e, 0);
    if (this.#stringIds.has(id)) this.#refuse(e, `string ${id} is defined twice`);
    if (this.#strings.length >= STRINGS_MAX) this.#refuse(e, `more than ${STRINGS_MAX} strings`);
    for (let j = 1; j < FIELDS_MAX; j++) {
      if (e.fields[j] !== 0) this.#refuseField(e, j, "is beyond the kind's fields and must be 0");
    }
    const text = e.text;
    if (typeof text !== "string" || !text.isWellFormed()) this.#refuse(e, "text is not well-formed Unicode");
    const utf8 = isShortAscii(text) ? undefined : encoder.encode(text);
    const bytes = utf8 ? utf8.length : text.length;
    if (bytes > STRING_MAX_BYTES) this.#refuse(e, `text of ${bytes} bytes exceeds ${STRING_MAX_BYTES}`);
    if (this.#stringBytes + bytes > STRING_TABLE_MAX_BYTES) {
      this.#refuse(e, `strings exceed ${STRING_TABLE_MAX_BYTES} bytes in all`);
    }
    if (this.#pos + EVENT_MAX_BYTES + bytes > this.#payloadEnd) this.#flush();
    this.#broken = true;
    const buf = this.#buf;
    let p = this.#encodePrefix(KIND_STR_DEF, e.tNs, e.cpu, e.thread);
    p = putVarU(buf, p, id);
    p = putVarU(buf, p, bytes);
    const textAt = p;
    if (utf8) buf.set(utf8, p);
    else for (let k = 0; k < bytes; k++) buf[p + k] = text.charCodeAt(k);
    p += bytes;
    this.#commit(p, e.tNs);
    this.#stringIds.add(id);
    this.#strings.push({ id, index: e.index, utf8: buf.slice(textAt, p) });
    this.#stringBytes += bytes;
  }

  #noteCheckpoint(index: number, t: number): void {
    const ordinal = this.#checkpointsSeen++;
    if (ordinal % this.#checkpointStride !== 0) return;
    if (this.#checkpoints.length === CHECKPOINTS_INDEX_MAX) {
      // Keep every other entry: the kept ones are the multiples of the doubled stride.
      this.#checkpoints.keepEven();
      this.#checkpointStride *= 2;
      if (ordinal % this.#checkpointStride !== 0) return;
    }
    this.#checkpoints.push2(index, t);
  }

  // --- output ---------------------------------------------------------------

  /**
   * Compresses and writes the block being filled (header + stored payload in
   * one write), then starts the next block.
   */
  #flush(): void {
    if (this.#blockEvents === 0) return;
    if (this.#blocks.length >= BLOCKS_MAX) throw new RangeError(`trace writer: more than ${BLOCKS_MAX} blocks`);
    const raw = this.#buf.subarray(BLOCK_HEADER_BYTES, this.#pos);
    const out = this.#out;
    let stored = raw.length;
    let codec = CODEC_NONE;
    if (this.#compress && raw.length > 0) {
      // Into the output buffer through this thread's one compression context (format/deflate.ts); stored
      // raw when the frame would be no shorter than the payload.
      const n = deflaterAt(this.#level).deflate(raw, 0, raw.length, out, BLOCK_HEADER_BYTES, raw.length - 1);
      if (n >= 0) {
        stored = n;
        codec = CODEC_ZSTD;
      }
    }
    // The next block's level, from how this one came out (see ZSTD_LEVEL_FAST).
    this.#level = nextLevel(stored, this.#blockEvents);
    if (codec === CODEC_NONE) out.set(raw, BLOCK_HEADER_BYTES);
    const end = BLOCK_HEADER_BYTES + stored;
    putU32(out, 0, BLOCK_MAGIC);
    putU32(out, 4, stored);
    putU32(out, 8, this.#blockEvents);
    putU64(out, 12, this.#blockFirstIndex);
    putU64(out, 20, this.#blockFirstT);
    putU32(out, 28, raw.length);
    putU32(out, 32, codec); // codec byte and 3 zero bytes
    putU32(out, BLOCK_CRC_AT, crc32c(out, crc32c(out, 0, 0, BLOCK_CRC_AT), BLOCK_HEADER_BYTES, end));
    this.#blocks.push4(this.#bytesWritten, this.#blockFirstIndex, this.#blockFirstT, this.#blockEvents);
    this.#emit(out.subarray(0, end));
    this.#blockEvents = 0;
    this.#prevCpu = 0;
    this.#prevThread = 0;
    this.#prevPkt = 0;
    this.#cpuLast.fill(0, 0, this.#cpuHi + 1);
    this.#cpuHi = -1;
    this.#adaptPrev.fill(0);
    this.#keyedPrev.fill(0);
    this.#key = 0;
    this.#startBlock();
  }

  /**
   * Starts a block: picks its field modes from the previous block's costs
   * (all MODE_BASE for the first block) and writes the mode table at the
   * payload's start: the count of listed slots, then per ascending slot not
   * in MODE_BASE the gap from the previous one (from 0 for the first) and its
   * mode, as unsigned varints.
   */
  #startBlock(): void {
    const modes = this.#modes;
    const count = chooseModes(this.#cost, modes);
    const buf = this.#buf;
    let p = putVarU(buf, BLOCK_HEADER_BYTES, count);
    let prev = 0;
    for (let slot = 0; slot < SLOTS; slot++) {
      if (modes[slot] === MODE_BASE) continue;
      p = putVarU(buf, p, slot - prev);
      buf[p++] = modes[slot];
      prev = slot;
    }
    if (p - BLOCK_HEADER_BYTES > MODE_TABLE_MAX_BYTES) throw new Error("trace writer: mode table overflow");
    this.#pos = p;
  }

  #writeFooter(): void {
    const footerOffset = this.#bytesWritten;
    const body = new MemorySink();
    const scratch = new Uint8Array(8 * 8);
    const put = (...values: number[]): void => {
      let p = 0;
      for (const v of values) p = putVarU(scratch, p, v);
      body.write(scratch.subarray(0, p));
    };
    put(this.#events, this.#prevT, this.#blocks.length);
    for (let i = 0; i < this.#blocks.length; i++) {
      put(this.#blocks.at(i, 0), this.#blocks.at(i, 1), this.#blocks.at(i, 2), this.#blocks.at(i, 3));
    }
    put(this.#checkpointStride, this.#checkpoints.length);
    for (let i = 0; i < this.#checkpoints.length; i++) put(this.#checkpoints.at(i, 0), this.#checkpoints.at(i, 1));
    put(this.#strings.length);
    for (const s of this.#strings) {
      put(s.id, s.index, s.utf8.length);
      body.write(s.utf8);
    }
    const payload = body.bytes();
    if (payload.length > FOOTER_MAX_BYTES) {
      throw new RangeError(`trace writer: footer of ${payload.length} bytes exceeds ${FOOTER_MAX_BYTES}`);
    }
    const head = new Uint8Array(FOOTER_HEADER_BYTES);
    putU32(head, 0, FOOTER_MAGIC);
    putU32(head, 4, payload.length);
    putU32(head, 8, crc32c(payload));
    this.#emit(head);
    this.#emit(payload);
    const trailer = new Uint8Array(TRAILER_BYTES);
    putU64(trailer, 0, footerOffset);
    putU32(trailer, 8, crc32c(trailer, 0, 0, 8));
    putU32(trailer, 12, TRAILER_MAGIC);
    this.#emit(trailer);
  }

  #emit(bytes: Uint8Array): void {
    this.#sink.write(bytes);
    this.#bytesWritten += bytes.length;
  }

  // --- refusals (cold) --------------------------------------------------------

  #refuse(e: EventRecord, why: string): never {
    this.#broken = true;
    const name = kindDefOrNull(e.kind)?.name ?? `kind ${e.kind}`;
    throw new RangeError(`trace writer: event ${e.index} (${name}): ${why}`);
  }

  #refuseField(e: EventRecord, j: number, why = "is out of range for its type"): never {
    const def = kindDefOrNull(e.kind)?.fields[j];
    const what = def ? `field ${def.name} (${def.type})` : `field ${j}`;
    this.#refuse(e, `${what} = ${e.fields[j]} ${why}`);
  }
}

/**
 * Encodes the events `produce` emits into a complete in-memory trace.
 *
 * @example
 * ```ts
 * import { encodeToBytes } from "./writer.ts";
 * const bytes = encodeToBytes({ tool: "lockstep", scenario: "s", seed: 1, cpus: 1, config: {}, inputs: [] }, () => {});
 * ```
 */
export function encodeToBytes(
  header: TraceHeaderInit,
  produce: (sink: EventSink) => void,
  opts: TraceWriterOptions = {},
): Uint8Array {
  const w = TraceWriter.memory(header, opts);
  produce(w);
  w.close();
  return w.bytes();
}

/** Whether `text` is short and all ASCII, so its UTF-8 bytes are its char codes (no TextEncoder call). */
function isShortAscii(text: string): boolean {
  if (text.length > 256) return false;
  for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) >= 0x80) return false;
  return true;
}
