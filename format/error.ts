/**
 * The typed error of every kind of trace damage.
 *
 * @module
 */

/** What is wrong with a trace file. */
export type TraceErrorCode =
  /** The file does not start with the `.lstrace` magic. */
  | "bad-magic"
  /** The file's format version is not one this reader knows. */
  | "unsupported-version"
  /** A header, block, footer or trailer checksum does not match its bytes. */
  | "checksum"
  /** A length field is outside its limit or disagrees with the file's layout. */
  | "length"
  /** The file ends before a structure it started (a killed writer, a cut copy). */
  | "truncated"
  /** Bytes that pass their checksum but break the format (bad kind, varint, order, string id, ...). */
  | "corrupt";

/** Where damage was found. */
export interface TraceErrorPlace {
  /** Block number (0-based), when the damage is in or at a block. */
  readonly block?: number;
  /** File byte offset of the damaged structure or event. */
  readonly offset?: number;
  /** Whole events before the damage that read back (the index of the first event lost). */
  readonly recovered?: number;
}

/**
 * A damaged or unreadable trace. `code` says which kind of damage, `block`
 * and `offset` where, `recovered` how many events before it are good.
 *
 * @example
 * ```ts
 * import { TraceError } from "./error.ts";
 * const err = new TraceError("truncated", "file ends inside block 3", { block: 3, offset: 1234, recovered: 999 });
 * console.log(err.code, err.recovered, err.message);
 * ```
 */
export class TraceError extends Error {
  /** Which kind of damage. */
  readonly code: TraceErrorCode;
  /** Block number, when known. */
  readonly block: number | undefined;
  /** File byte offset, when known. */
  readonly offset: number | undefined;
  /** Events before the damage that read back, when known. */
  readonly recovered: number | undefined;

  /** A damage report of kind `code`, with what was found and where. */
  constructor(code: TraceErrorCode, detail: string, place: TraceErrorPlace = {}) {
    const where: string[] = [];
    if (place.block !== undefined) where.push(`block ${place.block}`);
    if (place.offset !== undefined) where.push(`byte offset ${place.offset}`);
    let message = `trace ${code}: ${detail}`;
    if (where.length > 0) message += ` (at ${where.join(", ")})`;
    if (place.recovered !== undefined) message += `; ${place.recovered} whole events before it read back`;
    super(message);
    this.name = "TraceError";
    this.code = code;
    this.block = place.block;
    this.offset = place.offset;
    this.recovered = place.recovered;
  }
}
