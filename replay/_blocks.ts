/**
 * Block access for the reader: finds blocks (through the footer index, or by
 * walking block headers when there is none), reads each whole block in one
 * read, checks its checksum and header against what is known, and decodes it.
 *
 * @module
 */
import {
  BLOCK_CRC_AT,
  BLOCK_HEADER_BYTES,
  BLOCK_MAGIC,
  BLOCK_PAYLOAD_MAX_BYTES,
  CODEC_NONE,
  CODEC_ZSTD,
  crc32c,
  EVENT_MIN_BYTES,
  FOOTER_HEADER_BYTES,
  FOOTER_MAGIC,
  getU32,
  getU64,
  TRAILER_BYTES,
} from "../format/format.ts";
import { decodeBlock, DecodedBlock, type DecoderState, PAYLOAD_PADDING_BYTES } from "../format/decode.ts";
import { ZstdInflater } from "../format/inflate.ts";
import { TraceError } from "../format/error.ts";
import { BlockIndex } from "./_index.ts";
import type { ByteSource } from "./_source.ts";
import { StringTable } from "../format/strings.ts";

/** One reader's position: its read buffer and the block decoded last. */
export class BlockCursor {
  /** Block header, stored payload, then zero padding. */
  buf: Uint8Array = new Uint8Array(BLOCK_HEADER_BYTES + 64 * 1024 + PAYLOAD_PADDING_BYTES);
  /** The decompressed payload of a compressed block, then zero padding. */
  raw: Uint8Array = new Uint8Array(0);
  /** The block decoded into columns. */
  readonly decoded: DecodedBlock = new DecodedBlock();
  /**
   * The block whose checked, decompressed payload is `payload` (-1: none), so
   * decoding another part of it reads, checks and inflates nothing again.
   */
  payloadBlock: number = -1;
  /** That payload (in `buf` or `raw`), followed by zero padding. */
  payload: Uint8Array = new Uint8Array(0);
  /** Its length without the padding. */
  rawBytes: number = 0;
  /** Its file offset when the block is stored raw; -1 when compressed. */
  payloadOffset: number = -1;
  /** The block's file offset. */
  blockOffset: number = 0;

  /** Makes room for a block of `payloadBytes` (checked against the limit by the caller). */
  reserve(payloadBytes: number): void {
    const need = BLOCK_HEADER_BYTES + payloadBytes + PAYLOAD_PADDING_BYTES;
    if (this.buf.length < need) this.buf = new Uint8Array(need);
  }
}

/** Facts the footer gives about the end of the data. */
export interface DataEnd {
  /** Events the footer counts. */
  eventCount: number;
  /** Time of the last event. */
  lastTNs: number;
}

/** Blocks of one trace file. */
export class BlockStore {
  readonly index: BlockIndex = new BlockIndex();
  readonly strings: StringTable = new StringTable();
  /** True when every block is in the index (from the footer, or a scan reached the end or damage). */
  complete = false;
  /** Without a footer: the damage that ended the scan (at least "no footer"). */
  stop: TraceError | undefined = undefined;
  readonly #src: ByteSource;
  readonly #dataStart: number;
  #footer: DataEnd | undefined = undefined;
  /** Damage of a footer the reader chose to ignore (recover mode); ends a scan quietly. */
  #footerDamage: TraceError | undefined = undefined;
  readonly #head = new Uint8Array(BLOCK_HEADER_BYTES);

  constructor(src: ByteSource, dataStart: number) {
    this.#src = src;
    this.#dataStart = dataStart;
  }

  /** Marks the index as coming from a footer. */
  useFooter(end: DataEnd): void {
    this.#footer = end;
    this.complete = true;
  }

  /** Notes footer damage that a recovering reader ignores. */
  ignoreFooter(damage: TraceError): void {
    this.#footerDamage = damage;
  }

