/**
 * The writer's zstd level per block and this thread's compression contexts
 * (format/deflate.ts), one per level.
 *
 * @module
 */
import { ZstdDeflater } from "../format/deflate.ts";

/**
 * zstd levels of the writer, one chosen per block from the block before it
 * (the first block: {@link ZSTD_LEVEL_DENSE}): a block that came out above
 * {@link DENSE_ABOVE_BYTES_PER_EVENT} stored bytes per event has the next one
 * compressed at the dense level, any other at the fast one. Measured (format
 * v3, 256 KiB blocks, 50 ms simulated): splice-tcp 2.33 B/event at level 1,
 * 2.09 at 3, 1.98 at 5, 1.90 at 9; mutex-storm 1.02 at 1 and 1.09 at 5,
 * splice-udp 1.02 and 0.79, taskq-demo 0.99 and 0.86, splice-refrace-tcp 1.17
 * and 0.97; compression about 45 ns per event at level 1, 60 at 3, 100 at 5,
 * 210 at 9, on the writer's thread. So the dense traffic (splice-tcp, about
 * 2 B/event) pays level 5 to stay within 2 B/event, and the rest keeps
 * level 1's speed at at most ~1.2 B/event. The choice depends only on the
 * bytes written, so every writer (one thread or handed over to a worker)
 * makes the same one; decompression speed does not depend on the level
 * (9-21 ns per event at each) and the reader does not see it.
 */
export const ZSTD_LEVEL_FAST = 1;
/** See {@link ZSTD_LEVEL_FAST}. */
export const ZSTD_LEVEL_DENSE = 5;
/** See {@link ZSTD_LEVEL_FAST}: between what level 1 leaves of the other traffic (~1.2) and splice-tcp's (~2.0). */
export const DENSE_ABOVE_BYTES_PER_EVENT = 1.5;
/**
 * This thread's compression contexts, one per level, shared by its writers
 * (a flush runs to its end before another starts); made when first used.
 */
const deflaters = new Map<number, ZstdDeflater>();

/** This thread's compression context at `level`. */
export function deflaterAt(level: number): ZstdDeflater {
  let d = deflaters.get(level);
  if (d === undefined) deflaters.set(level, d = new ZstdDeflater(level));
  return d;
}

/** The level of the block after one of `events` events stored in `storedBytes` bytes. */
export function nextLevel(storedBytes: number, events: number): number {
  return storedBytes > DENSE_ABOVE_BYTES_PER_EVENT * events ? ZSTD_LEVEL_DENSE : ZSTD_LEVEL_FAST;
}
