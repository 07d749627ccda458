/**
 * Reading the trailer and the index footer of a cleanly closed trace, with
 * every count, offset and length checked before use.
 *
 * @module
 */
import {
  BLOCK_HEADER_BYTES,
  BLOCK_PAYLOAD_MAX_BYTES,
  CHECKPOINTS_INDEX_MAX,
  crc32c,
  EVENT_MIN_BYTES,
  FOOTER_HEADER_BYTES,
  FOOTER_MAGIC,
  FOOTER_MAX_BYTES,
  getU32,
  getU64,
  getVarU,
  STRING_MAX_BYTES,
  STRINGS_MAX,
  TRAILER_BYTES,
  TRAILER_MAGIC,
  type VarCursor,
} from "../format/format.ts";
import { TraceError } from "../format/error.ts";
import type { BlockIndex } from "./_index.ts";
import type { ByteSource } from "./_source.ts";
import type { StringTable } from "../format/strings.ts";

/** What the footer says beyond the block index and strings. */
export interface FooterFacts {
  eventCount: number;
  lastTNs: number;
  footerOffset: number;
  checkpointStride: number;
  /** Checkpoint event indexes and times, interleaved. */
  checkpoints: Float64Array;
}

/** Whether the file ends with the trailer magic (a cleanly closed writer). */
export function hasTrailerMagic(src: ByteSource, dataStart: number): boolean {
  if (src.size < dataStart + FOOTER_HEADER_BYTES + TRAILER_BYTES) return false;
  const tail = new Uint8Array(4);
  src.read(src.size - 4, tail, 4);
  return getU32(tail, 0) === TRAILER_MAGIC;
}

/** Reads and checks the trailer and footer; fills `index` and `strings`. Throws TraceError. */
export function readFooter(src: ByteSource, dataStart: number, index: BlockIndex, strings: StringTable): FooterFacts {
  const size = src.size;
  const trailerAt = size - TRAILER_BYTES;
  const trailer = new Uint8Array(TRAILER_BYTES);
  src.read(trailerAt, trailer, TRAILER_BYTES);
  if (crc32c(trailer, 0, 0, 8) !== getU32(trailer, 8)) {
    throw new TraceError("checksum", "trailer checksum mismatch", { offset: trailerAt });
  }
  const footerOffset = getU64(trailer, 0);
  if (footerOffset < dataStart || footerOffset > trailerAt - FOOTER_HEADER_BYTES) {
    throw new TraceError("length", `trailer footer offset ${footerOffset} is outside the file`, { offset: trailerAt });
  }
  const head = new Uint8Array(FOOTER_HEADER_BYTES);
  src.read(footerOffset, head, FOOTER_HEADER_BYTES);
  if (getU32(head, 0) !== FOOTER_MAGIC) throw new TraceError("corrupt", "bad footer magic", { offset: footerOffset });
  const len = getU32(head, 4);
  if (len > FOOTER_MAX_BYTES || footerOffset + FOOTER_HEADER_BYTES + len !== trailerAt) {
    throw new TraceError("length", `footer length ${len} disagrees with the trailer`, { offset: footerOffset });
  }
  const payload = new Uint8Array(len);
  src.read(footerOffset + FOOTER_HEADER_BYTES, payload, len);
  if (crc32c(payload) !== getU32(head, 8)) {
    throw new TraceError("checksum", "footer checksum mismatch", { offset: footerOffset });
  }
  return parseFooter(payload, footerOffset, dataStart, index, strings);
}