  /**
   * Makes block `b` the cursor's decoded block. Returns false when `b` is
   * past the last block of a file with a footer; throws TraceError on damage
   * (and, without a footer, at the end of the data: such a file is truncated).
   * Blocks past the index are found in order, so `b` is at most the index length.
   */
  load(b: number, cur: BlockCursor): boolean {
    if (cur.decoded.block === b) return true;
    if (b < this.index.length) {
      this.#readKnown(b, cur);
      return true;
    }
    if (b !== this.index.length) throw new RangeError(`block store: block ${b} skips unknown blocks`);
    if (this.complete) {
      if (this.stop) throw this.stop;
      return false;
    }
    try {
      this.#readNext(b, cur);
    } catch (err) {
      if (err instanceof TraceError) {
        this.complete = true;
        this.stop = err;
      }
      throw err;
    }
    return true;
  }

  /**
   * Decodes events [from.event (0 without `from`), limit) of block `b`, which
   * the index knows, as {@link decodeBlock} does with `from` and `end` (a
   * seek's block; the cursor's block is then not block `b` for later loads).
   * Checks as {@link load} does, except the block's end when `limit` is
   * below its count.
   */
  loadPart(b: number, limit: number, cur: BlockCursor, from: DecoderState | null, end: DecoderState | null): void {
    if (!(b < this.index.length)) throw new RangeError(`block store: block ${b} is not indexed`);
    const count = this.index.count[b];
    if (from === null && limit >= count) {
      this.load(b, cur);
      return;
    }
    cur.decoded.block = -1;
    if (cur.payloadBlock === b) this.#decodeLoaded(b, cur, Math.min(limit, count), from, end);
    else this.#readKnown(b, cur, Math.min(limit, count), from, end);
  }

