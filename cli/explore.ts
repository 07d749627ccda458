/**
 * `deno task explore`: not yet available (see the open issues).
 * @module
 */
import { UsageError } from "./_args.ts";

/** The `explore` command. */
export function cmdExplore(_args: string[]): number {
  throw new UsageError("explore: not yet available");
}
