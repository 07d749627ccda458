/**
 * Turning a failure to fold an event into the typed trace error: whatever
 * the rebuilt state throws while applying a checksummed event (its own
 * consistency checks, or a value it cannot use), the trace's content is at
 * fault, and the user gets a TraceError naming the event and its block
 * (exit status 2), never a plain exception.
 * @module
 */
import { TraceError } from "../format/error.ts";
import { BlockCursor } from "./_blocks.ts";
import type { TraceReader } from "./reader.ts";

/** The TraceError for `err`, thrown while folding event `index` read from `r`. */
export function foldFailure(err: unknown, r: TraceReader, index: number): TraceError {
  if (err instanceof TraceError && (err.block !== undefined || err.code !== "corrupt")) return err;
  let block: number | undefined;
  try {
    const b = r.locate(index, new BlockCursor());
    block = b >= 0 ? b : undefined;
  } catch {
    block = undefined; // the block itself cannot be read again: name the event only
  }
  const why = err instanceof TraceError
    ? err.message.replace(/^trace corrupt: /, "").replace(/; \d+ whole events before it read back$/, "")
    : `the rebuilt state cannot apply it: ${err instanceof Error ? err.message : String(err)}`;
  return new TraceError("corrupt", `event ${index}: ${why}`, { block, recovered: index });
}
