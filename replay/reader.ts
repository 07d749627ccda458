/**
 * The `.lstrace` reader: validates the header, uses the index footer for
 * random access (or scans block by block when the writer was killed before
 * writing it), and decodes events into one reused {@link EventRecord}.
 *
 * Damage handling (docs/trace-format.md, "Damage"): every problem is a
 * {@link TraceError} with a `code`, the block and byte offset, and the number
 * of whole events before it. Strict readers (the default) deliver every event
 * of the whole blocks before the damage, then throw. Readers opened with
 * `{ recover: true }` stop there quietly and report the damage in `damage`.
 * A file without a footer is truncated by definition: a strict reader throws
 * "truncated" after its last whole block.
 *
 * @example
 * ```ts
 * import { TraceReader } from "./reader.ts";
 * const reader = TraceReader.open("runs/demo.lstrace");
 * for (const e of reader.events()) {
 *   if (e.kind === 12) console.log(e.index, e.tNs, e.fields[1]);
 * }
 * reader.close();
 * ```
 * @module
 */
import { EventRecord } from "../core/event.ts";
import {
  BLOCK_CRC_AT,
  crc32c,
  FORMAT_VERSION,
  getU32,
  HEADER_BYTES_MAX,
  headerProblem,
  LAYOUT_KEY,
  layoutConflicts,
  MAGIC,
  PREFIX_BYTES,
  type TraceHeader,
} from "../format/format.ts";
import { BlockCursor, BlockStore } from "./_blocks.ts";
import { type DecodedBlock, type DecoderState, newDecoderState } from "../format/decode.ts";
import { TraceError } from "../format/error.ts";
import { type FooterFacts, hasTrailerMagic, readFooter } from "./_footer.ts";
import { type ByteSource, FileSource, MemorySource } from "./_source.ts";

export { TraceError, type TraceErrorCode, type TraceErrorPlace } from "../format/error.ts";
export type { DecodedBlock, DecoderState } from "../format/decode.ts";
export type { BlockCursor } from "./_blocks.ts";

/** Options of {@link TraceReader}. */
export interface TraceReaderOptions {
  /**
   * Stop quietly at damage instead of throwing, and report it in
   * {@link TraceReader.damage}. Header damage still throws (nothing is
   * readable without the header). A damaged footer is then ignored and the
   * file is read by scanning.
   */
  readonly recover?: boolean;
}

/** A checkpoint position listed by the footer. */
export interface CheckpointPosition {
  /** Index of the checkpoint event. */
  readonly index: number;
  /** Its time. */
  readonly tNs: number;
}

/**
 * Reads one trace file. See the module documentation.
 *
 * @example
 * ```ts
 * import { TraceReader } from "./reader.ts";
 * const r = TraceReader.open("runs/demo.lstrace");
 * const e = r.readEvent(100); // random access through the footer index
 * for (const ev of r.events(100)) if (ev.index > 110) break;
 * r.close();
 * ```
 */
export class TraceReader {
  /** The run's header. */
  readonly header: TraceHeader;
  readonly #src: ByteSource;
  #store: BlockStore;
  readonly #recover: boolean;
  readonly #footer: FooterFacts | undefined;
  #damage: TraceError | undefined = undefined;
  /** Cursor and record of `readEvent`, kept so nearby reads reuse the decoded block. */
  readonly #randomCursor = new BlockCursor();

  private constructor(src: ByteSource, opts: TraceReaderOptions) {
    this.#src = src;
    this.#recover = opts.recover ?? false;
    const { header, dataStart } = readHeader(src);
    this.header = header;
    this.#store = new BlockStore(src, dataStart);
    this.#footer = this.#openFooter(dataStart);
  }

  /**
   * Opens the trace at `path` and checks its header (and footer, if any).
   * Throws TraceError for a damaged or unsupported file.
   *
   * @example
   * ```ts
   * import { TraceReader } from "./reader.ts";
   * const r = TraceReader.open("runs/demo.lstrace", { recover: true });
   * console.log(r.header.scenario, r.eventCount, r.hasFooter);
   * r.close();
   * ```
   */
  static open(path: string, opts: TraceReaderOptions = {}): TraceReader {
    const src = new FileSource(path);
    try {
      return new TraceReader(src, opts);
    } catch (err) {
      src.close();
      throw err;
    }
  }