function parseFooter(
  payload: Uint8Array,
  footerOffset: number,
  dataStart: number,
  index: BlockIndex,
  strings: StringTable,
): FooterFacts {
  const c: VarCursor = { pos: 0, end: payload.length };
  const bad = (why: string): never => {
    throw new TraceError("corrupt", `footer: ${why}`, { offset: footerOffset + FOOTER_HEADER_BYTES + c.pos });
  };
  const u = (what: string): number => {
    const v = getVarU(payload, c);
    return v >= 0 ? v : bad(`bad varint in ${what}`);
  };
  const eventCount = u("event count");
  const lastTNs = u("last time");
  const blockCount = u("block count");
  // Every block takes at least a header and 2 payload bytes of file.
  if (blockCount > (footerOffset - dataStart) / (BLOCK_HEADER_BYTES + EVENT_MIN_BYTES)) bad("too many blocks");
  let expectIndex = 0;
  let prevT = 0;
  for (let b = 0; b < blockCount; b++) {
    const offset = u("block offset"), first = u("block first index"), firstT = u("block first time");
    const count = u("block event count");
    // Blocks are contiguous: each payload length is the gap to the next block (checked below).
    if (b === 0 ? offset !== dataStart : offset <= index.offset[b - 1]) bad(`block ${b} offset ${offset}`);
    if (first !== expectIndex) bad(`block ${b} first index ${first}, expected ${expectIndex}`);
    if (firstT < prevT) bad(`block ${b} starts before the previous block`);
    index.push(offset, first, firstT, count, 0);
    if (b > 0) index.payloadBytes[b - 1] = offset - index.offset[b - 1] - BLOCK_HEADER_BYTES;
    expectIndex = first + count;
    prevT = firstT;
  }
  if (blockCount > 0) {
    const last = blockCount - 1;
    index.payloadBytes[last] = footerOffset - index.offset[last] - BLOCK_HEADER_BYTES;
  } else if (footerOffset !== dataStart) bad("no blocks, yet data precedes the footer");
  for (let b = 0; b < blockCount; b++) {
    const bytes = index.payloadBytes[b];
    if (bytes < EVENT_MIN_BYTES || bytes > BLOCK_PAYLOAD_MAX_BYTES) bad(`block ${b} payload length ${bytes}`);
    const count = index.count[b];
    // Compressed blocks may hold more events than stored bytes; the raw length bounds them when decoded.
    if (count < 1 || count > BLOCK_PAYLOAD_MAX_BYTES / EVENT_MIN_BYTES) bad(`block ${b} event count ${count}`);
  }
  if (expectIndex !== eventCount) bad(`blocks hold ${expectIndex} events, the footer says ${eventCount}`);
  if (lastTNs < prevT || (eventCount === 0 && lastTNs !== 0)) bad("bad last time");

  const checkpointStride = u("checkpoint stride");
  const checkpointCount = u("checkpoint count");
  // The stride doubles from 1 (see the writer), so it is a power of two no larger than the events.
  const strideOk = checkpointStride >= 1 && checkpointStride <= Math.max(1, eventCount) &&
    Number.isInteger(Math.log2(checkpointStride));
  if (!strideOk) bad("bad checkpoint stride");
  if (checkpointCount > CHECKPOINTS_INDEX_MAX || checkpointCount > eventCount) bad("too many checkpoints");
  const checkpoints = new Float64Array(checkpointCount * 2);
  for (let k = 0; k < checkpointCount; k++) {
    const at = u("checkpoint index"), t = u("checkpoint time");
    if (at >= eventCount || (k > 0 && at <= checkpoints[2 * k - 2])) bad("checkpoint indexes out of order");
    if (t > lastTNs || (k > 0 && t < checkpoints[2 * k - 1])) bad("checkpoint times out of order");
    checkpoints[2 * k] = at;
    checkpoints[2 * k + 1] = t;
  }

  const stringCount = u("string count");
  if (stringCount > STRINGS_MAX || stringCount > eventCount) bad("too many strings");
  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  for (let k = 0; k < stringCount; k++) {
    const id = u("string id"), defIndex = u("string event index"), bytes = u("string length");
    if (defIndex >= eventCount) bad(`string ${id} defined by a missing event`);
    if (bytes > STRING_MAX_BYTES || c.pos + bytes > c.end) bad(`string ${id} length ${bytes}`);
    let text = "";
    try {
      text = utf8.decode(payload.subarray(c.pos, c.pos + bytes));
    } catch {
      bad(`string ${id} is not valid UTF-8`);
    }
    c.pos += bytes;
    if (strings.define(id, text, defIndex, bytes) !== "new") bad(`string ${id} listed twice or too many`);
  }
  if (c.pos !== c.end) bad(`${c.end - c.pos} bytes after the string table`);
  return { eventCount, lastTNs, footerOffset, checkpointStride, checkpoints };
}
