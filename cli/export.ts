/**
 * `deno task export`: not yet available (see the open issues).
 * @module
 */
import { UsageError } from "./_args.ts";

/** The `export` command. */
export function cmdExport(_args: string[]): number {
  throw new UsageError("export: not yet available");
}