  /** A block the index knows: read header and payload at once, then check both. */
  #readKnown(
    b: number,
    cur: BlockCursor,
    limit = this.index.count[b],
    from: DecoderState | null = null,
    end: DecoderState | null = null,
  ): void {
    const ix = this.index;
    const offset = ix.offset[b];
    const payloadBytes = ix.payloadBytes[b];
    const recovered = ix.firstIndex[b];
    cur.reserve(payloadBytes);
    cur.payloadBlock = -1;
    const buf = cur.buf;
    this.#src.read(offset, buf, BLOCK_HEADER_BYTES + payloadBytes);
    const bad = (code: "corrupt" | "checksum", why: string): never => {
      throw new TraceError(code, why, { block: b, offset, recovered });
    };
    if (!blockCrcOk(buf, payloadBytes)) bad("checksum", "block checksum mismatch");
    if (getU32(buf, 0) !== BLOCK_MAGIC) bad("corrupt", "bad block magic");
    if (getU32(buf, 4) !== payloadBytes) bad("corrupt", "block length disagrees with the footer");
    if (getU32(buf, 8) !== ix.count[b]) bad("corrupt", "block event count disagrees with the footer");
    if (getU64(buf, 12) !== recovered) bad("corrupt", "block first index disagrees with the footer");
    if (getU64(buf, 20) !== ix.firstTNs[b]) bad("corrupt", "block first time disagrees with the footer");
    this.#decode(b, offset, payloadBytes, cur, limit, from, end);
  }

  /** The block after the last known one, in a file without a usable footer. */
  #readNext(b: number, cur: BlockCursor): void {
    const ix = this.index;
    const size = this.#src.size;
    const offset = b === 0 ? this.#dataStart : ix.offset[b - 1] + BLOCK_HEADER_BYTES + ix.payloadBytes[b - 1];
    const recovered = ix.events();
    const remaining = size - offset;
    const place = { block: b, offset, recovered };
    if (remaining === 0) {
      throw new TraceError(
        "truncated",
        "the file ends after a whole block without a footer (the writer did not close it)",
        place,
      );
    }
    const head = this.#head;
    this.#src.read(offset, head, Math.min(remaining, BLOCK_HEADER_BYTES));
    if (remaining >= 4 && getU32(head, 0) === FOOTER_MAGIC) this.#footerWithoutTrailer(offset, remaining, place);
    if (remaining < BLOCK_HEADER_BYTES) throw new TraceError("truncated", "the file ends inside a block header", place);
    if (getU32(head, 0) !== BLOCK_MAGIC) throw new TraceError("corrupt", "bad block magic", place);
    const payloadBytes = getU32(head, 4);
    const count = getU32(head, 8);
    if (payloadBytes < EVENT_MIN_BYTES || payloadBytes > BLOCK_PAYLOAD_MAX_BYTES) {
      throw new TraceError("length", `block payload length ${payloadBytes} is outside its limits`, place);
    }
    if (count < 1 || count > BLOCK_PAYLOAD_MAX_BYTES / EVENT_MIN_BYTES) {
      throw new TraceError("length", `block event count ${count} is outside its limits`, place);
    }
    if (BLOCK_HEADER_BYTES + payloadBytes > remaining) {
      throw new TraceError(
        "truncated",
        `the file ends inside a block (${remaining} of ${BLOCK_HEADER_BYTES + payloadBytes} bytes present)`,
        place,
      );
    }
    cur.reserve(payloadBytes);
    cur.payloadBlock = -1;
    const buf = cur.buf;
    this.#src.read(offset, buf, BLOCK_HEADER_BYTES + payloadBytes);
    if (!blockCrcOk(buf, payloadBytes)) throw new TraceError("checksum", "block checksum mismatch", place);
    const firstIndex = getU64(buf, 12);
    const firstTNs = getU64(buf, 20);
    if (firstIndex !== recovered) {
      throw new TraceError("corrupt", `block first index ${firstIndex}, expected ${recovered}`, place);
    }
    if (firstTNs < 0) throw new TraceError("corrupt", "block first time above 2^53-1", place);
    ix.push(offset, firstIndex, firstTNs, count, payloadBytes);
    try {
      this.#decode(b, offset, payloadBytes, cur);
    } catch (err) {
      ix.length--; // only whole, valid blocks stay in the index
      throw err;
    }
  }

  /** A footer magic where a block was due: the trailer was missing or damaged. Always throws. */
  #footerWithoutTrailer(
    offset: number,
    remaining: number,
    place: { block: number; offset: number; recovered: number },
  ): never {
    if (this.#footerDamage) throw this.#footerDamage;
    const head = this.#head;
    if (remaining < FOOTER_HEADER_BYTES) throw new TraceError("truncated", "the file ends inside the footer", place);
    const footerBytes = FOOTER_HEADER_BYTES + getU32(head, 4) + TRAILER_BYTES;
    if (footerBytes > remaining) throw new TraceError("truncated", "the file ends inside the footer or trailer", place);
    throw new TraceError("corrupt", `a footer starts at byte ${offset} but the trailer is damaged`, place);
  }

  #decode(
    b: number,
    offset: number,
    payloadBytes: number,
    cur: BlockCursor,
    limit = this.index.count[b],
    from: DecoderState | null = null,
    end: DecoderState | null = null,
  ): void {
    const ix = this.index;
    const firstIndex = ix.firstIndex[b];
    const firstTNs = ix.firstTNs[b];
    const where = { block: b, offset, recovered: firstIndex };
    if (b > 0 && firstTNs < ix.lastTNs[b - 1]) {
      throw new TraceError("corrupt", "block starts before the previous block's last event", where);
    }
    const head = cur.buf;
    const rawBytes = getU32(head, 28);
    const codec = getU32(head, 32);
    const count = ix.count[b];
    if (rawBytes < EVENT_MIN_BYTES || rawBytes > BLOCK_PAYLOAD_MAX_BYTES || count > rawBytes / EVENT_MIN_BYTES) {
      throw new TraceError("length", `block raw length ${rawBytes} is outside its limits or below its events`, where);
    }
    let payload: Uint8Array;
    if (codec === CODEC_NONE) {
      if (rawBytes !== payloadBytes) throw new TraceError("corrupt", "stored block length disagrees", where);
      payload = head.subarray(BLOCK_HEADER_BYTES, BLOCK_HEADER_BYTES + payloadBytes + PAYLOAD_PADDING_BYTES);
      payload.fill(0, payloadBytes);
    } else if (codec === CODEC_ZSTD) {
      payload = inflate(head, payloadBytes, rawBytes, cur, where);
    } else {
      throw new TraceError("corrupt", `unknown block codec ${codec & 0xff} or nonzero reserved bytes`, where);
    }
    cur.payload = payload;
    cur.rawBytes = rawBytes;
    cur.payloadOffset = codec === CODEC_NONE ? offset + BLOCK_HEADER_BYTES : -1;
    cur.blockOffset = offset;
    cur.payloadBlock = b;
    this.#decodeLoaded(b, cur, limit, from, end);
  }

  /** Decodes (part of) block `b` from the cursor's checked payload, then checks the block's end against its neighbours. */
  #decodeLoaded(b: number, cur: BlockCursor, limit: number, from: DecoderState | null, end: DecoderState | null): void {
    const ix = this.index;
    const firstIndex = ix.firstIndex[b], firstTNs = ix.firstTNs[b], count = ix.count[b];
    const offset = cur.blockOffset;
    const where = { block: b, offset, recovered: firstIndex };
    const place = { block: b, payloadOffset: cur.payloadOffset, blockOffset: offset, firstIndex };
    decodeBlock(
      cur.payload,
      cur.rawBytes,
      count,
      firstIndex,
      firstTNs,
      this.strings,
      cur.decoded,
      place,
      limit,
      from,
      end,
    );
    if (limit < count) return; // a prefix: the block's last event was not read
    const lastTNs = cur.decoded.tNs[ix.count[b] - 1];
    if (b + 1 < ix.length && ix.firstTNs[b + 1] < lastTNs) {
      cur.decoded.block = -1;
      throw new TraceError("corrupt", "block ends after the next block starts", where);
    }
    if (this.#footer && b === ix.length - 1 && lastTNs !== this.#footer.lastTNs) {
      cur.decoded.block = -1;
      throw new TraceError("corrupt", "the last event's time disagrees with the footer", where);
    }
    ix.lastTNs[b] = lastTNs;
  }
}

