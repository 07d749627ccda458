/**
 * `deno task replay`: not yet available (see the open issues).
 * @module
 */
import { UsageError } from "./_args.ts";

/** The `replay` command. */
export function cmdReplay(_args: string[]): number {
  throw new UsageError("replay: not yet available");
}