  /**
   * Reads a trace held in memory (tests, the bench).
   *
   * @example
   * ```ts
   * import { TraceReader } from "./reader.ts";
   * import { encodeToBytes } from "../recorder/writer.ts";
   * const bytes = encodeToBytes({ tool: "t", scenario: "s", seed: 1, cpus: 1, config: {}, inputs: [] }, () => {});
   * console.log(TraceReader.fromBytes(bytes).eventCount); // 0
   * ```
   */
  static fromBytes(bytes: Uint8Array, opts: TraceReaderOptions = {}): TraceReader {
    return new TraceReader(new MemorySource(bytes), opts);
  }

  /** Whether the file has a valid index footer (it was closed cleanly). */
  get hasFooter(): boolean {
    return this.#footer !== undefined;
  }

  /**
   * Number of events: from the footer, or once a scan of a file without one
   * has reached its end or damage (then it counts the events that read back).
   * Undefined before that.
   */
  get eventCount(): number | undefined {
    if (this.#footer) return this.#footer.eventCount;
    return this.#store.complete ? this.#store.index.events() : undefined;
  }

  /** The first damage met in recover mode (undefined when none, and always in strict mode). */
  get damage(): TraceError | undefined {
    return this.#damage;
  }

  /** Blocks known so far (all of them with a footer). */
  get blockCount(): number {
    return this.#store.index.length;
  }

  /**
   * Checkpoint positions from the footer (empty without one). When a run had
   * more than CHECKPOINTS_INDEX_MAX checkpoints, every `checkpointStride`-th.
   */
  checkpoints(): CheckpointPosition[] {
    const list = this.#footer?.checkpoints ?? new Float64Array(0);
    const out: CheckpointPosition[] = [];
    for (let k = 0; k < list.length; k += 2) out.push({ index: list[k], tNs: list[k + 1] });
    return out;
  }

  /** Every how many checkpoints the footer lists one (1 = all). */
  get checkpointStride(): number {
    return this.#footer?.checkpointStride ?? 1;
  }

  /**
   * The text of string `id`: from the footer's table, or as defined by the
   * str-def events decoded so far when there is no footer.
   */
  string(id: number): string | undefined {
    return this.#store.strings.text(id);
  }

  /**
   * Iterates events from `fromIndex` on, yielding the same record each time
   * (copy what you keep). Starts at the right block through the index; without
   * a footer, the blocks before are scanned once.
   *
   * @example
   * ```ts
   * import { TraceReader } from "./reader.ts";
   * const r = TraceReader.open("runs/demo.lstrace");
   * for (const e of r.events(1000)) if (e.index >= 1010) break;
   * ```
   */
  events(fromIndex = 0): EventIterator {
    checkIndex(fromIndex);
    return new EventIterator(this, fromIndex);
  }

  /**
   * Calls `fn` with each event from `fromIndex` on (the same record each
   * time); the fastest way through a trace. Returns how many events it saw.
   *
   * @example
   * ```ts
   * import { TraceReader } from "./reader.ts";
   * const r = TraceReader.open("runs/demo.lstrace");
   * let switches = 0;
   * r.forEach((e) => { if (e.kind === 12) switches++; });
   * ```
   */
  forEach(fn: (e: EventRecord) => void, fromIndex = 0): number {
    checkIndex(fromIndex);
    const rec = new EventRecord();
    const cur = new BlockCursor();
    let seen = 0;
    let b = this.locate(fromIndex, cur);
    if (b < 0) return 0;
    let i = fromIndex - this.#store.index.firstIndex[b];
    for (; this.loadBlock(b, cur); b++, i = 0) {
      const d = cur.decoded;
      const n = d.count;
      seen += n - i;
      for (; i < n; i++) {
        d.fill(i, rec);
        fn(rec);
      }
    }
    return seen;
  }

  /**
   * Calls `fn` with each event of [fromIndex, toIndex) in order (the same
   * record each time), decoding the block holding the last of them only as
   * far as that event: a seek's fold reads part of one block, not all of it.
   * With `resume`, the decoder's state at `fromIndex` (kept by
   * {@link forEachMarked}), the block holding `fromIndex` is decoded from
   * there rather than from its start. Returns how many events it saw (fewer
   * past the end, or past damage in recover mode). Each event is checked
   * before it is handed out, as always.
   *
   * @example
   * ```ts
   * import { TraceReader } from "./reader.ts";
   * const r = TraceReader.open("runs/demo.lstrace");
   * let switches = 0;
   * r.forEachBetween(1000, 2000, (e) => { if (e.kind === 12) switches++; });
   * ```
   */
  forEachBetween(
    fromIndex: number,
    toIndex: number,
    fn: (e: EventRecord) => void,
    resume: DecoderState | null = null,
  ): number {
    checkIndex(fromIndex);
    checkIndex(toIndex);
    if (toIndex <= fromIndex) return 0;
    const rec = new EventRecord();
    const cur = new BlockCursor();
    let seen = 0;
    let b = this.locate(fromIndex, cur);
    if (b < 0) return 0;
    const ix = this.#store.index;
    let i = fromIndex - ix.firstIndex[b];
    if (resume !== null && resume.event !== i) {
      throw new RangeError(`forEachBetween: the decoder state is at event ${resume.event} of the block, not ${i}`);
    }
    let from = resume !== null && i > 0 ? resume : null;
    for (;; b++, i = 0, from = null) {
      // The last block is known (indexed) once an earlier block ends before toIndex: decode only its prefix.
      const part = b < ix.length && cur.decoded.block !== b &&
        (from !== null || toIndex < ix.firstIndex[b] + ix.count[b]);
      if (part) {
        if (!this.#loadPart(b, toIndex - ix.firstIndex[b], cur, from, null)) break;
      } else if (!this.loadBlock(b, cur)) break;
      const d = cur.decoded;
      const n = Math.min(d.count, toIndex - d.firstIndex);
      for (; i < n; i++, seen++) {
        d.fill(i, rec);
        fn(rec);
      }
      if (d.firstIndex + d.count >= toIndex) break;
    }
    return seen;
  }

  /**
   * Calls `fn` with every event in order (the same record each time), and
   * `mark(index, state)` before each event whose index is a block's first
   * (`state` null) or a multiple of `every` (`state`: the decoder's state
   * there, for {@link forEachBetween}). For the seek sidecar; needs a footer
   * (throws TraceError without one, as strict reading does).
   */
  forEachMarked(
    every: number,
    mark: (index: number, state: DecoderState | null) => void,
    fn: (e: EventRecord) => void,
  ): void {
    if (!(Number.isSafeInteger(every) && every > 0)) throw new RangeError(`forEachMarked: bad interval ${every}`);
    if (!this.hasFooter) this.scan();
    const rec = new EventRecord();
    const cur = new BlockCursor();
    const ix = this.#store.index;
    for (let b = 0; b < ix.length; b++) {
      const first = ix.firstIndex[b], n = ix.count[b];
      let state: DecoderState | null = null;
      for (let s = 0; s < n;) {
        // Decode up to the next multiple of `every` in this block, keeping the decoder's state there.
        const e = Math.min(n, (Math.floor((first + s) / every) + 1) * every - first);
        const end = e < n ? newDecoderState() : null;
        mark(first + s, state);
        if (!this.#loadPart(b, e, cur, state, end)) return;
        const d = cur.decoded;
        for (let i = s; i < e; i++) {
          d.fill(i, rec);
          fn(rec);
        }
        state = end;
        s = e;
      }
    }
  }

  /** {@link BlockStore.loadPart}, with damage handled as {@link loadBlock} does. */
  #loadPart(b: number, limit: number, cur: BlockCursor, from: DecoderState | null, end: DecoderState | null): boolean {
    try {
      this.#store.loadPart(b, limit, cur, from, end);
      return true;
    } catch (err) {
      if (!(err instanceof TraceError) || !this.#recover) throw err;
      this.#damage ??= err;
      return false;
    }
  }

  /**
   * Calls `fn` with each decoded block from the one holding `fromIndex` on,
   * and the position of `fromIndex` in the first (0 in the others); stops when
   * `fn` returns false, at the end, or (recover mode) at damage. Reading the
   * columns directly skips the per-event copy into a record: the fastest pass.
   * The block is reused after `fn` returns.
   *
   * @example
   * ```ts
   * import { TraceReader } from "./reader.ts";
   * const r = TraceReader.open("runs/demo.lstrace");
   * let switches = 0;
   * r.forEachBlock((b, start) => {
   *   for (let i = start; i < b.count; i++) if (b.kind[i] === 12) switches++;
   * });
   * ```
   */
  forEachBlock(fn: (block: DecodedBlock, start: number) => boolean | void, fromIndex = 0): void {
    checkIndex(fromIndex);
    const cur = new BlockCursor();
    let b = this.locate(fromIndex, cur);
    if (b < 0) return;
    // The first block is entered at fromIndex, every later one at its own first event.
    for (let first = true; this.loadBlock(b, cur); b++, first = false) {
      const start = first ? fromIndex - cur.decoded.firstIndex : 0;
      if (fn(cur.decoded, start) === false) return;
    }
  }

  /**
   * Reads the event at `index` into `into` (a new record by default); undefined
   * past the last event (or, in recover mode, past damage).
   *
   * @example
   * ```ts
   * import { TraceReader } from "./reader.ts";
   * const r = TraceReader.open("runs/demo.lstrace");
   * const e = r.readEvent(12345);
   * ```
   */
  readEvent(index: number, into: EventRecord = new EventRecord()): EventRecord | undefined {
    checkIndex(index);
    const cur = this.#randomCursor;
    const b = this.locate(index, cur);
    if (b < 0 || !this.loadBlock(b, cur)) return undefined;
    const i = index - cur.decoded.firstIndex;
    if (i >= cur.decoded.count) return undefined;
    cur.decoded.fill(i, into);
    return into;
  }

  /**
   * Reads and checks every block (building the index of a file without a
   * footer); returns the event count. Strict readers throw at damage.
   */
  scan(): number {
    const cur = new BlockCursor();
    for (let b = 0; this.loadBlock(b, cur); b++) {
      // Loading checks and decodes the block; nothing else to do.
    }
    return this.#store.index.events();
  }

  /**
   * A checksum naming this file's content: CRC-32C over the header's, every
   * block's and the footer's CRC fields (each covers its bytes, so any change
   * to the file changes one of them). Undefined without a valid footer. Caches
   * derived from a trace (the seek snapshots) are validated against it.
   */
  contentKey(): number | undefined {
    const footer = this.#footer;
    if (!footer) return undefined;
    const ix = this.#store.index;
    const crcs = new Uint8Array(4 * (ix.length + 2));
    this.#src.read(16, crcs, 4);
    for (let b = 0; b < ix.length; b++) this.#src.read(ix.offset[b] + BLOCK_CRC_AT, crcs.subarray(4 * (b + 1)), 4);
    this.#src.read(footer.footerOffset + 8, crcs.subarray(4 * (ix.length + 1)), 4);
    return crc32c(crcs);
  }

  /** Closes the file. */
  close(): void {
    this.#src.close();
  }

  /**
   * The block holding event `index`, scanning forward through a file without
   * a footer as needed; -1 when there is no such event (or, in recover mode,
   * damage came first). Leaves the found block decoded in `cur` when it had
   * to scan. For the reader's own iterators.
   */
  locate(index: number, cur: BlockCursor): number {
    const ix = this.#store.index;
    if (index < ix.events()) return ix.find(index);
    if (this.#store.complete && !this.#store.stop) return -1;
    for (let b = ix.length;; b++) {
      if (!this.loadBlock(b, cur)) return -1;
      if (index < ix.events()) return b;
    }
  }

  /**
   * Decodes block `b` into `cur`; false at the end of the trace. Damage
   * throws, or in recover mode is recorded and ends the trace. For the
   * reader's own iterators.
   */
  loadBlock(b: number, cur: BlockCursor): boolean {
    try {
      return this.#store.load(b, cur);
    } catch (err) {
      if (!(err instanceof TraceError) || !this.#recover) throw err;
      this.#damage ??= err;
      return false;
    }
  }

  #openFooter(dataStart: number): FooterFacts | undefined {
    if (!hasTrailerMagic(this.#src, dataStart)) return undefined;
    try {
      const facts = readFooter(this.#src, dataStart, this.#store.index, this.#store.strings);
      this.#store.useFooter(facts);
      return facts;
    } catch (err) {
      if (!(err instanceof TraceError) || !this.#recover) throw err;
      // Fall back to scanning, from a clean index and string table.
      this.#damage = err;
      this.#store = new BlockStore(this.#src, dataStart);
      this.#store.ignoreFooter(err);
      return undefined;
    }
  }
}

/**
 * Iterator over a reader's events; yields one reused record. Created by
 * {@link TraceReader.events}.
 *
 * @example
 * ```ts
 * import { TraceReader } from "./reader.ts";
 * const it = TraceReader.open("runs/demo.lstrace").events(5);
 * const first = it.next(); // { done: false, value: <the reused record, index 5> }
 * ```
 */
export class EventIterator implements IterableIterator<EventRecord> {
  readonly #reader: TraceReader;
  readonly #cur = new BlockCursor();
  readonly #rec = new EventRecord();
  readonly #yielded: IteratorYieldResult<EventRecord> = { done: false, value: this.#rec };
  #block: number;
  #i = 0;
  #started = false;
  #done = false;
  readonly #from: number;

  /** An iterator over `reader`'s events from `fromIndex` on. */
  constructor(reader: TraceReader, fromIndex: number) {
    this.#reader = reader;
    this.#from = fromIndex;
    this.#block = -1;
  }

  /** The next event (the same record object each time). */
  next(): IteratorResult<EventRecord> {
    const d = this.#cur.decoded;
    if (this.#i < d.count && d.block === this.#block) {
      d.fill(this.#i++, this.#rec);
      return this.#yielded;
    }
    return this.#advance();
  }

  /** Ends the iteration early (a `break` out of a for-of). */
  return(): IteratorResult<EventRecord> {
    this.#done = true;
    return DONE;
  }

  /** Itself: an iterator is iterable. */
  [Symbol.iterator](): EventIterator {
    return this;
  }

  #advance(): IteratorResult<EventRecord> {
    if (this.#done) return DONE;
    // Damage ends the iteration for good: a later next() must not skip past it.
    this.#done = true;
    const reader = this.#reader;
    if (!this.#started) {
      this.#started = true;
      this.#block = reader.locate(this.#from, this.#cur);
      if (this.#block < 0 || !reader.loadBlock(this.#block, this.#cur)) return DONE;
      this.#i = this.#from - this.#cur.decoded.firstIndex;
    } else {
      this.#block++;
      this.#i = 0;
      if (!reader.loadBlock(this.#block, this.#cur)) return DONE;
    }
    this.#done = false;
    return this.next();
  }
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`event index ${index} is not a non-negative integer`);
  }
}

/** Oldest format version whose prefix and header {@link readTraceHeader} still reads (for `replay --update`). */
const HEADER_VERSION_MIN = 1;

/**
 * Reads only the header of the trace at `path`, also from an older format
 * version this reader no longer decodes (the prefix and header have kept one
 * layout since version 1), so `replay --update` can re-record an old trace.
 * The returned header's `formatVersion` is the file's. Throws TraceError.
 *
 * @example
 * ```ts
 * import { readTraceHeader } from "./reader.ts";
 * const h = readTraceHeader("runs/demo.lstrace");
 * console.log(h.scenario, h.seed, h.formatVersion);
 * ```
 */
export function readTraceHeader(path: string): TraceHeader {
  const src = new FileSource(path);
  try {
    return readHeader(src, true).header;
  } finally {
    src.close();
  }
}

/** Reads and checks the prefix and the header JSON (of an older version too when `older`). */
function readHeader(src: ByteSource, older = false): { header: TraceHeader; dataStart: number } {
  const size = src.size;
  const prefix = new Uint8Array(PREFIX_BYTES);
  src.read(0, prefix, Math.min(size, PREFIX_BYTES));
  for (let i = 0; i < MAGIC.length; i++) {
    if (i >= size) {
      throw new TraceError("truncated", `the file has ${size} bytes, less than the magic`, { offset: 0, recovered: 0 });
    }
    if (prefix[i] !== MAGIC[i]) {
      throw new TraceError("bad-magic", "not a lockstep trace (.lstrace) file", { offset: 0 });
    }
  }
  if (size < PREFIX_BYTES) {
    throw new TraceError("truncated", "the file ends inside its prefix", { offset: 0, recovered: 0 });
  }
  const version = prefix[8] | (prefix[9] << 8);
  const readable = version === FORMAT_VERSION || (older && version >= HEADER_VERSION_MIN && version < FORMAT_VERSION);
  if (!readable) {
    const why = version > FORMAT_VERSION
      ? `format version ${version} is newer than this reader's ${FORMAT_VERSION}: use a newer lockstep to read it`
      : version >= HEADER_VERSION_MIN
      ? `format version ${version} is older than this reader's ${FORMAT_VERSION} (its blocks are laid out ` +
        `differently): re-record it with \`deno task replay --update FILE\`, or read it with the lockstep that wrote it`
      : `format version ${version} is not a version this reader knows (it reads ${FORMAT_VERSION})`;
    throw new TraceError("unsupported-version", why, { offset: 8 });
  }
  const len = getU32(prefix, 12);
  if (len > HEADER_BYTES_MAX) {
    throw new TraceError("length", `header length ${len} exceeds ${HEADER_BYTES_MAX}`, { offset: 12 });
  }
  if (PREFIX_BYTES + len > size) {
    throw new TraceError("truncated", "the file ends inside its header", { offset: PREFIX_BYTES, recovered: 0 });
  }
  const json = new Uint8Array(len);
  src.read(PREFIX_BYTES, json, len);
  if (crc32c(json, crc32c(prefix, 0, 8, 16)) !== getU32(prefix, 16)) {
    throw new TraceError("checksum", "header checksum mismatch", { offset: 0 });
  }
  if ((prefix[10] | prefix[11]) !== 0) throw new TraceError("corrupt", "unknown header flags", { offset: 10 });
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch {
    throw new TraceError("corrupt", "the header is not UTF-8 JSON", { offset: PREFIX_BYTES });
  }
  if (typeof header === "object" && header !== null && LAYOUT_KEY in header) {
    const { [LAYOUT_KEY]: layout, ...rest } = header as Record<string, unknown>;
    if (typeof layout !== "string") {
      throw new TraceError("corrupt", "bad header: layout must be a string", { offset: PREFIX_BYTES });
    }
    const conflicts = layoutConflicts(layout);
    if (conflicts.length > 0) {
      throw new TraceError(
        "unsupported-version",
        `the trace was written with other event layouts (${
          conflicts.slice(0, 3).join("; ")
        }): use the lockstep that wrote it`,
        { offset: PREFIX_BYTES },
      );
    }
    header = rest;
  }
  if (older && version !== FORMAT_VERSION && typeof header === "object" && header !== null) {
    // headerProblem checks formatVersion against this build's; an older file names its own.
    header = { ...header, formatVersion: FORMAT_VERSION };
    const problem = headerProblem(header);
    if (problem) throw new TraceError("corrupt", `bad header: ${problem}`, { offset: PREFIX_BYTES });
    return { header: { ...(header as TraceHeader), formatVersion: version }, dataStart: PREFIX_BYTES + len };
  }
  const problem = headerProblem(header);
  if (problem) throw new TraceError("corrupt", `bad header: ${problem}`, { offset: PREFIX_BYTES });
  return { header: header as TraceHeader, dataStart: PREFIX_BYTES + len };
}