/** Whether block header bytes 0..35 and the stored payload after the header match the header's CRC. */
function blockCrcOk(buf: Uint8Array, storedBytes: number): boolean {
  const crc = crc32c(buf, crc32c(buf, 0, 0, BLOCK_CRC_AT), BLOCK_HEADER_BYTES, BLOCK_HEADER_BYTES + storedBytes);
  return crc === getU32(buf, BLOCK_CRC_AT);
}

/** One decompression context for every reader of the process (decoding is synchronous, so never shared at once). */
const inflater = new ZstdInflater();

/**
 * Decompresses a zstd block payload (`head[BLOCK_HEADER_BYTES, +storedBytes)`)
 * straight into the cursor's raw buffer, followed by zero padding; the result
 * must be exactly `rawBytes` long. Allocates nothing after the first block.
 */
function inflate(
  head: Uint8Array,
  storedBytes: number,
  rawBytes: number,
  cur: BlockCursor,
  where: { block: number; offset: number; recovered: number },
): Uint8Array {
  const need = BLOCK_PAYLOAD_MAX_BYTES + 1 + PAYLOAD_PADDING_BYTES;
  if (cur.raw.length < need) cur.raw = new Uint8Array(need);
  const raw = cur.raw;
  const n = inflater.inflate(head, BLOCK_HEADER_BYTES, BLOCK_HEADER_BYTES + storedBytes, raw, BLOCK_PAYLOAD_MAX_BYTES);
  if (n < 0) throw new TraceError("corrupt", "the block's zstd frame does not decompress", where);
  if (n !== rawBytes) {
    throw new TraceError("corrupt", `the block decompresses to ${n} bytes, its header says ${rawBytes}`, where);
  }
  raw.fill(0, rawBytes, rawBytes + PAYLOAD_PADDING_BYTES);
  return raw;
}
