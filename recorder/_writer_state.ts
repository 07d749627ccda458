/**
 * What a trace writer hands over to another thread (recorder/threaded.ts).
 *
 * @module
 */

/**
 * Everything a `TraceWriter` holds between two events (the block being
 * filled, the per-block context, the next block's mode gains, the footer's
 * index and strings), so that another thread can go on writing the same file
 * with `TraceWriter.resume` and produce the same bytes.
 */
export interface WriterState {
  /** Payload bytes of a block (the writer's option). */
  readonly payloadBytes: number;
  /** The block being filled: header space and the payload so far. */
  readonly buf: Uint8Array;
  /** End of the payload so far in `buf`. */
  readonly pos: number;
  /** Events in the block being filled. */
  readonly blockEvents: number;
  /** Index of the block's first event. */
  readonly blockFirstIndex: number;
  /** Time of the block's first event. */
  readonly blockFirstT: number;
  /** Time of the previous event. */
  readonly prevT: number;
  /** CPU of the previous event in the block. */
  readonly prevCpu: number;
  /** Thread of the previous event in the block. */
  readonly prevThread: number;
  /** Previous `pkt` field value in the block. */
  readonly prevPkt: number;
  /** Thread last seen on each CPU in the block. */
  readonly cpuLast: Float64Array;
  /** Highest CPU seen in the block (-1: none). */
  readonly cpuHi: number;
  /** Previous value of each mode slot in the block. */
  readonly adaptPrev: Float64Array;
  /** Previous value of each mode slot per key entry in the block. */
  readonly keyedPrev: Float64Array;
  /** The block's current key. */
  readonly key: number;
  /** Time of the last event of each thread entry in the block. */
  readonly threadT: Float64Array;
  /** Bytes each mode would have taken per slot so far: the next block's modes. */
  readonly cost: Float64Array;
  /** This block's field modes per slot. */
  readonly modes: Uint8Array;
  /** The zstd level this block will be compressed at. */
  readonly level: number;
  /** Events accepted. */
  readonly events: number;
  /** Bytes in the file. */
  readonly bytesWritten: number;
  /** Footer index rows of the blocks written (offset, first index, first time, events). */
  readonly blocks: Float64Array;
  /** Footer rows of the checkpoints kept (index, time). */
  readonly checkpoints: Float64Array;
  /** Every how many checkpoints one is kept in the footer. */
  readonly checkpointStride: number;
  /** Checkpoints seen. */
  readonly checkpointsSeen: number;
  /** Strings defined, for the footer. */
  readonly strings: { id: number; index: number; utf8: Uint8Array }[];
  /** UTF-8 bytes of the strings. */
  readonly stringBytes: number;
}
