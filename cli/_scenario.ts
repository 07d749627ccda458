/**
 * Where the CLI finds a scenario: a built-in name (drivers/), or a path to
 * the user's own module (`./my_design.ts`, docs/writing-scenarios.md). The
 * module's path and content hash go into the trace header; replay re-imports
 * the module from there and says when the file has changed since.
 * @module
 */
import { createHash } from "node:crypto";
import { isAbsolute, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../core/config.ts";
import { checkScenarioConfig } from "../core/run.ts";
import { isScenario, type Scenario } from "../core/scenario.ts";
import { findScenario } from "../drivers/mod.ts";
import type { ScenarioModuleRef, TraceHeader } from "../format/format.ts";
import type { ScenarioResolver } from "../replay/mod.ts";

/** A scenario the CLI will run, and the module it came from (none for a built-in). */
export interface LoadedScenario {
  readonly scenario: Scenario;
  readonly module?: ScenarioModuleRef;
}

/** Largest scenario module read (a guard against pointing lockstep at a huge file). */
const MODULE_BYTES_MAX = 16 * 1024 * 1024;

import { isModuleArg } from "./_scenario_arg.ts";
export { isModuleArg };

/** The SHA-256 of a file's bytes (lower-case hex). */
export function sha256File(path: string): string {
  return createHash("sha256").update(readModule(path)).digest("hex");
}

function readModule(path: string): Uint8Array {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ConfigError(`scenario module not found: ${path}`);
    throw new ConfigError(`scenario module ${path}: ${(e as Error).message}`);
  }
  if (!st.isFile) throw new ConfigError(`scenario module ${path} is not a regular file`);
  if (st.size > MODULE_BYTES_MAX) throw new ConfigError(`scenario module ${path} is larger than 16 MiB`);
  return Deno.readFileSync(path);
}

/**
 * Imports a user's scenario module. It must export a scenario made with
 * defineScenario, as its default export or as its only exported scenario.
 * Every failure (missing file, syntax or type error, no scenario, a name of a
 * built-in) is a ConfigError: one line, exit 2.
 */
export async function loadModule(path: string): Promise<LoadedScenario> {
  const bytes = readModule(path);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const abs = resolve(path);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(abs).href);
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new ConfigError(`scenario module ${path} did not load: ${msg}`);
  }
  const found = isScenario(mod.default) ? [mod.default] : Object.values(mod).filter(isScenario);
  if (found.length === 0) {
    throw new ConfigError(`scenario module ${path} exports no scenario (export default defineScenario({...}))`);
  }
  if (found.length > 1) {
    throw new ConfigError(`scenario module ${path} exports ${found.length} scenarios; make one the default export`);
  }
  const scenario = found[0];
  if (builtinOrNull(scenario.name) !== null) {
    throw new ConfigError(`scenario module ${path}: name '${scenario.name}' is a built-in scenario's; pick another`);
  }
  return { scenario, module: { path: displayPath(path), sha256 } };
}

/** The path as recorded: relative to the working directory when inside it, else absolute. */
function displayPath(path: string): string {
  const abs = resolve(path);
  const rel = relative(Deno.cwd(), abs);
  return rel.startsWith("..") || isAbsolute(rel) ? abs : rel;
}

function builtinOrNull(name: string): Scenario | null {
  try {
    return findScenario(name);
  } catch {
    return null;
  }
}

/** Loads a scenario named on the command line: a built-in name or a module path. */
export async function loadScenario(arg: string): Promise<LoadedScenario> {
  if (isModuleArg(arg)) return await loadModule(arg);
  return { scenario: findScenario(arg) };
}

/** A resolver for replay, and what the CLI should say about the module before replaying. */
export interface PreparedReplay {
  readonly resolve: ScenarioResolver;
  readonly loaded: LoadedScenario;
  /** Lines to print before replaying: the module's file changed, keys missing from an older trace. */
  readonly notices: string[];
}

/**
 * Prepares the re-execution of a trace: imports the module its header names
 * (exit 2 naming the path when it is missing), compares the file's hash with
 * the recorded one, and returns a resolver that hands replay that scenario.
 */
export async function prepareReplay(h: TraceHeader): Promise<PreparedReplay> {
  let loaded: LoadedScenario;
  const notices: string[] = [];
  if (h.module !== undefined) {
    loaded = await loadModule(h.module.path);
    if (loaded.module!.sha256 !== h.module.sha256) {
      notices.push(
        `scenario module ${h.module.path} changed since the recording (sha256 ${h.module.sha256.slice(0, 12)} -> ${
          loaded.module!.sha256.slice(0, 12)
        })`,
      );
    }
    if (loaded.scenario.name !== h.scenario) {
      throw new ConfigError(
        `scenario module ${h.module.path} now defines '${loaded.scenario.name}', the trace recorded '${h.scenario}'`,
      );
    }
  } else {
    loaded = { scenario: findScenario(h.scenario) };
  }
  const s = loaded.scenario;
  // The header's configuration is input like --set: unknown keys and bad values are refused here (exit 2).
  const { defaulted } = checkScenarioConfig(s, h.config);
  if (defaulted.length > 0) {
    const shown = defaulted.slice(0, 5).join(", ") + (defaulted.length > 5 ? `, and ${defaulted.length - 5} more` : "");
    notices.push(`the trace predates configuration keys ${shown}; they take their defaults`);
  }
  return { resolve: () => s, loaded, notices };
}
